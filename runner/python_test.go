package runner

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/memlens/memlens/profile"
)

const pyTestdata = "../testdata/python"

// testPython is the interpreter the tests run: $MEMLENS_TEST_PYTHON (e.g. a
// 3.12 to exercise the sys.monitoring backend) or python3 on PATH.
func testPython(t *testing.T) string {
	t.Helper()
	py := os.Getenv("MEMLENS_TEST_PYTHON")
	if py == "" {
		py = "python3"
	}
	if _, err := exec.LookPath(py); err != nil {
		t.Skipf("no %s: %v", py, err)
	}
	return realPython(py)
}

var realPythons sync.Map // interpreter as named -> sys.executable

// realPython is the interpreter py runs (its sys.executable): a pyenv shim
// starts a shell and pyenv before Python, which adds up to seconds on a
// busy machine, enough to eat a short timeout before the program starts.
func realPython(py string) string {
	if p, ok := realPythons.Load(py); ok {
		return p.(string)
	}
	real := py
	if out, err := exec.Command(py, "-c", "import sys; print(sys.executable)").Output(); err == nil {
		if p := strings.TrimSpace(string(out)); p != "" {
			real = p
		}
	}
	realPythons.Store(py, real)
	return real
}

func profilePy(t *testing.T, req Request) *profile.Result {
	t.Helper()
	if req.Dir == "" {
		req.Dir = pyTestdata
	}
	if req.Python == "" {
		req.Python = testPython(t)
	}
	if req.Timeout == 0 {
		req.Timeout = 60 * time.Second
	}
	res, err := Profile(context.Background(), req)
	if err != nil {
		t.Fatalf("Profile(%s %v): %v", req.Target, req.Funcs, err)
	}
	return res
}

// occurrences maps line -> occurrences for the lines that ran.
func occurrences(f *profile.Function) map[int]uint64 {
	m := map[int]uint64{}
	for _, l := range f.Lines {
		if l.Occurrences > 0 {
			m[l.Line] = l.Occurrences
		}
	}
	return m
}

func TestProfilePythonCases(t *testing.T) {
	runPythonCases(t, testPython(t))
}

// TestProfilePythonCasesOtherVersions runs the case table under every other
// interpreter found (pythonsToTest): the Python 3.12+ ones exercise the
// sys.monitoring backend, which the default python3 (3.11 here) never runs,
// and a 3.8 the oldest supported. One subtest per version.
func TestProfilePythonCasesOtherVersions(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: the default interpreter's run is enough")
	}
	def := pythonVersion(testPython(t))
	found := pythonsToTest(def)
	monitoring := false
	for _, p := range found {
		monitoring = monitoring || p.minor >= 12
		t.Run(p.version, func(t *testing.T) { runPythonCases(t, p.path) })
	}
	if !monitoring && (def == "" || pythonMinor(def) < 12) {
		t.Run("3.12+", func(t *testing.T) {
			t.Skip("no Python 3.12 or newer found (python3.12+ on PATH, or $PYENV_ROOT or ~/.pyenv /versions/3.1[2-9]*/bin/python3): " +
				"the sys.monitoring backend is untested; install one or set MEMLENS_TEST_PYTHON")
		})
	}
}

type testInterp struct {
	path, version string
	minor         int
}

// pythonsToTest finds Python 3.12+ and 3.8 interpreters, as python3.N on
// PATH or under pyenv's versions, one per minor version, leaving out the
// default interpreter's version (skip). pyenv's shims on PATH fail for a
// version that is not active: what does not answer is left out.
func pythonsToTest(skip string) []testInterp {
	var cands []string
	for _, m := range []int{12, 13, 14, 15, 16, 17, 18, 19, 8} {
		if p, err := exec.LookPath(fmt.Sprintf("python3.%d", m)); err == nil {
			cands = append(cands, p)
		}
	}
	root := os.Getenv("PYENV_ROOT")
	if root == "" {
		if home, err := os.UserHomeDir(); err == nil {
			root = filepath.Join(home, ".pyenv")
		}
	}
	if root != "" {
		for _, pat := range []string{"3.1[2-9]*", "3.8*"} {
			ms, _ := filepath.Glob(filepath.Join(root, "versions", pat, "bin", "python3"))
			sort.Sort(sort.Reverse(sort.StringSlice(ms))) // the newest patch release first
			cands = append(cands, ms...)
		}
	}
	var out []testInterp
	seen := map[int]bool{pythonMinor(skip): skip != ""}
	for _, p := range cands {
		v := pythonVersion(p)
		m := pythonMinor(v)
		if v == "" || seen[m] || (m < 12 && m != 8) {
			continue
		}
		seen[m] = true
		out = append(out, testInterp{path: p, version: v, minor: m})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].minor > out[j].minor })
	return out
}

// pythonVersion is py's "3.X.Y", or "" when it does not run.
func pythonVersion(py string) string {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, py, "-c", "import sys; print('%d.%d.%d' % sys.version_info[:3])").Output()
	if err != nil {
		return ""
	}
	v := strings.TrimSpace(string(out))
	if !strings.HasPrefix(v, "3.") {
		return ""
	}
	return v
}

// pythonMinor is the 12 of "3.12.1" (-1 if v is not a version).
func pythonMinor(v string) int {
	parts := strings.Split(v, ".")
	if len(parts) < 2 {
		return -1
	}
	m, err := strconv.Atoi(parts[1])
	if err != nil {
		return -1
	}
	return m
}

