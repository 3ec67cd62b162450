-- The PostgreSQL schema: the same tables, columns and rules as SQLite's migrations 0001-0005
-- (read those for what each column means); this file says only where PostgreSQL differs.
-- Times are Unix seconds (double precision) from the clock of the instance that wrote them, so
-- instances sharing a database must keep their clocks in step (NTP): a lease is compared with
-- another instance's clock.

CREATE TABLE uplinks (
    id            BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    network       TEXT NOT NULL,
    -- The network's natural key: the unique constraint is what deduplicates across instances
    -- (INSERT ... ON CONFLICT DO NOTHING; a concurrent insert of the same key waits for the
    -- first to commit, then conflicts).
    dedup_key     TEXT NOT NULL UNIQUE,
    device        TEXT NOT NULL,
    received_at   TEXT NOT NULL,
    payload_hex   TEXT NOT NULL,
    port          INTEGER,
    sequence      BIGINT,
    raw_json      TEXT NOT NULL,
    status        TEXT NOT NULL CHECK (status IN ('decoded', 'undecodable', 'ignored')),
    error         TEXT,
    model         TEXT,
    template      TEXT,
    stored_at     DOUBLE PRECISION NOT NULL,
    warnings_json TEXT NOT NULL DEFAULT '[]'
);
CREATE INDEX uplinks_by_status ON uplinks (status, id);

CREATE TABLE events (
    id               BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    uplink_id        BIGINT NOT NULL REFERENCES uplinks (id),
    device_key       TEXT NOT NULL,
    position         INTEGER NOT NULL,
    idempotency_key  TEXT NOT NULL UNIQUE,
    body             TEXT NOT NULL,
    action           INTEGER NOT NULL,
    state            TEXT NOT NULL
                     CHECK (state IN ('pending', 'in_flight', 'delivered', 'dead')),
    attempts         INTEGER NOT NULL DEFAULT 0,
    claim            BIGINT NOT NULL DEFAULT 0,
    next_attempt_at  DOUBLE PRECISION NOT NULL,
    lease_until      DOUBLE PRECISION,
    created_at       DOUBLE PRECISION NOT NULL,
    first_attempt_at DOUBLE PRECISION,
    last_error       TEXT,
    delivered_at     DOUBLE PRECISION,
    response         TEXT,
    alerted_at       DOUBLE PRECISION,
    UNIQUE (uplink_id, position)
);
CREATE INDEX events_by_state ON events (state, id);
-- Only the open rows, by device in id order: what the per-device FIFO rule reads (SQLite's
-- migration 0005 explains why). PostgreSQL's planner picks it without being told.
CREATE INDEX events_open_by_device ON events (device_key, id)
    INCLUDE (state, lease_until, next_attempt_at)
    WHERE state IN ('pending', 'in_flight');
-- The open rows in id order: claim takes the oldest heads first (ORDER BY id LIMIT). Without
-- it the planner walks the primary key from the oldest row ever stored, through every
-- delivered one: 0.4-0.7 s a claim with a million delivered events kept (bench/backlog.py).
CREATE INDEX events_open_by_id ON events (id) WHERE state IN ('pending', 'in_flight');

-- The mapping's per-device memory. Ingest locks a device's row (SELECT ... FOR UPDATE) before
-- it reads the state, so two instances deciding on two uplinks of one device take turns.
CREATE TABLE devices (
    device_key TEXT PRIMARY KEY,
    state      TEXT NOT NULL,
    updated_at DOUBLE PRECISION NOT NULL
);

CREATE VIEW open_devices AS
SELECT device_key,
       MIN(id) AS head,
       MAX(CASE WHEN state = 'in_flight' THEN lease_until END) AS busy_until
  FROM events
 WHERE state IN ('pending', 'in_flight')
 GROUP BY device_key;

CREATE TABLE device_links (
    network_id   TEXT PRIMARY KEY,
    serial       TEXT NOT NULL UNIQUE,
    device_id    TEXT NOT NULL,
    customer_id  BIGINT NOT NULL,
    supplier     TEXT NOT NULL,
    device_type  INTEGER,
    alias        TEXT,
    firmware     TEXT,
    answer_json  TEXT NOT NULL,
    linked_at    DOUBLE PRECISION NOT NULL,
    updated_at   DOUBLE PRECISION NOT NULL
);

-- What /readyz writes to prove a commit reaches the disk: one row per instance, overwritten.
CREATE TABLE probes (
    instance   TEXT PRIMARY KEY,
    probed_at  DOUBLE PRECISION NOT NULL
);

-- Retention ([store] retention_days) finds old delivered events and old decoded or ignored
-- uplinks through these, a batch at a time, without scanning the rest.
CREATE INDEX events_delivered_by_time ON events (delivered_at) WHERE state = 'delivered';
CREATE INDEX uplinks_prunable_by_time ON uplinks (stored_at)
    WHERE status IN ('decoded', 'ignored');
CREATE INDEX events_by_uplink ON events (uplink_id);
