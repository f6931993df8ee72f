-- The record: checks, their state, failed probes, hourly aggregates,
-- incidents and their timelines. Times are Unix milliseconds, UTC.

CREATE TABLE checks (
    id           INTEGER PRIMARY KEY,
    name         TEXT    NOT NULL UNIQUE,  -- merchant/check
    state        TEXT    NOT NULL DEFAULT 'unknown',
    since        INTEGER,
    fail_streak  INTEGER NOT NULL DEFAULT 0,
    ok_streak    INTEGER NOT NULL DEFAULT 0,
    streak_since INTEGER,
    incident_id  INTEGER
);

CREATE TABLE incidents (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,  -- the #N people see: never reused
    check_id     INTEGER NOT NULL REFERENCES checks(id),
    started_at   INTEGER NOT NULL,
    confirmed_at INTEGER NOT NULL,
    resolved_at  INTEGER,
    resolved_by  TEXT
);
CREATE INDEX incidents_check ON incidents(check_id, started_at);
CREATE INDEX incidents_open ON incidents(resolved_at) WHERE resolved_at IS NULL;

CREATE TABLE incident_errors (
    incident_id INTEGER NOT NULL REFERENCES incidents(id),
    kind        TEXT    NOT NULL,
    count       INTEGER NOT NULL,
    first_at    INTEGER NOT NULL,
    first_error TEXT    NOT NULL,
    last_at     INTEGER NOT NULL,
    last_error  TEXT    NOT NULL,
    PRIMARY KEY (incident_id, kind)
) WITHOUT ROWID;

CREATE TABLE incident_events (
    incident_id INTEGER NOT NULL REFERENCES incidents(id),
    at          INTEGER NOT NULL,
    kind        TEXT    NOT NULL,
    detail      TEXT    NOT NULL DEFAULT ''
);
CREATE INDEX incident_events_incident ON incident_events(incident_id, at);

CREATE TABLE state_changes (
    check_id    INTEGER NOT NULL REFERENCES checks(id),
    at          INTEGER NOT NULL,
    from_state  TEXT    NOT NULL,
    to_state    TEXT    NOT NULL,
    incident_id INTEGER
);
CREATE INDEX state_changes_check ON state_changes(check_id, at);

CREATE TABLE probe_failures (
    check_id    INTEGER NOT NULL REFERENCES checks(id),
    at          INTEGER NOT NULL,
    latency_us  INTEGER NOT NULL,
    kind        TEXT    NOT NULL,
    error       TEXT    NOT NULL,
    evidence    TEXT    NOT NULL,
    incident_id INTEGER
);
CREATE INDEX probe_failures_check ON probe_failures(check_id, at);

-- One row per check and period: an hour while recent, a day once compacted.
CREATE TABLE probe_stats (
    check_id       INTEGER NOT NULL REFERENCES checks(id),
    period         INTEGER NOT NULL,  -- start, Unix milliseconds
    period_hours   INTEGER NOT NULL,  -- 1 or 24
    ok             INTEGER NOT NULL,
    failed         INTEGER NOT NULL,
    latency_sum_us INTEGER NOT NULL,
    latency_max_us INTEGER NOT NULL,
    PRIMARY KEY (check_id, period)
) WITHOUT ROWID;
