-- 0007: records that stay bounded. An incident's alert rows are keyed by
-- fingerprint, so a save writes the rows that changed instead of all of
-- them; an incident keeps a summary of the alerts it does not hold one by
-- one, and says when it left memory while firing; RETENTION trims the raw
-- alert log and the card-update events, never an incident's summary,
-- timeline or audit.

-- incident_alerts: one row per alert an incident holds one by one, by
-- fingerprint; position is the alert's place when its row was last written.
CREATE TABLE incident_alerts_v8 (
	incident_id TEXT    NOT NULL REFERENCES incidents (id) ON DELETE CASCADE,
	fingerprint TEXT    NOT NULL,
	position    INTEGER NOT NULL,
	alertname   TEXT    NOT NULL,
	service     TEXT    NOT NULL,
	node        TEXT    NOT NULL,
	severity    TEXT    NOT NULL,
	status      TEXT    NOT NULL,
	starts_at   TEXT    NOT NULL,
	ends_at     TEXT,
	first_seen  TEXT    NOT NULL,
	last_seen   TEXT    NOT NULL,
	received    INTEGER NOT NULL,
	flaps       INTEGER NOT NULL,
	PRIMARY KEY (incident_id, fingerprint)
) WITHOUT ROWID;
INSERT OR REPLACE INTO incident_alerts_v8 (incident_id, fingerprint, position, alertname, service, node,
	severity, status, starts_at, ends_at, first_seen, last_seen, received, flaps)
SELECT incident_id, fingerprint, position, alertname, service, node, severity, status, starts_at, ends_at,
	first_seen, last_seen, received, flaps
FROM incident_alerts ORDER BY incident_id, position;
DROP TABLE incident_alerts;
ALTER TABLE incident_alerts_v8 RENAME TO incident_alerts;
CREATE INDEX incident_alerts_by_fingerprint ON incident_alerts (fingerprint);
CREATE INDEX incident_alerts_by_name ON incident_alerts (alertname);
CREATE INDEX incident_alerts_by_service ON incident_alerts (service);
CREATE INDEX incident_alerts_by_node ON incident_alerts (node);

-- incidents.more is the JSON of diagnosis.AlertTally: the alerts the
-- incident summarises (the alert log holds each). retired_at says when it
-- left memory while firing (no alert news for INCIDENT_STALE_AFTER, or
-- MAX_INCIDENTS reached) and retired_why why; a retired incident is not
-- taken back after a restart.
ALTER TABLE incidents ADD COLUMN more TEXT NOT NULL DEFAULT 'null';
ALTER TABLE incidents ADD COLUMN retired_at TEXT;
ALTER TABLE incidents ADD COLUMN retired_why TEXT NOT NULL DEFAULT '';

-- retention_runs is the record of every trim: what was older than cutoff
-- and how much went. Only rows older than a recorded cutoff may be deleted.
CREATE TABLE retention_runs (
	id          INTEGER PRIMARY KEY AUTOINCREMENT,
	cutoff      TEXT    NOT NULL,
	started_at  TEXT    NOT NULL,
	finished_at TEXT,
	alerts      INTEGER NOT NULL DEFAULT 0,
	events      INTEGER NOT NULL DEFAULT 0,
	seen        INTEGER NOT NULL DEFAULT 0
);

-- The alert log stays append-only for everything newer than the latest
-- retention cutoff.
DROP TRIGGER alerts_no_delete;
CREATE TRIGGER alerts_no_delete BEFORE DELETE ON alerts
WHEN OLD.received_at >= ifnull((SELECT max(cutoff) FROM retention_runs), '')
BEGIN
	SELECT RAISE(ABORT, 'alerts are append-only until RETENTION trims them');
END;
CREATE INDEX alerts_by_received ON alerts (received_at);

-- Events stay append-only, but for card updates (one per burst of alerts)
-- older than the latest retention cutoff: the timeline keeps every other
-- kind for good.
DROP TRIGGER events_no_delete;
CREATE TRIGGER events_no_delete BEFORE DELETE ON events
WHEN OLD.kind NOT IN ('card_updated', 'alert_received') OR OLD.at >= ifnull((SELECT max(cutoff) FROM retention_runs), '')
BEGIN
	SELECT RAISE(ABORT, 'events are append-only; RETENTION trims only old card updates');
END;
CREATE INDEX events_by_kind_at ON events (kind, at);
