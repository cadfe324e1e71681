-- 0001: alerts, incidents and their alert rows, the event log, and seen keys.
-- Times are UTC text in a fixed-width RFC 3339 form (2006-01-02T15:04:05.000000000Z),
-- so they sort as they compare; optional times are NULL when unset.

-- alerts is the append-only log of every alert notification received.
CREATE TABLE alerts (
	id            INTEGER PRIMARY KEY AUTOINCREMENT,
	fingerprint   TEXT    NOT NULL,
	status        TEXT    NOT NULL,
	alertname     TEXT    NOT NULL,
	service       TEXT    NOT NULL,
	labels        TEXT    NOT NULL, -- JSON object, or null
	annotations   TEXT    NOT NULL, -- JSON object, or null
	starts_at     TEXT    NOT NULL,
	ends_at       TEXT,
	generator_url TEXT    NOT NULL,
	source        TEXT    NOT NULL,
	count         INTEGER NOT NULL,
	received_at   TEXT    NOT NULL,
	channel       TEXT    NOT NULL,
	message_ts    TEXT    NOT NULL,
	incident_id   TEXT REFERENCES incidents (id)
);
CREATE INDEX alerts_by_incident ON alerts (incident_id, id);
CREATE INDEX alerts_unassigned ON alerts (fingerprint) WHERE incident_id IS NULL;
CREATE INDEX alerts_by_name ON alerts (alertname, received_at);
CREATE INDEX alerts_by_service ON alerts (service, received_at);

CREATE TRIGGER alerts_no_delete BEFORE DELETE ON alerts
BEGIN
	SELECT RAISE(ABORT, 'alerts are append-only');
END;

-- incidents holds the latest state of each incident; alerts is the JSON of its
-- []diagnosis.AlertState, so an incident round-trips exactly.
CREATE TABLE incidents (
	id              TEXT    PRIMARY KEY,
	scope_cluster   TEXT    NOT NULL,
	scope_namespace TEXT    NOT NULL,
	status          TEXT    NOT NULL,
	opened_at       TEXT    NOT NULL,
	resolved_at     TEXT,
	received        INTEGER NOT NULL,
	reopened        INTEGER NOT NULL,
	thread_channel  TEXT    NOT NULL,
	thread_ts       TEXT    NOT NULL,
	ack_by          TEXT    NOT NULL,
	ack_at          TEXT,
	escalation_by   TEXT    NOT NULL,
	escalation_at   TEXT,
	alerts          TEXT    NOT NULL, -- JSON array of diagnosis.AlertState, or null
	updated_at      TEXT    NOT NULL
);
CREATE INDEX incidents_by_status ON incidents (status, resolved_at);
CREATE INDEX incidents_by_opened ON incidents (opened_at);
CREATE INDEX incidents_by_thread ON incidents (thread_channel, thread_ts) WHERE thread_ts <> '';

-- incident_alerts mirrors incidents.alerts, one row per alert state, for
-- queries by alert name, service or node. Rewritten on every save.
CREATE TABLE incident_alerts (
	incident_id TEXT    NOT NULL REFERENCES incidents (id) ON DELETE CASCADE,
	position    INTEGER NOT NULL,
	fingerprint TEXT    NOT NULL,
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
	PRIMARY KEY (incident_id, position)
);
CREATE INDEX incident_alerts_by_fingerprint ON incident_alerts (fingerprint);
CREATE INDEX incident_alerts_by_name ON incident_alerts (alertname);
CREATE INDEX incident_alerts_by_service ON incident_alerts (service);
CREATE INDEX incident_alerts_by_node ON incident_alerts (node);

-- events is each incident's append-only record.
CREATE TABLE events (
	id          INTEGER PRIMARY KEY AUTOINCREMENT,
	incident_id TEXT NOT NULL,
	kind        TEXT NOT NULL,
	actor       TEXT NOT NULL,
	detail      TEXT NOT NULL,
	at          TEXT NOT NULL
);
CREATE INDEX events_by_incident ON events (incident_id, id);

CREATE TRIGGER events_no_update BEFORE UPDATE ON events
BEGIN
	SELECT RAISE(ABORT, 'events are append-only');
END;
CREATE TRIGGER events_no_delete BEFORE DELETE ON events
BEGIN
	SELECT RAISE(ABORT, 'events are append-only');
END;

-- seen remembers delivery keys (envelope ids, message timestamps) so each is
-- handled once.
CREATE TABLE seen (
	key TEXT PRIMARY KEY,
	at  TEXT NOT NULL
) WITHOUT ROWID;
CREATE INDEX seen_by_at ON seen (at);
