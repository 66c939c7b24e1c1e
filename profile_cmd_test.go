package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/memlens/memlens/profile"
)

// profileCLI runs `memlens profile ARGS` in-process from the repository root.
func profileCLI(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errOut bytes.Buffer
	code = profileCommand(context.Background(), args, nil, &out, &errOut)
	return code, out.String(), errOut.String()
}

// The README's first command: the table, memory_profiler's header, the
// entry used; and --pprof writes a profile `go tool pprof -list` reads.
func TestProfileCommandTableAndPprof(t *testing.T) {
	pprofFile := filepath.Join(t.TempDir(), "build.pprof")
	code, stdout, stderr := profileCLI(t, "--pprof", pprofFile, "./testdata/go/shapes", "Build")
	if code != 0 {
		t.Fatalf("exit code %d\nstdout:\n%s\nstderr:\n%s", code, stdout, stderr)
	}
	abs, _ := filepath.Abs("testdata/go/shapes/shapes.go")
	for _, want := range []string{
		"Filename: testdata/go/shapes/shapes.go\n", // below the working directory: relative
		// (% Time joins when at least 10 timeline samples caught Build running.)
		"Line #    Mem usage    Increment  Occurrences   Allocated   Objects    Retained  ",
		"func Build(n int) (*Grid, string) {\n",
		"label := fmt.Sprintf(\"%s-%d\", kind, i)\n",
	} {
		if !strings.Contains(stdout, want) {
			t.Errorf("table lacks %q:\n%s", want, stdout)
		}
	}
	if !strings.Contains(stderr, "(tests that reach Build)") {
		t.Errorf("stderr does not name the entry:\n%s", stderr)
	}
	out, err := exec.Command("go", "tool", "pprof", "-list", `shapes\.Build$`, "-sample_index=alloc_space", pprofFile).CombinedOutput()
	if err != nil {
		t.Fatalf("go tool pprof: %v\n%s", err, out)
	}
	if !strings.Contains(string(out), "ROUTINE ======================== example.com/memlens/testdata/shapes.Build in "+abs) ||
		!strings.Contains(string(out), "label := fmt.Sprintf") {
		t.Errorf("pprof -list does not show Build's lines:\n%s", out)
	}
}

// The table names a file below the working directory by its relative path
// and any other by its absolute one; the result itself is unchanged.
func TestRelativeFiles(t *testing.T) {
	res := &profile.Result{Functions: []profile.Function{
		{File: "/home/u/proj/pkg/a.go"}, {File: "/home/u/proj/b.py"}, {File: "/home/u/other/c.go"}, {File: "/home/u/projX/d.go"},
	}}
	got := relativeFiles(res, "/home/u/proj")
	want := []string{"pkg/a.go", "b.py", "/home/u/other/c.go", "/home/u/projX/d.go"}
	for i, f := range got.Functions {
		if f.File != want[i] {
			t.Errorf("%s shown as %s, want %s", res.Functions[i].File, f.File, want[i])
		}
	}
	if res.Functions[0].File != "/home/u/proj/pkg/a.go" {
		t.Errorf("the result was changed: %s", res.Functions[0].File)
	}
}

// --json keeps the contract's shape.
func TestProfileCommandJSON(t *testing.T) {
	// RSS read at every line, as --rss-interval=0 asks.
	code, stdout, stderr := profileCLI(t, "--json", "--rss-interval=0", "./testdata/go/examples", "DefFunc")
	if code != 0 {
		t.Fatalf("exit code %d\n%s", code, stderr)
	}
	var res map[string]any
	if err := json.Unmarshal([]byte(stdout), &res); err != nil {
		t.Fatalf("not JSON: %v\n%s", err, stdout)
	}
	hasKeys(t, "result", res, "target", "entry", "status", "exit_code", "message", "duration_ms", "functions")
	if res["status"] != "ok" || res["target"] != "./testdata/go/examples" {
		t.Errorf("status %v target %v", res["status"], res["target"])
	}
	fns, _ := res["functions"].([]any)
	if len(fns) != 1 {
		t.Fatalf("functions: %v", res["functions"])
	}
	fn := fns[0].(map[string]any)
	hasKeys(t, "function", fn, "name", "file", "start_line", "end_line", "calls", "lines")
	lines, _ := fn["lines"].([]any)
	if len(lines) == 0 {
		t.Fatal("no lines")
	}
	for _, l := range lines {
		hasKeys(t, "line", l.(map[string]any), "line", "content", "occurrences", "mem_usage_bytes", "increment_bytes", "alloc_bytes", "alloc_objects", "retained_bytes")
	}
	if fn["name"] != "DefFunc" || fn["calls"] != 1.0 {
		t.Errorf("function %v called %v times", fn["name"], fn["calls"])
	}
}

