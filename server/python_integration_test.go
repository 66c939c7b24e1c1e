package server

import (
	"math"
	"path/filepath"
	"testing"
)

// Python in a real LSP session: what the hover says about Python's figures.

// TestPythonHoverNetChange profiles churn (testdata/python/churn.py): the
// line that drops 40 MiB of chunks allocated nothing, and the hover shows
// its net change beside what it allocated.
func TestPythonHoverNetChange(t *testing.T) {
	needPython(t)
	c := startServer(t)
	root, _ := filepath.Abs("../testdata/python")
	c.initialize(root, true, nil)
	uri, src := openTestdata(t, c, filepath.Join(root, "churn.py"), "python")
	if _, _, end, _ := profileAndWait(t, c, uri, "churn"); end.Value.Message != "done" {
		t.Fatalf("progress end %+v", end.Value)
	}
	const mib = 1 << 20
	for _, want := range []struct {
		line       string
		alloc, net float64 // bytes, to within 1 MiB
	}{
		{"chunks.append(bytearray(4 << 20))", 40 * mib, 40 * mib},
		{"chunks = None", 0, -40 * mib},
		{"scratch = len(bytes(8 << 20))", 8 * mib, 0},
	} {
		h := c.hover(uri, lineOf(t, src, want.line), 8)
		rows := hoverRows(h)
		alloc, net := rows["allocated"][0], rows["net heap change"][0]
		if alloc == "" || net == "" {
			t.Errorf("%s: hover without allocated and net rows:\n%s", want.line, h)
			continue
		}
		if a, n := parseBytes(t, alloc), parseBytes(t, net); math.Abs(a-want.alloc) > mib || math.Abs(n-want.net) > mib {
			t.Errorf("%s: allocated %s, net %s; want %.0f MiB and %+.0f MiB", want.line, alloc, net, want.alloc/mib, want.net/mib)
		}
	}
}
