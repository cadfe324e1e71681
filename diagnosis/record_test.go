package diagnosis_test

import (
	"context"
	"testing"
	"time"

	"github.com/nightowl-sre/nightowl/diagnosis"
)

func TestAWriteToTheRecordOutlivesItsCallerButNotForever(t *testing.T) {
	type key struct{}
	parent, cancel := context.WithCancel(context.WithValue(t.Context(), key{}, "INC-1"))
	cancel()
	ctx, done := diagnosis.Detached(parent)
	defer done()
	if ctx.Err() != nil {
		t.Errorf("the write's context ended with its caller's: %v", ctx.Err())
	}
	if ctx.Value(key{}) != "INC-1" {
		t.Errorf("the write's context lost its caller's values")
	}
	if dl, ok := ctx.Deadline(); !ok || time.Until(dl) > diagnosis.RecordTimeout {
		t.Errorf("deadline %v %v, want one within %v", dl, ok, diagnosis.RecordTimeout)
	}
}
