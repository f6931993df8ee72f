-- What the engine must not forget across a restart: which checks are
-- flapping, and a provider outage's start and worst count.
CREATE TABLE flapping (
    check_id INTEGER PRIMARY KEY REFERENCES checks(id),
    since    INTEGER NOT NULL
);
ALTER TABLE alerts ADD COLUMN peak INTEGER NOT NULL DEFAULT 0;
ALTER TABLE alerts ADD COLUMN since_at INTEGER;
