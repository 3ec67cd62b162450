-- Every statement PostgresStore runs, by name (webhook/store/sql_files.py reads this file).
-- The same statements as sqlite_queries.sql, in PostgreSQL's dialect, with psycopg's
-- %(name)s parameters; where the two differ in more than spelling, the comment says why.

-- name: uplink_id_by_key
SELECT id FROM uplinks WHERE dedup_key = %(dedup_key)s;

-- name: uplink_outcome_for_update
-- Locked: two replays of one undecodable uplink (two instances, say) take turns, and the
-- second finds it decoded.
SELECT status, dedup_key FROM uplinks WHERE id = %(id)s FOR UPDATE;

-- name: event_ids_of_uplink
SELECT id FROM events WHERE uplink_id = %(uplink_id)s ORDER BY position;

-- name: ingest_reads
-- An ingest's reads in one round trip, before its plan runs (no transaction, no lock): the
-- duplicate check, then what the plan said it would read (webhook.store.PlanReads). A NULL key
-- finds nothing.
SELECT (SELECT id FROM uplinks WHERE dedup_key = %(dedup_key)s),
       (SELECT state FROM devices WHERE device_key = %(device_key)s),
       (SELECT device_id FROM device_links WHERE network_id = %(network_id)s),
       EXISTS (SELECT 1 FROM uplinks WHERE dedup_key = %(partner_key)s);

-- name: device_state
SELECT state FROM devices WHERE device_key = %(device_key)s;

-- name: insert_uplink_and_events
-- A new uplink, its events (in position order: the order AURA must see them) and the device
-- states the plan changed, in one statement. ON CONFLICT: another instance stored the same
-- callback since the plan's reads; then nothing is written (events and states hang on the
-- uplink's row), NULL comes back and the caller reports a duplicate.
-- Each state is written only over the one the plan read (read_states; NULL: no row then): a
-- row another writer changed meanwhile is not matched (an UPDATE waits for that writer's commit,
-- then looks again), and the last line fails the whole statement, so nothing of it stays and
-- the caller plans again. Under the device's row lock (PostgresStore's fallback) it always
-- matches.
WITH uplink AS (
    INSERT INTO uplinks (network, dedup_key, device, received_at, payload_hex, port, sequence,
                         raw_json, status, error, model, template, stored_at, warnings_json)
    VALUES (%(network)s, %(dedup_key)s, %(device)s, %(received_at)s, %(payload_hex)s,
            %(port)s, %(sequence)s, %(raw_json)s, %(status)s, %(error)s, %(model)s,
            %(template)s, %(stored_at)s, %(warnings_json)s)
    ON CONFLICT (dedup_key) DO NOTHING
    RETURNING id
), new_events AS (
    INSERT INTO events (uplink_id, device_key, position, idempotency_key, body, action, state,
                        next_attempt_at, created_at)
    SELECT uplink.id, e.device_key, e.position, e.idempotency_key, e.body, e.action,
           'pending', %(now)s, %(now)s
      FROM uplink,
           unnest(%(device_keys)b::text[], %(positions)b::int[], %(keys)b::text[],
                  %(bodies)b::text[], %(actions)b::int[])
           AS e (device_key, position, idempotency_key, body, action)
     ORDER BY e.position
    RETURNING id
), planned AS (
    SELECT s.device_key, s.state, s.read_state
      FROM uplink,
           unnest(%(state_keys)b::text[], %(states)b::text[], %(read_states)b::text[])
           AS s (device_key, state, read_state)
), made_states AS (
    INSERT INTO devices (device_key, state, updated_at)
    SELECT device_key, state, %(now)s FROM planned WHERE read_state IS NULL
    ON CONFLICT (device_key) DO NOTHING
    RETURNING device_key
), changed_states AS (
    UPDATE devices SET state = planned.state, updated_at = %(now)s
      FROM planned
     WHERE devices.device_key = planned.device_key AND devices.state = planned.read_state
    RETURNING devices.device_key
)
SELECT (SELECT id FROM uplink),
       -- Identity values are drawn in the order the rows are inserted: by position.
       ARRAY(SELECT id FROM new_events ORDER BY id),
       CASE WHEN (SELECT count(*) FROM made_states) + (SELECT count(*) FROM changed_states)
                 < (SELECT count(*) FROM planned)
            THEN aura_uplink_state_moved(%(state_keys)b::text[]) END;

