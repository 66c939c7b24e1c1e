package escape

import (
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/memlens/memlens/instrument"
	"github.com/memlens/memlens/profile"
)

// instrumentedBuild instruments the named functions of a testdata file as
// the runner does, compiles the package through the overlay with the
// diagnostics asked for, and attaches them to the functions' profiles.
func instrumentedBuild(t *testing.T, pkgDir, file string, test bool, targets []string, pkgs ...Package) []profile.Function {
	t.Helper()
	fns, found, src := functionsOf(t, file)
	var ts []instrument.Func
	for _, f := range found {
		if slices.Contains(targets, f.Name) {
			ts = append(ts, f)
		}
	}
	if len(ts) != len(targets) {
		t.Fatalf("found %d of the targets %v", len(ts), targets)
	}
	out, err := instrument.Instrument(instrument.Package{Dir: pkgDir, Name: ts[0].Package, Files: map[string][]byte{file: src}, Targets: ts}, instrument.Options{Allocs: true, RSS: true})
	if err != nil {
		t.Fatal(err)
	}
	replace := map[string][]byte{out.RuntimePath: out.RuntimeFile}
	for p, s := range out.Files {
		replace[p] = s
	}
	reports := compileJSON(t, pkgDir, test, replace, pkgs...)
	Attach(fns, Explain(reports, NewMap(out.Files)))
	return fns
}

// The explanations of testdata/go/escapes, built instrumented as the
// runner builds it (newPoint is left alone so that it is inlined into
// Boxed): each case of the package lands on its line and column with its
// reason.
func TestExplanationsOfInstrumentedBuild(t *testing.T) {
	dir := filepath.Join(testdataModule(t), "escapes")
	file := filepath.Join(dir, "escapes.go")
	targets := []string{"Label", "Counter", "Keep", "Pairs", "Grow", "Shout", "Boxed", "Points"}
	fns := instrumentedBuild(t, dir, file, false, targets,
		Package{ImportPath: "example.com/memlens/testdata/escapes", Dir: dir, CmdLine: true})
	got := escapesOf(fns)
	for _, want := range []string{
		// interface conversions for a ...any parameter
		"Label 20:30 kind escapes to heap: passed to fmt.Sprintf's ... argument",
		"Label 20:36 i escapes to heap: passed to fmt.Sprintf's ... argument",
		// a variable captured by a closure that is returned
		"Counter 26:2 moved to heap: n: captured by a closure, which is on the heap",
		"Counter 27:9 func literal escapes to heap: returned",
		// stored in a package variable
		"Keep 35:7 &Point[int]{...} escapes to heap: converted to an interface, appended to keep",
		"Keep 36:15 append(keep, p) escapes to heap: stored in keep",
		// the compiler's temporaries replaced by the source
		`Pairs 42:15 append(keep, Points(n, 1.5), Points(n, "s")) escapes to heap: stored in keep`,
		"Pairs 42:28 Points(n, 1.5) escapes to heap: appended to keep",
		// a callee inlined into the line, declared later in the file
		// (after probes: its positions went through the directives)
		"Boxed 63:17 &Point[int]{...} escapes to heap (in newPoint (escapes.go:66), inlined): returned",
		"newPoint 66:43 &Point[int]{...} escapes to heap: returned",
		// one explanation for both shapes of a generic function
		"Points 70:13 make([]Point[float64|string], 0, n) escapes to heap: returned",
		"Points 72:15 append(out, Point[float64|string]{...}) escapes to heap: returned",
	} {
		if !slices.Contains(got, want) {
			t.Errorf("missing %q", want)
		}
	}
	// Nothing escapes in Grow and Shout: what they allocate is the
	// runtime's (append growth) and a callee's.
	for _, g := range got {
		if strings.HasPrefix(g, "Grow ") || strings.HasPrefix(g, "Shout ") {
			t.Errorf("unexpected %q", g)
		}
		if strings.Contains(g, "memlens") || strings.Contains(g, "go.shape") || tempRE.MatchString(g) {
			t.Errorf("probe, shape or temporary shown: %q", g)
		}
	}
	// One explanation per position and message.
	seen := map[string]bool{}
	for _, g := range got {
		if seen[g] {
			t.Errorf("twice: %q", g)
		}
		seen[g] = true
	}
	if t.Failed() {
		t.Logf("got:\n%s", strings.Join(got, "\n"))
	}
}

