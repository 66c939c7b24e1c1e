package runner

import (
	"context"
	"errors"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// xpkgDir is testdata/go/xpkg: lib has no tests; app's and report's tests
// and the programs cmd/tool and cmd/pairs run its functions.
var xpkgDir = filepath.Join(testdataDir, "xpkg")

// lib.Join run by app's TestRun, found by the module search: the test
// binary of app is built with lib's instrumented file in the overlay, and
// the figures are pprof's for the same test.
func TestProfileOtherPackagesTests(t *testing.T) {
	res := profileTestdata(t, Request{Target: "./testdata/go/xpkg/lib", Funcs: []string{"Join", "Upper.Apply", "Twice"}})
	if want := "go test -run ^(TestRun)$ " + xpkg + "/app (tests of another package that reach Join, Upper.Apply, Twice)"; res.Entry != want {
		t.Errorf("entry %q, want %q", res.Entry, want)
	}
	// "go", "memory", "lens" become "+GO+GO", "+MEMORY+MEMORY",
	// "+LENS+LENS", joined by " ".
	checkCounts(t, res, "Join", 1, lines{{"func Join", 1}, {"var b []byte", 1}, {"for i, w := range words", 4},
		{"if i > 0", 3}, {"b = append(b, sep...)", 2}, {"b = append(b, w...)", 3}, {"return string(b)", 1}})
	checkCounts(t, res, "Upper.Apply", 3, lines{{"func (u Upper) Apply", 3}, {"return u.Prefix", 3}})
	checkCounts(t, res, "Twice", 3, lines{{"func Twice", 3}, {"return strings.Repeat", 3}})
	for _, f := range res.Functions {
		if f.Package != xpkg+"/lib" {
			t.Errorf("%s: package %q", f.Name, f.Package)
		}
	}
	join, _ := res.Function("Join")
	if join.AllocBytes == 0 {
		t.Error("Join allocated nothing")
	}
	mem := referenceProfile(t, res, filepath.Join(xpkgDir, "app"), testArgsOf(res.Entry)...)
	checkAgainstPprof(t, res, mem)
	checkRetainedAgainstPprof(t, res, mem)
}

// Functions of two packages of a ./... pattern in one run: app.Run and
// lib.Join, each package instrumented with its own probe index, run by
// app's test that reaches both (app is a targets' own package).
func TestProfileSeveralPackages(t *testing.T) {
	res := profileTestdata(t, Request{Target: "./testdata/go/xpkg/...", Funcs: []string{"Run", "Join"}})
	if want := "go test -run ^(TestRun)$ (tests that reach Run, Join)"; res.Entry != want {
		t.Errorf("entry %q, want %q", res.Entry, want)
	}
	checkCounts(t, res, "Run", 1, lines{{"func Run", 1}, {"out := make", 1}, {"for _, w := range words", 4},
		{"out = append(out, f(t.Apply(w)))", 3}, {"return lib.Join(out, \" \")", 1}})
	checkCounts(t, res, "Join", 1, lines{{"func Join", 1}, {"var b []byte", 1}, {"for i, w := range words", 4},
		{"if i > 0", 3}, {"b = append(b, sep...)", 2}, {"b = append(b, w...)", 3}, {"return string(b)", 1}})
	run, _ := res.Function("Run")
	join, _ := res.Function("Join")
	if run.Package != xpkg+"/app" || join.Package != xpkg+"/lib" {
		t.Errorf("packages %q and %q", run.Package, join.Package)
	}
	// Run's return line calls Join: its allocation includes Join's.
	if l := lineOf(t, run, "return lib.Join"); l.AllocBytes < join.AllocBytes || join.AllocBytes == 0 {
		t.Errorf("Run's return line allocated %d B, Join %d B", l.AllocBytes, join.AllocBytes)
	}
	mem := referenceProfile(t, res, filepath.Join(xpkgDir, "app"), testArgsOf(res.Entry)...)
	checkAgainstPprof(t, res, mem)
	checkRetainedAgainstPprof(t, res, mem)
}

// lib.Tally is reached only by cmd/tool: the one main package that
// reaches it runs, built with lib instrumented, with the arguments given.
// lib.Pairs is reached by two programs: --run picks one.
func TestProfileMainPackageOfTheModule(t *testing.T) {
	res := profileTestdata(t, Request{Target: "./testdata/go/xpkg/lib", Funcs: []string{"Tally"}, Args: []string{"a", "b", "c"}, HasArgs: true})
	if want := "go run " + xpkg + "/cmd/tool a b c (a main package that reaches Tally)"; res.Entry != want {
		t.Errorf("entry %q, want %q", res.Entry, want)
	}
	if !strings.Contains(res.Output, "a-b a-c b-a b-c c-a c-b\n6 distinct\n") {
		t.Errorf("program output %q", res.Output)
	}
	checkCounts(t, res, "Tally", 1, lines{{"func Tally", 1}, {"out := map", 1}, {"for _, it := range items", 7}, {"out[it] += len(it)", 6}, {"return out", 1}})
	checkProgramAgainstPprof(t, res, filepath.Join(xpkgDir, "cmd", "tool"), "tool", "a", "b", "c")

	res = profileTestdata(t, Request{Target: "./testdata/go/xpkg/lib", Funcs: []string{"Pairs"}, Run: "./testdata/go/xpkg/cmd/pairs",
		Args: []string{"w", "x", "y", "z"}, HasArgs: true})
	if want := "go run " + xpkg + "/cmd/pairs w x y z"; res.Entry != want {
		t.Errorf("entry %q, want %q", res.Entry, want)
	}
	if !strings.Contains(res.Output, "12 pairs\n") {
		t.Errorf("program output %q", res.Output)
	}
	checkCounts(t, res, "Pairs", 1, lines{{"func Pairs", 1}, {"out := make", 1}, {"for _, a := range items", 5},
		{"for _, b := range items", 20}, {"if a != b", 16}, {"out = append(out, a+\"-\"+b)", 12}, {"return out", 1}})
	checkProgramAgainstPprof(t, res, filepath.Join(xpkgDir, "cmd", "pairs"), "pairs", "w", "x", "y", "z")
}

// A function of one module of a go.work workspace, run by the tests of
// another module of it.
func TestProfileWorkspaceModule(t *testing.T) {
	res := profileTestdata(t, Request{Target: "./testdata/gowork/strs", Funcs: []string{"Shout"}})
	if want := "go test -run ^(TestLoud)$ example.com/memlens/gowork/use (tests of another package that reach Shout)"; res.Entry != want {
		t.Errorf("entry %q, want %q", res.Entry, want)
	}
	checkCounts(t, res, "Shout", 1, lines{{"func Shout", 1}, {"out := make", 1}, {"for _, w := range words", 4}, {"out = append", 3}, {"return out", 1}})
	mem := referenceProfile(t, res, filepath.Join(repoRoot, "testdata", "gowork", "use"), testArgsOf(res.Entry)...)
	checkAgainstPprof(t, res, mem)
}

// Request.ChooseEntry is asked where the search finds several entries or
// only a program, and what it picks runs; its error ends the request.
// EntryOption.Apply runs the same entry again without a search.
func TestChooseEntryCallback(t *testing.T) {
	var offered [][]EntryOption
	pick := func(i int) func(context.Context, []EntryOption) (int, error) {
		return func(_ context.Context, opts []EntryOption) (int, error) {
			offered = append(offered, opts)
			return i, nil
		}
	}
	// Count: report's one test, then app's two.
	res := profileTestdata(t, Request{Target: "./testdata/go/xpkg/lib", Funcs: []string{"Count"}, ChooseEntry: pick(1)})
	if want := "go test -run ^(TestEmpty|TestSummary)$ " + xpkg + "/app (tests of another package that reach Count)"; res.Entry != want {
		t.Errorf("entry %q, want %q", res.Entry, want)
	}
	if len(offered) != 1 {
		t.Fatalf("asked %d times", len(offered))
	}
	var labels []string
	for _, o := range offered[0] {
		labels = append(labels, o.Label())
	}
	if want := []string{"report.TestTop", "app: TestEmpty, TestSummary"}; !reflect.DeepEqual(labels, want) {
		t.Errorf("options %q, want %q", labels, want)
	}
	// lib.Count on "a", "B", "b" and on nothing.
	checkCounts(t, res, "Count", 2, lines{{"func Count", 2}, {"counts := make", 2}, {"for _, w := range words", 5}, {"counts[strings.ToLower(w)]++", 3}, {"return counts", 2}})

	// The same option applied: no search, no question.
	req := Request{Target: "./testdata/go/xpkg/lib", Funcs: []string{"Count"}, ChooseEntry: pick(0)}
	offered[0][1].Apply(&req)
	res = profileTestdata(t, req)
	if want := "go test -run ^(TestEmpty|TestSummary)$ " + xpkg + "/app"; res.Entry != want || len(offered) != 1 {
		t.Errorf("entry %q (want %q), asked %d times", res.Entry, want, len(offered))
	}

	// Only a program reaches Tally: it is offered before it runs.
	res = profileTestdata(t, Request{Target: "./testdata/go/xpkg/lib", Funcs: []string{"Tally"}, ChooseEntry: pick(0)})
	if len(offered) != 2 || len(offered[1]) != 1 || offered[1][0].Kind != EntryMain || offered[1][0].Label() != "run cmd/tool" {
		t.Errorf("offered %+v", offered[1:])
	}
	if f, _ := res.Function("Tally"); f.Calls != 1 {
		t.Errorf("Tally ran %d times", f.Calls)
	}

	// Declined: the request ends with the chooser's error, nothing runs.
	declined := errors.New("declined")
	_, err := Profile(context.Background(), Request{Dir: repoRoot, Target: "./testdata/go/xpkg/lib", Funcs: []string{"Pairs"},
		ChooseEntry: func(_ context.Context, opts []EntryOption) (int, error) {
			if len(opts) != 2 || opts[0].Label() != "run cmd/pairs" || opts[1].Label() != "run cmd/tool" {
				t.Errorf("options %+v", opts)
			}
			return 0, declined
		}})
	if !errors.Is(err, declined) {
		t.Errorf("error %v, want the chooser's", err)
	}
}
