-- Retention ([store] retention_days, docs/design.md §9): what the pruner deletes, found through
-- an index in age order, so a batch reads its own rows and never scans the tables.
--
-- Delivered events by the time they were delivered (created_at for a row without one). Partial:
-- only delivered rows are in it, so the open backlog and the dead letters, which are never
-- pruned, cost it nothing and are never walked over. The expression is the queries' own
-- (sqlite_queries.sql: prune_events, prunable), which is what lets SQLite use the index.
CREATE INDEX IF NOT EXISTS events_delivered_by_time
    ON events (COALESCE(delivered_at, created_at))
 WHERE state = 'delivered';

-- Uplinks that may go once they have no event left, by the time they were stored. Undecodable
-- uplinks stay until handled (replayed), so they are not in it.
CREATE INDEX IF NOT EXISTS uplinks_prunable_by_time
    ON uplinks (stored_at)
 WHERE status IN ('decoded', 'ignored');
