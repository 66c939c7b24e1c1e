package runner

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/memlens/memlens/profile"
	"github.com/memlens/memlens/runner/pytracer"
)

// pyFlushEvery is how often the tracer rewrites its result while the program
// runs, so that a run killed on timeout still yields a partial table.
const pyFlushEvery = 250 * time.Millisecond

// profilePython runs a Python script, module or tests under the embedded
// tracer (see package pytracer) with the user's interpreter and turns what
// the tracer wrote into a profile.Result shaped like the Go engine's.
//
// How the functions get run (the tracer decides the last two; see
// pytracer/memlens_entry.py): Module runs as `python -m`; Test runs those
// pytest tests; Args (or no function named: the @profile ones) run the
// script; else the script when its top-level code reaches a named
// function, or else the tests that reach them (pytest, or unittest
// without it), or else the script and a direct call.
func profilePython(ctx context.Context, req Request) (*profile.Result, error) {
	python := req.Python
	if python == "" {
		python = "python3"
	}
	pythonPath, err := exec.LookPath(python)
	if err != nil {
		return nil, fmt.Errorf("python interpreter %q: %w", python, err)
	}
	mode, target, entry, err := pythonEntry(req, python)
	if err != nil {
		return nil, err
	}

	tracerDir, tempTracer, err := pytracer.Dir()
	if err != nil {
		return nil, fmt.Errorf("writing the Python tracer: %w", err)
	}
	if tempTracer {
		defer os.RemoveAll(tracerDir)
	}
	tmp, err := os.MkdirTemp("", "memlens-py-") // the result, pytest's cache
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(tmp)
	out := filepath.Join(tmp, "result.json")
	for _, f := range req.Funcs {
		if strings.ContainsAny(f, "\n\x00") {
			return nil, fmt.Errorf("function name %q: not a Python name", f)
		}
	}

	args := append([]string{"-c", pytracer.Boot, target}, req.Args...)
	cmd := exec.Command(pythonPath, args...)
	cmd.Dir = req.Dir
	cmd.Stdin = req.Stdin
	// The flush period comes before req.Env, which may override it (tests
	// do, to make the periodic writes overlap the program's work).
	cmd.Env = append(os.Environ(), fmt.Sprintf("MEMLENS_FLUSH_SECONDS=%g", pyFlushEvery.Seconds()))
	cmd.Env = append(cmd.Env, req.Env...)
	cmd.Env = append(cmd.Env,
		"MEMLENS_TRACER_DIR="+tracerDir,
		"MEMLENS_OUT="+out,
		"MEMLENS_FUNCS="+strings.Join(req.Funcs, "\n"),
		"MEMLENS_ENTRY="+mode,
		"MEMLENS_TESTS="+req.Test,
	)
	if req.CountsOnly {
		cmd.Env = append(cmd.Env, "MEMLENS_COUNTS_ONLY=1")
	}
	if iv := sampleInterval(req); iv > 0 {
		cmd.Env = append(cmd.Env, "MEMLENS_TIMELINE="+filepath.Join(tmp, pyTimelineFile),
			fmt.Sprintf("MEMLENS_SAMPLE_SECONDS=%g", iv.Seconds()))
	}

	res := &profile.Result{Language: "python", Target: req.Target, Entry: entry, StartedAt: time.Now()}
	if req.Target == "" {
		res.Target = req.Module
	}
	running := entry
	if mode == "auto" {
		running += " or the tests that reach " + strings.Join(req.Funcs, ", ")
	}
	req.Progress(Progress{Stage: StageRunning, Message: "running " + running})
	o := runProcess(ctx, cmd, req.Timeout, req.Output)
	if o.Err != nil {
		return nil, fmt.Errorf("starting %s: %w", python, o.Err)
	}
	req.Progress(Progress{Stage: StageCollecting})
	res.DurationMS = o.Duration.Milliseconds()
	res.PeakRSSBytes = o.PeakRSS
	res.Output = string(o.Output)
	res.ExitCode = o.ExitCode
	res.Status = o.Status

	tr, readErr := readPyResult(out)
	if readErr != nil {
		if o.Status == profile.StatusOK || o.Status == profile.StatusExit {
			// The tracer reports even on sys.exit and exceptions; no report
			// means it could not run at all (too old a Python, a broken one).
			return nil, fmt.Errorf("%s did not run memlens's tracer (%v); is it Python 3.8 or newer?\n%s",
				python, readErr, tail(o.Output, 2000))
		}
		tr = &pyResult{} // killed before the first flush: nothing measured
	}
	if tr.Fatal != "" {
		return nil, errors.New(tr.Fatal)
	}
	if tr.Entry != "" {
		res.Entry = tr.Entry // the tests that ran
		req.Progress(Progress{Stage: StageCollecting, Message: "ran " + tr.Entry})
	}
	if len(tr.CalledDirectly) > 0 {
		res.Entry += "; then, as it never called them, " + strings.Join(tr.CalledDirectly, "(), ") + "()"
	}
	pyStatus(res, tr, o, req.Timeout)

	files := map[string][]string{}
	for _, f := range tr.Functions {
		res.Functions = append(res.Functions, f.toProfile(files))
	}
	if iv := sampleInterval(req); iv > 0 {
		raw, err := readPyTimeline(filepath.Join(tmp, pyTimelineFile), len(res.Functions))
		if err != nil {
			return nil, err
		}
		setTimeline(res, iv, raw, nil)
	}

	var never []string
	for _, n := range tr.NeverRan {
		never = append(never, fmt.Sprintf("%s never ran: %s", n.Name, n.Reason))
	}
	if tr.NoPytest != "" {
		never = append(never, tr.NoPytest)
	}
	if tr.TracingStopped {
		never = append(never, "the line tracing stopped before the program ended, so later runs are not counted: "+
			"Python drops a trace function that fails (a RecursionError at the recursion limit is one, before 3.12) "+
			"or the program set its own (sys.settrace)")
	}
	if res.Status == profile.StatusOK && len(res.Functions) == 0 {
		if len(never) > 0 {
			return nil, errors.New(strings.Join(never, "; "))
		}
		if len(req.Funcs) > 0 {
			err := fmt.Errorf("%s never ran while %s ran", strings.Join(req.Funcs, ", "), res.Entry)
			if len(tr.RanElsewhere) > 0 {
				err = fmt.Errorf("%w; a function of that name ran from %s: the program imports another copy of %s (an installed package?)",
					err, strings.Join(tr.RanElsewhere, ", "), req.Target)
			}
			return nil, err
		}
		return nil, fmt.Errorf("no function decorated with @profile ran in %s; name one: memlens profile %s FUNC",
			res.Target, res.Target)
	}
	if len(never) > 0 {
		if res.Message != "" {
			res.Message += "; "
		}
		res.Message += strings.Join(never, "; ")
	}
	return res, nil
}

