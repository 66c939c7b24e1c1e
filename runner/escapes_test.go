package runner

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/memlens/memlens/profile"
)

// escapeAt returns the explanation of the line at column col, failing the
// test when there is none.
func escapeAt(t *testing.T, f *profile.Function, prefix string, col int) profile.Escape {
	t.Helper()
	l := lineOf(t, f, prefix)
	for _, e := range l.Escapes {
		if e.Column == col {
			return e
		}
	}
	t.Errorf("%s line %d %q: no explanation at column %d; has %+v", f.Name, l.Line, prefix, col, l.Escapes)
	return profile.Escape{}
}

// A real build: the profiled lines carry the compiler's escape analysis
// of the instrumented build, on the user's lines and columns, condensed;
// the same through an editor buffer whose lines moved.
func TestEscapesOnProfiledLines(t *testing.T) {
	file := filepath.Join(testdataDir, "shapes", "shapes.go")
	src, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name    string
		overlay map[string][]byte
		shift   int
	}{
		{"file", nil, 0},
		{"editor buffer, two lines added above", map[string][]byte{file: append([]byte("// one\n// two\n"), src...)}, 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res := profileTestdata(t, Request{Target: "./testdata/go/shapes", Funcs: []string{"Build"}, Test: "TestBuild", Overlay: tc.overlay})
			if !res.EscapeAnalysis {
				t.Fatal("no escape analysis read")
			}
			f, _ := res.Function("Build")
			if f.StartLine != 56+tc.shift {
				t.Fatalf("Build starts on line %d", f.StartLine)
			}
			sprintf := `label := fmt.Sprintf("%s-%d", kind, i)`
			for _, want := range []profile.Escape{
				{Column: 33, Message: "kind escapes to heap", Flow: []string{"passed to fmt.Sprintf's ... argument"}},
				{Column: 39, Message: "i escapes to heap", Flow: []string{"passed to fmt.Sprintf's ... argument"}},
			} {
				if got := escapeAt(t, f, sprintf, want.Column); got.Sentence() != want.Sentence() {
					t.Errorf("col %d: %q, want %q", want.Column, got.Sentence(), want.Sentence())
				}
			}
			if l := lineOf(t, f, sprintf); l.Line != 61+tc.shift {
				t.Errorf("the Sprintf line is %d", l.Line)
			}
			// NewGrid is inlined into Build: its allocations are explained
			// on the calling line, naming it.
			if e := escapeAt(t, f, "g := NewGrid(n)", 14); e.Inlined != fmt.Sprintf("NewGrid (shapes.go:%d)", 29+tc.shift) || e.Message != "&Grid{...} escapes to heap" {
				t.Errorf("NewGrid's line: %+v", e)
			}
			if e := escapeAt(t, f, "var b strings.Builder", 6); e.Message != "moved to heap: b" {
				t.Errorf("b: %+v", e)
			}
			// Lines without an escape have no explanation; none mentions
			// the probes.
			for _, l := range f.Lines {
				if strings.HasPrefix(strings.TrimSpace(l.Content), "kind :=") && len(l.Escapes) > 0 {
					t.Errorf("line %d: %+v", l.Line, l.Escapes)
				}
				for _, e := range l.Escapes {
					if strings.Contains(e.Sentence(), "memlens") {
						t.Errorf("line %d: a probe's escape: %+v", l.Line, e)
					}
				}
			}
		})
	}
}

// A generic function's shapes give one explanation; a function of an
// external test package (built by go test -c as a package of its own) is
// explained too.
func TestEscapesOfGenericAndExternalTestFunctions(t *testing.T) {
	res := profileTestdata(t, Request{Target: "./testdata/go/escapes", Funcs: []string{"Points", "joined"}, Test: "TestCases|TestJoined"})
	if !res.EscapeAnalysis {
		t.Fatal("no escape analysis read")
	}
	points, _ := res.Function("Points")
	if e := escapeAt(t, points, "out := make([]Point[T], 0, n)", 13); e.Sentence() != "make([]Point[float64|string], 0, n) escapes to heap: returned" {
		t.Errorf("Points: %q", e.Sentence())
	}
	if l := lineOf(t, points, "out := make([]Point[T], 0, n)"); len(l.Escapes) != 1 || l.AllocBytes == 0 {
		t.Errorf("Points: %d explanations, %d bytes allocated", len(l.Escapes), l.AllocBytes)
	}
	joined, _ := res.Function("joined")
	if e := escapeAt(t, joined, `s := strings.Join(words, "+")`, 2); e.Message != "moved to heap: s" {
		t.Errorf("joined: %+v", e)
	}
}

// A line whose allocation the compiler explains with no value of its own
// names the runtime function that made it (an append's growslice, a
// channel's makechan), and the why says what that allocates, instead of
// guessing the same cause for every such line.
func TestRuntimeAllocationsNamed(t *testing.T) {
	res := profileTestdata(t, Request{Target: "./testdata/go/escapes", Funcs: []string{"Grow", "Channel"}, Test: "TestCases"})
	for _, c := range []struct{ fn, line, runtime, why string }{
		{"Grow", "s = append(s, i)", "runtime.growslice", "allocated by the runtime on this line, in runtime.growslice: append outgrew the slice's capacity"},
		{"Channel", "ch := make(chan int, n)", "runtime.makechan", "allocated by the runtime on this line, in runtime.makechan: a channel, which is always on the heap"},
	} {
		f, ok := res.Function(c.fn)
		if !ok {
			t.Fatalf("no %s in the result", c.fn)
		}
		l := lineOf(t, f, c.line)
		if l.AllocBytes == 0 || len(l.Escapes) != 0 || len(l.Callees) != 0 {
			t.Errorf("%s %q: %d B, escapes %+v, callees %+v: want bytes the runtime allocated for the line itself", c.fn, c.line, l.AllocBytes, l.Escapes, l.Callees)
		}
		if l.Runtime != c.runtime {
			t.Errorf("%s %q: runtime %q, want %q", c.fn, c.line, l.Runtime, c.runtime)
		}
		if got := profile.WhereAllocated(*l); got != c.why {
			t.Errorf("%s %q: %q, want %q", c.fn, c.line, got, c.why)
		}
	}
}

