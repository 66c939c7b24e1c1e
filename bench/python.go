package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"time"
)

// pythonLoopN is the loop size of the Python figure.
const pythonLoopN = 200_000

// pythonScript is the workload: one profiled tight loop. The decorator is
// memory_profiler's when BENCH_MEMORY_PROFILER is set, and does nothing
// otherwise (memlens finds the function by name).
const pythonScript = `import os

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


loop(%d)
`

// pythonLineEvents is how many line events loop(n) makes: the assignment
// and the return once, the for header n+1 times, its body n times (what
// memory_profiler's Occurrences column adds up to).
func pythonLineEvents(n int) int { return 2*n + 3 }

// Goals of the Python figure.
const (
	goalPythonSpeedup  = 20.0 // times less per event than memory_profiler
	goalPythonPerEvent = 3 * time.Microsecond
)

// pythonEvents measures the cost per line event of a whole memlens run
// (memlens profile on the script) and of memory_profiler, each over the same
// script run plainly, all with the interpreter that has memory_profiler.
func pythonEvents(ctx context.Context, e *env) ([]row, error) {
	script, err := writePythonLoop(e)
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
	return []row{{
		figure:   "Python, cost per line event",
		workload: fmt.Sprintf("%d-iteration loop (%d events)", pythonLoopN, events),
		anchor:   fmt.Sprintf("%s/event", micros(theirs)),
		memlens:  fmt.Sprintf("%s/event", micros(mine)),
		ratio:    fmt.Sprintf("%.0f× faster", speedup),
		goal:     "≥ 20× faster, ≤ 3 µs/event",
		met:      speedup >= goalPythonSpeedup && mine <= goalPythonPerEvent,
		detail: fmt.Sprintf("(median whole run − median plain run %s) / events; memlens = `memlens profile --python %s loop.py loop` (%d runs), memory_profiler = `@profile` from memory_profiler (%d runs)",
			seconds(base), e.python, len(ts[1]), len(ts[2])),
	}}, nil
}

// writePythonLoop writes the Python workload into the scratch directory
// and returns its path.
func writePythonLoop(e *env) (string, error) {
	dir := filepath.Join(e.tmp, "python")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	script := filepath.Join(dir, "loop.py")
	return script, os.WriteFile(script, fmt.Appendf(nil, pythonScript, pythonLoopN), 0o644)
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
