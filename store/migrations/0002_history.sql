-- 0002: what nightowl concluded about each incident and how it ended, for the
-- history that diagnosis recalls.

-- diagnoses holds the latest diagnosis of each incident (the card's).
CREATE TABLE diagnoses (
	incident_id  TEXT PRIMARY KEY,
	generated_at TEXT NOT NULL,
	root_cause   TEXT NOT NULL,
	confidence   REAL NOT NULL,
	runbook      TEXT NOT NULL,
	summary      TEXT NOT NULL,
	body         TEXT NOT NULL -- JSON of diagnosis.Diagnosis
);

-- outcomes says how an incident ended: fixed by a runbook, a runbook that
-- failed, or resolved on its own. The latest word wins.
CREATE TABLE outcomes (
	incident_id TEXT PRIMARY KEY,
	runbook     TEXT NOT NULL,
	outcome     TEXT NOT NULL,
	at          TEXT NOT NULL
);
