-- The posts that go out on a schedule (the daily head of the chain): when
-- each last went out and what it said, so that a restart does not post
-- twice.
CREATE TABLE posts (
    name  TEXT    PRIMARY KEY,
    at    INTEGER NOT NULL,  -- Unix milliseconds
    value TEXT    NOT NULL
) WITHOUT ROWID;