-- name: set_uplink_outcome
UPDATE uplinks SET status = %(status)s, error = %(error)s, model = %(model)s,
                   template = %(template)s
 WHERE id = %(id)s;

-- name: uplink_warnings
SELECT warnings_json FROM uplinks WHERE id = %(id)s;

-- name: set_uplink_warnings
UPDATE uplinks SET warnings_json = %(warnings)s WHERE id = %(id)s;

-- name: insert_events
-- A replayed uplink's events and states (insert_uplink_and_events without the uplink).
WITH new_events AS (
    INSERT INTO events (uplink_id, device_key, position, idempotency_key, body, action, state,
                        next_attempt_at, created_at)
    SELECT %(uplink_id)s, e.device_key, e.position, e.idempotency_key, e.body, e.action,
           'pending', %(now)s, %(now)s
      FROM unnest(%(device_keys)b::text[], %(positions)b::int[], %(keys)b::text[],
                  %(bodies)b::text[], %(actions)b::int[])
           AS e (device_key, position, idempotency_key, body, action)
     ORDER BY e.position
    RETURNING id
), new_states AS (
    INSERT INTO devices (device_key, state, updated_at)
    SELECT d.device_key, d.state, %(now)s
      FROM unnest(%(state_keys)b::text[], %(states)b::text[]) AS d (device_key, state)
    ON CONFLICT (device_key) DO UPDATE SET state = excluded.state,
                                           updated_at = excluded.updated_at
)
SELECT ARRAY(SELECT id FROM new_events ORDER BY id);

