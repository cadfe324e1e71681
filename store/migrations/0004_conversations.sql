-- 0004: conversations in incident threads, what model calls cost, the latest
-- triage of each incident, and people's votes on its diagnosis.

-- conversation_turns is the append-only record of each incident's
-- conversation; the model columns are an assistant turn's cost (zero for a
-- person's).
CREATE TABLE conversation_turns (
	id                INTEGER PRIMARY KEY AUTOINCREMENT,
	incident_id       TEXT    NOT NULL,
	role              TEXT    NOT NULL CHECK (role IN ('user', 'assistant')),
	author            TEXT    NOT NULL,
	text              TEXT    NOT NULL,
	at                TEXT    NOT NULL,
	model             TEXT    NOT NULL,
	prompt_tokens     INTEGER NOT NULL,
	completion_tokens INTEGER NOT NULL,
	latency_ms        INTEGER NOT NULL
);
CREATE INDEX conversation_turns_by_incident ON conversation_turns (incident_id, id);

CREATE TRIGGER conversation_turns_no_update BEFORE UPDATE ON conversation_turns
BEGIN
	SELECT RAISE(ABORT, 'conversation_turns is append-only');
END;
CREATE TRIGGER conversation_turns_no_delete BEFORE DELETE ON conversation_turns
BEGIN
	SELECT RAISE(ABORT, 'conversation_turns is append-only');
END;

-- conversation_modes says whether nightowl answers every message of an
-- incident's thread (enabled = 1) or only mentions. The latest word wins.
CREATE TABLE conversation_modes (
	incident_id TEXT    PRIMARY KEY,
	enabled     INTEGER NOT NULL CHECK (enabled IN (0, 1)),
	changed_by  TEXT    NOT NULL,
	at          TEXT    NOT NULL
);

-- model_calls is the append-only record of what each triage and answer cost;
-- ok = 0 with the error's text when the call failed.
CREATE TABLE model_calls (
	id                INTEGER PRIMARY KEY AUTOINCREMENT,
	incident_id       TEXT    NOT NULL,
	purpose           TEXT    NOT NULL CHECK (purpose IN ('triage', 'answer')),
	model             TEXT    NOT NULL,
	calls             INTEGER NOT NULL,
	prompt_tokens     INTEGER NOT NULL,
	completion_tokens INTEGER NOT NULL,
	latency_ms        INTEGER NOT NULL,
	ok                INTEGER NOT NULL CHECK (ok IN (0, 1)),
	error             TEXT    NOT NULL,
	at                TEXT    NOT NULL
);
CREATE INDEX model_calls_by_incident ON model_calls (incident_id);

CREATE TRIGGER model_calls_no_update BEFORE UPDATE ON model_calls
BEGIN
	SELECT RAISE(ABORT, 'model_calls is append-only');
END;
CREATE TRIGGER model_calls_no_delete BEFORE DELETE ON model_calls
BEGIN
	SELECT RAISE(ABORT, 'model_calls is append-only');
END;

-- triages holds the latest triage of each incident; key says what it was
-- made for (root cause, runbook …), so a changed diagnosis can tell it is stale.
CREATE TABLE triages (
	incident_id TEXT PRIMARY KEY,
	key         TEXT NOT NULL,
	source      TEXT NOT NULL,
	body        TEXT NOT NULL, -- JSON of diagnosis.Triage
	at          TEXT NOT NULL
);

-- feedback holds each person's latest 👍 (+1) or 👎 (-1) on an incident's
-- diagnosis, with the root cause the card named when they voted.
CREATE TABLE feedback (
	incident_id TEXT    NOT NULL,
	user_id     TEXT    NOT NULL,
	vote        INTEGER NOT NULL CHECK (vote IN (-1, 1)),
	root_cause  TEXT    NOT NULL,
	at          TEXT    NOT NULL,
	PRIMARY KEY (incident_id, user_id)
) WITHOUT ROWID;
