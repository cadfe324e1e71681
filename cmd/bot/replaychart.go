package main

import (
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"time"

	"github.com/nightowl-sre/nightowl/commands/picture"
	"github.com/nightowl-sre/nightowl/diagnosis/replay"
)

// Files of the markdown report, in --out.
const (
	replayReportFile = "replay.md"
	pagesChartFile   = "replay-pages-per-day.png"
	nightChartFile   = "replay-night-pages.png"
)

// writeReplayMarkdown writes the markdown report: into dir with its charts
// beside it, or, without dir, to stdout with no charts.
func writeReplayMarkdown(rep replay.Report, dir string, stdout io.Writer) error {
	if dir == "" {
		rep.Notes = append(rep.Notes, "Charts are drawn with --out DIR.")
		return replay.WriteMarkdown(stdout, rep, nil)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("replay report: %w", err)
	}
	charts, err := drawReplayCharts(rep)
	if err != nil {
		return err
	}
	var links []replay.Chart
	for _, c := range charts {
		if err := os.WriteFile(filepath.Join(dir, c.file), c.png, 0o644); err != nil {
			return fmt.Errorf("replay chart: %w", err)
		}
		links = append(links, replay.Chart{Title: c.title, File: c.file})
	}
	path := filepath.Join(dir, replayReportFile)
	f, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("replay report: %w", err)
	}
	if err := replay.WriteMarkdown(f, rep, links); err != nil {
		f.Close()
		return fmt.Errorf("replay report: %w", err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("replay report: %w", err)
	}
	_, err = fmt.Fprintf(stdout, "wrote %s, %s and %s\n", path, filepath.Join(dir, pagesChartFile), filepath.Join(dir, nightChartFile))
	return err
}

type replayChart struct {
	title, file string
	png         []byte
}

// drawReplayCharts draws pages per day and night pages per day, Alertmanager
// beside nightowl.
func drawReplayCharts(rep replay.Report) ([]replayChart, error) {
	loc := time.UTC
	if l, err := time.LoadLocation(rep.TZ); err == nil {
		loc = l
	}
	var amDay, owlDay, amNight, owlNight []picture.Point
	for _, d := range rep.Days {
		day, err := time.ParseInLocation(time.DateOnly, d.Date, loc)
		if err != nil {
			return nil, fmt.Errorf("replay chart: day %q: %w", d.Date, err)
		}
		at := day.Add(12 * time.Hour)
		owlDay = append(owlDay, picture.Point{T: at, V: float64(d.Pages)})
		owlNight = append(owlNight, picture.Point{T: at, V: float64(d.NightPages)})
		amDay = append(amDay, picture.Point{T: at, V: orNaN(d.Alertmanager)})
		amNight = append(amNight, picture.Point{T: at, V: orNaN(d.AlertmanagerNight)})
	}
	specs := []struct {
		title, file, y string
		am, owl        []picture.Point
	}{
		{"Pages per day: Alertmanager notifications vs nightowl pages", pagesChartFile, "per day", amDay, owlDay},
		{"Night pages (22:00–07:00 " + rep.TZ + "): Alertmanager vs nightowl", nightChartFile, "per night", amNight, owlNight},
	}
	var out []replayChart
	for _, s := range specs {
		png, err := picture.DrawChart(picture.ChartSpec{Title: s.title, YLabel: s.y, Width: 900, Height: 420, Series: []picture.Series{
			{Name: "Alertmanager notifications", Points: s.am},
			{Name: "nightowl pages", Points: s.owl},
		}})
		if err != nil {
			return nil, fmt.Errorf("replay chart: %w", err)
		}
		out = append(out, replayChart{title: s.title, file: s.file, png: png})
	}
	return out, nil
}

func orNaN(v *float64) float64 {
	if v == nil {
		return math.NaN()
	}
	return *v
}