-- name: lock_device
-- Held to the end of the ingest transaction: another instance's uplink of the same device
-- waits here, then reads the state this one wrote (an alarm's rising edge is seen once). A lock,
-- not a write: the device's row gets a new version only when its state changes.
SELECT state FROM devices WHERE device_key = %(device_key)s FOR UPDATE;

-- name: make_device
-- A device seen for the first time gets its row ('null': no state yet), so that lock_device has
-- a row to lock; of two instances making it at once, the second waits, then finds it made.
INSERT INTO devices (device_key, state, updated_at) VALUES (%(device_key)s, 'null', %(now)s)
ON CONFLICT (device_key) DO NOTHING;

-- name: claim
-- The per-device FIFO rule of sqlite_queries.sql's claim. SQLite makes it atomic by holding the
-- one writer lock; here several instances claim at once, so:
-- * picked is MATERIALIZED: run once, so its LIMIT holds (inlined as an IN (...) subquery,
--   the planner may run it more than once and claim past the limit);
-- * FOR UPDATE OF e SKIP LOCKED: a head another instance is claiming right now is skipped, not
--   waited for (and its device's later events are never candidates: only heads are);
-- * the outer WHERE is checked again on the row's newest version once it is locked: a head
--   that another instance claimed and committed after this statement's snapshot (state
--   in_flight, lease in the future) is left alone, so a live lease is never taken over.
WITH picked AS MATERIALIZED (
    SELECT e.id
      FROM open_devices AS o JOIN events AS e ON e.id = o.head
     WHERE COALESCE(o.busy_until, 0) <= %(now)s
       -- Always true of a head; said so that the planner reads events_open_by_id.
       AND e.state IN ('pending', 'in_flight')
       AND (e.state = 'in_flight' OR e.next_attempt_at <= %(now)s)
     ORDER BY e.id
     LIMIT %(limit)s
       FOR UPDATE OF e SKIP LOCKED)
UPDATE events
   SET state = 'in_flight',
       lease_until = %(lease_until)s,
       claim = events.claim + 1,
       first_attempt_at = COALESCE(events.first_attempt_at, %(now)s)
  FROM picked
 WHERE events.id = picked.id
   AND ((events.state = 'pending' AND events.next_attempt_at <= %(now)s)
        OR (events.state = 'in_flight' AND COALESCE(events.lease_until, 0) <= %(now)s))
RETURNING events.id, uplink_id, device_key, position, idempotency_key, body, action, state,
          attempts, claim, next_attempt_at, lease_until, created_at, first_attempt_at,
          last_error, delivered_at, response, alerted_at;

-- name: next_due
SELECT MIN(GREATEST(COALESCE(o.busy_until, 0),
                    CASE e.state WHEN 'pending' THEN e.next_attempt_at ELSE 0 END))
  FROM open_devices AS o JOIN events AS e ON e.id = o.head
 WHERE e.state IN ('pending', 'in_flight');

-- name: mark_delivered_many
-- The worker's verdicts are each guarded by state AND claim (a worker whose lease expired and
-- whose row was claimed again must not overwrite the newer worker's outcome); many events in
-- one statement, the ids recorded come back.
UPDATE events AS e
   SET state = 'delivered', delivered_at = d.at, response = d.response, lease_until = NULL,
       attempts = e.attempts + 1
  FROM unnest(%(ids)b::bigint[], %(claims)b::bigint[], %(ats)b::float8[],
              %(responses)b::text[]) AS d (id, claim, at, response)
 WHERE e.id = d.id AND e.state = 'in_flight' AND (d.claim IS NULL OR e.claim = d.claim)
RETURNING e.id;

-- name: mark_retry
UPDATE events
   SET state = 'pending', next_attempt_at = %(next_attempt_at)s, lease_until = NULL,
       last_error = %(error)s, attempts = attempts + %(count)s
 WHERE id = %(id)s AND state = 'in_flight'
   AND (%(claim)s::bigint IS NULL OR claim = %(claim)s::bigint);

-- name: mark_dead
UPDATE events
   SET state = 'dead', last_error = %(error)s, lease_until = NULL, attempts = attempts + 1
 WHERE id = %(id)s AND state = 'in_flight'
   AND (%(claim)s::bigint IS NULL OR claim = %(claim)s::bigint);

-- name: renew_leases
-- Every (id, claim) pair of the caller in one statement; the ids renewed come back.
UPDATE events AS e
   SET lease_until = GREATEST(COALESCE(e.lease_until, 0), %(lease_until)s)
  FROM unnest(%(ids)s::bigint[], %(claims)s::bigint[]) AS held (id, claim)
 WHERE e.id = held.id AND e.claim = held.claim AND e.state = 'in_flight'
RETURNING e.id;

-- name: mark_alerted
UPDATE events SET alerted_at = %(now)s
 WHERE id = %(id)s AND alerted_at IS NULL AND state IN ('pending', 'in_flight');

-- name: overdue
SELECT id, uplink_id, device_key, position, idempotency_key, body, action, state, attempts,
       claim, next_attempt_at, lease_until, created_at, first_attempt_at, last_error,
       delivered_at, response, alerted_at
  FROM events
 WHERE state IN ('pending', 'in_flight') AND alerted_at IS NULL AND created_at <= %(cutoff)s
 ORDER BY id LIMIT %(limit)s;

-- name: replay_dead
UPDATE events SET state = 'pending', attempts = 0, next_attempt_at = %(now)s, lease_until = NULL
 WHERE state = 'dead'
   AND (%(ids)s::bigint[] IS NULL OR id = ANY (%(ids)s::bigint[]));

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
  FROM events WHERE id = %(id)s;

-- name: list_events
SELECT id, uplink_id, device_key, position, idempotency_key, body, action, state, attempts,
       claim, next_attempt_at, lease_until, created_at, first_attempt_at, last_error,
       delivered_at, response, alerted_at
  FROM events WHERE %(state)s::text IS NULL OR state = %(state)s::text
 ORDER BY id DESC LIMIT %(limit)s;

-- name: list_uplinks
SELECT id, network, dedup_key, device, received_at, payload_hex, port, sequence, raw_json,
       status, error, model, template, stored_at, warnings_json
  FROM uplinks WHERE %(status)s::text IS NULL OR status = %(status)s::text
 ORDER BY id DESC LIMIT %(limit)s;

-- name: undecodable_uplinks
SELECT id, network, dedup_key, device, received_at, payload_hex, port, sequence, raw_json,
       status, error, model, template, stored_at, warnings_json
  FROM uplinks WHERE status = 'undecodable'
 ORDER BY id LIMIT %(limit)s;

-- name: get_uplink
SELECT id, network, dedup_key, device, received_at, payload_hex, port, sequence, raw_json,
       status, error, model, template, stored_at, warnings_json
  FROM uplinks WHERE id = %(id)s;

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
 ORDER BY s.last_id DESC LIMIT %(limit)s;

-- name: device_states
SELECT device_key, state FROM devices WHERE device_key = ANY (%(keys)s::text[]);

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
   AND (last_error LIKE 'HTTP 4%%' OR last_error = 'unauthorized')
 ORDER BY id DESC LIMIT %(limit)s;

-- name: count_refusals
SELECT COUNT(*) FROM events WHERE state IN ('pending', 'in_flight', 'dead')
   AND (last_error LIKE 'HTTP 4%%' OR last_error = 'unauthorized');

-- name: linked_device_id
SELECT device_id FROM device_links WHERE network_id = %(network_id)s;

-- name: link_by_network_id
SELECT network_id, serial, device_id, customer_id, supplier, device_type, alias, firmware,
       answer_json, linked_at, updated_at
  FROM device_links WHERE network_id = %(network_id)s;

-- name: link_by_serial
SELECT network_id, serial, device_id, customer_id, supplier, device_type, alias, firmware,
       answer_json, linked_at, updated_at
  FROM device_links WHERE serial = %(serial)s;

-- name: all_links
SELECT network_id, serial, device_id, customer_id, supplier, device_type, alias, firmware,
       answer_json, linked_at, updated_at
  FROM device_links ORDER BY serial;

-- name: save_link
INSERT INTO device_links (network_id, serial, device_id, customer_id, supplier, device_type,
                          alias, firmware, answer_json, linked_at, updated_at)
VALUES (%(network_id)s, %(serial)s, %(device_id)s, %(customer_id)s, %(supplier)s,
        %(device_type)s, %(alias)s, %(firmware)s, %(answer_json)s, %(now)s, %(now)s)
ON CONFLICT (network_id) DO UPDATE
   SET serial = excluded.serial, device_id = excluded.device_id,
       customer_id = excluded.customer_id, supplier = excluded.supplier,
       device_type = excluded.device_type, alias = excluded.alias,
       firmware = excluded.firmware, answer_json = excluded.answer_json,
       updated_at = excluded.updated_at;

-- name: forget_serial_elsewhere
DELETE FROM device_links WHERE serial = %(serial)s AND network_id <> %(network_id)s;

-- name: delete_link
DELETE FROM device_links WHERE serial = %(serial)s;

-- name: probe
INSERT INTO probes (instance, probed_at) VALUES (%(instance)s, %(now)s)
ON CONFLICT (instance) DO UPDATE SET probed_at = excluded.probed_at;

-- name: prune_events
-- Every instance prunes: SKIP LOCKED lets two of them take different rows instead of one
-- waiting for the other's batch. MATERIALIZED keeps the LIMIT (see claim).
WITH old AS MATERIALIZED (
    SELECT id FROM events
     WHERE state = 'delivered' AND delivered_at < %(older_than)s
     ORDER BY delivered_at LIMIT %(limit)s
       FOR UPDATE SKIP LOCKED)
DELETE FROM events USING old WHERE events.id = old.id;

-- name: prune_uplinks
WITH old AS MATERIALIZED (
    SELECT u.id FROM uplinks AS u
     WHERE u.status IN ('decoded', 'ignored') AND u.stored_at < %(older_than)s
       AND NOT EXISTS (SELECT 1 FROM events AS e WHERE e.uplink_id = u.id)
     ORDER BY u.stored_at LIMIT %(limit)s
       FOR UPDATE SKIP LOCKED)
DELETE FROM uplinks USING old WHERE uplinks.id = old.id;

-- name: prunable_events
SELECT COUNT(*) FROM events WHERE state = 'delivered' AND delivered_at < %(older_than)s;

-- name: prunable_uplinks
-- Uplinks left with no event once the prunable events are gone.
SELECT COUNT(*) FROM uplinks AS u
 WHERE u.status IN ('decoded', 'ignored') AND u.stored_at < %(older_than)s
   AND NOT EXISTS (SELECT 1 FROM events AS e
                    WHERE e.uplink_id = u.id
                      AND NOT (e.state = 'delivered' AND e.delivered_at < %(older_than)s));
