package server

import (
	"math"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
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

// TestPythonPytestEntry profiles functions of a module that is no script
// (testdata/python/pkg/textutil.py) from the editor: the lens runs the
// tests that reach the function under pytest, the hover names them, and a
// failing test still shows what ran, with the failure where it happened.
func TestPythonPytestEntry(t *testing.T) {
	const py = "/usr/bin/python3" // Debian's, with python3-pytest (.ci/run)
	if exec.Command(py, "-c", "import pytest").Run() != nil {
		t.Skip(py + " cannot import pytest: apt-get install python3-pytest")
	}
	c := startServer(t)
	root, _ := filepath.Abs("../testdata/python")
	c.initialize(root, true, map[string]any{"memlens": map[string]any{"python": py, "timeout": "2m"}})
	uri, src := openTestdata(t, c, filepath.Join(root, "pkg", "textutil.py"), "python")
	def := lineOf(t, src, "def tokens(text):")

	_, _, end, _ := profileAndWait(t, c, uri, "tokens")
	if end.Value.Message != "done" {
		t.Fatalf("progress end %+v", end.Value)
	}
	if s := summaryLens(c, uri, def); !strings.Contains(s, "3 calls") {
		t.Errorf("summary lens %q, want 3 calls (three tests reach tokens)", s)
	}
	if got := hintCounts(t, c.inlayHints(uri, 0, 1000)); got[def+1] != 3 || got[def+6] != 3 {
		t.Errorf("hint counts %v, want ×3 on lines %d and %d", got, def+1, def+6)
	}
	h := c.hover(uri, def+1, 6)
	if !strings.Contains(h, "ran: `pytest pkg/test_textutil.py::test_tokens pkg/test_textutil.py::test_tokens_many pkg/test_wordstats.py::WordStats::test_count_words`") {
		t.Errorf("hover does not name the tests that ran:\n%s", h)
	}

	// tally's only test fails: the profile is partial, the failure is an
	// error message and a diagnostic on the failing assert.
	tally := lineOf(t, src, "def tally(items):")
	_, _, end, mark := profileAndWait(t, c, uri, "tally")
	if !strings.HasPrefix(end.Value.Message, "failed: exit: 1 of 1 tests failed: pkg/test_textutil.py::test_tally_is_wrong") {
		t.Errorf("progress end %+v", end.Value)
	}
	c.waitEvent(mark, 10*time.Second, "error message", isShowMessage(1, "profile of tally failed", "test_tally_is_wrong"))
	if s := summaryLens(c, uri, tally); !strings.Contains(s, "1 call") || !strings.HasSuffix(s, "(partial)") {
		t.Errorf("summary lens %q, want 1 call, partial", s)
	}
	if got := hintCounts(t, c.inlayHints(uri, 0, 1000)); got[tally+2] != 3 || got[tally+3] != 2 {
		t.Errorf("hint counts %v, want the loop of tally ×3 and ×2", got)
	}
	testURI := fileURI(filepath.Join(root, "pkg", "test_textutil.py"))
	waitDiagnostics(t, c, mark, testURI, "the failing assert", func(ds []diagnostic) bool {
		return len(ds) == 1 && ds[0].Severity == 1 && ds[0].Range.Start.Line == 18 && strings.Contains(ds[0].Message, "assert 5 == 6")
	})
}
