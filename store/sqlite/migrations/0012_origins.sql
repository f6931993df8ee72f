-- Checks that a source other than the probes reports (an Alertmanager
-- alert, an event of another tool) keep what it said of them; a heartbeat
-- check keeps the token of its ping URL when the file names none.
ALTER TABLE checks ADD COLUMN source TEXT;
ALTER TABLE checks ADD COLUMN title TEXT;
ALTER TABLE checks ADD COLUMN labels TEXT;  -- JSON object
ALTER TABLE checks ADD COLUMN summary TEXT;
ALTER TABLE checks ADD COLUMN ping_token TEXT;
CREATE UNIQUE INDEX checks_ping_token ON checks (ping_token) WHERE ping_token IS NOT NULL;
