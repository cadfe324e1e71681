package store

import (
	"context"
	"errors"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/nightowl-sre/nightowl/diagnosis"
)

type heardWrite struct {
	op     string
	failed bool
}

// TestWroteHearsEveryWriteByMethodAndItsFailures: each write method tells
// Wrote its name, its duration and whether it failed; a message recorded
// twice (ErrRepeated) is an answer, not a failure; reads tell nothing.
func TestWroteHearsEveryWriteByMethodAndItsFailures(t *testing.T) {
	var mu sync.Mutex
	var heard []heardWrite
	db, err := Open(t.Context(), filepath.Join(t.TempDir(), "nightowl.db"), ObserveWrites(WriteObserverFunc(func(op string, took time.Duration, err error) {
		mu.Lock()
		defer mu.Unlock()
		if took <= 0 {
			t.Errorf("%s took %v", op, took)
		}
		heard = append(heard, heardWrite{op, err != nil})
	})))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	ctx := t.Context()
	t0 := time.Date(2026, 11, 27, 9, 0, 0, 0, time.UTC)
	in := diagnosis.Incident{ID: "INC-1", Status: diagnosis.Firing, OpenedAt: t0}
	if err := db.SaveIncident(ctx, in); err != nil {
		t.Fatal(err)
	}
	receipt := AlertReceipt{Channel: "C0ALERTS", MessageTS: "1.000001", Received: t0, Key: "msg:C0ALERTS:1.000001",
		Alerts: []diagnosis.Alert{{Labels: map[string]string{"alertname": "Down"}, Status: diagnosis.Firing, StartsAt: t0, Fingerprint: "f1"}}}
	if err := db.RecordAlerts(ctx, receipt); err != nil {
		t.Fatal(err)
	}
	if err := db.RecordAlerts(ctx, receipt); !errors.Is(err, ErrRepeated) {
		t.Fatalf("the second RecordAlerts = %v, want ErrRepeated", err)
	}
	if _, err := db.Incident(ctx, "INC-1"); err != nil {
		t.Fatal(err)
	}
	canceled, cancel := context.WithCancel(ctx)
	cancel()
	if err := db.Append(canceled, diagnosis.Event{Incident: "INC-1", Kind: "note", At: t0}); err == nil {
		t.Fatal("Append with a canceled context succeeded")
	}
	want := []heardWrite{{"SaveIncident", false}, {"RecordAlerts", false}, {"RecordAlerts", false}, {"Append", true}}
	mu.Lock()
	defer mu.Unlock()
	if len(heard) != len(want) {
		t.Fatalf("heard %v, want %v", heard, want)
	}
	for i := range want {
		if heard[i] != want[i] {
			t.Errorf("write %d: heard %v, want %v", i, heard[i], want[i])
		}
	}
}
