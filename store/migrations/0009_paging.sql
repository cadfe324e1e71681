-- 0009: paging beyond the card. pager_events is what nightowl sends to a
-- pager (PagerDuty's Events API), one row per incident and action, queued
-- before it is sent and marked once PagerDuty answered: a restart sends what
-- is queued and never an action twice. silences audits the Alertmanager
-- silences people made from cards.
CREATE TABLE pager_events (
	seq       INTEGER PRIMARY KEY AUTOINCREMENT,
	incident  TEXT NOT NULL,
	action    TEXT NOT NULL, -- trigger | acknowledge | resolve
	event     TEXT NOT NULL, -- JSON of the event, as the bot queued it
	queued_at TEXT NOT NULL,
	sent_at   TEXT,          -- NULL while it waits to be sent
	outcome   TEXT NOT NULL DEFAULT '', -- sent, or why PagerDuty refused it
	UNIQUE (incident, action)
);
CREATE INDEX pager_events_pending ON pager_events (seq) WHERE sent_at IS NULL;

CREATE TABLE silences (
	id          TEXT PRIMARY KEY, -- Alertmanager's silence ID
	incident    TEXT NOT NULL,
	created_by  TEXT NOT NULL,    -- Slack user ID
	matchers    TEXT NOT NULL,    -- JSON, as sent to Alertmanager
	starts_at   TEXT NOT NULL,
	ends_at     TEXT NOT NULL,
	created_at  TEXT NOT NULL,
	expired_by  TEXT NOT NULL DEFAULT '',
	expired_at  TEXT
);
CREATE INDEX silences_by_incident ON silences (incident, created_at);
