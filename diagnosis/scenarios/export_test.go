package scenarios

import "testing"

// Parse exposes the loader seam to the external tests.
var Parse = parse

// MustCorpus loads the corpus or fails the test.
func MustCorpus(tb testing.TB) []Scenario {
	tb.Helper()
	all, err := Corpus()
	if err != nil {
		tb.Fatalf("load scenario corpus: %v", err)
	}
	return all
}
