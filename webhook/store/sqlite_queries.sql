-- Every statement SqliteStore runs, by name (webhook/store/sql_files.py reads this file).
-- A block runs from its "-- name:" line to the next one. Parameters are :named.
-- Statements that return events list the columns of records.EventRow in its order (a test
-- checks it), and those that return uplinks the columns records.StoredUplink.from_row reads.

-- name: device_state
SELECT state FROM devices WHERE device_key = :device_key;

-- name: uplink_id_by_key
SELECT id FROM uplinks WHERE dedup_key = :dedup_key;

-- name: uplink_outcome
SELECT status, dedup_key FROM uplinks WHERE id = :id;

-- name: event_ids_of_uplink
SELECT id FROM events WHERE uplink_id = :uplink_id ORDER BY position;

-- name: insert_uplink
INSERT INTO uplinks (network, dedup_key, device, received_at, payload_hex, port, sequence,
                     raw_json, status, error, model, template, stored_at, warnings_json)
VALUES (:network, :dedup_key, :device, :received_at, :payload_hex, :port, :sequence,
        :raw_json, :status, :error, :model, :template, :stored_at, :warnings_json);

-- name: set_uplink_outcome
UPDATE uplinks SET status = :status, error = :error, model = :model, template = :template
 WHERE id = :id;

-- name: uplink_warnings
SELECT warnings_json FROM uplinks WHERE id = :id;

-- name: set_uplink_warnings
UPDATE uplinks SET warnings_json = :warnings WHERE id = :id;

-- name: insert_event
INSERT INTO events (uplink_id, device_key, position, idempotency_key, body, action, state,
                    next_attempt_at, created_at)
VALUES (:uplink_id, :device_key, :position, :idempotency_key, :body, :action, 'pending',
        :now, :now);

-- name: upsert_device
INSERT INTO devices (device_key, state, updated_at) VALUES (:device_key, :state, :now)
ON CONFLICT (device_key) DO UPDATE SET state = excluded.state, updated_at = excluded.updated_at;

-- name: claim
-- A head is claimable once its device is not busy (an expired lease means its worker died or
-- hung) and, if pending, its backoff is over. One statement inside BEGIN IMMEDIATE: no other
-- connection can claim between the choice and the update, in this process or any other.
UPDATE events
   SET state = 'in_flight',
       lease_until = :lease_until,
       claim = claim + 1,
       first_attempt_at = COALESCE(first_attempt_at, :now)
 WHERE id IN (
        SELECT e.id
          FROM open_devices AS o JOIN events AS e ON e.id = o.head
         WHERE COALESCE(o.busy_until, 0) <= :now
           AND (e.state = 'in_flight' OR e.next_attempt_at <= :now)
         ORDER BY e.id
         LIMIT :limit)
RETURNING id, uplink_id, device_key, position, idempotency_key, body, action, state, attempts,
          claim, next_attempt_at, lease_until, created_at, first_attempt_at, last_error,
          delivered_at, response, alerted_at;

-- name: next_due
-- The same rule as a time: when each device's head becomes claimable; the earliest of those.
SELECT MIN(MAX(COALESCE(o.busy_until, 0),
               CASE e.state WHEN 'pending' THEN e.next_attempt_at ELSE 0 END))
  FROM open_devices AS o JOIN events AS e ON e.id = o.head;

-- name: mark_delivered
-- The worker's verdicts are each guarded by state AND claim: a worker whose lease expired and
-- whose row was claimed again must not overwrite the newer worker's outcome.
UPDATE events
   SET state = 'delivered', delivered_at = :now, response = :response, lease_until = NULL,
       attempts = attempts + 1
 WHERE id = :id AND state = 'in_flight' AND (:claim IS NULL OR claim = :claim);

-- name: mark_retry
UPDATE events
   SET state = 'pending', next_attempt_at = :next_attempt_at, lease_until = NULL,
       last_error = :error, attempts = attempts + :count
 WHERE id = :id AND state = 'in_flight' AND (:claim IS NULL OR claim = :claim);

-- name: mark_dead
UPDATE events
   SET state = 'dead', last_error = :error, lease_until = NULL, attempts = attempts + 1
 WHERE id = :id AND state = 'in_flight' AND (:claim IS NULL OR claim = :claim);

-- name: mark_alerted
UPDATE events SET alerted_at = :now
 WHERE id = :id AND alerted_at IS NULL AND state IN ('pending', 'in_flight');

-- name: overdue
SELECT id, uplink_id, device_key, position, idempotency_key, body, action, state, attempts,
       claim, next_attempt_at, lease_until, created_at, first_attempt_at, last_error,
       delivered_at, response, alerted_at
  FROM events
 WHERE state IN ('pending', 'in_flight') AND alerted_at IS NULL AND created_at <= :cutoff
 ORDER BY id LIMIT :limit;

