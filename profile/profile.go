// Package profile is memlens's one data model: a line-by-line memory profile of
// one or more functions from one run. The runner produces it (for Go and for
// Python alike), the command line prints it as memory_profiler's table or as
// JSON, and the language server turns it into lenses, inlay hints and hovers.
//
// The JSON field names are a public contract (`memlens profile --json`): add
// fields, never rename them.
package profile

import (
	"sort"
	"strings"
	"time"
)

// Status says how the profiled run ended.
type Status string

const (
	StatusOK          Status = "ok"           // the run finished normally
	StatusPanic       Status = "panic"        // an unrecovered panic (Go) or uncaught exception (Python)
	StatusExit        Status = "exit"         // the program exited with a non-zero code (os.Exit, sys.exit, failed test)
	StatusTimeout     Status = "timeout"      // the run exceeded its time limit and was killed
	StatusKilled      Status = "killed"       // killed by a signal memlens did not send
	StatusCanceled    Status = "canceled"     // the caller canceled the run
	StatusBuildFailed Status = "build_failed" // the instrumented program did not compile (Go) or parse (Python)
)

// Result is the outcome of one profiled run.
type Result struct {
	// Language is "go" or "python".
	Language string `json:"language"`
	// Target is what was profiled: a package pattern or a script path, as given.
	Target string `json:"target"`
	// Entry says how the functions were run, e.g. "go test -run ^TestBuild$" or
	// "python3 main2.py". Always set when something ran.
	Entry string `json:"entry"`
	// EntryVia names, briefly, the other package's tests or the program
	// that ran the functions ("app.TestRun", "app: 3 tests", "run
	// cmd/tool") when they ran from outside their own package; empty
	// otherwise.
	EntryVia string `json:"entry_via,omitempty"`
	Status   Status `json:"status"`
	ExitCode int    `json:"exit_code"`
	// Message is a one-line human explanation when Status is not ok.
	Message    string `json:"message"`
	DurationMS int64  `json:"duration_ms"`
	// Partial is true when the run stopped before the profiled code finished
	// (panic, exit, timeout, kill, cancel): the figures cover what ran until then.
	Partial bool `json:"partial"`
	// PeakRSSBytes is the highest RSS seen for the whole process tree, measured
	// from outside the program (memory_profiler's include-children view).
	PeakRSSBytes uint64 `json:"peak_rss_bytes,omitempty"`
	// Errors carries positioned problems: compiler errors on build_failed, the
	// panic location on panic. Positions are in the user's original files.
	Errors    []Error    `json:"errors,omitempty"`
	Functions []Function `json:"functions"`
	// Output is the tail of the program's combined stdout and stderr.
	Output    string    `json:"output,omitempty"`
	StartedAt time.Time `json:"started_at"`
	// EscapeAnalysis is true when the compiler's escape analysis of the
	// profiled Go packages was read (Line.Escapes): a line without escapes
	// then has none the compiler knows of.
	EscapeAnalysis bool `json:"escape_analysis,omitempty"`
	// EscapeAnalysisError says why the escape analysis of a Go run that
	// built was not read (the compiler wrote no diagnostics for a package).
	EscapeAnalysisError string `json:"escape_analysis_error,omitempty"`
	// Timeline is memory over time for the whole run, sampled at a fixed
	// interval while the program ran; nil when the run was not sampled.
	Timeline *Timeline `json:"timeline,omitempty"`
}

// Timeline is the run's memory sampled over time.
type Timeline struct {
	// IntervalMS is the sampling interval asked for, in milliseconds.
	IntervalMS float64 `json:"interval_ms"`
	// Samples are in time order, t_ms increasing; the first is taken at
	// the start of the run and the last at its end (or when it was cut short).
	// A long run's samples are merged down to at most MaxSamples, keeping
	// the highest and lowest RSS and heap of every stretch merged.
	Samples []Sample `json:"samples"`
	// Calls are the stretches of time during which a call of a profiled
	// function was running, as the samples saw it, in time order.
	Calls []CallSpan `json:"calls,omitempty"`
	// SampleCount is how many samples were taken (len(Samples) unless
	// they were merged).
	SampleCount int `json:"sample_count,omitempty"`
}

// MaxSamples bounds Timeline.Samples.
const MaxSamples = 10000

// CallSpan is a stretch of time during which a profiled function ran:
// from the first sample that found one of its calls running to the sample
// after the last (the call ended in between), or to the last sample of the
// run. Calls shorter than the interval may fall between samples and show
// no span.
type CallSpan struct {
	Function string  `json:"function"`
	StartMS  float64 `json:"start_ms"`
	EndMS    float64 `json:"end_ms"`
	// Calls is how many calls the samples in the stretch belong to: 1,
	// unless calls followed each other within one interval or stretches
	// were merged to keep their number bounded.
	Calls int `json:"calls"`
}

