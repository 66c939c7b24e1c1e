package runner

import (
	"bufio"
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
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
	return py
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
	const mib = 1 << 20
	type fnWant struct {
		name  string
		calls uint64
		occ   map[int]uint64 // exactly the lines that ran
	}
	cases := []struct {
		script  string
		funcs   []string
		timeout time.Duration
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
				l, _ := f.Line(8) // [1] * 1296: a 56 B list and 10368 B of items
				if l.AllocBytes < 10424 || l.AllocBytes > 10424+256 {
					t.Errorf("line 8 allocated %d B, want 10424 (+ tracer noise under 256)", l.AllocBytes)
				}
				if l.Content != "    var1 = [1] * (6 ** 4)" || !l.Code {
					t.Errorf("line 8 = %+v", l)
				}
				if l, _ := f.Line(12); l.AllocBytes > -6912+256 {
					t.Errorf("del var3 freed %d B, want about -6912", l.AllocBytes)
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
				if l, _ := f.Line(11); l.PeakAllocBytes < 16*mib || l.AllocBytes > mib {
					t.Errorf("line 11 = %+v, want a 16 MiB peak freed within the line", l)
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
		t.Run(name, func(t *testing.T) {
			r := profilePy(t, Request{Target: c.script, Funcs: c.funcs, Timeout: c.timeout})
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
			if c.check != nil {
				c.check(t, r)
			}
		})
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
		{"plainfunc.py", []string{"needs"}, "needs never ran: the script never called it and it needs arguments (a)"},
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
