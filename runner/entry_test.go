package runner

import (
	"context"
	"errors"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// repoRoot is where `memlens profile ./testdata/go/...` is run from.
var repoRoot, _ = filepath.Abs("..")

// entryFor resolves req and chooses its entry as profileGo does, without
// building anything.
func entryFor(t *testing.T, req Request) (*goEntry, error) {
	t.Helper()
	req.Dir = repoRoot
	req.Progress = func(Progress) {}
	ctx := context.Background()
	r, err := newGoRun(req)
	if err != nil {
		return nil, err
	}
	defer r.close()
	if err := r.resolve(ctx); err != nil {
		return nil, err
	}
	return r.findEntry(ctx)
}

// xpkg is the import path of testdata/go/xpkg.
const xpkg = "example.com/memlens/testdata/xpkg"

func TestChooseEntry(t *testing.T) {
	tests := []struct {
		name  string
		req   Request
		entry string // Result.Entry, exactly
		err   string // or an error containing this
	}{
		{name: "explicit test", req: Request{Target: "./testdata/go/shapes", Funcs: []string{"Build"}, Test: "TestAreas"},
			entry: "go test -run ^(TestAreas)$"},
		{name: "explicit bench", req: Request{Target: "./testdata/go/shapes", Funcs: []string{"Build"}, Bench: "BenchmarkBuild"},
			entry: "go test -bench ^(BenchmarkBuild)$ -benchtime 1x -run ^$"},
		{name: "args for a main package", req: Request{Target: "./testdata/go/cmd/wordcount", Funcs: []string{"Count"}, Args: []string{"-top", "3"}, HasArgs: true},
			entry: "go run example.com/memlens/testdata/cmd/wordcount -top 3"},
		{name: "args for a library no program reaches", req: Request{Target: "./testdata/go/shapes", Funcs: []string{"Build"}, HasArgs: true},
			err: "program arguments given, but no main package reaches Build; name one with --run PKG"},
		{name: "target is a test", req: Request{Target: "./testdata/go/shapes", Funcs: []string{"TestBuild"}},
			entry: "go test -run ^(TestBuild)$"},
		{name: "target is a benchmark", req: Request{Target: "./testdata/go/shapes", Funcs: []string{"BenchmarkBuild"}},
			entry: "go test -run ^$ -bench ^(BenchmarkBuild)$ -benchtime 1x"},
		{name: "target is an example", req: Request{Target: "./testdata/go/shapes", Funcs: []string{"ExampleBuild"}},
			entry: "go test -run ^(ExampleBuild)$"},
		{name: "main package", req: Request{Target: "./testdata/go/cmd/wordcount", Funcs: []string{"Top"}},
			entry: "go run example.com/memlens/testdata/cmd/wordcount"},
		{name: "tests that reach", req: Request{Target: "./testdata/go/shapes", Funcs: []string{"Build"}},
			entry: "go test -run ^(ExampleBuild|TestAreas|TestBuild|TestFirstBig|TestLabels)$ -bench ^(BenchmarkBuild)$ -benchtime 1x (tests that reach Build)"},
		// A file stands for its package, tests included (go list of a file
		// alone would make a package of just that file, which no test reaches).
		{name: "a file of the package", req: Request{Target: "./testdata/go/shapes/shapes.go", Funcs: []string{"Build"}},
			entry: "go test -run ^(ExampleBuild|TestAreas|TestBuild|TestFirstBig|TestLabels)$ -bench ^(BenchmarkBuild)$ -benchtime 1x (tests that reach Build)"},
		{name: "a file of another package's tests", req: Request{Target: "testdata/go/xpkg/lib/lib.go", Funcs: []string{"Join"}},
			entry: "go test -run ^(TestRun)$ " + xpkg + "/app (tests of another package that reach Join)"},
		// Drain is only reached through TestDrainAndDescribe.
		{name: "tests that reach, narrow", req: Request{Target: "./testdata/go/shapes", Funcs: []string{"Drain"}},
			entry: "go test -run ^(TestDrainAndDescribe)$ (tests that reach Drain)"},
		// area is called from a goroutine's closure inside Areas.
		{name: "reach through a goroutine", req: Request{Target: "./testdata/go/shapes", Funcs: []string{"area"}},
			entry: "go test -run ^(TestAreas)$ (tests that reach area)"},
		// ParseURL is reached from a test in which an httptest handler closure is passed to net/http.
		{name: "method through a pointer", req: Request{Target: "./testdata/go/examples", Funcs: []string{"(*BaseExtr).ParseURL"}},
			entry: "go test -run ^(TestParseURLAndList)$ (tests that reach (*BaseExtr).ParseURL)"},
		{name: "marked function", req: Request{Target: "./testdata/go/shapes"},
			entry: "go test -run ^(ExampleBuild|TestAreas|TestBuild|TestFirstBig|TestLabels)$ -bench ^(BenchmarkBuild)$ -benchtime 1x (tests that reach Build)"},
		{name: "generated call", req: Request{Target: "./testdata/go/broken", Funcs: []string{"Fine"}},
			entry: "go test -run ^TestMemlensEntry$ (a generated test calls Fine)"},
		// testdata/go/startup has two init functions and a test of Code.
		// Nothing may call init: initializing the package runs them.
		{name: "init functions", req: Request{Target: "./testdata/go/startup", Funcs: []string{"init"}},
			entry: "go test -run ^TestMemlensEntry$ (an empty generated test: initializing the package runs init)"},
		{name: "init and a function tests reach", req: Request{Target: "./testdata/go/startup", Funcs: []string{"init", "Code"}},
			entry: "go test -run ^(TestCode)$ (tests that reach Code)"},
		{name: "init and a test", req: Request{Target: "./testdata/go/startup", Funcs: []string{"TestCode", "init"}},
			entry: "go test -run ^(TestCode)$"},
		// The other packages of the module (testdata/go/xpkg: lib has no
		// tests; app's and report's tests and cmd/tool and cmd/pairs
		// call it).
		{name: "another package's tests", req: Request{Target: "./testdata/go/xpkg/lib", Funcs: []string{"Join"}},
			entry: "go test -run ^(TestRun)$ " + xpkg + "/app (tests of another package that reach Join)"},
		{name: "the package with the fewest reaching tests", req: Request{Target: "./testdata/go/xpkg/lib", Funcs: []string{"Count"}},
			entry: "go test -run ^(TestTop)$ " + xpkg + "/report (tests of another package that reach Count)"},
		{name: "through an interface", req: Request{Target: "./testdata/go/xpkg/lib", Funcs: []string{"Upper.Apply"}},
			entry: "go test -run ^(TestRun)$ " + xpkg + "/app (tests of another package that reach Upper.Apply)"},
		{name: "as a function value", req: Request{Target: "./testdata/go/xpkg/lib", Funcs: []string{"Twice"}},
			entry: "go test -run ^(TestRun)$ " + xpkg + "/app (tests of another package that reach Twice)"},
		{name: "the one main package", req: Request{Target: "./testdata/go/xpkg/lib", Funcs: []string{"Tally"}},
			entry: "go run " + xpkg + "/cmd/tool (a main package that reaches Tally)"},
		{name: "args: the one main package", req: Request{Target: "./testdata/go/xpkg/lib", Funcs: []string{"Tally"}, Args: []string{"x", "y"}, HasArgs: true},
			entry: "go run " + xpkg + "/cmd/tool x y (a main package that reaches Tally)"},
		{name: "several main packages", req: Request{Target: "./testdata/go/xpkg/lib", Funcs: []string{"Pairs"}},
			err: "no test reaches Pairs, and several main packages do (" + xpkg + "/cmd/pairs, " + xpkg + "/cmd/tool); pick one with --run PKG"},
		{name: "--run", req: Request{Target: "./testdata/go/xpkg/lib", Funcs: []string{"Pairs"}, Run: "./testdata/go/xpkg/cmd/tool", Args: []string{"a", "b"}, HasArgs: true},
			entry: "go run " + xpkg + "/cmd/tool a b"},
		{name: "--run by import path", req: Request{Target: "./testdata/go/xpkg/lib", Funcs: []string{"Pairs"}, Run: xpkg + "/cmd/pairs"},
			entry: "go run " + xpkg + "/cmd/pairs"},
		{name: "--run a directory that is not there", req: Request{Target: "./testdata/go/xpkg/lib", Funcs: []string{"Pairs"}, Run: "./testdata/go/xpkg/cmd/gone"},
			err: "no way to run the function: ./testdata/go/xpkg/cmd/gone: no such directory"},
		{name: "--in a directory that is not there", req: Request{Target: "./testdata/go/xpkg/lib", Funcs: []string{"Count"}, Test: "TestEmpty", In: "./testdata/go/xpkg/gone"},
			err: "no way to run the function: ./testdata/go/xpkg/gone: no such directory"},
		{name: "--run an import path that is not there", req: Request{Target: "./testdata/go/xpkg/lib", Funcs: []string{"Pairs"}, Run: xpkg + "/cmd/gone"},
			err: "no way to run the function: "},
		{name: "--run a library", req: Request{Target: "./testdata/go/xpkg/lib", Funcs: []string{"Pairs"}, Run: "./testdata/go/xpkg/app"},
			err: "--run ./testdata/go/xpkg/app: " + xpkg + "/app is not a main package"},
		{name: "--test in another package", req: Request{Target: "./testdata/go/xpkg/...", Funcs: []string{"Join"}, Test: "TestRun"},
			entry: "go test -run ^(TestRun)$ " + xpkg + "/app"},
		{name: "--test in several packages", req: Request{Target: "./testdata/go/xpkg/lib", Funcs: []string{"Count"}, Test: "TestEmpty"},
			err: "TestEmpty is in several packages (" + xpkg + "/app, " + xpkg + "/report); pick one with --in PKG"},
		{name: "--test --in", req: Request{Target: "./testdata/go/xpkg/lib", Funcs: []string{"Count"}, Test: "TestEmpty", In: "./testdata/go/xpkg/report"},
			entry: "go test -run ^(TestEmpty)$ " + xpkg + "/report"},
		// A name the package lacks (a typo, a test renamed since it was
		// chosen in the editor) would run nothing at all.
		{name: "--test --in, a name the package lacks", req: Request{Target: "./testdata/go/xpkg/lib", Funcs: []string{"Count"}, Test: "TestEmpty|TestGone", In: "./testdata/go/xpkg/report"},
			err: xpkg + "/report has no test, benchmark or example named TestGone"},
		{name: "--test, own package, a name it lacks", req: Request{Target: "./testdata/go/shapes", Funcs: []string{"Build"}, Test: "TestBuild|TestBiuld"},
			err: "shapes has no test, benchmark or example named TestBiuld"},
		{name: "--test --in, a subtest and a pattern", req: Request{Target: "./testdata/go/xpkg/lib", Funcs: []string{"Count"}, Test: "TestEmpty/case|TestTo.*", In: "./testdata/go/xpkg/report"},
			entry: "go test -run ^(TestEmpty/case|TestTo.*)$ " + xpkg + "/report"},
		{name: "--bench in no package", req: Request{Target: "./testdata/go/xpkg/lib", Funcs: []string{"Count"}, Bench: "BenchmarkCount"},
			err: "no package of the module has a test BenchmarkCount"},
		{name: "--in a package without tests", req: Request{Target: "./testdata/go/xpkg/lib", Funcs: []string{"Count"}, Test: "TestRun", In: "./testdata/go/xpkg/lib"},
			err: xpkg + "/lib has no test files"},
		{name: "a name in several packages", req: Request{Target: "./testdata/go/xpkg/...", Funcs: []string{"main"}},
			err: "main is in several packages: " + xpkg + "/cmd/pairs.main (main.go:"},
		{name: "another module of the workspace", req: Request{Target: "./testdata/gowork/strs", Funcs: []string{"Shout"}},
			entry: "go test -run ^(TestLoud)$ example.com/memlens/gowork/use (tests of another package that reach Shout)"},
		{name: "nothing runs it", req: Request{Target: "./testdata/go/shapes", Funcs: []string{"Histogram"}},
			err: "--test NAME"},
		{name: "similar names", req: Request{Target: "./testdata/go/shapes", Funcs: []string{"Biuld"}},
			err: "no function Biuld in the package; similar: Build,"},
		{name: "no such package", req: Request{Target: "./testdata/go/nope", Funcs: []string{"X"}},
			err: "nope"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e, err := entryFor(t, tt.req)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("error %v, want one containing %q", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if e.Describe != tt.entry {
				t.Errorf("entry\n  %s\nwant\n  %s", e.Describe, tt.entry)
			}
		})
	}
}

func TestNoEntryIsErrNoEntry(t *testing.T) {
	_, err := entryFor(t, Request{Target: "./testdata/go/shapes", Funcs: []string{"Histogram"}})
	if !errors.Is(err, ErrNoEntry) {
		t.Fatalf("error %v does not wrap ErrNoEntry", err)
	}
	for _, flag := range []string{"--test NAME", "--bench NAME", "-- ARGS"} {
		if !strings.Contains(err.Error(), flag) {
			t.Errorf("error %q does not suggest %s", err, flag)
		}
	}
}

func TestMergeLDFlags(t *testing.T) {
	tests := []struct {
		flags []string
		extra string
		want  string
	}{
		{nil, "-checklinkname=0", "-ldflags=-checklinkname=0"},
		{[]string{"-tags=x", "-ldflags=-s -w"}, "-checklinkname=0", "-tags=x -ldflags=-s -w -checklinkname=0"},
		{[]string{"-ldflags", "-s"}, "-checklinkname=0", "-ldflags -s -checklinkname=0"},
		{[]string{"-tags=x"}, "", "-tags=x"},
	}
	for _, tt := range tests {
		if got := strings.Join(mergeLDFlags(tt.flags, tt.extra), " "); got != tt.want {
			t.Errorf("mergeLDFlags(%q, %q) = %q, want %q", tt.flags, tt.extra, got, tt.want)
		}
	}
}

func TestParseBuildErrors(t *testing.T) {
	out := "# example.com/m/p\n./bad.go:5:1: syntax error: unexpected }\n/abs/x.go:12: undefined: y\nnote: module requires Go 1.30\n"
	got := parseBuildErrors([]byte(out), "/pkg", "")
	want := "/pkg/bad.go:5:1 syntax error: unexpected } | /abs/x.go:12:0 undefined: y"
	var parts []string
	for _, e := range got {
		parts = append(parts, e.File+":"+itoa(e.Line)+":"+itoa(e.Column)+" "+e.Message)
	}
	if s := strings.Join(parts, " | "); s != want {
		t.Errorf("parseBuildErrors = %q, want %q", s, want)
	}
}

func itoa(n int) string { return strconv.Itoa(n) }

// A function of a cgo file is found in the call graph, which reads cgo's
// output (in the build cache, its //line directives naming the user's
// file), so its package's tests run it.
func TestChooseEntryCgo(t *testing.T) {
	if out, err := exec.Command("go", "env", "CGO_ENABLED").Output(); err != nil || strings.TrimSpace(string(out)) != "1" {
		t.Skip("cgo is not enabled")
	}
	e, err := entryFor(t, Request{Target: "./testdata/go/cgocall", Funcs: []string{"Twice"}})
	if err != nil {
		t.Fatal(err)
	}
	if want := "go test -run ^(TestTwice)$ (tests that reach Twice)"; e.Describe != want {
		t.Errorf("entry\n  %s\nwant\n  %s", e.Describe, want)
	}
}

// A module required through a replace directive to a local directory
// (testdata/goreplace: app requires lib => ../lib), or vendored
// (testdata/govendor), is profiled from the requiring module, as the user
// works there: the tests of that module reach the dependency's function,
// found by the search and by --test.
func TestChooseEntryReplacedModule(t *testing.T) {
	app := filepath.Join(repoRoot, "testdata", "goreplace", "app")
	vendoring := filepath.Join(repoRoot, "testdata", "govendor", "app")
	for _, tc := range []struct {
		name string
		dir  string
		req  Request
		want string
	}{
		{"search", app, Request{Target: "../lib", Funcs: []string{"Shout"}},
			"go test -run ^(TestGreet)$ example.com/memlens/goreplace/app (tests of another package that reach Shout)"},
		{"--test", app, Request{Target: "../lib", Funcs: []string{"Shout"}, Test: "TestGreet"},
			"go test -run ^(TestGreet)$ example.com/memlens/goreplace/app"},
		{"vendored", vendoring, Request{Target: "./vendor/example.com/memlens/govendor/dep", Funcs: []string{"Twice"}},
			"go test -run ^(TestEcho)$ example.com/memlens/govendor/app (tests of another package that reach Twice)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req := tc.req
			req.Dir = tc.dir
			req.Progress = func(Progress) {}
			ctx := context.Background()
			r, err := newGoRun(req)
			if err != nil {
				t.Fatal(err)
			}
			defer r.close()
			if err := r.resolve(ctx); err != nil {
				t.Fatal(err)
			}
			e, err := r.findEntry(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if e.Describe != tc.want {
				t.Errorf("entry\n  %s\nwant\n  %s", e.Describe, tc.want)
			}
		})
	}
}
