package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"
)

// pythonLoopN is the loop size of the per-event figures; pythonShortLoopN
// that of the whole-run figure (issue 12), where start-up counts.
const (
	pythonLoopN      = 200_000
	pythonShortLoopN = 20_000
)

// pythonScript is the workload: one profiled tight loop. The decorator is
// memory_profiler's when BENCH_MEMORY_PROFILER is set, and does nothing
// otherwise (memlens finds the function by name).
const pythonScript = `import os
import time

if os.environ.get("BENCH_MEMORY_PROFILER"):
    from memory_profiler import profile
else:
    def profile(f):
        return f


@profile
def loop(n):
    total = 0
    for i in range(n):
        total += i
    return total


t = time.perf_counter()
loop(%d)
if os.environ.get("BENCH_ELAPSED"):
    with open(os.environ["BENCH_ELAPSED"], "a") as f:
        f.write("%%.9f\n" %% (time.perf_counter() - t))
`

// pythonLineEvents is how many line events loop(n) makes: the assignment
// and the return once, the for header n+1 times, its body n times (what
// memory_profiler's Occurrences column adds up to).
func pythonLineEvents(n int) int { return 2*n + 3 }

// Goals of the Python figures.
const (
	goalPythonSpeedup  = 20.0 // times less per event, or whole run, than memory_profiler
	goalPythonPerEvent = 3 * time.Microsecond
	// goalTracerPerEvent is the in-process cost of a line event on 3.11
	// (sys.settrace); 3.12+ (sys.monitoring) must do at least as well.
	goalTracerPerEvent = time.Microsecond
)

// pythonEvents measures the cost per line event of a whole memlens run
// (memlens profile on the script) and of memory_profiler, each over the same
// script run plainly, all with the interpreter that has memory_profiler.
func pythonEvents(ctx context.Context, e *env) ([]row, error) {
	whole, err := pythonWholeRun(ctx, e)
	if err != nil {
		return nil, err
	}
	tracer, err := pythonTracerCost(ctx, e)
	if err != nil {
		return nil, err
	}
	script, err := writePythonLoop(e, "loop.py", pythonLoopN)
	if err != nil {
		return nil, err
	}
	dir := filepath.Dir(script)
	plain := command{dir: dir, args: []string{e.python, script}}
	memlens := command{dir: dir, args: []string{e.memlens, "profile", "--quiet", "--python", e.python, script, "loop"}}
	// memory_profiler spends about 25 s on this loop: no warm-up, and at
	// most 3 runs (still interleaved with the others).
	mp := command{dir: dir, env: []string{"BENCH_MEMORY_PROFILER=1"}, args: []string{e.python, script}, noWarmup: true, maxReps: 3}
	logf("  Python loop of %d: %d× (plain, memlens, memory_profiler ≤3×)", pythonLoopN, e.reps)
	ts, err := sideBySide(ctx, e.reps, plain, memlens, mp)
	if err != nil {
		return nil, err
	}
	events := pythonLineEvents(pythonLoopN)
	base := median(walls(ts[0]))
	mine := perEvent(median(walls(ts[1])), base, events)
	theirs := perEvent(median(walls(ts[2])), base, events)
	speedup := float64(theirs) / float64(max(mine, time.Nanosecond))
	return append(append(whole, tracer...), row{
		figure:   "Python, cost per line event",
		workload: fmt.Sprintf("%d-iteration loop (%d events)", pythonLoopN, events),
		anchor:   fmt.Sprintf("%s/event", micros(theirs)),
		memlens:  fmt.Sprintf("%s/event", micros(mine)),
		ratio:    fmt.Sprintf("%.0f× faster", speedup),
		goal:     "≥ 20× faster, ≤ 3 µs/event",
		met:      speedup >= goalPythonSpeedup && mine <= goalPythonPerEvent,
		detail: fmt.Sprintf("(median whole run − median plain run %s) / events; memlens = `memlens profile --python %s loop.py loop` (%d runs), memory_profiler = `@profile` from memory_profiler (%d runs)",
			seconds(base), e.python, len(ts[1]), len(ts[2])),
	}), nil
}

