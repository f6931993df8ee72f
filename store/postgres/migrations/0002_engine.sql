-- What lets the incident engine's decisions run on one instance while the
-- record is written by every instance: one open incident per check at
-- most, whoever opens it; the time of the probe each saved state follows;
-- the signals the engine takes its work from; and named leases.
CREATE UNIQUE INDEX incidents_one_open ON incidents(check_id) WHERE resolved_at IS NULL;
DROP INDEX incidents_open;

ALTER TABLE checks ADD COLUMN probed_at timestamptz;

CREATE TABLE signals (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    kind        text   NOT NULL,  -- change | incident | alert | silences
    check_name  text   NOT NULL DEFAULT '',
    incident_id bigint,
    alert_id    bigint,
    at          timestamptz NOT NULL
);

CREATE TABLE leases (
    name     text PRIMARY KEY,  -- engine | telegram
    holder   text NOT NULL,     -- the run token of its instance
    until_at timestamptz NOT NULL
);
