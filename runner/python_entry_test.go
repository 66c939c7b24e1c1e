package runner

import (
	"context"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/memlens/memlens/profile"
)

// How a Python function gets run: its file, a module (-m), or the tests
// that reach it (pytest, unittest without it), through real interpreters
// and a real pytest.

// pytestPython is an interpreter that can import pytest (Debian's
// python3-pytest, which .ci/run installs).
func pytestPython(t *testing.T) string {
	t.Helper()
	for _, py := range []string{debianPython, testPython(t)} {
		if exec.Command(py, "-c", "import pytest").Run() == nil {
			return py
		}
	}
	t.Skip("no interpreter here imports pytest: apt-get install python3-pytest")
	return ""
}

// noPytestPython is an interpreter that cannot import pytest.
func noPytestPython(t *testing.T) string {
	t.Helper()
	py := testPython(t)
	if exec.Command(py, "-c", "import pytest").Run() == nil {
		t.Skipf("%s imports pytest: the unittest path needs one that does not", py)
	}
	return py
}

func TestProfilePythonEntries(t *testing.T) {
	withPytest := pytestPython(t)
	pkgDir := filepath.Join(pyTestdata, "pkg")
	textutil := mustAbs(t, filepath.Join(pkgDir, "textutil.py"))
	testFile := mustAbs(t, filepath.Join(pkgDir, "test_textutil.py"))
	cases := []struct {
		name   string
		req    Request
		status profile.Status
		entry  string // the result's entry, exactly
		fn     string
		calls  uint64
		occ    map[int]uint64 // lines that must have these counts
		check  func(t *testing.T, r *profile.Result)
	}{
		{
			// The module is no script: the tests that mention tokens or
			// count_words (which calls it) run; test_arithmetic does not.
			name: "pytest", req: Request{Target: "pkg/textutil.py", Funcs: []string{"tokens"}},
			status: profile.StatusOK,
			entry:  "pytest pkg/test_textutil.py::test_tokens pkg/test_textutil.py::test_tokens_many pkg/test_wordstats.py::WordStats::test_count_words",
			fn:     "tokens", calls: 3, occ: map[int]uint64{6: 3, 11: 3},
			check: func(t *testing.T, r *profile.Result) {
				f, _ := r.Function("tokens")
				if l, _ := f.Line(10); l.Occurrences < 5000 { // words.append, 5000 words in test_tokens_many
					t.Errorf("line 10 = %+v, want at least 5000 runs", l)
				}
				if !strings.Contains(r.Output, "3 passed, 3 deselected") {
					t.Errorf("pytest output %q, want 3 passed, 3 deselected", r.Output)
				}
			},
		},
		{
			// A failing test still gives the profile of what ran, and
			// the failure with its position.
			name: "failing test", req: Request{Target: "pkg/textutil.py", Funcs: []string{"tally"}},
			status: profile.StatusExit,
			entry:  "pytest pkg/test_textutil.py::test_tally_is_wrong",
			fn:     "tally", calls: 1, occ: map[int]uint64{22: 1, 23: 3, 24: 2, 25: 1},
			check: func(t *testing.T, r *profile.Result) {
				if !r.Partial || !strings.HasPrefix(r.Message, "1 of 1 tests failed: pkg/test_textutil.py::test_tally_is_wrong (") ||
					!strings.Contains(r.Message, "assert 5 == 6") {
					t.Errorf("partial %v, message %q", r.Partial, r.Message)
				}
				if len(r.Errors) != 1 || r.Errors[0].File != testFile || r.Errors[0].Line != 19 {
					t.Errorf("errors %+v, want the assert at %s:19", r.Errors, testFile)
				}
			},
		},
		{
			name: "a test itself", req: Request{Target: "pkg/test_textutil.py", Funcs: []string{"test_tokens"}},
			status: profile.StatusOK, entry: "pytest pkg/test_textutil.py::test_tokens",
			fn: "test_tokens", calls: 1, occ: map[int]uint64{4: 1, 5: 1},
		},
		{
			// pyproject.toml marks the root; a conftest fixture is what
			// calls make_grid, the test only names the fixture.
			name: "fixture", req: Request{Target: "proj/shapes/grid.py", Funcs: []string{"make_grid"}},
			status: profile.StatusOK, entry: "pytest tests/test_grid.py::test_area",
			fn: "make_grid", calls: 1, occ: map[int]uint64{1: 1, 2: 1, 3: 31, 4: 30, 5: 1},
		},
		{
			name: "given test", req: Request{Target: "pkg/textutil.py", Funcs: []string{"tokens"}, Test: "many"},
			status: profile.StatusOK, entry: "pytest pkg/test_textutil.py::test_tokens_many",
			fn: "tokens", calls: 1,
		},
		{
			// No test mentions banner, which needs no arguments: the file
			// runs, then banner is called.
			name: "direct call", req: Request{Target: "pkg/textutil.py", Funcs: []string{"banner"}},
			status: profile.StatusOK, entry: withPytest + " pkg/textutil.py; then, as it never called them, banner()",
			fn: "banner", calls: 1, occ: map[int]uint64{32: 1, 33: 1, 34: 1},
		},
		{
			// Running the file reaches Box.fill (its __main__ block):
			// the script runs, no test is looked for.
			name: "script", req: Request{Target: "plainfunc.py", Funcs: []string{"Box.fill"}},
			status: profile.StatusOK, entry: withPytest + " plainfunc.py",
			fn: "Box.fill", calls: 1, occ: map[int]uint64{16: 1, 17: 1},
		},
		{
			// A module of a package (relative imports) is no script: with
			// no test to run it, it is imported as part of its package
			// and the function called (it ran as a script, an ImportError).
			name: "relative import, direct call", req: Request{Target: "relpkg/core.py", Funcs: []string{"selfcheck"}},
			status: profile.StatusOK,
			entry:  realPython(withPytest) + " -c 'import relpkg.core' (from " + mustAbs(t, pyTestdata) + "); then, as it never called them, selfcheck()",
			fn:     "selfcheck", calls: 1, occ: map[int]uint64{8: 1, 9: 1, 10: 1},
		},
		{
			// memory_profiler's own style: @profile without an import.
			name: "bare @profile", req: Request{Target: "bareprofile.py"},
			status: profile.StatusOK, entry: withPytest + " bareprofile.py",
			fn: "build", calls: 1, occ: map[int]uint64{6: 1, 9: 1, 10: 1},
			check: func(t *testing.T, r *profile.Result) {
				if !strings.Contains(r.Output, "built 3889") {
					t.Errorf("output %q", r.Output)
				}
			},
		},
		{
			name: "module", req: Request{Dir: filepath.Join(pyTestdata, "modrun"), Module: "tool.words", Funcs: []string{"longest"},
				Args: []string{"a", "bbb", "cc"}, HasArgs: true},
			status: profile.StatusOK, entry: withPytest + " -m tool.words a bbb cc",
			fn: "longest", calls: 1, occ: map[int]uint64{6: 4, 7: 3, 8: 2},
			check: func(t *testing.T, r *profile.Result) {
				if !strings.Contains(r.Output, "longest bbb") {
					t.Errorf("output %q", r.Output)
				}
			},
		},
		{
			// A package runs its __main__, which imports the function.
			name: "package module", req: Request{Dir: filepath.Join(pyTestdata, "modrun"), Module: "tool", Funcs: []string{"tool.words.longest"}},
			status: profile.StatusOK, entry: withPytest + " -m tool",
			fn: "longest", calls: 1, occ: map[int]uint64{6: 3},
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			c.req.Python = withPytest
			r := profilePy(t, c.req)
			if r.Status != c.status {
				t.Fatalf("status %s (%s), want %s\n%s", r.Status, r.Message, c.status, r.Output)
			}
			if r.Entry != c.entry {
				t.Errorf("entry %q, want %q", r.Entry, c.entry)
			}
			f, ok := r.Function(c.fn)
			if !ok {
				t.Fatalf("no function %s in %+v", c.fn, r.Functions)
			}
			if f.Calls != c.calls {
				t.Errorf("%d calls, want %d", f.Calls, c.calls)
			}
			if c.req.Target == "pkg/textutil.py" && f.File != textutil {
				t.Errorf("file %s, want %s", f.File, textutil)
			}
			for line, n := range c.occ {
				if l, _ := f.Line(line); l == nil || l.Occurrences != n {
					t.Errorf("line %d = %+v, want %d occurrences", line, l, n)
				}
			}
			checkPyTotals(t, f, false)
			if c.check != nil {
				c.check(t, r)
			}
		})
	}
}

