-- The device registry: devices linked to AURA customers (docs/aura-api.md §2). AURA derives a
-- deviceId from the serial when a device is linked; that deviceId is the device_id of every
-- event of the device, so ingest looks it up here by the id the network names the device with.
CREATE TABLE IF NOT EXISTS device_links (
    network_id   TEXT PRIMARY KEY,      -- Sigfox id / DevEUI, upper case: what uplinks carry
    serial       TEXT NOT NULL UNIQUE,  -- AURA's deviceSerial (an IMEI, say, or the network id)
    device_id    TEXT NOT NULL,         -- AURA's deviceId, as AURA returned it
    customer_id  INTEGER NOT NULL,
    supplier     TEXT NOT NULL,
    device_type  INTEGER,
    alias        TEXT,
    firmware     TEXT,
    answer_json  TEXT NOT NULL,         -- AURA's last answer about this link
    linked_at    REAL NOT NULL,
    updated_at   REAL NOT NULL
);