// pythonEntry chooses how the tracer runs the request (its MEMLENS_ENTRY),
// what it runs (a script's path or a module's name) and the entry to show
// until the tracer names the tests it ran.
func pythonEntry(req Request, python string) (mode, target, entry string, err error) {
	withArgs := func(s string) string { return strings.Join(append([]string{s}, req.Args...), " ") }
	if req.Module != "" {
		if req.Test != "" {
			return "", "", "", errors.New("give a Python module (-m) or tests (--test), not both")
		}
		return "module", req.Module, withArgs(python + " -m " + req.Module), nil
	}
	script := req.Target
	if !filepath.IsAbs(script) {
		script = filepath.Join(req.Dir, script)
	}
	if st, err := os.Stat(script); err != nil {
		return "", "", "", fmt.Errorf("python script %s: %w", req.Target, err)
	} else if st.IsDir() {
		return "", "", "", fmt.Errorf("python target %s is a directory: give a .py file, or a module with -m", req.Target)
	}
	switch {
	case req.Test != "":
		if len(req.Funcs) == 0 {
			return "", "", "", errors.New("--test runs tests for the functions named: name them after the file")
		}
		return "tests", req.Target, "pytest " + req.Test, nil
	case len(req.Funcs) > 0 && !req.HasArgs:
		return "auto", req.Target, withArgs(python + " " + req.Target), nil
	}
	return "script", req.Target, withArgs(python + " " + req.Target), nil
}

