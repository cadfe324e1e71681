-- 0010: what people did to an incident's grouping by hand. resolution_* is
-- who resolved it by hand and when (empty: its alerts resolved it);
-- split_* on an incident split off another says which, which service, who
-- and when. Kept with the incident, like ack_* and escalation_*, so that a
-- restart knows them.
ALTER TABLE incidents ADD COLUMN resolution_by TEXT NOT NULL DEFAULT '';
ALTER TABLE incidents ADD COLUMN resolution_at TEXT;
ALTER TABLE incidents ADD COLUMN split_incident TEXT NOT NULL DEFAULT '';
ALTER TABLE incidents ADD COLUMN split_service TEXT NOT NULL DEFAULT '';
ALTER TABLE incidents ADD COLUMN split_by TEXT NOT NULL DEFAULT '';
ALTER TABLE incidents ADD COLUMN split_at TEXT;
