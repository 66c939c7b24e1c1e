package main

import "strings"

// whereTheTimeGoes explains missed goals. The explanations come from
// profiles of memlens itself taken while the figures were first measured
// (perf of whole memlens runs; `-test.cpuprofile` of the instrumented test
// binary; the stage timings above). They are printed only for figures that
// missed, so an engine that gets fixed drops them; re-check them when one
// stays.
func whereTheTimeGoes(rows []row) string {
	var b strings.Builder
	seen := map[string]bool{}
	for _, r := range rows {
		if r.met || seen[r.figure] {
			continue
		}
		seen[r.figure] = true
		if why, ok := explanations[r.figure]; ok {
			b.WriteString("- **" + r.figure + "**: " + why + "\n")
		}
	}
	return b.String()
}

// goFixedCosts is where the Go figures lose time: around the program, not in it.
const goFixedCosts = "Inside the instrumented test binary memlens's own code is under 5% of CPU samples " +
	"(memlensLine, memlensStep, memlensObserve in a `-test.cpuprofile` of BuildStrings); in exact mode about 80% is the " +
	"runtime's own `memprofilerate=1` bookkeeping (runtime.tracebackPCs/pcvalue unwinding every allocation, " +
	"runtime.addspecial/specialFindSplicePoint), as in the anchor. The gap is fixed cost around the run: " +
	"`go list` and parsing (stage \"resolving\", 50–100 ms) and a `go test -c -o` into a fresh temporary " +
	"directory (stage \"building\"), which relinks every time: 0.24 s for workloads against 0.07 s when the " +
	"output path already holds an up-to-date binary (the compile of the instrumented package is cached either " +
	"way), so a stable output path per package under the user cache directory would save it. The tree-RSS sampler " +
	"also execs `pgrep -P` every 50 ms (gopsutil Process.Children in runner/proc.go treeRSS), competing for the " +
	"2 cores. On a workload of a fraction of a second these fixed costs are the whole ratio."

var explanations = map[string]string{
	"Go exact mode, whole run":                goFixedCosts,
	"Go counts only":                          goFixedCosts,
	"Go, profiled function ≤ 10% of the work": goFixedCosts,
	"Python, cost per line event": "memory_profiler costs 22–32 µs per event on this machine, not the 61 µs of " +
		"the notes, so 20× asks for about 1.1–1.6 µs per event, whole run included. memlens's tracer alone costs " +
		"about 1.7 µs per event (runner/pytracer/bench_overhead.py, in-process). perf of a whole memlens run: " +
		"54% in the interpreter running the tracer's callback, 11% in vdso clock_gettime (a time check on every " +
		"event), 16% in `pgrep` started by the runner's RSS sampler (gopsutil Process.Children, every 50 ms); " +
		"plus about 0.3 s of fixed start-up (writing the tracer, starting the interpreter, reading the result).",
}
