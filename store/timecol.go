package store

import (
	"fmt"
	"time"
)

// timeLayout is RFC 3339 with a fixed nine-digit fraction: in UTC its text
// sorts as the times compare, so SQL can order and range over it.
const timeLayout = "2006-01-02T15:04:05.000000000Z07:00"

// encodeTime renders t in UTC; a zero t becomes 0001-01-01T00:00:00.000000000Z.
func encodeTime(t time.Time) (string, error) {
	t = t.UTC()
	if y := t.Year(); y < 0 || y > 9999 {
		return "", fmt.Errorf("time %s is outside years 0-9999", t)
	}
	return t.Format(timeLayout), nil
}

// encodeOptionalTime is encodeTime, with a zero t stored as NULL.
func encodeOptionalTime(t time.Time) (any, error) {
	if t.IsZero() {
		return nil, nil
	}
	return encodeTime(t)
}

// timeCol scans a column written by encodeTime or encodeOptionalTime: NULL is
// the zero time, anything else is parsed as UTC.
type timeCol struct{ t *time.Time }

func (c timeCol) Scan(v any) error {
	var s string
	switch v := v.(type) {
	case nil:
		*c.t = time.Time{}
		return nil
	case string:
		s = v
	case []byte:
		s = string(v)
	default:
		return fmt.Errorf("scan time: unexpected %T", v)
	}
	t, err := time.Parse(timeLayout, s)
	if err != nil {
		return fmt.Errorf("scan time: %w", err)
	}
	*c.t = t.UTC()
	return nil
}

// timeArgs encodes times as query arguments, keeping the first error, so a
// statement with several times checks once.
type timeArgs struct{ err error }

// at is encodeTime.
func (e *timeArgs) at(t time.Time) any {
	s, err := encodeTime(t)
	if err != nil && e.err == nil {
		e.err = err
	}
	return s
}

// optional is encodeOptionalTime.
func (e *timeArgs) optional(t time.Time) any {
	v, err := encodeOptionalTime(t)
	if err != nil && e.err == nil {
		e.err = err
	}
	return v
}