// With the periodic RSS tick off, the growth of a function's last line is
// still the line's: RSS is read when a profiled frame returns.
func TestProfilePythonRSSAtReturn(t *testing.T) {
	r := profilePy(t, Request{Target: "mmaptouch.py", Env: []string{"MEMLENS_RSS_TICK_SECONDS=0"}})
	if r.Status != profile.StatusOK {
		t.Fatalf("status %s (%s)\n%s", r.Status, r.Message, r.Output)
	}
	f, ok := r.Function("fill_last")
	if !ok {
		t.Fatalf("no fill_last in %+v", r.Functions)
	}
	if l, _ := f.Line(25); l.IncrementBytes < 60<<20 {
		t.Errorf("fill_last line 25 = %+v, want an increment >= 60 MiB", l)
	}
}

// @profile(precision=4, stream=f) writes the function's table to f in
// memory_profiler's format, with memlens's figures, 4 decimals.
// Before 3.12 Python drops a trace function that fails, as the tracer's
// does when the program reaches the recursion limit (its call is a frame
// deeper): what runs after is not seen, and the result must say so rather
// than pass for complete. sys.monitoring (3.12+) goes on.
func TestProfilePythonTracingStopped(t *testing.T) {
	interps := []testInterp{{path: testPython(t)}}
	if !testing.Short() {
		interps = append(interps, pythonsToTest(pythonVersion(interps[0].path))...)
	}
	for _, p := range interps {
		p.minor = pythonMinor(pythonVersion(p.path))
		t.Run(fmt.Sprint("3.", p.minor), func(t *testing.T) {
			r := profilePy(t, Request{Target: "deeprecursion.py", Python: p.path})
			if r.Status != profile.StatusOK || !strings.Contains(r.Output, "recursion error caught") {
				t.Fatalf("status %s (%s)\n%s", r.Status, r.Message, r.Output)
			}
			stopped := strings.Contains(r.Message, "the line tracing stopped before the program ended")
			_, after := r.Function("after")
			if p.minor >= 12 {
				if stopped || !after {
					t.Errorf("message %q, after profiled: %v; want no stop and after()", r.Message, after)
				}
				return
			}
			if !stopped || after {
				t.Errorf("message %q, after profiled: %v; want a word that the tracing stopped", r.Message, after)
			}
		})
	}
}

// A script may import any name of memory_profiler (LogFile to log through
// stdout): the ones memlens's stand-in lacks come from the installed one.
func TestProfilePythonOtherMemoryProfilerNames(t *testing.T) {
	const py = debianPython
	if err := exec.Command(py, "-c", "import memory_profiler").Run(); err != nil {
		t.Skip("memory_profiler is not importable by /usr/bin/python3: apt-get install python3-memory-profiler python3-psutil")
	}
	log := filepath.Join(t.TempDir(), "mp.log")
	r := profilePy(t, Request{Target: "mpnames.py", Args: []string{log}, Python: py})
	if r.Status != profile.StatusOK {
		t.Fatalf("status %s (%s)\n%s", r.Status, r.Message, r.Output)
	}
	if data, err := os.ReadFile(log); err != nil || !strings.Contains(string(data), "filled 100000 True") {
		t.Errorf("the LogFile holds %q (%v), want the program's line", data, err)
	}
	f, ok := r.Function("fill")
	if !ok {
		t.Fatalf("no fill in %+v", r.Functions)
	}
	if l, _ := f.Line(9); l.Occurrences != 1 || l.AllocBytes < 800000 {
		t.Errorf("line 9 = %+v, want one run allocating 800 KB", l)
	}
}

func TestProfilePythonProfileStream(t *testing.T) {
	log := filepath.Join(t.TempDir(), "profile.log")
	r := profilePy(t, Request{Target: "streamtable.py", Args: []string{log}})
	if r.Status != profile.StatusOK || !strings.Contains(r.Output, "built 1000 2000 1") {
		t.Fatalf("status %s (%s)\n%s", r.Status, r.Message, r.Output)
	}
	if strings.Contains(r.Output, "Filename:") {
		t.Errorf("a table reached the program's output (no stream was given for it):\n%s", r.Output)
	}
	data, err := os.ReadFile(log)
	if err != nil {
		t.Fatal(err)
	}
	text := string(data)
	script := mustAbs(t, filepath.Join(pyTestdata, "streamtable.py"))
	header := "Line #    Mem usage    Increment  Occurrences   Line Contents\n"
	if !strings.HasPrefix(text, "Filename: "+script+"\n\n"+header+strings.Repeat("=", len(header)-1)+"\n") ||
		strings.Count(text, "Filename:") != 1 {
		t.Fatalf("want one memory_profiler table of build, got:\n%s", text)
	}
	f, ok := r.Function("build")
	if !ok {
		t.Fatalf("no build in %+v", r.Functions)
	}
	fourDecimals := regexp.MustCompile(`^-?\d+\.\d{4}$`)
	rows := 0
	sc := bufio.NewScanner(strings.NewReader(text))
	for sc.Scan() {
		line := sc.Text()
		n, err := strconv.Atoi(strings.TrimSpace(line[:min(6, len(line))]))
		if err != nil {
			continue
		}
		rows++
		l, _ := f.Line(n)
		if l == nil || !strings.HasSuffix(line, l.Content) {
			t.Errorf("row %q: memlens has line %d as %+v", line, n, l)
			continue
		}
		m := mpRow.FindStringSubmatch(line)
		if !l.Ran() {
			if m != nil {
				t.Errorf("line %d never ran, row %q has figures", n, line)
			}
			continue
		}
		if m == nil {
			t.Errorf("line %d ran, row %q has no figures", n, line)
			continue
		}
		mem := fmt.Sprintf("%.4f", float64(l.MemUsageBytes)/(1<<20))
		inc := fmt.Sprintf("%.4f", float64(l.IncrementBytes)/(1<<20))
		if !fourDecimals.MatchString(m[2]) || m[2] != mem || m[3] != inc || m[4] != strconv.FormatUint(l.Occurrences, 10) {
			t.Errorf("row %q, want mem %s MiB increment %s MiB occurrences %d", line, mem, inc, l.Occurrences)
		}
	}
	if rows != f.EndLine-f.StartLine+1 {
		t.Errorf("%d rows, want one per line %d-%d:\n%s", rows, f.StartLine, f.EndLine, text)
	}
	if l, _ := f.Line(10); l.Occurrences != 2 { // build ran twice: one table, summed
		t.Errorf("line 10 = %+v, want 2 occurrences", l)
	}
}

