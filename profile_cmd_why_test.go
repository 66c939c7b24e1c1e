package main

import (
	"encoding/json"
	"os/exec"
	"strings"
	"testing"
)

// --why prints, under the table, why each line that allocated did so: the
// compiler's escape analysis at the line and column, or where the bytes
// were allocated when no value of the line escapes.
func TestProfileCommandWhy(t *testing.T) {
	code, stdout, stderr := profileCLI(t, "--why", "--quiet", "./testdata/go/shapes", "Build")
	if code != 0 {
		t.Fatalf("exit code %d\nstdout:\n%s\nstderr:\n%s", code, stdout, stderr)
	}
	table, why, ok := strings.Cut(stdout, "\nWhy on the heap (the compiler's escape analysis):\n")
	if !ok {
		t.Fatalf("no why section:\n%s", stdout)
	}
	// The header as memory_profiler's (a % Time column may follow Retained
	// when the timeline sampled the function).
	if !strings.Contains(table, "Line #    Mem usage    Increment  Occurrences   Allocated   Objects    Retained ") || strings.Contains(table, "escapes") {
		t.Errorf("the table is not memory_profiler's shape:\n%s", table)
	}
	for _, want := range []string{
		"\nBuild (shapes.go:56)\n",
		"col 33  kind escapes to heap: passed to fmt.Sprintf's ... argument\n",
		"col 39  i escapes to heap: passed to fmt.Sprintf's ... argument\n",
		"col 14  &Grid{...} escapes to heap (in NewGrid (shapes.go:29), inlined): returned\n",
		"col 6   moved to heap: b: its address taken (&b), converted to an interface, passed to fmt.Fprintf\n",
		"no value of this line escapes; allocated inside shapes.Grid.Kinds\n",
	} {
		if !strings.Contains(why, want) {
			t.Errorf("why section lacks %q:\n%s", want, why)
		}
	}
	// Each footnote starts with its line number.
	for _, l := range strings.Split(why, "\n") {
		if strings.Contains(l, "kind escapes") && !strings.HasPrefix(l, "    61 ") {
			t.Errorf("the Sprintf footnote is not on line 61: %q", l)
		}
	}

	// Without --why the table stands alone; --json always has the escapes.
	_, stdout, _ = profileCLI(t, "--quiet", "./testdata/go/shapes", "Build")
	if strings.Contains(stdout, "Why on the heap") {
		t.Errorf("why section without --why:\n%s", stdout)
	}
	code, stdout, stderr = profileCLI(t, "--json", "--test", "TestCases", "./testdata/go/escapes", "Label")
	if code != 0 {
		t.Fatalf("exit code %d\n%s", code, stderr)
	}
	var res struct {
		EscapeAnalysis bool `json:"escape_analysis"`
		Functions      []struct {
			Lines []struct {
				Line    int              `json:"line"`
				Escapes []map[string]any `json:"escapes"`
			} `json:"lines"`
		} `json:"functions"`
	}
	if err := json.Unmarshal([]byte(stdout), &res); err != nil {
		t.Fatalf("not JSON: %v\n%s", err, stdout)
	}
	if !res.EscapeAnalysis || len(res.Functions) != 1 {
		t.Fatalf("escape_analysis %v, %d functions", res.EscapeAnalysis, len(res.Functions))
	}
	var got []map[string]any
	for _, l := range res.Functions[0].Lines {
		if l.Line == 20 {
			got = l.Escapes
		}
	}
	if len(got) != 2 {
		t.Fatalf("line 20 escapes: %v", got)
	}
	hasKeys(t, "escape", got[1], "column", "message", "flow")
	if got[1]["column"] != 36.0 || got[1]["message"] != "i escapes to heap" {
		t.Errorf("escape %v", got[1])
	}
}

// Python lines have no compiler to ask: --why says so.
func TestProfileCommandWhyPython(t *testing.T) {
	if _, err := exec.LookPath("python3"); err != nil {
		t.Skip("no python3 on PATH")
	}
	code, stdout, stderr := profileCLI(t, "--why", "--quiet", "testdata/python/memoryexample.py", "defFunc")
	if code != 0 {
		t.Fatalf("exit code %d\n%s", code, stderr)
	}
	if !strings.Contains(stdout, "Why on the heap (the compiler's escape analysis):\n  only Go lines are explained\n") {
		t.Errorf("output:\n%s", stdout)
	}
}
