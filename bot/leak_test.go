package bot

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain fails the package when a goroutine outlives its tests (a card
// lane, a triage worker, a socket loop that Run did not stop): goleak gives
// goroutines that are ending a moment to go, then lists the rest.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}
