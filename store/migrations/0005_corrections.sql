-- 0005: what people say an incident's root cause was. History learns a root
-- cause only when it is confirmed, and a person's correction is the
-- strongest confirmation (then a runbook that fixed it, then votes).

-- cause_corrections is the append-only record of corrections; the latest
-- one of an incident (by at, then id) is its root cause.
CREATE TABLE cause_corrections (
	id           INTEGER PRIMARY KEY AUTOINCREMENT,
	incident_id  TEXT NOT NULL,
	root_cause   TEXT NOT NULL CHECK (root_cause <> ''),
	corrected_by TEXT NOT NULL,
	at           TEXT NOT NULL
);
CREATE INDEX cause_corrections_by_incident ON cause_corrections (incident_id, at, id);

CREATE TRIGGER cause_corrections_no_update BEFORE UPDATE ON cause_corrections
BEGIN
	SELECT RAISE(ABORT, 'cause_corrections is append-only');
END;
CREATE TRIGGER cause_corrections_no_delete BEFORE DELETE ON cause_corrections
BEGIN
	SELECT RAISE(ABORT, 'cause_corrections is append-only');
END;