// Sample is one reading of the running program.
type Sample struct {
	// TMS is the time since the start of the run, in milliseconds.
	TMS float64 `json:"t_ms"`
	// RSSBytes is the process RSS; HeapBytes the heap in use (Go: the
	// runtime's live heap objects; Python: tracemalloc's traced memory).
	RSSBytes  uint64 `json:"rss_bytes"`
	HeapBytes uint64 `json:"heap_bytes"`
	// Function and Line name the profiled line running at that moment
	// (the user's name and 1-based line); empty and 0 when no profiled
	// function was running.
	Function string `json:"function,omitempty"`
	Line     int    `json:"line,omitempty"`
}

// CountsObjects reports whether the run counted allocated objects. The Go
// engine does; Python's tracer measures bytes only (tracemalloc has no
// per-line object count short of a snapshot per line), so its zero
// objects mean "not measured", not "none".
func (r *Result) CountsObjects() bool { return r.Language != "python" }

// Error is a problem at a position in the user's source.
type Error struct {
	File    string `json:"file"`
	Line    int    `json:"line"`
	Column  int    `json:"column,omitempty"`
	Message string `json:"message"`
}

// Function is the profile of one function, summed over all its calls.
type Function struct {
	// Name as the user writes it: "Build", "Grid.Add", "(*Grid).Add",
	// "baseExtr.parseList".
	Name string `json:"name"`
	// Package is the Go import path or the Python module name.
	Package string `json:"package,omitempty"`
	// File is the absolute path of the source file.
	File      string `json:"file"`
	StartLine int    `json:"start_line"`
	EndLine   int    `json:"end_line"`
	// Calls is how many times the function was entered.
	Calls uint64 `json:"calls"`
	// AllocBytes and AllocObjects are everything allocated while the function
	// ran (callees and the function literals it started as goroutines
	// included), each allocation counted
	// once even when several of its lines are on the stack.
	AllocBytes    int64 `json:"alloc_bytes"`
	AllocObjects  int64 `json:"alloc_objects"`
	RetainedBytes int64 `json:"retained_bytes"`
	// PeakMemBytes is the highest MemUsageBytes over the lines.
	PeakMemBytes uint64 `json:"peak_mem_bytes"`
	// TimeSamples is how many of the timeline's samples found the function
	// running (one of its lines the running line).
	TimeSamples uint64 `json:"time_samples,omitempty"`
	// Lines has one entry per source line from StartLine to EndLine, in order,
	// including lines that never ran (Occurrences 0) and lines that hold no
	// statement (Code false), so a table can print the function whole.
	Lines []Line `json:"lines"`
}

// Line is the profile of one source line.
type Line struct {
	Line    int    `json:"line"`
	Content string `json:"content"`
	// Code is true when the line holds a statement that can be counted.
	Code bool `json:"code"`
	// Occurrences is how many times the line ran, summed over calls.
	Occurrences uint64 `json:"occurrences"`
	// MemUsageBytes is the process RSS while the line ran, the highest seen.
	MemUsageBytes uint64 `json:"mem_usage_bytes"`
	// IncrementBytes is the RSS change across the line, summed over its runs,
	// each run measured against the reading just before it.
	IncrementBytes int64 `json:"increment_bytes"`
	// AllocBytes and AllocObjects are the heap bytes and objects allocated while
	// the line ran, callees and the function literals it started as
	// goroutines included, summed over runs.
	AllocBytes   int64 `json:"alloc_bytes"`
	AllocObjects int64 `json:"alloc_objects"`
	// PeakAllocBytes is the highest traced heap growth seen inside one run of
	// the line (Python): a buffer allocated and freed within the line shows here.
	PeakAllocBytes int64 `json:"peak_alloc_bytes,omitempty"`
	// NetAllocBytes is the net change of the traced heap across the line,
	// summed over its runs (Python): what the line freed counts against
	// what it allocated, so it is negative for a line that frees (`del x`).
	// AllocBytes never is: it counts what was allocated.
	NetAllocBytes int64 `json:"net_alloc_bytes,omitempty"`
	// RetainedBytes is the part of AllocBytes still live when the run ended.
	RetainedBytes   int64 `json:"retained_bytes"`
	RetainedObjects int64 `json:"retained_objects,omitempty"`
	// TimeSamples is how many timeline samples found this line running;
	// TimeShare is that part of the function's TimeSamples (0 to 1):
	// line_profiler's % Time. A line waiting on a call is running; a
	// profiled callee's lines count for the callee.
	TimeSamples uint64  `json:"time_samples,omitempty"`
	TimeShare   float64 `json:"time_share,omitempty"`
	// Callees are the functions that allocated most on behalf of this line,
	// largest first (Go: taken from the allocation stacks).
	Callees []Callee `json:"callees,omitempty"`
	// Runtime is the runtime function that allocated most of what the line
	// allocated itself, without a call of the program's in between
	// (runtime.growslice for an append, runtime.makechan): Go only.
	Runtime string `json:"runtime,omitempty"`
	// Escapes are the compiler's explanations of why values on this line
	// are allocated on the heap (Go only; escape analysis diagnostics).
	Escapes []Escape `json:"escapes,omitempty"`
}

