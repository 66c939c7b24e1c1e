package server

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// A real session: profile shapes.Build, then hover its lines. The hover
// says why the line's values are on the heap, as the compiler explains it
// (its escape analysis of the instrumented build), at the right lines and
// columns; a line whose bytes are allocated in a callee says so.
func TestGoHoverWhyOnTheHeap(t *testing.T) {
	c := startServer(t)
	root, _ := filepath.Abs("../testdata/go")
	file := filepath.Join(root, "shapes", "shapes.go")
	srcBytes, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	src := string(srcBytes)
	c.initialize(root, true, map[string]any{"memlens": map[string]any{
		"entries": map[string]any{"Build": map[string]any{"test": "TestBuild"}},
	}})
	uri := fileURI(file)
	c.didOpen(uri, "go", src)
	_, _, end, _ := profileAndWait(t, c, uri, "Build")
	if end.Value.Message != "done" {
		t.Fatalf("progress end %+v", end.Value)
	}
	for _, tc := range []struct {
		line string // the line's code
		want []string
	}{
		{`label := fmt.Sprintf("%s-%d", kind, i)`, []string{
			"**why on the heap**",
			"- col 33 · `kind` escapes to heap: passed to fmt.Sprintf's ... argument",
			"- col 39 · `i` escapes to heap: passed to fmt.Sprintf's ... argument",
		}},
		{`g := NewGrid(n)`, []string{
			"- col 14 · `&Grid{...}` escapes to heap in NewGrid (shapes.go:29), inlined here: returned",
		}},
		{`var b strings.Builder`, []string{"moved to heap: `b`"}},
		{`for _, k := range g.Kinds() {`, []string{"- no value of this line escapes; allocated inside shapes.Grid.Kinds"}},
	} {
		line := lineOf(t, src, tc.line)
		h := c.hover(uri, line, 3)
		for _, w := range tc.want {
			if !strings.Contains(h, w) {
				t.Errorf("hover of %q lacks %q:\n%s", tc.line, w, h)
			}
		}
		// Under the allocation figures, before the callees.
		why, figures, callees := strings.Index(h, "why on the heap"), strings.Index(h, "| allocated |"), strings.Index(h, "allocated most on behalf")
		if why < figures || callees >= 0 && why > callees {
			t.Errorf("hover of %q: the why section is not between the figures and the callees:\n%s", tc.line, h)
		}
	}
}
