package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/nightowl-sre/nightowl/diagnosis"
)

// maxTurnText bounds one message of a conversation: far more than anyone
// types into a thread, far less than would bloat the database.
const maxTurnText = 64 << 10

// AppendTurn adds one message of an incident's conversation; u is the model's cost for an assistant turn (zero otherwise).
func (db *DB) AppendTurn(ctx context.Context, t diagnosis.Turn, u diagnosis.Usage) (err error) {
	defer db.wrote("AppendTurn", time.Now(), &err)
	if t.Incident == "" {
		return errors.New("append turn: empty incident")
	}
	if t.Role != "user" && t.Role != "assistant" {
		return fmt.Errorf("append turn to %s: role %q is neither user nor assistant", t.Incident, t.Role)
	}
	if len(t.Text) > maxTurnText {
		return fmt.Errorf("append turn to %s: text of %d bytes is over %d", t.Incident, len(t.Text), maxTurnText)
	}
	var ta timeArgs
	at := ta.at(t.At)
	if ta.err != nil {
		return fmt.Errorf("append turn to %s: %w", t.Incident, ta.err)
	}
	err = db.inTx(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `
			INSERT INTO conversation_turns (incident_id, role, author, text, at, model, prompt_tokens, completion_tokens, latency_ms)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			t.Incident, t.Role, t.Author, t.Text, at, u.Model, u.PromptTokens, u.CompletionTokens, millis(u.Latency))
		return err
	})
	if err != nil {
		return fmt.Errorf("append turn to %s: %w", t.Incident, err)
	}
	return nil
}

// Turns returns the last limit turns of an incident's conversation, oldest first (limit<=0: all).
func (db *DB) Turns(ctx context.Context, incident string, limit int) ([]diagnosis.Turn, error) {
	if limit <= 0 {
		limit = -1 // SQLite: no limit
	}
	rows, err := db.read.QueryContext(ctx, `
		SELECT incident_id, role, author, text, at FROM (
			SELECT id, incident_id, role, author, text, at FROM conversation_turns
			WHERE incident_id = ? ORDER BY id DESC LIMIT ?
		) ORDER BY id`, incident, limit)
	if err != nil {
		return nil, fmt.Errorf("turns of %s: %w", incident, err)
	}
	defer rows.Close()
	var out []diagnosis.Turn
	for rows.Next() {
		var t diagnosis.Turn
		if err := rows.Scan(&t.Incident, &t.Role, &t.Author, &t.Text, timeCol{&t.At}); err != nil {
			return nil, fmt.Errorf("turns of %s: %w", incident, err)
		}
		out = append(out, t)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("turns of %s: %w", incident, err)
	}
	return out, nil
}

// SetConversation turns conversation mode of an incident's thread on or off.
func (db *DB) SetConversation(ctx context.Context, incident string, on bool, by string, at time.Time) (err error) {
	defer db.wrote("SetConversation", time.Now(), &err)
	if incident == "" {
		return errors.New("set conversation mode: empty incident")
	}
	var ta timeArgs
	t := ta.at(at)
	if ta.err != nil {
		return fmt.Errorf("set conversation mode of %s: %w", incident, ta.err)
	}
	err = db.inTx(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `
			INSERT INTO conversation_modes (incident_id, enabled, changed_by, at) VALUES (?, ?, ?, ?)
			ON CONFLICT (incident_id) DO UPDATE SET enabled = excluded.enabled, changed_by = excluded.changed_by, at = excluded.at`,
			incident, on, by, t)
		return err
	})
	if err != nil {
		return fmt.Errorf("set conversation mode of %s: %w", incident, err)
	}
	return nil
}

// Conversation reports whether conversation mode is on (false, nil when never set).
func (db *DB) Conversation(ctx context.Context, incident string) (bool, error) {
	var on bool
	err := db.read.QueryRowContext(ctx, `SELECT enabled FROM conversation_modes WHERE incident_id = ?`, incident).Scan(&on)
	if errors.Is(err, sql.ErrNoRows) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("conversation mode of %s: %w", incident, err)
	}
	return on, nil
}

// RecordModelCall keeps the cost of one triage or answer (callErr nil = ok); purpose is "triage" or "answer".
func (db *DB) RecordModelCall(ctx context.Context, incident, purpose string, u diagnosis.Usage, callErr error, at time.Time) (err error) {
	defer db.wrote("RecordModelCall", time.Now(), &err)
	if incident == "" {
		return errors.New("record model call: empty incident")
	}
	if purpose != "triage" && purpose != "answer" {
		return fmt.Errorf("record model call of %s: purpose %q is neither triage nor answer", incident, purpose)
	}
	var ta timeArgs
	t := ta.at(at)
	if ta.err != nil {
		return fmt.Errorf("record model call of %s: %w", incident, ta.err)
	}
	msg := ""
	if callErr != nil {
		msg = callErr.Error()
	}
	err = db.inTx(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `
			INSERT INTO model_calls (incident_id, purpose, model, calls, prompt_tokens, completion_tokens, latency_ms, ok, error, at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			incident, purpose, u.Model, u.Calls, u.PromptTokens, u.CompletionTokens, millis(u.Latency), callErr == nil, msg, t)
		return err
	})
	if err != nil {
		return fmt.Errorf("record model call of %s: %w", incident, err)
	}
	return nil
}