// runPythonCases runs the case table under the interpreter py.
// TestProfilePythonCasesReadingInts runs the case table with tracemalloc's
// counters read as ints on every line event (MEMLENS_HEAP_IN_PLACE=0), the
// tracer's path where it cannot find them in place: both paths stay exact.
func TestProfilePythonCasesReadingInts(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: the default path's run is enough")
	}
	runPythonCases(t, testPython(t), "MEMLENS_HEAP_IN_PLACE=0")
}

func runPythonCases(t *testing.T, py string, env ...string) {
	const mib = 1 << 20
	resetPeak := pythonMinor(pythonVersion(py)) >= 9 // tracemalloc.reset_peak
	whileRuns := uint64(3)                           // oneliners.py's while line, as sys.settrace counts it
	if pythonMinor(pythonVersion(py)) < 10 {
		whileRuns = 4
	}
	type fnWant struct {
		name  string
		calls uint64
		occ   map[int]uint64 // exactly the lines that ran
	}
	cases := []struct {
		name    string // the subtest's name when the script's is not enough
		script  string
		funcs   []string
		args    []string
		env     []string
		timeout time.Duration
		sample  time.Duration // the timeline's interval, when not the default
		status  profile.Status
		exit    int
		output  string // the program's output contains this
		fns     []fnWant
		check   func(t *testing.T, r *profile.Result)
	}{
		{script: "memoryexample.py", funcs: []string{"defFunc"}, status: profile.StatusOK,
			output: "We have successfully inspected memory usage from the default function!",
			fns:    []fnWant{{"defFunc", 1, map[int]uint64{4: 1, 8: 1, 9: 1, 10: 1, 12: 1, 13: 1, 14: 1}}},
			check: func(t *testing.T, r *profile.Result) {
				f := &r.Functions[0]
				if f.StartLine != 4 || f.EndLine != 14 || len(f.Lines) != 11 {
					t.Errorf("range %d-%d with %d lines, want 4-14 with 11", f.StartLine, f.EndLine, len(f.Lines))
				}
				// [1] * 1296: 10368 B of items and a list (56 B, unless a free
				// one is reused); what the line frees before allocating them
				// (a few small objects) lowers the peak they raise.
				l, _ := f.Line(8)
				if l.AllocBytes < 10368-128 || l.AllocBytes > 10424+256 {
					t.Errorf("line 8 allocated %d B, want 10368-10424 (± tracer noise)", l.AllocBytes)
				}
				if l.Content != "    var1 = [1] * (6 ** 4)" || !l.Code {
					t.Errorf("line 8 = %+v", l)
				}
				// del var3 frees [2] * 864's items: a net change, no allocation.
				if l, _ := f.Line(12); l.AllocBytes > 64 || l.NetAllocBytes > -6912+256 || l.NetAllocBytes < -6912-256 {
					t.Errorf("del var3 = %+v, want nothing allocated and a net change of about -6912 B", l)
				}
				if l, _ := f.Line(7); l.Code || l.Ran() {
					t.Errorf("comment line 7 = %+v", l)
				}
			}},
		{script: "memoryexample.py", status: profile.StatusOK, // no FUNC: the @profile ones
			fns: []fnWant{{"defFunc", 1, map[int]uint64{4: 1, 8: 1, 9: 1, 10: 1, 12: 1, 13: 1, 14: 1}}}},
		{script: "generator.py", status: profile.StatusOK, output: "total 4000",
			fns: []fnWant{{"squares", 1, map[int]uint64{4: 1, 6: 5, 7: 4, 8: 1}}}},
		{script: "exception.py", status: profile.StatusPanic, exit: 1,
			output: "ValueError: invalid literal for int() with base 10: 'x'",
			fns:    []fnWant{{"parse", 1, map[int]uint64{4: 1, 6: 1, 7: 3, 8: 3}}},
			check: func(t *testing.T, r *profile.Result) {
				if len(r.Errors) != 1 || r.Errors[0].Line != 8 || filepath.Base(r.Errors[0].File) != "exception.py" {
					t.Errorf("errors = %+v, want exception.py:8", r.Errors)
				}
			}},
		{script: "recursion.py", status: profile.StatusOK, output: "500",
			fns: []fnWant{{"build", 6, map[int]uint64{4: 6, 6: 6, 7: 1, 8: 5, 9: 5}}}},
		{script: "methods.py", status: profile.StatusOK, output: "50 49",
			fns: []fnWant{
				{"Grid.square", 1, map[int]uint64{13: 1, 16: 1, 17: 1}},
				{"Grid.cells", 1, nil}, // the comprehension's count depends on the Python version
				{"Grid.area", 1, map[int]uint64{19: 1, 22: 1, 23: 1}},
			}},
		{script: "threads.py", status: profile.StatusOK, output: "threads done 8388608",
			fns: []fnWant{
				{"run", 1, map[int]uint64{14: 1, 16: 1, 17: 1, 18: 1, 19: 1, 20: 1}},
				{"worker", 1, map[int]uint64{8: 1, 10: 1, 11: 1}},
			},
			check: func(t *testing.T, r *profile.Result) {
				w, _ := r.Function("worker")
				if l, _ := w.Line(10); l.AllocBytes < 8*mib-4096 {
					t.Errorf("worker line 10 allocated %d B, want >= 8 MiB", l.AllocBytes)
				}
				run, _ := r.Function("run")
				for _, n := range []int{17, 18} {
					if l, _ := run.Line(n); l.AllocBytes > mib {
						t.Errorf("run line %d allocated %d B: the worker thread's allocation leaked into it", n, l.AllocBytes)
					}
				}
			}},
		{script: "threadsplain.py", status: profile.StatusOK, output: "filled 8388608",
			fns: []fnWant{{"run", 1, map[int]uint64{13: 1, 15: 1, 16: 1, 17: 1, 18: 1}}},
			check: func(t *testing.T, r *profile.Result) {
				// The worker runs unprofiled code: its 8 MiB are its own,
				// not charged to the line of run that was open meanwhile.
				for _, l := range r.Functions[0].Lines {
					if l.AllocBytes > mib || l.PeakAllocBytes > mib || l.IncrementBytes > mib {
						t.Errorf("run line %d = %+v: the worker thread's 8 MiB leaked into it", l.Line, l)
					}
				}
			}},
		{script: "coroutine.py", status: profile.StatusOK, output: "fetched [3, 2]",
			fns: []fnWant{{"fetch", 2, map[int]uint64{6: 2, 8: 2, 9: 7, 10: 5, 11: 5, 12: 2}}}},
		{script: "exits.py", status: profile.StatusExit, exit: 3,
			fns: []fnWant{{"check", 2, map[int]uint64{6: 2, 8: 2, 9: 2, 10: 1, 11: 1}}},
			check: func(t *testing.T, r *profile.Result) {
				if strings.Contains(r.Output, "not reached") || !r.Partial {
					t.Errorf("output %q partial %v", r.Output, r.Partial)
				}
			}},
		{script: "bigalloc.py", status: profile.StatusOK, output: "kept 4",
			fns: []fnWant{{"grow", 1, nil}},
			check: func(t *testing.T, r *profile.Result) {
				f := &r.Functions[0]
				l, _ := f.Line(9)
				if l.Occurrences != 4 || l.AllocBytes < 12*mib || l.IncrementBytes < 11*mib {
					t.Errorf("line 9 = %+v, want 4 runs allocating 12 MiB", l)
				}
				// A 16 MiB buffer allocated and freed within the line: allocated,
				// with no net change.
				if l, _ := f.Line(11); l.PeakAllocBytes < 16*mib || l.AllocBytes < 16*mib || l.NetAllocBytes > mib {
					t.Errorf("line 11 = %+v, want 16 MiB allocated (and as the peak) freed within the line", l)
				}
			}},
		{script: "spikes.py", sample: time.Millisecond, status: profile.StatusOK, output: "spiked 8388608000",
			fns: []fnWant{{"spikes", 1, map[int]uint64{8: 1, 10: 1, 11: 2001, 12: 2000, 13: 1}}},
			check: func(t *testing.T, r *profile.Result) {
				// Every 4 MiB spike counts once, however often the sampler
				// read and reset the peak meanwhile (the rest of the line's
				// allocations are ints, a few dozen bytes a run).
				l, _ := r.Functions[0].Line(12)
				if spikes := l.AllocBytes / (4 * mib); resetPeak && spikes != 2000 {
					t.Errorf("line 12 allocated %d B: %d spikes of 4 MiB, want 2000", l.AllocBytes, spikes)
				}
				if r.Timeline == nil || len(r.Timeline.Samples) < 10 {
					t.Errorf("timeline %+v, want a 1 ms one", r.Timeline)
				}
			}},
		{script: "churn.py", funcs: []string{"churn"}, status: profile.StatusOK, output: "churned 8388608",
			fns: []fnWant{{"churn", 1, map[int]uint64{7: 1, 9: 1, 10: 11, 11: 10, 12: 1, 13: 1, 14: 1}}},
			check: func(t *testing.T, r *profile.Result) {
				// Allocated is gross: dropping the chunks cancels nothing.
				f := &r.Functions[0]
				if l, _ := f.Line(11); l.AllocBytes < 40*mib || l.AllocBytes > 41*mib || l.NetAllocBytes < 40*mib {
					t.Errorf("line 11 = %+v, want 40 MiB allocated and kept", l)
				}
				if l, _ := f.Line(12); l.AllocBytes > 64<<10 || l.NetAllocBytes > -40*mib {
					t.Errorf("chunks = None: %+v, want nothing allocated and a net change of -40 MiB", l)
				}
				if !resetPeak {
					return // 3.8: a buffer freed within its line shows only when it sets a new high
				}
				if l, _ := f.Line(13); l.AllocBytes < 8*mib || l.NetAllocBytes > 64<<10 {
					t.Errorf("line 13 = %+v, want 8 MiB allocated and freed within the line", l)
				}
				if f.AllocBytes < 48*mib || f.AllocBytes > 49*mib {
					t.Errorf("function allocated %d B, want 48 MiB", f.AllocBytes)
				}
			}},
		{name: "churn/timeout", script: "churn.py", funcs: []string{"churn_forever"}, args: []string{"forever"},
			timeout: 3 * time.Second, status: profile.StatusTimeout, exit: -1, output: "churning",
			fns: []fnWant{{"churn_forever", 1, nil}},
			check: func(t *testing.T, r *profile.Result) {
				// A partial run's total is what its lines measured.
				f := &r.Functions[0]
				if l, _ := f.Line(21); l.Occurrences == 0 || l.AllocBytes < int64(l.Occurrences)*mib {
					t.Errorf("line 21 = %+v, want 1 MiB allocated per run", l)
				}
				if f.AllocBytes < 10*mib {
					t.Errorf("function allocated %d B in a partial run, want what its lines allocated", f.AllocBytes)
				}
			}},
		{script: "oneliners.py", funcs: []string{"fill"}, status: profile.StatusOK, output: "filled 2000",
			// sys.monitoring reports no LINE event for a jump back to the
			// same line: the tracer counts them from JUMP and BRANCH. Its
			// while line: 3 events from 3.10 (the loop's test is repeated
			// at its end, jumping back into the body), 4 before.
			fns: []fnWant{{"fill", 1, map[int]uint64{5: 1, 6: 1, 7: 6, 8: whileRuns, 9: 1, 10: 3, 11: 1}}},
			check: func(t *testing.T, r *profile.Result) {
				if l, _ := r.Functions[0].Line(7); l.AllocBytes < 5*1000 {
					t.Errorf("line 7 = %+v, want 5 bytearrays of 1000 B allocated", l)
				}
			}},
		{script: "slowline.py", status: profile.StatusOK, output: "loaded 8",
			fns: []fnWant{{"load", 1, map[int]uint64{16: 1, 18: 1, 19: 1}}},
			check: func(t *testing.T, r *profile.Result) {
				// The tracer's periodic writes run while line 18 does: they
				// must not take the line's allocation or RSS growth.
				l, _ := r.Functions[0].Line(18)
				if l.AllocBytes < 8*mib || l.IncrementBytes < 7*mib {
					t.Errorf("line 18 = %+v, want 8 MiB allocated and RSS up 7 MiB or more", l)
				}
			}},
		{name: "slowline/frequent-writes", script: "slowline.py", status: profile.StatusOK, output: "loaded 8",
			// A write every 2 ms: many overlap the 1 MiB allocations of the
			// main thread, which must stay the line's (_flush_unseen).
			env: []string{"MEMLENS_FLUSH_SECONDS=0.002"},
			fns: []fnWant{{"load", 1, map[int]uint64{16: 1, 18: 1, 19: 1}}},
			check: func(t *testing.T, r *profile.Result) {
				l, _ := r.Functions[0].Line(18)
				if l.AllocBytes < 8*mib || l.AllocBytes > 8*mib+64<<10 || l.IncrementBytes < 7*mib {
					t.Errorf("line 18 = %+v, want 8 MiB allocated (+ under 64 KiB of the writes' free-list refills) and RSS up 7 MiB or more", l)
				}
			}},
		{script: "mmaptouch.py", status: profile.StatusOK, output: "touched 192 MiB",
			fns: []fnWant{
				{"touch", 1, map[int]uint64{13: 1, 15: 1, 16: 1, 17: 1, 18: 16385, 19: 16384, 20: 1}},
				{"fill_last", 1, map[int]uint64{23: 1, 25: 1}},
			},
			check: func(t *testing.T, r *profile.Result) {
				// RSS growth the traced heap cannot see (an mmap touched
				// by C code or a page at a time) belongs to the line.
				f, _ := r.Function("touch")
				before, _ := f.Line(15)
				l, _ := f.Line(16) // one memset call over 64 MiB
				if l.IncrementBytes < 60*mib || l.MemUsageBytes < before.MemUsageBytes+60*mib {
					t.Errorf("memset line 16 = %+v, want an increment >= 60 MiB and mem usage 60 MiB above line 15's %d", l, before.MemUsageBytes)
				}
				// Which of the loop's two lines a throttled reading closes is
				// arbitrary: the loop as a whole holds the growth.
				head, _ := f.Line(18)
				body, _ := f.Line(19)
				if inc := head.IncrementBytes + body.IncrementBytes; inc < 60*mib || max(head.MemUsageBytes, body.MemUsageBytes) < l.MemUsageBytes+60*mib {
					t.Errorf("loop lines 18-19 = %+v %+v: want 60 MiB or more between them", head, body)
				}
				g, _ := r.Function("fill_last")
				if l, _ := g.Line(25); l.IncrementBytes < 60*mib {
					t.Errorf("fill_last line 25 = %+v, want an increment >= 60 MiB", l)
				}
			}},
		{script: "importer.py", funcs: []string{"helper", "Box.fill", "compute"}, status: profile.StatusOK, output: "importer 10 10",
			// The script's imports define helper and Box.fill, which it
			// calls: profiled where they are. compute is the script's own:
			// plainfunc's, which runs too, is not it.
			fns: []fnWant{
				{"compute", 1, map[int]uint64{4: 1, 5: 1}},
				{"helper", 2, map[int]uint64{1: 2, 2: 2}},
				{"Box.fill", 1, map[int]uint64{16: 1, 17: 1}},
			},
			check: func(t *testing.T, r *profile.Result) {
				for name, file := range map[string]string{"compute": "importer.py", "helper": "plainfunc.py", "Box.fill": "plainfunc.py"} {
					if f, _ := r.Function(name); filepath.Base(f.File) != file {
						t.Errorf("%s profiled in %s, want %s", name, f.File, file)
					}
				}
			}},
		{script: "comprehension.py", status: profile.StatusOK, output: "comprehension 8000000 5",
			fns: []fnWant{
				{"comp", 1, nil}, // the comprehension's count depends on the Python version
				{"rec", 6, map[int]uint64{8: 6, 10: 6, 11: 1, 12: 5, 13: 5, 14: 5, 15: 5}},
			},
			check: func(t *testing.T, r *profile.Result) {
				// Before 3.12 a comprehension runs in a frame of its own on
				// the line of the enclosing frame's run, which has its RSS
				// and heap changes; so does a recursive call's line.
				// Counted in both, they showed twice what was allocated.
				comp, _ := r.Function("comp")
				l, _ := comp.Line(3)
				if l.AllocBytes < 8000*1000 || l.NetAllocBytes > l.AllocBytes+64<<10 || l.IncrementBytes > l.AllocBytes+4*mib {
					t.Errorf("comp line 3 = %+v, want 8 MB allocated, its net change and increment no more", l)
				}
				rec, _ := r.Function("rec")
				l, _ = rec.Line(13)
				if l.AllocBytes < 4*mib || l.AllocBytes > 4*mib+64<<10 || l.NetAllocBytes > l.AllocBytes+64<<10 || l.IncrementBytes > l.AllocBytes+mib {
					t.Errorf("rec line 13 = %+v, want the 4 MiB of the calls below allocated, its net change and increment no more", l)
				}
			}},
		{script: "latin1.py", status: profile.StatusOK, output: "café 4000",
			fns: []fnWant{{"cafe", 1, nil}},
			check: func(t *testing.T, r *profile.Result) {
				// Its coding declaration says Latin-1: the table's text is
				// decoded (it held the raw byte, invalid UTF-8).
				if l, _ := r.Functions[0].Line(4); l.Content != `    s = "café" * 1000` {
					t.Errorf("line 4 = %q", l.Content)
				}
			}},
		{script: "osexit.py", status: profile.StatusOK, output: "worked 1000",
			// os._exit skips atexit, where the tracer writes its result:
			// the run reported no function as having run.
			fns: []fnWant{{"work", 1, nil}},
			check: func(t *testing.T, r *profile.Result) {
				if l, _ := r.Functions[0].Line(6); l.AllocBytes < 1000*1000 || r.Partial {
					t.Errorf("line 6 = %+v (partial %v), want 1 MB allocated in a whole run", l, r.Partial)
				}
			}},
		{script: "spawned.py", status: profile.StatusOK, output: "spawned 30", timeout: time.Minute,
			// Spawned workers run the main file again, bare @profile and
			// all: a NameError in each, and the pool restarted them until
			// the timeout.
			fns: []fnWant{{"run", 1, nil}}},
		{script: "decorated.py", status: profile.StatusOK, output: "decorated 5 6 10 7 6765",
			// @profile over staticmethod, classmethod, property and
			// lru_cache: what they wrap is profiled (it was silently not).
			fns: []fnWant{
				{"K.s", 1, map[int]uint64{6: 1, 9: 1}},
				{"K.c", 1, map[int]uint64{11: 1, 14: 1}},
				{"K.p", 1, map[int]uint64{16: 1, 19: 1}},
				{"K.cached", 1, map[int]uint64{21: 1, 24: 1}},
				{"fib", 21, map[int]uint64{27: 21, 30: 21}},
			}},
		{script: "smallobjects.py", status: profile.StatusOK, output: "grew",
			fns: []fnWant{{"build", 1, nil}},
			check: func(t *testing.T, r *profile.Result) {
				// tracemalloc's record of each traced block (about 100 B,
				// more than a small dict) is not the program's: the RSS
				// growth is about what the plain program's is (tracemalloc
				// made it 2.3 times that).
				out, err := exec.Command(py, filepath.Join(pyTestdata, "smallobjects.py")).Output()
				var plain int64
				if _, scanErr := fmt.Sscanf(string(out), "grew %d", &plain); err != nil || scanErr != nil || plain < 40*mib {
					t.Fatalf("plain %s smallobjects.py: %q %v %v", py, out, err, scanErr)
				}
				l, _ := r.Functions[0].Line(17)
				if l.IncrementBytes < plain*4/5 || l.IncrementBytes > plain*5/4 {
					t.Errorf("line 17 = %+v: increment %.1f MiB, the plain program grows %.1f MiB", l,
						float64(l.IncrementBytes)/mib, float64(plain)/mib)
				}
			}},
		{script: "retained.py", status: profile.StatusOK, output: "work 2000 10",
			fns: []fnWant{
				{"work", 1, nil}, // the comprehension's count depends on the Python version
				{"Box.make", 1, map[int]uint64{22: 1, 28: 1}},
			},
			check: checkRetained},
		{name: "retained/deeper-tracebacks", script: "retained.py", status: profile.StatusOK, output: "work 2000 10",
			// Allocations traced 4 frames deep: the program runs from the
			// tracer's frames, which must not hide it.
			env: []string{"MEMLENS_TRACEBACK_FRAMES=4"},
			fns: []fnWant{
				{"work", 1, nil}, // the comprehension's count depends on the Python version
				{"Box.make", 1, map[int]uint64{22: 1, 28: 1}},
			},
			check: checkRetained},
		{script: "syntaxerror.py", status: profile.StatusBuildFailed, exit: 1, output: "SyntaxError",
			check: func(t *testing.T, r *profile.Result) {
				if len(r.Errors) != 1 || r.Errors[0].Line != 5 || !strings.Contains(r.Message, "syntaxerror.py:5") {
					t.Errorf("errors %+v message %q", r.Errors, r.Message)
				}
			}},
		{script: "forever.py", timeout: 3 * time.Second, status: profile.StatusTimeout, exit: -1, output: "spinning",
			fns: []fnWant{{"spin", 1, nil}},
			check: func(t *testing.T, r *profile.Result) {
				if !r.Partial {
					t.Error("a timed-out run must be partial")
				}
				if l, _ := r.Functions[0].Line(10); l.Occurrences == 0 {
					t.Error("no partial counts for the endless loop")
				}
			}},
		{script: "plainfunc.py", funcs: []string{"compute", "Box.fill", "outer.<locals>.inner", "plainfunc.helper"},
			status: profile.StatusOK,
			fns: []fnWant{
				{"Box.fill", 1, map[int]uint64{16: 1, 17: 1}},
				{"outer.<locals>.inner", 1, map[int]uint64{21: 1, 22: 1}},
				{"compute", 1, nil},
				{"helper", 1, map[int]uint64{1: 1, 2: 1}},
			},
			check: func(t *testing.T, r *profile.Result) {
				if !strings.Contains(r.Entry, "compute()") {
					t.Errorf("entry %q does not say compute() was called directly", r.Entry)
				}
			}},
	}
	for _, c := range cases {
		name := strings.TrimSuffix(c.script, ".py")
		if len(c.funcs) > 0 {
			name += "/" + strings.Join(c.funcs, ",")
		}
		if c.name != "" {
			name = c.name
		}
		t.Run(name, func(t *testing.T) {
			r := profilePy(t, Request{Target: c.script, Funcs: c.funcs, Args: c.args, Timeout: c.timeout, Env: append(slices.Clip(c.env), env...), Python: py, SampleInterval: c.sample})
			if r.Status != c.status || r.ExitCode != c.exit {
				t.Fatalf("status %s exit %d (%s), want %s exit %d\n%s", r.Status, r.ExitCode, r.Message, c.status, c.exit, r.Output)
			}
			if !strings.Contains(r.Output, c.output) {
				t.Errorf("output %q does not contain %q", r.Output, c.output)
			}
			if r.Language != "python" || r.Entry == "" {
				t.Errorf("language %q entry %q", r.Language, r.Entry)
			}
			if len(r.Functions) != len(c.fns) {
				t.Fatalf("%d functions, want %d: %+v", len(r.Functions), len(c.fns), r.Functions)
			}
			for _, w := range c.fns {
				f, ok := r.Function(w.name)
				if !ok {
					t.Fatalf("no function %s", w.name)
				}
				if f.Calls != w.calls {
					t.Errorf("%s: %d calls, want %d", w.name, f.Calls, w.calls)
				}
				if w.occ == nil {
					continue
				}
				got := occurrences(f)
				for line, n := range w.occ {
					if got[line] != n {
						t.Errorf("%s line %d: %d occurrences, want %d", w.name, line, got[line], n)
					}
				}
				for line, n := range got {
					if _, ok := w.occ[line]; !ok {
						t.Errorf("%s line %d: %d occurrences, want none", w.name, line, n)
					}
				}
			}
			for i := range r.Functions {
				checkPyTotals(t, &r.Functions[i], w8Recursive[r.Functions[i].Name])
			}
			if c.check != nil {
				c.check(t, r)
			}
		})
	}
}

