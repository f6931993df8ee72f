-- The outbox: every message to send, written in the same transaction as the
-- change that causes it, delivered in id order per destination.

CREATE TABLE outbox (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    created_at   INTEGER NOT NULL,
    destination  TEXT    NOT NULL,  -- platform:address, e.g. webhook:pager
    incident_id  INTEGER,
    op           TEXT    NOT NULL,  -- send | edit
    ref_id       INTEGER,           -- for an edit: the send it edits
    payload      BLOB    NOT NULL,  -- the message, JSON
    state        TEXT    NOT NULL DEFAULT 'pending',  -- pending | sent | failed
    attempts     INTEGER NOT NULL DEFAULT 0,
    next_at      INTEGER NOT NULL,
    last_error   TEXT    NOT NULL DEFAULT '',
    receipt      TEXT    NOT NULL DEFAULT '',  -- the platform's message id
    done_at      INTEGER
);
CREATE INDEX outbox_pending ON outbox(id) WHERE state = 'pending';
