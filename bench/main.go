// Command bench measures how fast memlens is against the tools people would
// use instead, and writes the table to BENCHMARKS.md (`make bench`).
//
// Every figure is measured side by side in one run: the memlens command and
// its anchor are interleaved (A, B, A, B, …) after an untimed warm-up that
// fills the build cache, and medians are compared. A goal that is not met
// is reported as "missed"; only a figure that cannot be measured at all (a
// failed profile, a missing tool) makes the command exit non-zero.
//
// Figures (see issue 6):
//   - Go exact mode, whole run, per workload of testdata/go/workloads,
//     against `go test -memprofilerate=1 -memprofile` of the same test;
//   - Go counts only (--counts-only) against plain `go test`;
//   - the probes' cost (issue 12): every function of testdata/go/cpubound
//     instrumented, counts only, against plain `go test` and beside
//     `go test -covermode=count` and `=atomic`; opt-in (-only gonum), the
//     same on gonum.org/v1/gonum/mat and its suite;
//   - Go with the profiled function a small part of a real test suite
//     (golang.org/x/text/unicode/norm, copied from the module cache);
//   - the module-wide entry search (a function run by another package's
//     tests) on gonum.org/v1/gonum: first with an empty cache, then from
//     the on-disk cache;
//   - Python cost per line event against memory_profiler 0.61;
//   - the language server over pipes: click → hints (a function with its own
//     tests, and one run by another package's tests), request latency on a
//     5,000-line file, and resident memory idle and after 10 profiles;
//   - the instrumented build with and without the compiler's escape
//     analysis asked for (warm, after an edit, cold);
//   - what the timeline's sampling adds to a run (Go and Python), with and
//     without it.
//
// Usage (from the repository root):
//
//	go run ./bench [-reps N] [-only go,probes,gonum,suite,entries,python,lsp,why,timeline] [-out BENCHMARKS.md]
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strings"
	"time"
)

// env is what every figure needs: the memlens binary under test, the
// repository root and a scratch directory.
type env struct {
	root    string // repository root
	memlens string // freshly built memlens binary
	tmp     string // scratch directory, removed at exit
	reps    int    // timed repetitions of each side for the Go figures
	python  string // interpreter that has memory_profiler
}

// figureFunc measures one group of figures and returns its rows.
type figureFunc func(ctx context.Context, e *env) ([]row, error)

// figures in the order they appear in the table; the names are those of -only.
var figures = []struct {
	name  string
	run   figureFunc
	optIn bool // run only when -only names it
}{
	{"go", goWorkloads, false},
	{"probes", goProbes, false},
	{"gonum", goProbesGonum, true},
	{"suite", goSuite, false},
	{"entries", entrySearch, false},
	{"python", pythonEvents, false},
	{"lsp", lspFigures, false},
	{"why", goEscapes, false},
	{"timeline", timelineCost, false},
}

func main() {
	var (
		reps   = flag.Int("reps", 5, "timed repetitions of each side of a Go figure (the Python and LSP figures scale from it)")
		only   = flag.String("only", "", "comma-separated figure groups to run: go, probes, gonum, suite, entries, python, lsp, why, timeline (default all but gonum)")
		out    = flag.String("out", "BENCHMARKS.md", "write the report to `FILE` (empty: do not write)")
		python = flag.String("python", "/usr/bin/python3", "interpreter with memory_profiler (Debian python3-memory-profiler)")
	)
	flag.Parse()
	if *reps < 1 {
		fmt.Fprintln(os.Stderr, "bench: -reps must be at least 1")
		os.Exit(2)
	}
	selected, err := selectFigures(*only)
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	os.Exit(run(ctx, selected, *reps, *python, *out))
}

// selectFigures parses -only; without it, every group but the opt-in ones.
func selectFigures(only string) (map[string]bool, error) {
	known, byDefault := map[string]bool{}, map[string]bool{}
	var names []string
	for _, f := range figures {
		known[f.name] = true
		byDefault[f.name] = !f.optIn
		names = append(names, f.name)
	}
	if strings.TrimSpace(only) == "" {
		return byDefault, nil
	}
	sel := map[string]bool{}
	for _, name := range strings.Split(only, ",") {
		name = strings.TrimSpace(name)
		if !known[name] {
			return nil, fmt.Errorf("unknown figure group %q (want one of %s)", name, strings.Join(names, ", "))
		}
		sel[name] = true
	}
	return sel, nil
}

func run(ctx context.Context, selected map[string]bool, reps int, python, out string) int {
	root, err := repoRoot()
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		return 2
	}
	tmp, err := os.MkdirTemp("", "memlens-bench-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		return 1
	}
	defer os.RemoveAll(tmp)

	e := &env{root: root, tmp: tmp, reps: reps, python: python, memlens: filepath.Join(tmp, "memlens")}
	logf("building memlens")
	build := exec.CommandContext(ctx, "go", "build", "-o", e.memlens, ".")
	build.Dir = root
	if b, err := build.CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "bench: go build: %v\n%s", err, b)
		return 1
	}

	rep := &report{started: time.Now(), machine: describeMachine(ctx, python), reps: reps}
	failed := false
	for _, f := range figures {
		if !selected[f.name] {
			continue
		}
		logf("figure group %s", f.name)
		rows, err := f.run(ctx, e)
		rep.rows = append(rep.rows, rows...)
		if err != nil {
			failed = true
			rep.failures = append(rep.failures, fmt.Sprintf("%s: %v", f.name, err))
			fmt.Fprintf(os.Stderr, "bench: %s: %v\n", f.name, err)
		}
		if ctx.Err() != nil {
			break
		}
	}
	rep.elapsed = time.Since(rep.started)

	fmt.Println()
	fmt.Print(rep.markdown())
	if out != "" {
		if !filepath.IsAbs(out) {
			out = filepath.Join(root, out)
		}
		if err := os.WriteFile(out, []byte(rep.markdown()), 0o644); err != nil {
			fmt.Fprintln(os.Stderr, "bench:", err)
			return 1
		}
		logf("wrote %s", out)
	}
	if failed || ctx.Err() != nil {
		return 1
	}
	return 0
}

// repoRoot is the memlens module's directory: the working directory or one
// of its parents.
func repoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for d := dir; ; d = filepath.Dir(d) {
		if b, err := os.ReadFile(filepath.Join(d, "go.mod")); err == nil && strings.Contains(string(b), "module github.com/memlens/memlens\n") {
			return d, nil
		}
		if filepath.Dir(d) == d {
			return "", fmt.Errorf("run from inside the memlens repository (no memlens go.mod above %s)", dir)
		}
	}
}

// logf reports progress on stderr, so that stdout carries only the table.
func logf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "bench: "+format+"\n", args...)
}
