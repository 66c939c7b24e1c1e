package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/memlens/memlens/chart"
	"github.com/memlens/memlens/profile"
	"github.com/memlens/memlens/runner"
)

// profileCommand implements `memlens profile [flags] TARGET [FUNC...] [-- ARGS...]`.
// Flags may come before or after the positional arguments. stdin (may be
// nil) becomes the program's standard input.
func profileCommand(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("memlens profile", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var (
		asJSON      = fs.Bool("json", false, "print the result as JSON")
		pprofFile   = fs.String("pprof", "", "write the allocation data as a pprof profile to `FILE`")
		plotFile    = fs.String("plot", "", "write the timeline chart to `FILE` (.svg or .png): RSS and heap against time, calls shaded, the peak's line")
		timeout     = fs.Duration("timeout", runner.DefaultTimeout, "stop the run after this long (build included)")
		test        = fs.String("test", "", "run the function through the test `NAME`, of any package of the module (Python: pytest node ids or a -k expression)")
		bench       = fs.String("bench", "", "run the function through the benchmark `NAME`, of any package of the module, once")
		in          = fs.String("in", "", "Go: the package of --test or --bench, where several have that name (a directory or import path)")
		runPkg      = fs.String("run", "", "Go: run the main package `PKG` (a directory or import path), with the ARGS after --")
		countsOnly  = fs.Bool("counts-only", false, "count line executions only: no allocation sampling, no RSS")
		rssEvery    = fs.Duration("rss-interval", runner.DefaultRSSInterval, "Go: read the process RSS at most once per `INTERVAL` (0: at every line)")
		sampleEvery = fs.Duration("sample-interval", runner.DefaultSampleInterval, "sample the run's memory and running line every `INTERVAL` for the timeline (0: no timeline)")
		python      = fs.String("python", "", "Python interpreter (default python3 on PATH)")
		module      = fs.String("m", "", "Python: run `MODULE` as python -m does; every positional argument is then a FUNC")
		tags        = fs.String("tags", "", "Go build tags, as for go build -tags")
		quiet       = fs.Bool("quiet", false, "do not echo the program's own output")
		why         = fs.Bool("why", false, "Go: explain under the table why each line that allocated did so (the compiler's escape analysis)")
	)
	fs.Usage = func() {
		fmt.Fprint(stderr, `Usage: memlens profile [flags] TARGET [FUNC...] [-- ARGS...]
       memlens profile [flags] -m MODULE [FUNC...] [-- ARGS...]

TARGET is a Go package directory or pattern, or a Python file; -m runs a
Python module as python -m does. A Python function that running its file
does not call runs through the tests that reach it (pytest).
FUNC names a function: Build, Grid.Add, (*Grid).Add, baseExtr.parseList.
With no FUNC, the functions marked //memlens:profile (Go) or @profile
(Python) are profiled. ARGS after -- are the program's arguments.

A Go function runs through (the entry used is printed): --run, --test or
--bench; else, if FUNC is a test itself, it; else the tests of its package
that reach it; else, for a main package, the program; else the tests of the
module's other packages that reach it (the package with the fewest such
tests); else the one main package that reaches it; else, if it has no
parameters, a generated test that calls it.

Go columns: Occurrences counts each run of a line exactly; Allocated and
Objects are the exact heap allocations made while the line ran (callees
included); Mem usage and Increment come from the process RSS, which the
probes read at most once per --rss-interval (default 1ms): in between they
reuse the last reading, so a change shows on the line that was running when
the next reading happened. Lines shorter than the interval then mostly show
no increment and a loop's growth lands on a few of its lines; lines that run
longer than the interval show their own. --rss-interval=0 reads at every
line: exact per line, but about 4 µs a line (hot loops run ~100× slower).
See docs/go-semantics.md.

Flags:
`)
		fs.PrintDefaults()
	}

	var programArgs []string
	hasArgs := false
	for i, a := range args {
		if a == "--" {
			programArgs, hasArgs = args[i+1:], true
			args = args[:i]
			break
		}
	}
	positional, exit, ok := parseInterspersed(fs, args)
	if !ok {
		return exit
	}
	if *module != "" {
		positional = append([]string{""}, positional...) // no TARGET: the module is the program
	}
	if len(positional) == 0 {
		fs.Usage()
		return 2
	}

	req := runner.Request{
		Dir:        ".",
		Target:     positional[0],
		Module:     *module,
		Funcs:      positional[1:],
		Test:       *test,
		Bench:      *bench,
		In:         *in,
		Run:        *runPkg,
		Args:       programArgs,
		HasArgs:    hasArgs,
		Timeout:    *timeout,
		Python:     *python,
		CountsOnly: *countsOnly,
		// The runner's 0 means its default: every line is negative there.
		RSSInterval: *rssEvery,
		PprofFile:   *pprofFile,
		Env:         nil,
		Stdin:       stdin,
	}
	if *rssEvery < 0 {
		fmt.Fprintf(stderr, "memlens: --rss-interval must not be negative\n")
		return 2
	}
	if *rssEvery == 0 {
		req.RSSInterval = -1
	}
	// What --plot needs is known before the run: saying so after it (which
	// may take minutes) would waste it.
	switch {
	case *plotFile != "" && (*countsOnly || *sampleEvery == 0):
		fmt.Fprintf(stderr, "memlens: --plot draws the timeline, which --counts-only and --sample-interval 0 turn off\n")
		return 2
	case *plotFile != "" && filepath.Ext(*plotFile) == "":
		fmt.Fprintf(stderr, "memlens: --plot %s: name the format with the extension: .svg or .png\n", *plotFile)
		return 2
	}
	switch {
	case *sampleEvery < 0:
		fmt.Fprintf(stderr, "memlens: --sample-interval must not be negative\n")
		return 2
	case *sampleEvery == 0:
		req.SampleInterval = -1 // the runner's 0 is its default
	default:
		req.SampleInterval = *sampleEvery
	}
	if *tags != "" {
		req.BuildFlags = append(req.BuildFlags, "-tags="+*tags)
	}
	if !*quiet && !*asJSON {
		req.Output = stderr
	}
	if !*asJSON {
		req.Progress = func(p runner.Progress) {
			if p.Message != "" {
				fmt.Fprintf(stderr, "memlens: %s\n", p.Message)
			}
		}
	}

	res, err := runner.Profile(ctx, req)
	if err != nil {
		fmt.Fprintf(stderr, "memlens: %v\n", err)
		return 1
	}
	if *asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(res); err != nil {
			fmt.Fprintf(stderr, "memlens: %v\n", err)
			return 1
		}
	} else {
		shown := res
		if wd, err := os.Getwd(); err == nil {
			shown = relativeFiles(res, wd)
		}
		if err := profile.WriteTable(stdout, shown); err != nil {
			fmt.Fprintf(stderr, "memlens: %v\n", err)
			return 1
		}
		if *why {
			if err := profile.WriteWhy(stdout, res); err != nil {
				fmt.Fprintf(stderr, "memlens: %v\n", err)
				return 1
			}
		}
	}
	// The chart of a run cut short shows what was sampled until then.
	if *plotFile != "" {
		if err := chart.Save(*plotFile, res); err != nil {
			fmt.Fprintf(stderr, "memlens: --plot: %v\n", err)
			return 1
		}
		if !*asJSON {
			fmt.Fprintf(stderr, "memlens: wrote %s\n", *plotFile)
		}
	}
	if res.Status != profile.StatusOK {
		fmt.Fprintf(stderr, "memlens: %s: %s\n", res.Status, oneLine(res.Message))
		return 1
	}
	if res.Message != "" && !*asJSON {
		// A run that went well may still have something to say: a function
		// named that never ran while others did.
		fmt.Fprintf(stderr, "memlens: %s\n", res.Message)
	}
	return 0
}