// checkRetained checks retained.py's Retained column: what the program
// still holds at exit, charged to the line that allocated it, and nothing
// for a line whose objects were all dropped, however many of them the
// interpreter keeps in its free lists, nor for the decorator and def lines,
// where the definition (the function object, functools.wraps's wrapper)
// was made, not a call.
func checkRetained(t *testing.T, r *profile.Result) {
	work, _ := r.Function("work")
	if l, _ := work.Line(17); l.RetainedBytes < 100000 || l.RetainedBytes > 100000+256 {
		t.Errorf("work line 17 = %+v, want the kept 100000 B bytearray retained", l)
	}
	// Python before 3.11 keeps the comprehension's frame for its next
	// call: a few hundred bytes that line 16 did allocate.
	if l, _ := work.Line(16); l.RetainedBytes > 1024 {
		t.Errorf("work line 16 = %+v: 2000 dropped dicts still retained", l)
	}
	for _, f := range r.Functions {
		for _, l := range f.Lines {
			if l.Line <= f.StartLine+2 && l.RetainedBytes != 0 {
				t.Errorf("%s header line %d retains %d B", f.Name, l.Line, l.RetainedBytes)
			}
		}
	}
	if mk, _ := r.Function("Box.make"); mk.RetainedBytes != 0 {
		t.Errorf("Box.make retains %d B; it keeps nothing", mk.RetainedBytes)
	}
}