// Where pytest is missing, unittest discovery runs the TestCase tests that
// reach the function, and a function only pytest-style tests reach gets an
// error that says how to get pytest.
func TestProfilePythonUnittest(t *testing.T) {
	py := noPytestPython(t)
	r := profilePy(t, Request{Target: "pkg/textutil.py", Funcs: []string{"tokens"}, Python: py})
	want := "python -m unittest pkg.test_wordstats.WordStats.test_count_words (pytest is not installed for "
	if r.Status != profile.StatusOK || !strings.HasPrefix(r.Entry, want) {
		t.Fatalf("status %s (%s), entry %q, want it to start with %q\n%s", r.Status, r.Message, r.Entry, want, r.Output)
	}
	if f, _ := r.Function("tokens"); f == nil || f.Calls != 1 {
		t.Errorf("tokens: %+v, want one call", f)
	}
	_, err := Profile(context.Background(), Request{Dir: pyTestdata, Target: "pkg/textutil.py", Funcs: []string{"tally"}, Python: py})
	if err == nil || !strings.Contains(err.Error(), "tally never ran: running textutil.py does not call it") ||
		!strings.Contains(err.Error(), "pytest is not installed for") || !strings.Contains(err.Error(), "pip install pytest") {
		t.Errorf("tally without pytest: error %v", err)
	}
}

func TestProfilePythonEntryErrors(t *testing.T) {
	py := pytestPython(t)
	for _, c := range []struct {
		req  Request
		want string
	}{
		{Request{Target: "pkg/textutil.py", Funcs: []string{"shout"}},
			"shout never ran: running textutil.py does not call it, no test under " + mustAbs(t, pyTestdata) + " reaches it, and it needs arguments (text)"},
		{Request{Module: "nosuchmodule", Funcs: []string{"f"}}, "no module named nosuchmodule"},
		{Request{Target: "pkg/textutil.py", Test: "many"}, "--test runs tests for the functions named"},
		{Request{Module: "tool", Test: "x", Funcs: []string{"f"}}, "not both"},
	} {
		c.req.Dir, c.req.Python = pyTestdata, py
		_, err := Profile(context.Background(), c.req)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%+v: error %v, want %q", c.req, err, c.want)
		}
	}
}
