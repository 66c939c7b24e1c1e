package main

import (
	"context"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
)

// goWorkload is a function of testdata/go/workloads and the test that runs it.
type goWorkload struct{ fn, test string }

var goWorkloadList = []goWorkload{
	{"MapBuild", "TestMapBuild"},
	{"JSONRoundTrip", "TestJSONRoundTrip"},
	{"BuildStrings", "TestBuildStrings"},
}

// Goals of the Go figures, as ratios to their anchors.
const (
	goalExact      = 1.1 // exact mode against go test -memprofilerate=1
	goalSmallShare = 1.3 // exact mode, function ≤ 10% of a real suite, against plain go test
	goalCountsOnly = 1.5 // --counts-only against plain go test
)

// goWorkloads measures, for each workload, exact mode against
// `go test -memprofilerate=1 -memprofile` and counts-only mode against
// plain `go test`, all four commands interleaved.
func goWorkloads(ctx context.Context, e *env) ([]row, error) {
	dir := filepath.Join(e.root, "testdata", "go")
	var rows []row
	for _, w := range goWorkloadList {
		run := "^" + w.test + "$"
		anchorExact := command{dir: dir, args: []string{"go", "test", "-count=1", "-run", run,
			"-memprofilerate=1", "-memprofile", filepath.Join(e.tmp, "workload.mprof"), "-o", filepath.Join(e.tmp, "workload.test"), "./workloads"}}
		exact := command{dir: dir, args: []string{e.memlens, "profile", "--quiet", "--test", w.test, "./workloads", w.fn}}
		plain := command{dir: dir, args: []string{"go", "test", "-count=1", "-run", run, "./workloads"}}
		counts := command{dir: dir, args: []string{e.memlens, "profile", "--quiet", "--counts-only", "--test", w.test, "./workloads", w.fn}}
		logf("  %s: %d× (%s, %s, %s, %s)", w.fn, e.reps, "memprofilerate=1", "memlens", "plain", "counts-only")
		ts, err := sideBySide(ctx, e.reps, anchorExact, exact, plain, counts)
		if err != nil {
			return rows, fmt.Errorf("%s: %w", w.fn, err)
		}
		rows = append(rows,
			compareRow("Go exact mode, whole run", w.fn, goalExact, ts[0], ts[1],
				fmt.Sprintf("`%s` against `%s` (run in testdata/go)", exact, anchorExact)),
			compareRow("Go counts only", w.fn, goalCountsOnly, ts[2], ts[3],
				fmt.Sprintf("`%s` against `%s`", counts, plain)),
		)
	}
	return rows, nil
}

// compareRow makes a row from the timings of an anchor and of memlens: the
// ratio of medians against a goal "≤ goal×".
func compareRow(figure, workload string, goal float64, anchor, memlens []timing, how string) row {
	a, m := median(walls(anchor)), median(walls(memlens))
	r := row{
		figure:   figure,
		workload: workload,
		anchor:   seconds(a),
		memlens:  seconds(m),
		ratio:    ratio(float64(m), float64(a)),
		goal:     fmt.Sprintf("≤ %.1f×", goal),
		met:      a > 0 && float64(m) <= goal*float64(a),
		detail:   how + "; spread (min–max): anchor " + spread(anchor) + ", memlens " + spread(memlens),
	}
	if p := medianPhases(memlens); p != "" {
		r.detail += "; memlens stages (median): " + p
	}
	return r
}

// spread is the range of the runs' wall times, "1.20–1.31 s": a ratio
// whose sides' ranges overlap more than the ratio's distance from 1 is
// within this machine's noise.
func spread(ts []timing) string {
	ds := walls(ts)
	if len(ds) == 0 {
		return "—"
	}
	return strings.TrimSuffix(seconds(slices.Min(ds)), " s") + "–" + seconds(slices.Max(ds))
}