// pythonWholeRun times whole runs of a short loop, start-up included:
// memlens profile against the script under memory_profiler's @profile.
func pythonWholeRun(ctx context.Context, e *env) ([]row, error) {
	script, err := writePythonLoop(e, "short.py", pythonShortLoopN)
	if err != nil {
		return nil, err
	}
	dir := filepath.Dir(script)
	plain := command{dir: dir, args: []string{e.python, script}}
	memlens := command{dir: dir, args: []string{e.memlens, "profile", "--quiet", "--python", e.python, script, "loop"}}
	mp := command{dir: dir, env: []string{"BENCH_MEMORY_PROFILER=1"}, args: []string{e.python, script}}
	logf("  Python whole run, loop of %d: %d× (plain, memlens, memory_profiler)", pythonShortLoopN, e.reps)
	ts, err := sideBySide(ctx, e.reps, plain, memlens, mp)
	if err != nil {
		return nil, err
	}
	mine, theirs := median(walls(ts[1])), median(walls(ts[2]))
	speedup := float64(theirs) / float64(max(mine, time.Nanosecond))
	return []row{{
		figure:   "Python whole run",
		workload: fmt.Sprintf("%d-iteration loop (%d events)", pythonShortLoopN, pythonLineEvents(pythonShortLoopN)),
		anchor:   seconds(theirs),
		memlens:  seconds(mine),
		ratio:    fmt.Sprintf("%.1f× faster", speedup),
		goal:     fmt.Sprintf("≥ %.0f× faster", goalPythonSpeedup),
		met:      speedup >= goalPythonSpeedup,
		detail: fmt.Sprintf("whole processes, medians: `%s` against `@profile` from memory_profiler (`%s short.py`); the plain script takes %s; spread (min–max): memory_profiler %s, memlens %s",
			memlens, e.python, seconds(median(walls(ts[0]))), spread(ts[2]), spread(ts[1])),
	}}, nil
}

// pythonTracerCost measures the tracer's own cost per line event, inside
// the process (the script times its loop), through memlens profile, with
// the bench's interpreter (3.11: sys.settrace) and each Python 3.12+ found
// (sys.monitoring), each against the same loop run plainly.
func pythonTracerCost(ctx context.Context, e *env) ([]row, error) {
	script, err := writePythonLoop(e, "timed.py", pythonLoopN)
	if err != nil {
		return nil, err
	}
	dir := filepath.Dir(script)
	events := pythonLineEvents(pythonLoopN)
	var rows []row
	var base time.Duration // the bench interpreter's figure, the others' goal
	for i, py := range append([]string{e.python}, newerPythons(e.python)...) {
		version := pythonVersionOf(ctx, py)
		elapsed := func(side string) (command, string) {
			file := filepath.Join(dir, fmt.Sprintf("elapsed-%d-%s", i, side))
			os.Remove(file)
			return command{dir: dir, env: []string{"BENCH_ELAPSED=" + file}}, file
		}
		plain, plainFile := elapsed("plain")
		plain.args = []string{py, script}
		memlens, memlensFile := elapsed("memlens")
		memlens.args = []string{e.memlens, "profile", "--quiet", "--python", py, script, "loop"}
		logf("  Python tracer, %s, loop of %d: %d× (plain, memlens)", version, pythonLoopN, e.reps)
		if _, err := sideBySide(ctx, e.reps, plain, memlens); err != nil {
			return rows, err
		}
		p, err1 := readElapsed(plainFile, e.reps)
		m, err2 := readElapsed(memlensFile, e.reps)
		if err := errors.Join(err1, err2); err != nil {
			return rows, err
		}
		cost := perEvent(median(m), median(p), events)
		backend, goal, met := "sys.settrace", fmt.Sprintf("≤ %s/event", micros(goalTracerPerEvent)), cost <= goalTracerPerEvent
		if i == 0 {
			base = cost
		} else {
			goal, met = fmt.Sprintf("≤ %s/event (as %s)", micros(base), pythonVersionOf(ctx, e.python)), cost <= base
		}
		if pythonMinorOf(version) >= 12 {
			backend = "sys.monitoring"
		}
		rows = append(rows, row{
			figure:   "Python tracer, in-process cost per line event",
			workload: fmt.Sprintf("%d-iteration loop (%d events), %s (%s)", pythonLoopN, events, version, backend),
			anchor:   "—",
			memlens:  fmt.Sprintf("%s/event", micros(cost)),
			ratio:    "—",
			goal:     goal,
			met:      met,
			detail: fmt.Sprintf("the loop timed inside the process (perf_counter around the call), median under `memlens profile --python %s timed.py loop` − median plain, over the events; spread (min–max): plain %s, memlens %s",
				py, spreadOf(p), spreadOf(m)),
		})
	}
	return rows, nil
}

