-- The per-device FIFO rule as a view, so claim and next_due share one definition instead of
-- each carrying a copy of it.
--
-- Per device with open events: its head (oldest event neither delivered nor dead) and until when
-- it is busy (the latest lease of any of its in-flight events). Only a head may be sent, and only
-- when the device is not busy: that is the whole per-device FIFO rule. Dead rows drop out of the
-- open set, so a dead-lettered location update never stalls a later panic; "busy" also covers a
-- replayed dead event that is older than an event already in flight (it waits for it).
CREATE VIEW IF NOT EXISTS open_devices AS
SELECT device_key,
       MIN(id) AS head,
       MAX(CASE WHEN state = 'in_flight' THEN lease_until END) AS busy_until
  FROM events
 WHERE state IN ('pending', 'in_flight')
 GROUP BY device_key;
