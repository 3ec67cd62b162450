-- Warnings about an uplink's body (docs/design.md §14): the optional parts that were invalid and
-- dropped (a network fix out of range, a malformed device type), kept with the uplink so that
-- `aura-uplink store list` shows why a fix or a template is missing. A JSON list of
-- {"source", "field", "message"} objects; uplinks stored before it have none.
ALTER TABLE uplinks ADD COLUMN warnings_json TEXT NOT NULL DEFAULT '[]';
