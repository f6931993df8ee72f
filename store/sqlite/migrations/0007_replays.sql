-- The signed requests taken (Slack's), each by its timestamp and a hash of
-- its body, until it could no longer verify: a request is taken once.
CREATE TABLE replays (
    key        TEXT    PRIMARY KEY,
    expires_at INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX replays_expiry ON replays(expires_at);