// programInput is what the profiled program reads as its standard input:
// memlens's own when it is a pipe or a file (`memlens profile x.py < in`),
// else nothing. Not a terminal: the program runs in a process group of its
// own (so that a timeout kills the whole tree), and reading the terminal
// from outside the foreground group would stop it (SIGTTIN) until the
// timeout; it reads end-of-file instead.
func programInput(f *os.File) io.Reader {
	st, err := f.Stat()
	if err != nil || st.Mode()&os.ModeCharDevice != 0 {
		return nil
	}
	return f
}

// relativeFiles returns r with each function's file relative to dir where
// it lies below dir, for the table: memory_profiler prints the path it was
// given, and a path of the machine the table was made on says nothing to a
// reader. --json keeps the absolute paths.
func relativeFiles(r *profile.Result, dir string) *profile.Result {
	out := *r
	out.Functions = slices.Clone(r.Functions)
	for i := range out.Functions {
		if rel, err := filepath.Rel(dir, out.Functions[i].File); err == nil && filepath.IsLocal(rel) {
			out.Functions[i].File = rel
		}
	}
	return &out
}

// oneLine keeps the first line of a message, for the closing error line.
func oneLine(s string) string {
	s, _, _ = strings.Cut(strings.TrimSpace(s), "\n")
	return s
}
