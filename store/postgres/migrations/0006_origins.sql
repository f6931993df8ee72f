-- Checks that a source other than the probes reports (an Alertmanager
-- alert, an event of another tool) keep what it said of them; a heartbeat
-- check keeps the token of its ping URL when the file names none.
ALTER TABLE checks ADD COLUMN source text;
ALTER TABLE checks ADD COLUMN title text;
ALTER TABLE checks ADD COLUMN labels jsonb;
ALTER TABLE checks ADD COLUMN summary text;
ALTER TABLE checks ADD COLUMN ping_token text;
CREATE UNIQUE INDEX checks_ping_token ON checks (ping_token) WHERE ping_token IS NOT NULL;