// w8Recursive names the testdata functions that call themselves: their
// total counts an allocation once where several of their lines hold it.
var w8Recursive = map[string]bool{"build": true, "rec": true, "fib": true}

// checkPyTotals checks that a Python function's figures are consistent:
// Allocated never negative, and the function's total what its lines
// allocated (their sum, or less for a recursive function), in every status.
func checkPyTotals(t *testing.T, f *profile.Function, recursive bool) {
	t.Helper()
	var sum, retained int64
	for _, l := range f.Lines {
		if l.AllocBytes < 0 || l.PeakAllocBytes < 0 {
			t.Errorf("%s line %d = %+v: negative allocation", f.Name, l.Line, l)
		}
		if l.PeakAllocBytes > l.AllocBytes {
			t.Errorf("%s line %d = %+v: a peak above what the line allocated", f.Name, l.Line, l)
		}
		sum += l.AllocBytes
		retained += l.RetainedBytes
	}
	if f.AllocBytes > sum || (!recursive && f.AllocBytes != sum) {
		t.Errorf("%s: total allocated %d B, its lines %d B", f.Name, f.AllocBytes, sum)
	}
	if f.RetainedBytes != retained {
		t.Errorf("%s: total retained %d B, its lines %d B", f.Name, f.RetainedBytes, retained)
	}
}

