-- The schema of aura-uplink 0.1 (stores made by it carry PRAGMA user_version = 1 and no
-- schema_migrations table; the migration runner records them as being at version 1).
-- Times are Unix seconds (REAL) from the store's clock, except uplinks.received_at, which is the
-- network's own ISO-8601 UTC timestamp.

-- Every accepted uplink, raw, forever: the replay source when a template was wrong.
-- dedup_key is the network's natural key (docs/reliability.md rule 3) and UNIQUE, so a
-- redelivered callback can never insert a second row. status says what decoding made of it.
CREATE TABLE IF NOT EXISTS uplinks (
    id          INTEGER PRIMARY KEY,
    network     TEXT NOT NULL,
    dedup_key   TEXT NOT NULL UNIQUE,
    device      TEXT NOT NULL,
    received_at TEXT NOT NULL,
    payload_hex TEXT NOT NULL,
    port        INTEGER,
    sequence    INTEGER,
    raw_json    TEXT NOT NULL,
    status      TEXT NOT NULL CHECK (status IN ('decoded', 'undecodable', 'ignored')),
    error       TEXT,
    model       TEXT,
    template    TEXT,
    stored_at   REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS uplinks_by_status ON uplinks (status, id);

-- The outbox: one AURA request body per row, in the order the mapping produced them.
-- idempotency_key is derived from the uplink's dedup key and the event's position in it, so every
-- retry (and a replay) sends the same key. state moves
-- pending -> in_flight -> delivered | pending (retry) | dead; dead -> pending only by replay.
-- claim counts claims: a worker's verdict only lands if the row still carries its claim.
-- alerted_at records the one "undelivered for N s" alert per event.
CREATE TABLE IF NOT EXISTS events (
    id               INTEGER PRIMARY KEY,
    uplink_id        INTEGER NOT NULL REFERENCES uplinks (id),
    device_key       TEXT NOT NULL,
    position         INTEGER NOT NULL,
    idempotency_key  TEXT NOT NULL UNIQUE,
    body             TEXT NOT NULL,
    action           INTEGER NOT NULL,
    state            TEXT NOT NULL
                     CHECK (state IN ('pending', 'in_flight', 'delivered', 'dead')),
    attempts         INTEGER NOT NULL DEFAULT 0,
    claim            INTEGER NOT NULL DEFAULT 0,
    next_attempt_at  REAL NOT NULL,
    lease_until      REAL,
    created_at       REAL NOT NULL,
    first_attempt_at REAL,
    last_error       TEXT,
    delivered_at     REAL,
    response         TEXT,
    alerted_at       REAL,
    UNIQUE (uplink_id, position)
);
-- (state, id) finds the open rows (the backlog) without scanning the delivered history; claim
-- and next_due group just those by device.
CREATE INDEX IF NOT EXISTS events_by_state ON events (state, id);

-- The mapping's per-device memory (decoders.DeviceState as JSON), written in the same
-- transaction as the events it led to, so the two never disagree.
CREATE TABLE IF NOT EXISTS devices (
    device_key TEXT PRIMARY KEY,
    state      TEXT NOT NULL,
    updated_at REAL NOT NULL
);
