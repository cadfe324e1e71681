package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/nightowl-sre/nightowl/diagnosis"
)

// CorrectCause records a person saying what an incident's root cause was.
// Every correction is kept; the latest one counts.
func (db *DB) CorrectCause(ctx context.Context, c diagnosis.Correction) (err error) {
	defer db.wrote("CorrectCause", time.Now(), &err)
	switch {
	case c.Incident == "":
		return errors.New("record cause correction: empty incident")
	case strings.TrimSpace(c.RootCause) == "":
		return fmt.Errorf("record cause correction of %s: empty root cause", c.Incident)
	case c.By == "":
		return fmt.Errorf("record cause correction of %s: nobody made it", c.Incident)
	}
	var ta timeArgs
	at := ta.at(c.At)
	if ta.err != nil {
		return fmt.Errorf("record cause correction of %s: %w", c.Incident, ta.err)
	}
	err = db.inTx(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `
			INSERT INTO cause_corrections (incident_id, root_cause, corrected_by, at) VALUES (?, ?, ?, ?)`,
			c.Incident, c.RootCause, c.By, at)
		return err
	})
	if err != nil {
		return fmt.Errorf("record cause correction of %s: %w", c.Incident, err)
	}
	return nil
}

// Correction returns an incident's latest cause correction; ok is false
// when nobody corrected it.
func (db *DB) Correction(ctx context.Context, incident string) (c diagnosis.Correction, ok bool, err error) {
	var at time.Time
	err = db.read.QueryRowContext(ctx, `
		SELECT incident_id, root_cause, corrected_by, at FROM cause_corrections
		WHERE incident_id = ? ORDER BY at DESC, id DESC LIMIT 1`, incident).
		Scan(&c.Incident, &c.RootCause, &c.By, timeCol{&at})
	if errors.Is(err, sql.ErrNoRows) {
		return diagnosis.Correction{}, false, nil
	}
	if err != nil {
		return diagnosis.Correction{}, false, fmt.Errorf("cause correction of %s: %w", incident, err)
	}
	c.At = at
	return c, true, nil
}
