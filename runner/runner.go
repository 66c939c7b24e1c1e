// Package runner builds and runs a program so that chosen functions are
// profiled line by line, and collects the result as a profile.Result. It
// knows two languages: Go (instrumented source fed to go build/test through
// -overlay) and Python (an embedded tracer run by the user's interpreter).
//
// The runner never speaks LSP; the language server and the command line both
// call Profile.
package runner

import (
	"context"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"strings"
	"time"

	"github.com/memlens/memlens/profile"
)

// DefaultTimeout bounds a run when the request sets none.
const DefaultTimeout = 2 * time.Minute

// DefaultRSSInterval is the least time between two RSS reads of a Go
// program's probes when the request sets none: reading /proc/self/statm at
// every line costs ~4 µs a line, which makes hot loops about 100× slower.
const DefaultRSSInterval = time.Millisecond

// Request says what to profile and how to run it.
type Request struct {
	// Language is "go" or "python"; empty means: from Target (a .py file is
	// Python, anything else Go).
	Language string
	// Dir is the working directory: relative targets resolve against it and
	// the program runs in it.
	Dir string
	// Target is a Go package directory or pattern, or a Python script
	// (for Python, the file of the named functions).
	Target string
	// Module, for Python, is a module to run as `python -m` does, instead
	// of a script (Target may then be empty).
	Module string
	// Funcs names the functions to profile ("Build", "Grid.Add",
	// "(*Grid).Add", "baseExtr.parseList"). Empty means the marked ones
	// (//memlens:profile in Go, @profile in Python).
	Funcs []string

	// Explicit Go entries, first in precedence: run this test, or this
	// benchmark once, or a main package with Args. Test and Bench are
	// names or alternations of names ("TestA|TestB"), anchored at both
	// ends, found in In when set, else in the targets' package, else in
	// the one package of the module that declares them. Run names the
	// main package to run (else the targets' own, else the one main
	// package that reaches them). In and Run are directories (relative to
	// Dir) or import paths. For Python, Test runs pytest: node ids
	// (pkg/test_x.py::test_y, separated by spaces) or a -k expression;
	// Args run the script.
	Test    string
	Bench   string
	In      string
	Run     string
	Args    []string
	HasArgs bool // Args were given (possibly none): run a main package

	// ChooseEntry, when set, picks the entry where the search finds more
	// than one (several packages' tests, a main package) or only a main
	// package, which may run until it is killed: it returns the index of
	// the option to run, or an error that ends the request. Without it the
	// first option is run. See EntryOption.Apply to run the same one again
	// without searching.
	ChooseEntry func(ctx context.Context, options []EntryOption) (int, error)

	// Overlay holds editor buffers that differ from disk, by absolute path.
	Overlay map[string][]byte
	// Timeout bounds the whole run, build included; 0 means DefaultTimeout.
	Timeout time.Duration
	// Env is added to the program's environment ("KEY=value").
	Env []string
	// BuildFlags are passed to go build / go test (e.g. "-tags=integration").
	BuildFlags []string
	// Python is the interpreter; empty means python3 on PATH.
	Python string
	// CountsOnly turns off allocation sampling and RSS reads: occurrences only.
	CountsOnly bool
	// RSSInterval is the least time between two reads of the process RSS
	// by a Go program's line probes; 0 means DefaultRSSInterval, a negative
	// value reads at every line (exact per line, but ~4 µs a line). Between
	// reads probes reuse the latest reading, so a change is credited to the
	// line running when the next read happens: lines shorter than the
	// interval mostly show no increment, lines longer show theirs.
	RSSInterval time.Duration
	// SampleInterval is the time between two samples of the run's timeline
	// (profile.Result.Timeline: RSS, heap and the profiled line running);
	// 0 means DefaultSampleInterval, negative no timeline. CountsOnly runs
	// have none either.
	SampleInterval time.Duration
	// PprofFile, when set, receives the allocation data as a pprof profile.
	PprofFile string
	// Progress, when set, is told what the run is doing.
	Progress func(Progress)
	// Output, when set, receives the program's own output as it runs (the
	// result keeps a tail of it in any case).
	Output io.Writer
	// Stdin, when set, is the program's standard input (the command line
	// passes its own when it is a pipe or a file); nil reads as empty.
	Stdin io.Reader
}

// Stage names a phase of a run, for progress reports.
type Stage string

const (
	StageBuilding   Stage = "building"
	StageRunning    Stage = "running"
	StageCollecting Stage = "collecting"
)

// Progress is one report on a run in progress.
type Progress struct {
	Stage   Stage
	Message string
}

// ErrNoEntry is wrapped by Profile's error when nothing is known to run the
// requested functions; the message suggests the flags that would.
var ErrNoEntry = errors.New("no way to run the function")

// Profile runs the request and returns the profile. An error means the
// request itself was unusable (no such target or function, nothing can run
// it); a program that fails to build, panics, exits or times out gives a
// Result with that Status and whatever was measured up to then.
func Profile(ctx context.Context, req Request) (*profile.Result, error) {
	if req.Target == "" && req.Module == "" {
		return nil, errors.New("no target: give a Go package, a Python script or a Python module (-m)")
	}
	if req.Dir == "" {
		req.Dir = "."
	}
	dir, err := filepath.Abs(req.Dir)
	if err != nil {
		return nil, err
	}
	req.Dir = dir
	if req.Timeout <= 0 {
		req.Timeout = DefaultTimeout
	}
	if req.Progress == nil {
		req.Progress = func(Progress) {}
	}
	switch lang := req.language(); lang {
	case "go":
		return profileGo(ctx, req)
	case "python":
		return profilePython(ctx, req)
	default:
		return nil, fmt.Errorf("unknown language %q (want go or python)", lang)
	}
}

func (req Request) language() string {
	if req.Language != "" {
		return req.Language
	}
	if req.Module != "" {
		return "python"
	}
	if strings.HasSuffix(req.Target, ".py") {
		return "python"
	}
	return "go"
}
