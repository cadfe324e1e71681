-- 0003: runbook run requests and their append-only audit log.

-- run_requests holds the latest state of each request; body is the JSON of
-- runbooks.Request (approvals, vars, check and run results).
CREATE TABLE run_requests (
	id           TEXT PRIMARY KEY,
	incident_id  TEXT NOT NULL,
	runbook      TEXT NOT NULL,
	state        TEXT NOT NULL,
	requested_by TEXT NOT NULL,
	requested_at TEXT NOT NULL,
	updated_at   TEXT NOT NULL,
	body         TEXT NOT NULL
);
CREATE INDEX run_requests_by_incident ON run_requests (incident_id, requested_at);
CREATE INDEX run_requests_by_state ON run_requests (state);

-- run_audit is the append-only record of every request, approval, refusal,
-- task, cancellation and outcome.
CREATE TABLE run_audit (
	id          INTEGER PRIMARY KEY AUTOINCREMENT,
	request_id  TEXT NOT NULL,
	incident_id TEXT NOT NULL,
	runbook     TEXT NOT NULL,
	kind        TEXT NOT NULL,
	actor       TEXT NOT NULL,
	detail      TEXT NOT NULL,
	at          TEXT NOT NULL
);
CREATE INDEX run_audit_by_incident ON run_audit (incident_id, id);
CREATE INDEX run_audit_by_request ON run_audit (request_id, id);

CREATE TRIGGER run_audit_no_update BEFORE UPDATE ON run_audit
BEGIN
	SELECT RAISE(ABORT, 'run_audit is append-only');
END;
CREATE TRIGGER run_audit_no_delete BEFORE DELETE ON run_audit
BEGIN
	SELECT RAISE(ABORT, 'run_audit is append-only');
END;
