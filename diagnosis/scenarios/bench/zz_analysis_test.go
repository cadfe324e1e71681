package bench

import (
	"fmt"
	"os"
	"sort"
	"testing"

	"github.com/nightowl-sre/nightowl/diagnosis/scenarios"
	"github.com/nightowl-sre/nightowl/diagnosis/scenarios/synth"
)

func TestZZAnalysis(t *testing.T) {
	typ := os.Getenv("ZZTYPE")
	if typ == "" {
		t.Skip()
	}
	var ss []scenarios.Scenario
	var types []string
	for _, in := range synth.Generate(3, 2016, synth.Tune) {
		ss = append(ss, in.Scenario)
		types = append(types, in.RootType)
	}
	cases, err := Cases(ss, KeepResolved())
	if err != nil {
		t.Fatal(err)
	}
	eng := Engine()
	diff := map[string]float64{}
	n, miss := 0, 0
	for i, c := range cases {
		if types[i] != typ {
			continue
		}
		n++
		d := eng(c)
		if len(d.Candidates) == 0 || c.Right(d.Candidates[0].Service) {
			continue
		}
		var right = -1
		for j, cd := range d.Candidates {
			if c.Right(cd.Service) {
				right = j
				break
			}
		}
		if right < 0 {
			continue
		}
		miss++
		top, r := d.Candidates[0], d.Candidates[right]
		for k, v := range r.Terms {
			diff[k] += v - top.Terms[k]
		}
		for k, v := range top.Terms {
			if _, ok := r.Terms[k]; !ok {
				diff[k] -= v
			}
		}
		if os.Getenv("ZZV") != "" {
			fmt.Printf("%s top=%s %.2f right=%s %.2f\n  top %v\n  right %v\n", c.Name, top.Service, top.Score, r.Service, r.Score, top.Terms, r.Terms)
		}
	}
	var keys []string
	for k := range diff {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	fmt.Printf("%s: %d incidents, %d misses with the right answer ranked\n", typ, n, miss)
	for _, k := range keys {
		fmt.Printf("  %-10s right-top mean %+.2f\n", k, diff[k]/float64(max(miss, 1)))
	}
}
