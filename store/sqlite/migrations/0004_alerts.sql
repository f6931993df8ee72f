-- Alerts: what people are told. One alert groups the incidents of one
-- merchant that go down together, or stands for a whole provider; its
-- escalation is kept here so that a restart resumes it.

CREATE TABLE alerts (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    scope        TEXT    NOT NULL,  -- merchant | provider
    name         TEXT    NOT NULL,  -- the merchant's or the provider's name
    opened_at    INTEGER NOT NULL,
    flush_at     INTEGER,           -- the end of group_wait; NULL once past
    base_at      INTEGER,           -- the time the escalation steps count from
    run          INTEGER NOT NULL DEFAULT 0,  -- runs of the steps completed
    step         INTEGER NOT NULL DEFAULT 0,  -- the next step of this run
    next_at      INTEGER,           -- when something falls due; NULL: nothing
    triggered_at INTEGER NOT NULL,  -- acknowledgements before this do not count
    acked_at     INTEGER,
    acked_by     TEXT,
    told         TEXT    NOT NULL DEFAULT '',  -- what its messages say now
    closed_at    INTEGER
);
CREATE INDEX alerts_open ON alerts(closed_at) WHERE closed_at IS NULL;

ALTER TABLE incidents ADD COLUMN alert_id INTEGER REFERENCES alerts(id);
ALTER TABLE incidents ADD COLUMN announced_at INTEGER;  -- first in a message; NULL: held
CREATE INDEX incidents_alert ON incidents(alert_id);

ALTER TABLE outbox ADD COLUMN alert_id INTEGER;
CREATE INDEX outbox_alert ON outbox(alert_id) WHERE alert_id IS NOT NULL;

-- Silences set by command or button; those of the configuration live there.
CREATE TABLE silences (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    target     TEXT    NOT NULL,  -- merchant/check, merchant or provider:NAME
    starts_at  INTEGER NOT NULL,
    ends_at    INTEGER NOT NULL,
    reason     TEXT    NOT NULL DEFAULT '',
    created_by TEXT    NOT NULL,
    lifted_at  INTEGER,
    lifted_by  TEXT
);

-- Maintenance windows as they happened, so that reports can leave them out
-- of the downtime even after the configuration changed.
CREATE TABLE maintenance_windows (
    name      TEXT    NOT NULL,
    starts_at INTEGER NOT NULL,
    ends_at   INTEGER NOT NULL,
    targets   TEXT    NOT NULL,  -- space-separated
    PRIMARY KEY (name, starts_at)
) WITHOUT ROWID;