// pyStatus sets the result's status and message from how the process
// ended and what the tracer reported.
func pyStatus(res *profile.Result, tr *pyResult, o procOutcome, timeout time.Duration) {
	switch {
	case tr.SyntaxError != nil:
		se := tr.SyntaxError
		res.Status = profile.StatusBuildFailed
		res.Errors = []profile.Error{{File: se.File, Line: se.Line, Column: se.Column, Message: se.Message}}
		res.Message = fmt.Sprintf("%s:%d: %s", se.File, se.Line, se.Message)
	case tr.Exception != nil && o.Status == profile.StatusExit:
		ex := tr.Exception
		res.Status = profile.StatusPanic
		msg := ex.Type
		if ex.Message != "" {
			msg += ": " + ex.Message
		}
		res.Errors = []profile.Error{{File: ex.File, Line: ex.Line, Message: msg}}
		res.Message = fmt.Sprintf("uncaught %s at %s:%d", msg, ex.File, ex.Line)
	case len(tr.TestFailures) > 0 && o.Status == profile.StatusExit:
		res.Message = testFailures(res, tr)
	case o.Status == profile.StatusExit && tr.Tests != nil:
		res.Message = fmt.Sprintf("the tests exited with code %d", o.ExitCode)
		if o.ExitCode == 5 {
			res.Message += " (no tests collected)"
		}
	case o.Status == profile.StatusExit:
		res.Message = fmt.Sprintf("the script exited with code %d", o.ExitCode)
	case o.Status == profile.StatusTimeout:
		res.Message = fmt.Sprintf("timed out after %s; the table covers what ran until then", timeout)
	case o.Status == profile.StatusCanceled:
		res.Message = "canceled; the table covers what ran until then"
	case o.Status == profile.StatusKilled:
		res.Message = fmt.Sprintf("killed by signal %d (%s); the table covers what ran until then", int(o.Signal), o.Signal)
	}
	res.Partial = res.Status != profile.StatusOK && res.Status != profile.StatusBuildFailed
	if !tr.Final && res.Status == profile.StatusOK {
		res.Partial = true // the process ended without the tracer's final write
	}
}

// pyResult is what the tracer writes (memlens_tracer.py, _result).
type pyResult struct {
	Final          bool         `json:"final"`
	Backend        string       `json:"backend"`
	Python         string       `json:"python"`
	Fatal          string       `json:"fatal"`
	SyntaxError    *pyError     `json:"syntax_error"`
	Exception      *pyException `json:"exception"`
	CalledDirectly []string     `json:"called_directly"`
	// Entry names the tests that ran, when tests ran the functions.
	Entry        string          `json:"entry"`
	Tests        []string        `json:"tests"`
	TestFailures []pyTestFailure `json:"test_failures"`
	NoPytest     string          `json:"no_pytest"`
	// TracingStopped says that sys.settrace no longer held the tracer at
	// exit: the run after that point was not traced.
	TracingStopped bool `json:"tracing_stopped"`
	// RanElsewhere are other files that define the named functions and ran
	// instead of the target (a copy of it installed in site-packages).
	RanElsewhere []string `json:"ran_elsewhere"`
	NeverRan     []struct {
		Name   string `json:"name"`
		Reason string `json:"reason"`
	} `json:"never_ran"`
	Functions []pyFunction `json:"functions"`
}

// testFailures describes the failed tests and the test modules that could
// not be collected, and adds their positions to res.Errors.
func testFailures(res *profile.Result, tr *pyResult) string {
	var failed, uncollected []string
	firstMessage := ""
	for _, f := range tr.TestFailures {
		what := f.Test
		if f.Message != "" {
			what += " (" + f.Message + ")"
		}
		if f.When == "collect" {
			uncollected = append(uncollected, what)
		} else {
			failed = append(failed, f.Test)
			if firstMessage == "" {
				firstMessage = f.Message
			}
		}
		if f.File != "" && f.Line > 0 {
			res.Errors = append(res.Errors, profile.Error{File: f.File, Line: f.Line, Message: f.Test + ": " + f.Message})
		}
	}
	var parts []string
	if len(failed) > 0 {
		s := fmt.Sprintf("%d of %d tests failed: %s", len(failed), max(len(tr.Tests), len(failed)), strings.Join(failed, ", "))
		if firstMessage != "" {
			s += " (" + firstMessage + ")"
		}
		parts = append(parts, s)
	}
	if len(uncollected) > 0 {
		parts = append(parts, "could not collect "+strings.Join(uncollected, ", "))
	}
	return strings.Join(parts, "; ")
}

// pyTestFailure is a test that failed (or a module that failed to collect).
type pyTestFailure struct {
	Test    string `json:"test"`
	When    string `json:"when"`
	File    string `json:"file"`
	Line    int    `json:"line"`
	Message string `json:"message"`
}

type pyError struct {
	File    string `json:"file"`
	Line    int    `json:"line"`
	Column  int    `json:"column"`
	Message string `json:"message"`
}

type pyException struct {
	Type    string `json:"type"`
	Message string `json:"message"`
	File    string `json:"file"`
	Line    int    `json:"line"`
}

type pyFunction struct {
	Name          string    `json:"name"`
	Module        string    `json:"module"`
	File          string    `json:"file"`
	StartLine     int       `json:"start_line"`
	EndLine       int       `json:"end_line"`
	CodeLines     []int     `json:"code_lines"`
	Calls         uint64    `json:"calls"`
	AllocBytes    int64     `json:"alloc_bytes"`
	RetainedBytes int64     `json:"retained_bytes"`
	Lines         [][]int64 `json:"lines"`
}

