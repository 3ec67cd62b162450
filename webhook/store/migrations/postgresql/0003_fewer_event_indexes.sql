-- Two indexes every event insert paid for and no statement reads:
-- * idempotency_key's UNIQUE: the key is sha256 of the uplink's dedup key and the event's
--   position, so (uplink_id, position), UNIQUE already, and dedup_key, UNIQUE, imply it. Its
--   values are random, so each insert wrote to a random page of an index as big as the store's
--   history (pages read in, and written whole to the WAL after each checkpoint). Measured with
--   bench/retention.py, 5,000,000 stored uplinks: ingest into the full store was 0.84-0.90x the
--   empty store's with it, 0.99-1.13x without; the store is 745 bytes per uplink, not 818.
--   SQLite keeps it: a column's UNIQUE there cannot be dropped without rebuilding the table.
-- * events_by_uplink (uplink_id): the UNIQUE (uplink_id, position) index serves every look-up
--   by uplink_id (a btree's leading column).
ALTER TABLE events DROP CONSTRAINT events_idempotency_key_key;
DROP INDEX events_by_uplink;