// The diagnostics of a build whose compile comes from go's cache are the
// ones of that very compile: after an edit and its undo, the explanations
// are the original's again, not the edit's.
func TestEscapesAfterAnEditAndItsUndo(t *testing.T) {
	file := filepath.Join(testdataDir, "shapes", "shapes.go")
	src, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	sprintf := `label := fmt.Sprintf("%s-%d", kind, i)`
	edited := strings.Replace(string(src), sprintf, `label := fmt.Sprint(kind, i)`, 1)
	explain := func(overlay map[string][]byte, line string) []string {
		t.Helper()
		res := profileTestdata(t, Request{Target: "./testdata/go/shapes", Funcs: []string{"Build"}, Test: "TestBuild", Overlay: overlay, CountsOnly: true})
		f, _ := res.Function("Build")
		var out []string
		for _, e := range lineOf(t, f, line).Escapes {
			out = append(out, e.Sentence())
		}
		return out
	}
	before := explain(nil, sprintf)
	during := explain(map[string][]byte{file: []byte(edited)}, `label := fmt.Sprint(kind, i)`)
	after := explain(nil, sprintf)
	if !slices.Contains(before, "i escapes to heap: passed to fmt.Sprintf's ... argument") {
		t.Errorf("before the edit: %q", before)
	}
	if !slices.Contains(during, "i escapes to heap: passed to fmt.Sprint's ... argument") {
		t.Errorf("edited: %q", during)
	}
	if !slices.Equal(before, after) {
		t.Errorf("after the undo %q, want %q as before", after, before)
	}
}

// escapeDir names a directory per content under the cached build, and
// drops them all, with the salt, past escapeVersions.
func TestEscapeDir(t *testing.T) {
	cache := t.TempDir()
	out := filepath.Join(cache, "key", "prog")
	os.MkdirAll(filepath.Dir(out), 0o755)
	a := escapeDir(out, "/tmp", []byte("a"))
	if a != escapeDir(out, "/tmp", []byte("a")) {
		t.Error("the same content gets another directory")
	}
	if a == escapeDir(out, "/tmp", []byte("b")) {
		t.Error("other content gets the same directory")
	}
	if filepath.Dir(a) != filepath.Join(cache, "key", "escapes") {
		t.Errorf("directory %s", a)
	}
	first := escapeDir(out, "/tmp", []byte{0})
	for i := range escapeVersions {
		os.MkdirAll(escapeDir(out, "/tmp", []byte{byte(i)}), 0o755)
	}
	next := escapeDir(out, "/tmp", []byte("new content"))
	if n := countDirs(filepath.Dir(next)); n != 0 {
		t.Errorf("%d directories left past %d versions", n, escapeVersions)
	}
	// A new salt: content seen before gets a new directory, so that a
	// compile cached with the old one (its diagnostics deleted) is not
	// found.
	if escapeDir(out, "/tmp", []byte{0}) == first {
		t.Error("the salt did not change")
	}
	if got := escapeDir("", "/tmp/run", []byte("a")); got != "/tmp/run/escapes" {
		t.Errorf("without a cache: %s", got)
	}
}

// The diagnostics of a cached build deleted by hand (the escapes
// directories, not the salt) are missing from the next run, which says so;
// the run after that has them again: the salt is forgotten, so the build
// compiles once more instead of finding the compile in go's cache forever.
func TestEscapesComeBackAfterDeletion(t *testing.T) {
	cache := privateMemlensCache(t)
	req := Request{Target: "./testdata/go/escapes", Funcs: []string{"Label"}, Test: "TestCases"}
	if res := profileTestdata(t, req); !res.EscapeAnalysis {
		t.Fatalf("first run: no escape analysis: %s", res.EscapeAnalysisError)
	}
	dirs, _ := filepath.Glob(filepath.Join(cache, "memlens", "build", "*", "escapes", "*"))
	removed := 0
	for _, d := range dirs {
		if st, err := os.Stat(d); err == nil && st.IsDir() {
			os.RemoveAll(d)
			removed++
		}
	}
	if removed == 0 {
		t.Fatalf("no escapes directory in %v", dirs)
	}
	if res := profileTestdata(t, req); res.EscapeAnalysis || res.EscapeAnalysisError == "" {
		t.Errorf("diagnostics deleted: escape analysis %v, error %q; want none, and why", res.EscapeAnalysis, res.EscapeAnalysisError)
	}
	res := profileTestdata(t, req)
	if !res.EscapeAnalysis {
		t.Fatalf("the run after: no escape analysis: %s", res.EscapeAnalysisError)
	}
	f, _ := res.Function("Label")
	if e := escapeAt(t, f, `return fmt.Sprintf("%s-%d", kind, i)`, 36); e.Message != "i escapes to heap" {
		t.Errorf("Label: %+v", e)
	}
}
