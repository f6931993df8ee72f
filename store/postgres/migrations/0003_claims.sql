-- The outbox is claimed, a destination at a time: one instance delivers to
-- a destination while its claim runs, so that one message is in flight per
-- destination and they go out in order; a claim that ran out is taken over.
CREATE TABLE outbox_claims (
    destination   text PRIMARY KEY,
    claimed_by    text NOT NULL DEFAULT '',  -- the run token of its instance
    claimed_until timestamptz NOT NULL DEFAULT 'epoch',
    last_sent_at  timestamptz                -- for the destination's pacing
);
CREATE INDEX outbox_pending_destination ON outbox(destination) WHERE state = 'pending';