-- name: replay_dead
-- Replay keeps the idempotency key (AURA may have seen an earlier attempt) and alerted_at (the
-- operator already knows about this event; replaying must not page them again). :ids is a JSON
-- list of event ids, or NULL for every dead event.
UPDATE events SET state = 'pending', attempts = 0, next_attempt_at = :now, lease_until = NULL
 WHERE state = 'dead' AND (:ids IS NULL OR id IN (SELECT value FROM json_each(:ids)));

-- name: count_events_by_state
SELECT state, COUNT(*) FROM events GROUP BY state;

-- name: count_uplinks_by_status
SELECT status, COUNT(*) FROM uplinks GROUP BY status;

-- name: oldest_open_event
SELECT MIN(created_at) FROM events WHERE state IN ('pending', 'in_flight');

-- name: get_event
SELECT id, uplink_id, device_key, position, idempotency_key, body, action, state, attempts,
       claim, next_attempt_at, lease_until, created_at, first_attempt_at, last_error,
       delivered_at, response, alerted_at
  FROM events WHERE id = :id;

-- name: list_events
-- Newest first; :state NULL means every state.
SELECT id, uplink_id, device_key, position, idempotency_key, body, action, state, attempts,
       claim, next_attempt_at, lease_until, created_at, first_attempt_at, last_error,
       delivered_at, response, alerted_at
  FROM events WHERE :state IS NULL OR state = :state
 ORDER BY id DESC LIMIT :limit;

-- name: list_uplinks
-- Newest first; :status NULL means every status.
SELECT id, network, dedup_key, device, received_at, payload_hex, port, sequence, raw_json,
       status, error, model, template, stored_at, warnings_json
  FROM uplinks WHERE :status IS NULL OR status = :status
 ORDER BY id DESC LIMIT :limit;

-- name: undecodable_uplinks
-- Oldest first: the order to re-decode them in.
SELECT id, network, dedup_key, device, received_at, payload_hex, port, sequence, raw_json,
       status, error, model, template, stored_at, warnings_json
  FROM uplinks WHERE status = 'undecodable'
 ORDER BY id LIMIT :limit;

-- name: get_uplink
SELECT id, network, dedup_key, device, received_at, payload_hex, port, sequence, raw_json,
       status, error, model, template, stored_at, warnings_json
  FROM uplinks WHERE id = :id;

-- name: seen_devices
-- The status page's devices: each network device a stored uplink names, the one heard from
-- last first, with the template of its newest uplink that had one (the key of its state comes
-- from it) and AURA's deviceId if it is linked; the last column counts them all. It reads
-- every stored uplink: a page an operator opens, never the path of a callback.
WITH seen AS (
    SELECT network, device, COUNT(*) AS uplinks, MAX(id) AS last_id,
           MAX(CASE WHEN template IS NOT NULL THEN id END) AS templated_id
      FROM uplinks GROUP BY network, device)
SELECT s.network, s.device, s.uplinks, newest.stored_at, newest.status, templated.template,
       l.device_id, COUNT(*) OVER () AS total
  FROM seen AS s
  JOIN uplinks AS newest ON newest.id = s.last_id
  LEFT JOIN uplinks AS templated ON templated.id = s.templated_id
  LEFT JOIN device_links AS l ON l.network_id = s.device
 ORDER BY s.last_id DESC LIMIT :limit;

-- name: device_states
SELECT device_key, state FROM devices WHERE device_key IN (SELECT value FROM json_each(:keys));

-- name: refusals
-- AURA's refusals that still stand: events not delivered whose last answer was a 4xx. The
-- delivery worker records such an answer as "HTTP <status>: <body>" and a 401 that a fresh
-- token did not cure as "unauthorized" (webhook/delivery/aura_client.py). Open and dead
-- events only: events_by_state finds them without reading the delivered ones.
SELECT id, uplink_id, device_key, position, idempotency_key, body, action, state, attempts,
       claim, next_attempt_at, lease_until, created_at, first_attempt_at, last_error,
       delivered_at, response, alerted_at
  FROM events
 WHERE state IN ('pending', 'in_flight', 'dead')
   AND (last_error LIKE 'HTTP 4%' OR last_error = 'unauthorized')
 ORDER BY id DESC LIMIT :limit;

-- name: count_refusals
SELECT COUNT(*) FROM events WHERE state IN ('pending', 'in_flight', 'dead')
   AND (last_error LIKE 'HTTP 4%' OR last_error = 'unauthorized');

