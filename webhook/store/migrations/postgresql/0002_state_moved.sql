-- Ingest without an explicit transaction (webhook/store/postgres.py, PostgresStore.ingest): the
-- plan reads a device's state, then one statement writes the uplink, its events and the new
-- state, but only over the state the plan read. When another instance (or thread) changed that
-- state in between, the statement calls this function, which fails it: nothing it wrote stays,
-- and the caller plans again on the new state. The SQLSTATE is PostgreSQL's own for "try the
-- transaction again" (serialization_failure), so a client that only knows the standard codes
-- still reads it right.
CREATE FUNCTION aura_uplink_state_moved(device_keys TEXT[]) RETURNS BIGINT
LANGUAGE plpgsql VOLATILE AS $$
BEGIN
    RAISE EXCEPTION 'device state changed since it was read: %', device_keys
        USING ERRCODE = 'serialization_failure';
END
$$;
