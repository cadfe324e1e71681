package picture

import (
	"flag"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// examples writes the pictures the docs show; they are examples, not
// golden files (golden files are compared, and rewritten with -update).
var examples = flag.Bool("examples", false, "write the example pictures to docs/")

// blackFriday is the incident the docs tell: order-service ran out of database
// connections and everything that calls it caught fire.
func blackFriday() GraphSpec {
	nodes := []Node{
		{Name: "api-gateway", Kind: "ingress"},
		{Name: "checkout-service", Kind: "service"},
		{Name: "payment-service", Kind: "service"},
		{Name: "inventory-service", Kind: "service"},
		{Name: "order-service", Kind: "service", Root: true, Focus: true},
		{Name: "notification-service", Kind: "service"},
		{Name: "redis-cache", Kind: "cache"},
		{Name: "postgres-rds", Kind: "database"},
		{Name: "kafka", Kind: "queue"},
	}
	radius := map[string]bool{"order-service": true, "payment-service": true, "checkout-service": true, "api-gateway": true}
	for i := range nodes {
		switch nodes[i].Name {
		case "postgres-rds", "redis-cache", "kafka":
			nodes[i].State = StateOK
		default:
			nodes[i].State = StateFiring
		}
		nodes[i].InRadius = radius[nodes[i].Name]
	}
	return GraphSpec{
		Title: "Black Friday: neighbourhood of order-service",
		Nodes: nodes,
		Edges: []Edge{
			{"api-gateway", "checkout-service"},
			{"api-gateway", "payment-service"},
			{"api-gateway", "inventory-service"},
			{"checkout-service", "payment-service"},
			{"checkout-service", "inventory-service"},
			{"checkout-service", "order-service"},
			{"checkout-service", "redis-cache"},
			{"payment-service", "order-service"},
			{"payment-service", "redis-cache"},
			{"order-service", "postgres-rds"},
			{"order-service", "kafka"},
			{"inventory-service", "postgres-rds"},
			{"notification-service", "kafka"},
		},
		Legend: true,
	}
}

// poolSaturation is 24 hours of 15-second samples of a connection pool that
// saturates during the incident window.
func poolSaturation(start time.Time) ChartSpec {
	incident := Window{From: start.Add(15*time.Hour + 5*time.Minute), To: start.Add(17*time.Hour + 35*time.Minute)}
	pods := []string{"order-service-7d9f-abcde", "order-service-7d9f-fghij", "order-service-7d9f-klmno"}
	spec := ChartSpec{
		Title:  "db connection pool saturation — order-service",
		YLabel: "pool in use (ratio)",
		Shade:  &incident,
	}
	for k, pod := range pods {
		s := Series{Name: `pod="` + pod + `"`}
		rng := rand.New(rand.NewPCG(11, uint64(k)))
		noise := 0.0
		for i := range 24 * 60 * 4 {
			t := start.Add(time.Duration(i) * 15 * time.Second)
			h := float64(i) / 240 // hours since start
			v := 0.34 + 0.14*math.Sin(2*math.Pi*(h-9)/24) + 0.05*float64(k-1)
			noise = 0.97*noise + 0.006*rng.NormFloat64() // seeded: the same picture every run
			v += noise
			if t.After(incident.From.Add(-20*time.Minute)) && t.Before(incident.To) {
				ramp := math.Min(1, t.Sub(incident.From.Add(-20*time.Minute)).Minutes()/25)
				v = v*(1-ramp) + (0.95+noise/2)*ramp
			}
			s.Points = append(s.Points, Point{T: t, V: math.Min(1, v)})
		}
		spec.Series = append(spec.Series, s)
	}
	return spec
}

var exampleStart = time.Date(2025, 11, 28, 0, 0, 0, 0, time.UTC)

// TestWriteExamples writes the pictures shown in the docs when run with
// -examples.
func TestWriteExamples(t *testing.T) {
	if !*examples {
		t.Skip("run with -examples to write docs/graph-example.png and docs/chart-example.png")
	}
	graph, _, err := DrawGraph(blackFriday())
	if err != nil {
		t.Fatal(err)
	}
	chart, err := DrawChart(poolSaturation(exampleStart))
	if err != nil {
		t.Fatal(err)
	}
	for name, png := range map[string][]byte{"graph-example.png": graph, "chart-example.png": chart} {
		if err := os.WriteFile(filepath.Join("..", "..", "docs", name), png, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}
