-- The open events (pending or in flight) by device, in id order, with what the per-device FIFO
-- rule reads of them; and the open_devices view of migration 0002 (claim and next_due read it)
-- made to read them there.
--
-- Before, the view found the open rows through events_by_state, read each one from the table
-- and sorted them all by device in a temporary B-tree: every claim did that for the whole
-- backlog, so a backlog made delivery slower and the backlog longer. This index holds only the
-- open rows (a delivered one leaves it), already grouped by device and in id order, and covers
-- the view's columns, so the view's GROUP BY reads the index alone, in order. The planner does
-- not choose it by itself (it has no statistics, and events_by_state also matches the WHERE),
-- hence INDEXED BY; the view's rule and columns are unchanged.
CREATE INDEX IF NOT EXISTS events_open_by_device
    ON events (device_key, id, state, lease_until)
 WHERE state IN ('pending', 'in_flight');

DROP VIEW IF EXISTS open_devices;

CREATE VIEW open_devices AS
SELECT device_key,
       MIN(id) AS head,
       MAX(CASE WHEN state = 'in_flight' THEN lease_until END) AS busy_until
  FROM events INDEXED BY events_open_by_device
 WHERE state IN ('pending', 'in_flight')
 GROUP BY device_key;
