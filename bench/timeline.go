package main

import (
	"context"
	"fmt"
	"path/filepath"
	"time"
)

// goalTimeline is the most the timeline's sampling may add to a run.
const goalTimeline = 1.02

// timelineCost measures what sampling the timeline (memlens's default,
// every 10 ms) adds to a whole run: the same memlens command with and
// without it (--sample-interval=0), interleaved, on a Go workload with
// many calls and lines (the probes' part of the cost: a store per line, a
// call log entry per call) and on the Python loop (the sampler thread's).
// The sampler's own work, about 100 samples a second, shows in the
// "running" stage, which the detail gives too.
func timelineCost(ctx context.Context, e *env) ([]row, error) {
	reps := 2 * e.reps // a 2% effect needs more runs than the other figures
	var rows []row
	goDir := filepath.Join(e.root, "testdata", "go")
	for _, w := range []goWorkload{{"MapBuild", "TestMapBuild"}, {"BuildStrings", "TestBuildStrings"}} {
		on := command{dir: goDir, args: []string{e.memlens, "profile", "--test", w.test, "./workloads", w.fn}}
		off := command{dir: goDir, args: []string{e.memlens, "profile", "--sample-interval=0", "--test", w.test, "./workloads", w.fn}}
		logf("  Go %s: %d× (without, with the timeline)", w.fn, reps)
		ts, err := sideBySide(ctx, reps, off, on)
		if err != nil {
			return rows, fmt.Errorf("%s: %w", w.fn, err)
		}
		rows = append(rows, timelineRow("Go "+w.fn, ts[0], ts[1], on, off))
	}
	script, err := writePythonLoop(e, "loop.py", pythonLoopN)
	if err != nil {
		return rows, err
	}
	dir := filepath.Dir(script)
	on := command{dir: dir, args: []string{e.memlens, "profile", "--python", e.python, script, "loop"}}
	off := command{dir: dir, args: []string{e.memlens, "profile", "--sample-interval=0", "--python", e.python, script, "loop"}}
	logf("  Python loop: %d× (without, with the timeline)", reps)
	ts, err := sideBySide(ctx, reps, off, on)
	if err != nil {
		return rows, err
	}
	return append(rows, timelineRow(fmt.Sprintf("Python %d-iteration loop", pythonLoopN), ts[0], ts[1], on, off)), nil
}

func timelineRow(workload string, off, on []timing, cmdOn, cmdOff command) row {
	r := compareRow("timeline sampling (10 ms), whole run", workload, goalTimeline, off, on,
		fmt.Sprintf("`%s` against `%s`", cmdOn, cmdOff))
	r.goal = fmt.Sprintf("≤ %.2f×", goalTimeline)
	if a, m := stage(off, "running"), stage(on, "running"); a > 0 {
		r.detail += fmt.Sprintf("; running stage (median): %s without, %s with (%s)", seconds(a), seconds(m), ratio(float64(m), float64(a)))
	}
	a, m := median(cpus(off)), median(cpus(on))
	r.detail += fmt.Sprintf("; CPU time (user+system, median): %s without, %s with (%s)", seconds(a), seconds(m), ratio(float64(m), float64(a)))
	return r
}

// cpus extracts the CPU times.
func cpus(ts []timing) []time.Duration {
	ds := make([]time.Duration, len(ts))
	for i, t := range ts {
		ds[i] = t.cpu
	}
	return ds
}

// stage is the median duration of one stage over runs.
func stage(ts []timing, name string) time.Duration {
	var ds []time.Duration
	for _, t := range ts {
		if d, ok := phaseDurations(t)[name]; ok {
			ds = append(ds, d)
		}
	}
	return median(ds)
}
