package profile

import (
	"strings"
	"testing"
)

// TestWriteTableTime: the % Time column shows when the timeline's samples
// found a function running at least MinTimeSamples times, with each line's
// share; lines that never ran stay blank.
func TestWriteTableTime(t *testing.T) {
	f := Function{Name: "f", File: "/src/f.go", StartLine: 1, EndLine: 3, Calls: 1, TimeSamples: 12, Lines: []Line{
		{Line: 1, Content: "func f() {", Code: true, Occurrences: 1, TimeSamples: 3, TimeShare: 0.25},
		{Line: 2, Content: "\tg()", Code: true, Occurrences: 1, TimeSamples: 9, TimeShare: 0.75},
		{Line: 3, Content: "}"},
	}}
	rare := f
	rare.TimeSamples = MinTimeSamples - 1
	for _, tc := range []struct {
		name    string
		res     Result
		header  bool
		lineTwo string
	}{
		{"sampled", Result{Language: "go", Status: StatusOK, Functions: []Function{f}, Timeline: &Timeline{IntervalMS: 10}}, true, "  75.0   \tg()"},
		{"not sampled", Result{Language: "go", Status: StatusOK, Functions: []Function{f}}, false, "0 B   \tg()"},
		{"sampled too rarely", Result{Language: "go", Status: StatusOK, Functions: []Function{rare}, Timeline: &Timeline{IntervalMS: 10}}, false, "0 B   \tg()"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var b strings.Builder
			if err := WriteTable(&b, &tc.res); err != nil {
				t.Fatal(err)
			}
			out := b.String()
			if got := strings.Contains(out, "Retained  % Time   Line Contents"); got != tc.header {
				t.Errorf("%% Time header %v, want %v:\n%s", got, tc.header, out)
			}
			lines := strings.Split(out, "\n")
			if !strings.HasSuffix(lines[5], tc.lineTwo) {
				t.Errorf("line 2: %q, want it to end %q", lines[5], tc.lineTwo)
			}
			if tc.header && (strings.Contains(lines[6], "0.0") || !strings.HasSuffix(lines[4], "  25.0   func f() {")) {
				t.Errorf("lines 1 and 3:\n%s\n%s", lines[4], lines[6])
			}
		})
	}
}

// TestWriteTableContinuationLine: a statement spanning several lines counts
// on its first line, but what its later lines allocated (a make inside a
// composite literal) is recorded there and must show, else the lines do not
// add up to the function's total.
func TestWriteTableContinuationLine(t *testing.T) {
	f := Function{Name: "New", File: "/src/t.go", StartLine: 1, EndLine: 5, Calls: 3, AllocBytes: 10776, AllocObjects: 6, Lines: []Line{
		{Line: 1, Content: "func New(n int) *T {", Code: true, Occurrences: 3},
		{Line: 2, Content: "\treturn &T{", Code: true, Occurrences: 3, AllocBytes: 144, AllocObjects: 3},
		{Line: 3, Content: "\t\tm: make(map[string]int, n),", AllocBytes: 10632, AllocObjects: 3, RetainedBytes: 3544},
		{Line: 4, Content: "\t}"},
		{Line: 5, Content: "}"},
	}}
	var b strings.Builder
	if err := WriteTable(&b, &Result{Language: "go", Status: StatusOK, Functions: []Function{f}}); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(b.String(), "\n")
	want := "     3                                           10.4 KiB         3     3.5 KiB   \t\tm: make(map[string]int, n),"
	if lines[6] != want {
		t.Errorf("continuation line:\n%q\nwant\n%q", lines[6], want)
	}
	if blank := "     4" + strings.Repeat(" ", 76) + "\t}"; lines[7] != blank {
		t.Errorf("line without figures:\n%q\nwant\n%q", lines[7], blank)
	}
}
