package scenarios

import (
	"embed"
	"fmt"
	"io/fs"
)

// The held-out set: incidents in the corpus format (see corpus/README.md)
// over topologies of their own, written apart from the diagnosis engine to
// measure how it generalises beyond the corpus it was tuned on.
//
//go:embed holdout
var holdoutFS embed.FS

// Holdout loads every scenario of the embedded held-out set, sorted by Name.
func Holdout() ([]Scenario, error) {
	sub, err := fs.Sub(holdoutFS, "holdout")
	if err != nil {
		return nil, fmt.Errorf("holdout scenarios: %w", err)
	}
	out, err := parse(sub)
	if err != nil {
		return nil, fmt.Errorf("holdout scenarios: %w", err)
	}
	return out, nil
}
