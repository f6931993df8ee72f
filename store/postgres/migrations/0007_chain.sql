-- The tamper-evident chain: one entry for each failed probe, state change,
-- timeline entry and acknowledgement, written in the same transaction as
-- its row. hash = SHA-256(prev + "\n" + content), in hex; the first prev
-- is 64 zeros. Writers append under an advisory lock.
CREATE TABLE chain (
    seq     bigint      PRIMARY KEY,
    at      timestamptz NOT NULL,  -- the covered row's time
    kind    text        NOT NULL,  -- failure | state_change | event | ack | compact
    ref     text        NOT NULL,
    content text        NOT NULL,
    prev    text        NOT NULL,
    hash    text        NOT NULL
);
