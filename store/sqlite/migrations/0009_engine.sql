-- What lets the incident engine's decisions run on one instance while the
-- record is written by every instance: one open incident per check at
-- most, whoever opens it; the time of the probe each saved state follows;
-- the signals the engine takes its work from; and named leases.

-- Two daemons on one file could open two incidents of one check: the
-- newest stays open, the others end where they began, so that nothing
-- is counted twice.
UPDATE incidents SET resolved_at = started_at, resolved_by = 'duplicate'
WHERE resolved_at IS NULL AND EXISTS (
    SELECT 1 FROM incidents n WHERE n.check_id = incidents.check_id AND n.resolved_at IS NULL AND n.id > incidents.id);
CREATE UNIQUE INDEX incidents_one_open ON incidents(check_id) WHERE resolved_at IS NULL;

ALTER TABLE checks ADD COLUMN probed_at INTEGER;

CREATE TABLE signals (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    kind        TEXT    NOT NULL,  -- change | incident | alert | silences
    check_name  TEXT    NOT NULL DEFAULT '',
    incident_id INTEGER,
    alert_id    INTEGER,
    at          INTEGER NOT NULL
);

CREATE TABLE leases (
    name     TEXT    PRIMARY KEY,  -- engine | telegram
    holder   TEXT    NOT NULL,     -- the run token of its instance
    until_at INTEGER NOT NULL
) WITHOUT ROWID;
