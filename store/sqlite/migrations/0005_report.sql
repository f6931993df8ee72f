-- Reports ask when the first message about each incident went out.
CREATE INDEX outbox_incident ON outbox(incident_id) WHERE incident_id IS NOT NULL;
