-- The tamper-evident chain: one entry for each failed probe, state change,
-- timeline entry and acknowledgement, written in the same transaction as
-- its row. hash = SHA-256(prev + "\n" + content), in hex; the first prev
-- is 64 zeros.
CREATE TABLE chain (
    seq     INTEGER PRIMARY KEY,
    at      INTEGER NOT NULL,  -- the covered row's time, Unix milliseconds
    kind    TEXT    NOT NULL,  -- failure | state_change | event | ack | compact
    ref     TEXT    NOT NULL,
    content TEXT    NOT NULL,
    prev    TEXT    NOT NULL,
    hash    TEXT    NOT NULL
);
