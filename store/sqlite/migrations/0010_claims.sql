-- The outbox is claimed, a destination at a time: one instance delivers to
-- a destination while its claim runs, so that one message is in flight per
-- destination and they go out in order; a claim that ran out is taken over.
CREATE TABLE outbox_claims (
    destination   TEXT    PRIMARY KEY,
    claimed_by    TEXT    NOT NULL DEFAULT '',  -- the run token of its instance
    claimed_until INTEGER NOT NULL DEFAULT 0,
    last_sent_at  INTEGER                       -- for the destination's pacing
) WITHOUT ROWID;
CREATE INDEX outbox_pending_destination ON outbox(destination) WHERE state = 'pending';