// An uncaught exception and a syntax error print what plain Python prints.
func TestProfilePythonOutputUnchanged(t *testing.T) {
	py := testPython(t)
	for _, script := range []string{"exception.py", "syntaxerror.py", "exits.py"} {
		t.Run(script, func(t *testing.T) {
			cmd := exec.Command(py, script)
			cmd.Dir = pyTestdata
			// The shim alone (no tracer loaded) leaves functions as they are.
			cmd.Env = append(os.Environ(), "PYTHONPATH="+mustAbs(t, "pytracer/shim"))
			plain, _ := cmd.CombinedOutput()
			want := strings.ReplaceAll(string(plain), "File \""+script, "File \""+mustAbs(t, filepath.Join(pyTestdata, script)))
			r := profilePy(t, Request{Target: script})
			if r.Output != want {
				t.Errorf("output under memlens:\n%s\nplain python:\n%s", r.Output, want)
			}
			if r.ExitCode != cmd.ProcessState.ExitCode() {
				t.Errorf("exit code %d, plain python %d", r.ExitCode, cmd.ProcessState.ExitCode())
			}
		})
	}
}

func mustAbs(t *testing.T, p string) string {
	a, err := filepath.Abs(p)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

func TestProfilePythonBadRequests(t *testing.T) {
	py := testPython(t)
	for _, c := range []struct {
		target string
		funcs  []string
		want   string
	}{
		{"nosuch.py", nil, "nosuch.py"},
		{"plainfunc.py", []string{"needs"}, "needs never ran: running plainfunc.py does not call it, no test under " + mustAbs(t, pyTestdata) + " reaches it, and it needs arguments (a)"},
		{"plainfunc.py", []string{"nosuchfunc"}, "nosuchfunc never ran"},
		{"plainfunc.py", nil, "no function decorated with @profile"},
	} {
		_, err := Profile(context.Background(), Request{Dir: pyTestdata, Target: c.target, Funcs: c.funcs, Python: py})
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s %v: error %v, want %q", c.target, c.funcs, err, c.want)
		}
	}
}