// Escape is one compiler explanation of a heap allocation on a line.
type Escape struct {
	// Column is the 1-based byte column the compiler gives the value, as
	// go build -gcflags=-m prints it: an identifier's first byte, but a
	// call's opening parenthesis, a composite literal's brace, a binary
	// expression's operator, a selector's dot.
	Column int `json:"column"`
	// Message is the compiler's: "i escapes to heap", "moved to heap: x".
	Message string `json:"message"`
	// Flow is the data flow that forces the escape, condensed to readable
	// steps from the value to where it is kept.
	Flow []string `json:"flow,omitempty"`
	// Inlined names the callee, inlined into this line, inside which the
	// value is allocated, with the position there: "NewGrid (shapes.go:29)".
	// Empty when the value is the line's own.
	Inlined string `json:"inlined,omitempty"`
}

// Sentence is the explanation in one line: "i escapes to heap: passed to
// fmt.Sprintf's ... argument", "&Grid{...} escapes to heap (in NewGrid
// (shapes.go:29), inlined): returned".
func (e Escape) Sentence() string {
	s := e.Message
	if e.Inlined != "" {
		s += " (in " + e.Inlined + ", inlined)"
	}
	if len(e.Flow) > 0 {
		s += ": " + strings.Join(e.Flow, ", ")
	}
	return s
}

// Callee is a function that allocated on behalf of a profiled line.
type Callee struct {
	Name         string `json:"name"`
	AllocBytes   int64  `json:"alloc_bytes"`
	AllocObjects int64  `json:"alloc_objects"`
}

// MinTimeSamples is how many timeline samples must have found a function
// running before the table shows its lines' % Time: with fewer, a share
// says where one or two samples happened to land (a function of a few
// microseconds caught once shows 100% on one line), not where time goes.
const MinTimeSamples = 10

// Timed reports whether enough samples found the function running for its
// lines' time shares to mean something (see MinTimeSamples).
func (f *Function) Timed() bool { return f.TimeSamples >= MinTimeSamples }

// Ran reports whether the line executed at least once.
func (l Line) Ran() bool { return l.Occurrences > 0 }

// Allocated reports whether allocations were recorded at the line. A line
// that never ran can have some: a continuation line of a statement that
// spans several lines (&T{\n m: make(...),\n}) is not counted, its
// statement counts on its first line, but allocation stacks name the line
// of the call or literal that allocated, as pprof -list shows them.
func (l Line) Allocated() bool { return l.AllocBytes != 0 || l.AllocObjects != 0 }

// Shown reports whether the line has figures to show: it ran or allocated.
func (l Line) Shown() bool { return l.Ran() || l.Allocated() }

// Line returns the profile of source line n, if the function covers it.
func (f *Function) Line(n int) (*Line, bool) {
	i := n - f.StartLine
	if i >= 0 && i < len(f.Lines) && f.Lines[i].Line == n {
		return &f.Lines[i], true
	}
	for i := range f.Lines {
		if f.Lines[i].Line == n {
			return &f.Lines[i], true
		}
	}
	return nil, false
}

// Function returns the function with the given name, if the result has it.
func (r *Result) Function(name string) (*Function, bool) {
	for i := range r.Functions {
		if r.Functions[i].Name == name {
			return &r.Functions[i], true
		}
	}
	return nil, false
}

// Failed reports whether the run did not finish normally.
func (r *Result) Failed() bool { return r.Status != StatusOK }

// SortCallees orders callees largest first and keeps at most n.
func SortCallees(cs []Callee, n int) []Callee {
	sort.SliceStable(cs, func(i, j int) bool {
		if cs[i].AllocBytes != cs[j].AllocBytes {
			return cs[i].AllocBytes > cs[j].AllocBytes
		}
		return cs[i].Name < cs[j].Name
	})
	if len(cs) > n {
		cs = cs[:n]
	}
	return cs
}