// newerPythons finds Python 3.12+ interpreters (python3.N on PATH, or
// under pyenv's versions), one per minor version, other than skip's.
func newerPythons(skip string) []string {
	var found []string
	seen := map[string]bool{}
	if real, err := filepath.EvalSymlinks(skip); err == nil {
		seen[real] = true
	}
	root := os.Getenv("PYENV_ROOT")
	if root == "" {
		if home, err := os.UserHomeDir(); err == nil {
			root = filepath.Join(home, ".pyenv")
		}
	}
	for m := 12; m <= 19; m++ {
		cands, _ := filepath.Glob(filepath.Join(root, "versions", fmt.Sprintf("3.%d.*", m), "bin", "python3"))
		if p, err := exec.LookPath(fmt.Sprintf("python3.%d", m)); err == nil && !strings.Contains(p, "/shims/") {
			cands = append([]string{p}, cands...)
		}
		for _, c := range cands {
			real, err := filepath.EvalSymlinks(c)
			if err != nil || seen[real] {
				continue
			}
			seen[real] = true
			found = append(found, c)
			break
		}
	}
	return found
}

// pythonVersionOf is "Python 3.12.1", or the path when it does not answer.
func pythonVersionOf(ctx context.Context, py string) string {
	out, err := exec.CommandContext(ctx, py, "--version").CombinedOutput()
	if err != nil {
		return py
	}
	return strings.TrimSpace(string(out))
}

// pythonMinorOf is 12 of "Python 3.12.1", 0 when unknown.
func pythonMinorOf(version string) int {
	var major, minor int
	fmt.Sscanf(strings.TrimPrefix(version, "Python "), "%d.%d", &major, &minor)
	return minor
}

// readElapsed reads the last n loop times a script appended to file.
func readElapsed(file string, n int) ([]time.Duration, error) {
	b, err := os.ReadFile(file)
	if err != nil {
		return nil, err
	}
	lines := strings.Fields(string(b))
	if len(lines) < n {
		return nil, fmt.Errorf("%s: %d loop times, want %d", file, len(lines), n)
	}
	var ds []time.Duration
	for _, l := range lines[len(lines)-n:] {
		sec, err := strconv.ParseFloat(l, 64)
		if err != nil {
			return nil, fmt.Errorf("%s: %v", file, err)
		}
		ds = append(ds, time.Duration(sec*float64(time.Second)))
	}
	return ds, nil
}

// spreadOf is the range of durations, "0.12–0.13 s".
func spreadOf(ds []time.Duration) string {
	return strings.TrimSuffix(seconds(slices.Min(ds)), " s") + "–" + seconds(slices.Max(ds))
}

// writePythonLoop writes the Python workload, a loop of n, into the
// scratch directory as name and returns its path.
func writePythonLoop(e *env, name string, n int) (string, error) {
	dir := filepath.Join(e.tmp, "python")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	script := filepath.Join(dir, name)
	return script, os.WriteFile(script, fmt.Appendf(nil, pythonScript, n), 0o644)
}

// perEvent spreads the extra time of a run over its events.
func perEvent(run, plain time.Duration, events int) time.Duration {
	if run <= plain || events <= 0 {
		return 0
	}
	return (run - plain) / time.Duration(events)
}

// micros formats a duration as "1.23 µs".
func micros(d time.Duration) string {
	return fmt.Sprintf("%.2f µs", float64(d)/float64(time.Microsecond))
}
