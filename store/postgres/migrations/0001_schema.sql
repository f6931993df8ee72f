-- hostwatch's record on PostgreSQL: the same model as the SQLite store's,
-- in PostgreSQL's types. Times are timestamptz.

CREATE TABLE checks (
    id           bigint  GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name         text    NOT NULL UNIQUE,  -- merchant/check
    state        text    NOT NULL DEFAULT 'unknown',
    since        timestamptz,
    fail_streak  integer NOT NULL DEFAULT 0,
    ok_streak    integer NOT NULL DEFAULT 0,
    streak_since timestamptz,
    incident_id  bigint
);

-- Alerts: what people are told, with the escalation's progress.
CREATE TABLE alerts (
    id           bigint  GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    scope        text    NOT NULL,  -- merchant | provider
    name         text    NOT NULL,
    opened_at    timestamptz NOT NULL,
    flush_at     timestamptz,
    base_at      timestamptz,
    run          integer NOT NULL DEFAULT 0,
    step         integer NOT NULL DEFAULT 0,
    next_at      timestamptz,
    triggered_at timestamptz NOT NULL,
    acked_at     timestamptz,
    acked_by     text,
    told         text    NOT NULL DEFAULT '',
    closed_at    timestamptz,
    peak         integer NOT NULL DEFAULT 0,
    since_at     timestamptz
);
CREATE INDEX alerts_open ON alerts(id) WHERE closed_at IS NULL;

-- The #N people see: from a sequence, never reused.
CREATE TABLE incidents (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    check_id        bigint NOT NULL REFERENCES checks(id),
    started_at      timestamptz NOT NULL,
    confirmed_at    timestamptz NOT NULL,
    resolved_at     timestamptz,
    resolved_by     text,
    acknowledged_at timestamptz,
    acknowledged_by text,
    alert_id        bigint REFERENCES alerts(id),
    announced_at    timestamptz
);
CREATE INDEX incidents_check ON incidents(check_id, started_at);
CREATE INDEX incidents_open ON incidents(check_id) WHERE resolved_at IS NULL;
CREATE INDEX incidents_alert ON incidents(alert_id);

CREATE TABLE incident_errors (
    incident_id bigint NOT NULL REFERENCES incidents(id),
    kind        text   NOT NULL,
    count       bigint NOT NULL,
    first_at    timestamptz NOT NULL,
    first_error text   NOT NULL,
    last_at     timestamptz NOT NULL,
    last_error  text   NOT NULL,
    PRIMARY KEY (incident_id, kind)
);

CREATE TABLE incident_events (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    incident_id bigint NOT NULL REFERENCES incidents(id),
    at          timestamptz NOT NULL,
    kind        text   NOT NULL,
    detail      text   NOT NULL DEFAULT ''
);
CREATE INDEX incident_events_incident ON incident_events(incident_id, at);

CREATE TABLE state_changes (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    check_id    bigint NOT NULL REFERENCES checks(id),
    at          timestamptz NOT NULL,
    from_state  text   NOT NULL,
    to_state    text   NOT NULL,
    incident_id bigint
);
CREATE INDEX state_changes_check ON state_changes(check_id, at);
CREATE INDEX state_changes_at ON state_changes(at);

CREATE TABLE probe_failures (
    check_id    bigint NOT NULL REFERENCES checks(id),
    at          timestamptz NOT NULL,
    latency_us  bigint NOT NULL,
    kind        text   NOT NULL,
    error       text   NOT NULL,
    evidence    text   NOT NULL,
    incident_id bigint
);
CREATE INDEX probe_failures_check ON probe_failures(check_id, at);

-- One row per check and period: an hour while recent, a day once compacted.
CREATE TABLE probe_stats (
    check_id       bigint  NOT NULL REFERENCES checks(id),
    period         timestamptz NOT NULL,
    period_hours   integer NOT NULL,
    ok             bigint  NOT NULL,
    failed         bigint  NOT NULL,
    latency_sum_us bigint  NOT NULL,
    latency_max_us bigint  NOT NULL,
    PRIMARY KEY (check_id, period)
);

-- The outbox: every message, written with the change that causes it.
CREATE TABLE outbox (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    created_at  timestamptz NOT NULL,
    destination text   NOT NULL,
    incident_id bigint,
    alert_id    bigint,
    op          text   NOT NULL,
    ref_id      bigint,
    payload     bytea  NOT NULL,
    state       text   NOT NULL DEFAULT 'pending',
    attempts    integer NOT NULL DEFAULT 0,
    next_at     timestamptz NOT NULL,
    last_error  text   NOT NULL DEFAULT '',
    receipt     text   NOT NULL DEFAULT '',
    done_at     timestamptz
);
CREATE INDEX outbox_pending ON outbox(id) WHERE state = 'pending';
CREATE INDEX outbox_alert ON outbox(alert_id) WHERE alert_id IS NOT NULL;
CREATE INDEX outbox_incident ON outbox(incident_id) WHERE incident_id IS NOT NULL;

CREATE TABLE silences (
    id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    target     text   NOT NULL,
    starts_at  timestamptz NOT NULL,
    ends_at    timestamptz NOT NULL,
    reason     text   NOT NULL DEFAULT '',
    created_by text   NOT NULL,
    lifted_at  timestamptz,
    lifted_by  text
);

CREATE TABLE maintenance_windows (
    name      text NOT NULL,
    starts_at timestamptz NOT NULL,
    ends_at   timestamptz NOT NULL,
    targets   text NOT NULL,  -- space-separated
    PRIMARY KEY (name, starts_at)
);

CREATE TABLE flapping (
    check_id bigint PRIMARY KEY REFERENCES checks(id),
    since    timestamptz NOT NULL
);

-- The signed requests taken (Slack's), shared by every instance.
CREATE TABLE replays (
    key        text PRIMARY KEY,
    expires_at timestamptz NOT NULL
);
CREATE INDEX replays_expiry ON replays(expires_at);

-- The daemons running on this database, each with a lease it renews.
CREATE TABLE instances (
    name       text    PRIMARY KEY,
    token      text    NOT NULL,
    location   text    NOT NULL DEFAULT '',
    role       text    NOT NULL DEFAULT '',
    pid        integer NOT NULL DEFAULT 0,
    host       text    NOT NULL DEFAULT '',
    started_at timestamptz NOT NULL,
    since_at   timestamptz NOT NULL,
    seen_at    timestamptz NOT NULL,
    until_at   timestamptz NOT NULL,
    checks     integer NOT NULL DEFAULT 0
);