// mpRow matches a row of memory_profiler's table that ran:
// line, mem usage, increment, occurrences.
var mpRow = regexp.MustCompile(`^\s*(\d+)\s+([-\d.]+) MiB\s+([-\d.]+) MiB\s+(\d+)\s`)

// TestProfilePythonMatchesMemoryProfiler runs the same scripts under the real
// memory_profiler and under memlens: occurrences must be equal on every line,
// and increments close on lines that allocate at least 1 MiB. The seed's
// Example 2 runs under both through the same local proxy (never the internet).
func TestProfilePythonMatchesMemoryProfiler(t *testing.T) {
	const py = debianPython
	if err := exec.Command(py, "-c", "import memory_profiler").Run(); err != nil {
		t.Skip("memory_profiler is not importable by /usr/bin/python3: apt-get install python3-memory-profiler python3-psutil")
	}
	type run struct {
		dir string
		env []string
	}
	cases := []struct {
		script string
		setup  func(t *testing.T) (run, func(t *testing.T))
	}{
		{script: "memoryexample.py"},
		{script: "bigalloc.py"},
		{script: "methods.py"},
		{script: "main2.py", setup: func(t *testing.T) (run, func(t *testing.T)) {
			needDebianRequests(t)
			proxy := startWordsProxy(t, example2Body)
			// One fetch by memory_profiler's run, one by memlens's.
			return run{dir: example2Dir(t), env: proxy.Env()}, func(t *testing.T) { proxy.check(t, 2) }
		}},
	}
	for _, c := range cases {
		t.Run(c.script, func(t *testing.T) {
			r := run{dir: pyTestdata}
			if c.setup != nil {
				var check func(t *testing.T)
				r, check = c.setup(t)
				defer check(t)
			}
			cmd := exec.Command(py, c.script)
			cmd.Dir = r.dir
			cmd.Env = append(os.Environ(), r.env...)
			out, err := cmd.Output()
			if err != nil {
				t.Fatalf("%s %s under memory_profiler: %v\n%s", py, c.script, err, out)
			}
			// memory_profiler prints one table per call: sum them per line.
			type mp struct {
				occ  uint64
				inc  float64
				seen bool
			}
			want := map[int]*mp{}
			sc := bufio.NewScanner(bytes.NewReader(out))
			for sc.Scan() {
				m := mpRow.FindStringSubmatch(sc.Text())
				if m == nil {
					continue
				}
				line, _ := strconv.Atoi(m[1])
				inc, _ := strconv.ParseFloat(m[3], 64)
				occ, _ := strconv.ParseUint(m[4], 10, 64)
				if want[line] == nil {
					want[line] = &mp{}
				}
				want[line].occ += occ
				want[line].inc += inc
			}
			if len(want) == 0 {
				t.Fatalf("no memory_profiler table in:\n%s", out)
			}
			res := profilePy(t, Request{Dir: r.dir, Target: c.script, Python: py, Env: r.env})
			got := map[int]profile.Line{}
			for _, f := range res.Functions {
				for _, l := range f.Lines {
					if l.Ran() {
						got[l.Line] = l
					}
				}
			}
			for line, w := range want {
				g := got[line]
				if g.Occurrences != w.occ {
					t.Errorf("line %d: memlens %d occurrences, memory_profiler %d", line, g.Occurrences, w.occ)
				}
				if g.AllocBytes >= 1<<20 {
					if d := float64(g.IncrementBytes)/(1<<20) - w.inc; d > 1 || d < -1 {
						t.Errorf("line %d: memlens increment %.1f MiB, memory_profiler %.1f MiB", line, float64(g.IncrementBytes)/(1<<20), w.inc)
					}
				}
				w.seen = true
			}
			for line, g := range got {
				if want[line] == nil {
					t.Errorf("line %d: memlens counted %d occurrences, memory_profiler none", line, g.Occurrences)
				}
			}
		})
	}
}