// Positions inside an instrumented file map back to the user's: every
// function of testdata/go/shapes that is not instrumented, before and
// after the instrumented ones in the file, gets the same explanations as
// in a plain build.
func TestPositionsMapThroughDirectives(t *testing.T) {
	dir := filepath.Join(testdataModule(t), "shapes")
	file := filepath.Join(dir, "shapes.go")
	pkg := Package{ImportPath: "example.com/memlens/testdata/shapes", Dir: dir, CmdLine: true}
	plain, _, _ := functionsOf(t, file)
	Attach(plain, Explain(compileJSON(t, dir, false, nil, pkg), nil))
	targets := []string{"Build", "Areas"}
	inst := instrumentedBuild(t, dir, file, false, targets, pkg)
	compared := 0
	for i, f := range plain {
		if slices.Contains(targets, f.Name) {
			continue
		}
		a, b := escapesOf(plain[i:i+1]), escapesOf(inst[i:i+1])
		if !slices.Equal(a, b) {
			t.Errorf("%s: plain build\n%s\ninstrumented build\n%s", f.Name, strings.Join(a, "\n"), strings.Join(b, "\n"))
		}
		compared += len(a)
	}
	if compared < 20 {
		t.Errorf("compared only %d explanations", compared)
	}
	// The instrumented functions keep their explanations at the same
	// places too (not inlined callees aside, none here).
	for i, f := range plain {
		if !slices.Contains(targets, f.Name) {
			continue
		}
		a, b := escapesOf(plain[i:i+1]), escapesOf(inst[i:i+1])
		for _, want := range a {
			if strings.Contains(want, ", inlined)") {
				continue // NewGrid and Add are still inlined: kept below
			}
			if !slices.Contains(b, want) {
				t.Errorf("%s: instrumented build lacks %q; has\n%s", f.Name, want, strings.Join(b, "\n"))
			}
		}
	}
	got := escapesOf(inst)
	for _, want := range []string{
		"Build 61:39 i escapes to heap: passed to fmt.Sprintf's ... argument",
		"Build 57:14 &Grid{...} escapes to heap (in NewGrid (shapes.go:29), inlined): returned",
		"Build 62:8 append(g.Cells, s) escapes to heap (in g.Add (shapes.go:34), inlined): stored in g.Cells",
		"Areas 111:6 func literal escapes to heap: started as a goroutine",
		"Areas 106:2 moved to heap: total: captured by a closure, which is on the heap",
	} {
		if !slices.Contains(got, want) {
			t.Errorf("missing %q in\n%s", want, strings.Join(got, "\n"))
		}
	}
}

// An external test package's functions are explained too: the build is
// go test -c, with the diagnostics asked for both packages, or for the
// external test package alone (its functions are the only targets).
func TestExternalTestPackage(t *testing.T) {
	dir := filepath.Join(testdataModule(t), "escapes")
	file := filepath.Join(dir, "words_test.go")
	pkg := Package{ImportPath: "example.com/memlens/testdata/escapes", Dir: dir, CmdLine: true}
	xtest := Package{ImportPath: "example.com/memlens/testdata/escapes_test", Dir: dir, CmdLine: true}
	for _, pkgs := range [][]Package{{pkg, xtest}, {xtest}} {
		fns := instrumentedBuild(t, dir, file, true, []string{"joined"}, pkgs...)
		got := escapesOf(fns)
		want := "joined 10:2 moved to heap: s: its address taken (&s), returned"
		if !slices.Contains(got, want) {
			t.Errorf("%d packages asked: missing %q in\n%s", len(pkgs), want, strings.Join(got, "\n"))
		}
	}
}