// ModelUsage sums an incident's model calls (all purposes); zero Usage when none. Model is the latest call's model.
// A call recorded without a model name leaves Model to the call before it.
func (db *DB) ModelUsage(ctx context.Context, incident string) (diagnosis.Usage, error) {
	var (
		u  diagnosis.Usage
		ms int64
	)
	err := db.read.QueryRowContext(ctx, `
		SELECT
			COALESCE((SELECT model FROM model_calls WHERE incident_id = ? AND model <> '' ORDER BY id DESC LIMIT 1), ''),
			COALESCE(sum(calls), 0), COALESCE(sum(prompt_tokens), 0), COALESCE(sum(completion_tokens), 0),
			COALESCE(sum(latency_ms), 0)
		FROM model_calls WHERE incident_id = ?`, incident, incident,
	).Scan(&u.Model, &u.Calls, &u.PromptTokens, &u.CompletionTokens, &ms)
	if err != nil {
		return diagnosis.Usage{}, fmt.Errorf("model usage of %s: %w", incident, err)
	}
	u.Latency = time.Duration(ms) * time.Millisecond
	return u, nil
}

// SaveTriage keeps the latest triage of an incident and what it was made for.
// Latest is by at: a triage made before the one kept never replaces it.
func (db *DB) SaveTriage(ctx context.Context, incident, key string, t diagnosis.Triage, at time.Time) (err error) {
	defer db.wrote("SaveTriage", time.Now(), &err)
	if incident == "" {
		return errors.New("save triage: empty incident")
	}
	body, err := json.Marshal(t)
	if err != nil {
		return fmt.Errorf("save triage of %s: %w", incident, err)
	}
	var ta timeArgs
	ts := ta.at(at)
	if ta.err != nil {
		return fmt.Errorf("save triage of %s: %w", incident, ta.err)
	}
	err = db.inTx(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `
			INSERT INTO triages (incident_id, key, source, body, at) VALUES (?, ?, ?, ?, ?)
			ON CONFLICT (incident_id) DO UPDATE SET key = excluded.key, source = excluded.source,
				body = excluded.body, at = excluded.at
			WHERE excluded.at >= triages.at`,
			incident, key, t.Source, string(body), ts)
		return err
	})
	if err != nil {
		return fmt.Errorf("save triage of %s: %w", incident, err)
	}
	return nil
}

// Triage returns the latest triage and its key; ErrNotFound when none.
func (db *DB) Triage(ctx context.Context, incident string) (key string, t diagnosis.Triage, err error) {
	var body string
	err = db.read.QueryRowContext(ctx, `SELECT key, body FROM triages WHERE incident_id = ?`, incident).Scan(&key, &body)
	if errors.Is(err, sql.ErrNoRows) {
		return "", diagnosis.Triage{}, fmt.Errorf("triage of %s: %w", incident, ErrNotFound)
	}
	if err != nil {
		return "", diagnosis.Triage{}, fmt.Errorf("triage of %s: %w", incident, err)
	}
	if err := json.Unmarshal([]byte(body), &t); err != nil {
		return "", diagnosis.Triage{}, fmt.Errorf("triage of %s: %w", incident, err)
	}
	return key, t, nil
}

// Vote records a person's 👍 (+1) or 👎 (-1) on an incident's diagnosis; the latest vote per person wins. Other values are an error.
// Latest is by at: a vote cast before the one kept never replaces it.
func (db *DB) Vote(ctx context.Context, incident, user string, vote int, rootCause string, at time.Time) (err error) {
	defer db.wrote("Vote", time.Now(), &err)
	if incident == "" {
		return errors.New("record vote: empty incident")
	}
	if user == "" {
		return fmt.Errorf("record vote on %s: empty user", incident)
	}
	if vote != 1 && vote != -1 {
		return fmt.Errorf("record vote of %s on %s: vote %d is neither +1 nor -1", user, incident, vote)
	}
	var ta timeArgs
	t := ta.at(at)
	if ta.err != nil {
		return fmt.Errorf("record vote of %s on %s: %w", user, incident, ta.err)
	}
	err = db.inTx(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `
			INSERT INTO feedback (incident_id, user_id, vote, root_cause, at) VALUES (?, ?, ?, ?, ?)
			ON CONFLICT (incident_id, user_id) DO UPDATE SET vote = excluded.vote, root_cause = excluded.root_cause,
				at = excluded.at
			WHERE excluded.at >= feedback.at`,
			incident, user, vote, rootCause, t)
		return err
	})
	if err != nil {
		return fmt.Errorf("record vote of %s on %s: %w", user, incident, err)
	}
	return nil
}

// Votes counts an incident's 👍 and 👎, whatever root cause they were cast on.
func (db *DB) Votes(ctx context.Context, incident string) (up, down int, err error) {
	err = db.read.QueryRowContext(ctx, `
		SELECT COALESCE(sum(vote > 0), 0), COALESCE(sum(vote < 0), 0) FROM feedback WHERE incident_id = ?`,
		incident).Scan(&up, &down)
	if err != nil {
		return 0, 0, fmt.Errorf("votes on %s: %w", incident, err)
	}
	return up, down, nil
}

// millis is d in whole milliseconds, rounded half away from zero.
func millis(d time.Duration) int64 { return d.Round(time.Millisecond).Milliseconds() }