func hasKeys(t *testing.T, what string, m map[string]any, keys ...string) {
	t.Helper()
	for _, k := range keys {
		if _, ok := m[k]; !ok {
			t.Errorf("%s has no %q: %v", what, k, m)
		}
	}
}

// Failures exit non-zero with a one-line reason as the last line.
func TestProfileCommandFailures(t *testing.T) {
	tests := []struct {
		name string
		args []string
		last string // the last stderr line starts with this
	}{
		{"panic", []string{"--quiet", "./testdata/go/cmd/crash", "Panic", "--", "panic"}, "memlens: panic: panic: runtime error: index out of range"},
		{"no such function", []string{"./testdata/go/shapes", "Biuld"}, "memlens: no function Biuld in the package; similar: Build"},
		{"syntax error elsewhere", []string{"./testdata/go/broken", "Fine"}, "memlens: build_failed: build failed: "},
		{"negative RSS interval", []string{"--rss-interval=-1ms", "./testdata/go/shapes", "Build"}, "memlens: --rss-interval must not be negative"},
		// Said before the run, not after it.
		{"--plot of a counts-only run", []string{"--counts-only", "--plot", "x.svg", "./testdata/go/shapes", "Build"}, "memlens: --plot draws the timeline, which --counts-only and --sample-interval 0 turn off"},
		{"--plot without a timeline", []string{"--sample-interval", "0", "--plot", "x.svg", "./testdata/go/shapes", "Build"}, "memlens: --plot draws the timeline"},
		{"--plot without a format", []string{"--plot", "chart", "./testdata/go/shapes", "Build"}, "memlens: --plot chart: name the format with the extension: .svg or .png"},
		{"several programs reach it", []string{"./testdata/go/xpkg/lib", "Pairs"}, "memlens: no way to run the function: no test reaches Pairs, and several main packages do"},
		{"a name in several packages", []string{"./testdata/go/xpkg/...", "main"}, "memlens: main is in several packages: example.com/memlens/testdata/xpkg/cmd/pairs.main"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, _, stderr := profileCLI(t, tt.args...)
			if code == 0 {
				t.Fatalf("exit code 0\n%s", stderr)
			}
			lines := strings.Split(strings.TrimSpace(stderr), "\n")
			if last := lines[len(lines)-1]; !strings.HasPrefix(last, tt.last) {
				t.Errorf("last stderr line %q, want it to start %q", last, tt.last)
			}
			if strings.HasPrefix(tt.name, "--plot") && len(lines) != 1 {
				t.Errorf("ran before refusing --plot:\n%s", stderr)
			}
		})
	}
}

// How a function gets run across packages (testdata/go/xpkg): --test
// finds the test in another package (lib, the target's package, has no
// test files and is never built as the test binary), --in picks among
// packages with the same test, --run runs a main package with the
// arguments after --, and without flags the search finds another
// package's tests.
func TestProfileCommandEntries(t *testing.T) {
	const xpkg = "example.com/memlens/testdata/xpkg"
	tests := []struct {
		name  string
		args  []string
		entry string
		fn    string
		calls float64
	}{
		{"--test in another package", []string{"--test", "TestRun", "./testdata/go/xpkg/...", "Join"},
			"go test -run ^(TestRun)$ " + xpkg + "/app", "Join", 1},
		{"--test --in", []string{"--test", "TestEmpty", "--in", "./testdata/go/xpkg/app", "./testdata/go/xpkg/lib", "Count"},
			"go test -run ^(TestEmpty)$ " + xpkg + "/app", "Count", 1},
		{"--run", []string{"--run", "./testdata/go/xpkg/cmd/tool", "./testdata/go/xpkg/lib", "Pairs", "--", "a", "b", "c"},
			"go run " + xpkg + "/cmd/tool a b c", "Pairs", 1},
		{"found", []string{"./testdata/go/xpkg/lib", "Join"},
			"go test -run ^(TestRun)$ " + xpkg + "/app (tests of another package that reach Join)", "Join", 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, stdout, stderr := profileCLI(t, append([]string{"--json"}, tt.args...)...)
			if code != 0 {
				t.Fatalf("exit code %d\n%s", code, stderr)
			}
			var res struct {
				Entry     string `json:"entry"`
				Functions []struct {
					Name  string  `json:"name"`
					Calls float64 `json:"calls"`
				} `json:"functions"`
			}
			if err := json.Unmarshal([]byte(stdout), &res); err != nil {
				t.Fatalf("not JSON: %v\n%s", err, stdout)
			}
			if res.Entry != tt.entry {
				t.Errorf("entry %q, want %q", res.Entry, tt.entry)
			}
			if len(res.Functions) != 1 || res.Functions[0].Name != tt.fn || res.Functions[0].Calls != tt.calls {
				t.Errorf("functions %+v, want %s called %v times", res.Functions, tt.fn, tt.calls)
			}
		})
	}
}
