-- The daemons running on this store, each with a lease it renews by
-- heartbeat. On SQLite there is one at a time; the heartbeat is also the
-- write that tells /healthz whether the file takes writes.
CREATE TABLE instances (
    name       TEXT    PRIMARY KEY,
    token      TEXT    NOT NULL,  -- this run of it
    location   TEXT    NOT NULL DEFAULT '',
    role       TEXT    NOT NULL DEFAULT '',
    pid        INTEGER NOT NULL DEFAULT 0,
    host       TEXT    NOT NULL DEFAULT '',
    started_at INTEGER NOT NULL,
    since_at   INTEGER NOT NULL,  -- takes checks from
    seen_at    INTEGER NOT NULL,  -- last heartbeat
    until_at   INTEGER NOT NULL,  -- the lease ends
    checks     INTEGER NOT NULL DEFAULT 0
) WITHOUT ROWID;