// The columns of pyFunction.Lines rows, in the tracer's order.
const (
	pyColLine = iota
	pyColOccurrences
	pyColMemUsage
	pyColIncrement
	pyColAlloc
	pyColPeakAlloc
	pyColRetained
	pyColRetainedBlocks
	pyColNet
	pyCols
)

func readPyResult(path string) (*pyResult, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var r pyResult
	if err := json.Unmarshal(data, &r); err != nil {
		return nil, fmt.Errorf("reading the tracer's result: %w", err)
	}
	return &r, nil
}

// toProfile gives the function one Line per source line from its first
// decorator to its last line, as memory_profiler prints it.
func (f pyFunction) toProfile(files map[string][]string) profile.Function {
	src, ok := files[f.File]
	if !ok {
		src = readLines(f.File)
		files[f.File] = src
	}
	code := map[int]bool{}
	for _, n := range f.CodeLines {
		code[n] = true
	}
	stats := map[int][]int64{}
	for _, row := range f.Lines {
		if len(row) == pyCols {
			stats[int(row[pyColLine])] = row
		}
	}
	pf := profile.Function{
		Name: f.Name, Package: f.Module, File: f.File,
		StartLine: f.StartLine, EndLine: f.EndLine,
		Calls: f.Calls, AllocBytes: f.AllocBytes, RetainedBytes: f.RetainedBytes,
	}
	for n := f.StartLine; n <= f.EndLine; n++ {
		l := profile.Line{Line: n, Code: code[n]}
		if n-1 < len(src) {
			l.Content = src[n-1]
		}
		if row, ok := stats[n]; ok {
			l.Occurrences = uint64(row[pyColOccurrences])
			l.MemUsageBytes = uint64(max(row[pyColMemUsage], 0))
			l.IncrementBytes = row[pyColIncrement]
			l.AllocBytes = row[pyColAlloc]
			l.PeakAllocBytes = row[pyColPeakAlloc]
			l.NetAllocBytes = row[pyColNet]
			l.RetainedBytes = row[pyColRetained]
			l.RetainedObjects = row[pyColRetainedBlocks]
			l.Code = l.Code || l.Occurrences > 0
			pf.PeakMemBytes = max(pf.PeakMemBytes, l.MemUsageBytes)
		}
		pf.Lines = append(pf.Lines, l)
	}
	return pf
}

// readLines returns a Python file's lines without their line ends, as
// text: decoded from Latin-1 when its coding declaration (PEP 263) says
// so, invalid UTF-8 otherwise replaced, a UTF-8 BOM dropped; nil if
// unreadable.
func readLines(path string) []string {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil
	}
	data = bytes.TrimPrefix(data, []byte("\xef\xbb\xbf"))
	var lines []string
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 0, 64<<10), 16<<20)
	latin1 := false
	for sc.Scan() {
		line := strings.TrimRight(sc.Text(), "\r")
		if len(lines) < 2 {
			if m := pyCodingRE.FindStringSubmatch(line); m != nil {
				latin1 = isLatin1(m[1])
			}
		}
		switch {
		case latin1:
			r := make([]rune, len(line))
			for i := range len(line) {
				r[i] = rune(line[i]) // Latin-1 is the first 256 code points
			}
			line = string(r)
		case !utf8.ValidString(line):
			line = strings.ToValidUTF8(line, "\uFFFD")
		}
		lines = append(lines, line)
	}
	return lines
}

// pyCodingRE is PEP 263's coding declaration, on one of a file's first two lines.
var pyCodingRE = regexp.MustCompile(`^[ \t\f]*#.*?coding[:=][ \t]*([-\w.]+)`)

// isLatin1 says whether a declared coding is one of Python's names of Latin-1.
func isLatin1(name string) bool {
	n := strings.ReplaceAll(strings.ToLower(name), "_", "-")
	switch n {
	case "latin1", "latin", "l1", "cp819", "iso8859-1", "8859", "iso-ir-100", "csisolatin1":
		return true
	}
	for _, p := range []string{"latin-1", "iso-8859-1", "iso-latin-1"} {
		if n == p || strings.HasPrefix(n, p+"-") {
			return true
		}
	}
	return false
}

// tail keeps the last n bytes of b, for error messages.
func tail(b []byte, n int) string {
	if len(b) > n {
		b = b[len(b)-n:]
	}
	return string(b)
}