-- name: linked_device_id
SELECT device_id FROM device_links WHERE network_id = :network_id;

-- name: link_by_network_id
SELECT network_id, serial, device_id, customer_id, supplier, device_type, alias, firmware,
       answer_json, linked_at, updated_at
  FROM device_links WHERE network_id = :network_id;

-- name: link_by_serial
SELECT network_id, serial, device_id, customer_id, supplier, device_type, alias, firmware,
       answer_json, linked_at, updated_at
  FROM device_links WHERE serial = :serial;

-- name: all_links
SELECT network_id, serial, device_id, customer_id, supplier, device_type, alias, firmware,
       answer_json, linked_at, updated_at
  FROM device_links ORDER BY serial;

-- name: save_link
-- One row per serial and per network id: relinking a serial under another network id moves it.
INSERT INTO device_links (network_id, serial, device_id, customer_id, supplier, device_type,
                          alias, firmware, answer_json, linked_at, updated_at)
VALUES (:network_id, :serial, :device_id, :customer_id, :supplier, :device_type, :alias,
        :firmware, :answer_json, :now, :now)
ON CONFLICT (network_id) DO UPDATE
   SET serial = excluded.serial, device_id = excluded.device_id,
       customer_id = excluded.customer_id, supplier = excluded.supplier,
       device_type = excluded.device_type, alias = excluded.alias,
       firmware = excluded.firmware, answer_json = excluded.answer_json,
       updated_at = excluded.updated_at;

-- name: forget_serial_elsewhere
DELETE FROM device_links WHERE serial = :serial AND network_id <> :network_id;

-- name: delete_link
DELETE FROM device_links WHERE serial = :serial;

-- name: renew_lease
-- A live worker's lease, extended while its send is in flight (the delivery worker renews every
-- lease_s / 3). Guarded like the verdicts, by state AND claim (here the claim is required): a
-- worker whose lease lapsed and whose row was claimed again gets 0 rows, and can never extend
-- the new owner's lease. A renewal never shortens a lease.
UPDATE events SET lease_until = MAX(COALESCE(lease_until, 0), :lease_until)
 WHERE id = :id AND state = 'in_flight' AND claim = :claim;

-- name: prune_events
-- Retention, one batch (SqliteStore.prune_batch): the oldest delivered events, delivered before
-- :older_than, at most :limit of them, found through the partial index of migration 0006 (in
-- age order: a batch reads only the rows it deletes). Dead and open events are never in it.
-- INDEXED BY: a batch must never fall back to scanning the table (SQLite refuses the
-- statement instead, so a test sees it).
DELETE FROM events
 WHERE id IN (
        SELECT id
          FROM events INDEXED BY events_delivered_by_time
         WHERE state = 'delivered' AND COALESCE(delivered_at, created_at) < :older_than
         ORDER BY COALESCE(delivered_at, created_at)
         LIMIT :limit);

-- name: prune_uplinks
-- Then the oldest decoded or ignored uplinks stored before :older_than with no event left (an
-- event of the uplink that is open, dead, or delivered too recently keeps it; events reference
-- their uplink). Run after prune_events in the same transaction, so an uplink whose last event
-- that batch removed goes with it. The NOT EXISTS is a seek in the (uplink_id, position) index.
-- Old uplinks kept by a dead letter are walked over by every batch until it is handled: as
-- few as the dead letters are.
DELETE FROM uplinks
 WHERE id IN (
        SELECT u.id
          FROM uplinks AS u INDEXED BY uplinks_prunable_by_time
         WHERE u.status IN ('decoded', 'ignored') AND u.stored_at < :older_than
           AND NOT EXISTS (SELECT 1 FROM events AS e WHERE e.uplink_id = u.id)
         ORDER BY u.stored_at
         LIMIT :limit);

-- name: prunable
-- What pruning everything before :older_than would remove now (`store prune --dry-run`): the
-- events prune_events would take, and the uplinks that would have no event left once they go
-- (every event of the uplink is one of those).
SELECT
    (SELECT COUNT(*)
       FROM events INDEXED BY events_delivered_by_time
      WHERE state = 'delivered' AND COALESCE(delivered_at, created_at) < :older_than),
    (SELECT COUNT(*)
       FROM uplinks AS u INDEXED BY uplinks_prunable_by_time
      WHERE u.status IN ('decoded', 'ignored') AND u.stored_at < :older_than
        AND NOT EXISTS (
            SELECT 1 FROM events AS e
             WHERE e.uplink_id = u.id
               AND NOT (e.state = 'delivered'
                        AND COALESCE(e.delivered_at, e.created_at) < :older_than)));
