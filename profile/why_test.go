package profile

import (
	"strings"
	"testing"
)

func TestWriteWhy(t *testing.T) {
	fn := Function{Name: "Build", File: "/src/shapes.go", StartLine: 10, EndLine: 14, Lines: []Line{
		{Line: 10, Occurrences: 1},
		{Line: 11, Occurrences: 3, AllocBytes: 4096, Callees: []Callee{{Name: "fmt.Sprintf", AllocBytes: 3072}},
			Escapes: []Escape{
				{Column: 33, Message: "kind escapes to heap", Flow: []string{"passed to fmt.Sprintf's ... argument"}},
				{Column: 39, Message: "i escapes to heap", Flow: []string{"passed to fmt.Sprintf's ... argument"}},
			}},
		{Line: 12, Occurrences: 3, AllocBytes: 64, Callees: []Callee{{Name: "example.com/m/shapes.NewGrid", AllocBytes: 64}}, Escapes: []Escape{
			{Column: 14, Message: "&Grid{...} escapes to heap", Flow: []string{"returned"}, Inlined: "NewGrid (shapes.go:29)"}}},
		{Line: 13, Occurrences: 3, AllocBytes: 2048, Callees: []Callee{{Name: "example.com/m/shapes.Grid.Kinds", AllocBytes: 2048}}},
		{Line: 14, Occurrences: 3, AllocBytes: 512},
		// ran, with an escape, but allocated nothing: not a footnote
	}}
	fn.Lines = append(fn.Lines, Line{Line: 15, Occurrences: 1, Escapes: []Escape{{Column: 2, Message: "x escapes to heap"}}},
		// allocated by the runtime for the line itself, the function named
		Line{Line: 16, Occurrences: 3, AllocBytes: 96, Runtime: "runtime.makechan"},
		Line{Line: 17, Occurrences: 3, AllocBytes: 48, Runtime: "runtime.somethingnew"})
	fn.EndLine = 17
	for _, tc := range []struct {
		name string
		res  Result
		want []string
		not  []string
	}{
		{"read", Result{Language: "go", EscapeAnalysis: true, Functions: []Function{fn}}, []string{
			"Why on the heap (the compiler's escape analysis):",
			"Build (shapes.go:10)",
			"    11     4.0 KiB   col 33  kind escapes to heap: passed to fmt.Sprintf's ... argument",
			"                     col 39  i escapes to heap: passed to fmt.Sprintf's ... argument",
			"                     and allocated inside fmt.Sprintf: 3.0 KiB of the line's 4.0 KiB",
			"    12        64 B   col 14  &Grid{...} escapes to heap (in NewGrid (shapes.go:29), inlined): returned",
			"    13     2.0 KiB   no value of this line escapes; allocated inside shapes.Grid.Kinds",
			"    14       512 B   no value of this line escapes; allocated by the runtime on this line (append, make, a map or channel operation, a conversion or concatenation)\n",
			"    16        96 B   no value of this line escapes; allocated by the runtime on this line, in runtime.makechan: a channel, which is always on the heap\n",
			"    17        48 B   no value of this line escapes; allocated by the runtime on this line, in runtime.somethingnew\n",
		}, []string{"    15 ", "x escapes", "inside shapes.NewGrid"}},
		{"not read", Result{Language: "go", Functions: []Function{fn}}, []string{
			"the compiler's escape analysis was not read for this run\n",
			"    13     2.0 KiB   allocated inside shapes.Grid.Kinds",
		}, []string{"no value of this line escapes"}},
		// Why not, when the run knows: a user can act on it (or report it).
		{"not read, with the reason", Result{Language: "go", EscapeAnalysisError: "the compiler's diagnostics of /src/shapes.go are missing from /c/escapes/x", Functions: []Function{fn}}, []string{
			"the compiler's escape analysis was not read for this run: the compiler's diagnostics of /src/shapes.go are missing from /c/escapes/x\n",
		}, nil},
		{"python", Result{Language: "python", Functions: []Function{fn}}, []string{"only Go lines are explained"}, []string{"Build (shapes.go:10)"}},
		{"nothing allocated", Result{Language: "go", EscapeAnalysis: true, Functions: []Function{{Name: "F", File: "/f.go", StartLine: 1}}},
			[]string{"F (f.go:1)", "  no line allocated"}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var b strings.Builder
			if err := WriteWhy(&b, &tc.res); err != nil {
				t.Fatal(err)
			}
			out := b.String()
			for _, w := range tc.want {
				if !strings.Contains(out, w) {
					t.Errorf("missing %q in\n%s", w, out)
				}
			}
			for _, n := range tc.not {
				if strings.Contains(out, n) {
					t.Errorf("unexpected %q in\n%s", n, out)
				}
			}
		})
	}
}
