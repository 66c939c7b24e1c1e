package server

import (
	"encoding/json"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

// More integration tests on the real binary: failed runs (an exception, a
// timeout), the change since the previous run, the note on a Python run of
// a file with unsaved edits, a client without refresh or progress support,
// Re-profile of a function called several times, the answers to malformed
// input, and lenses in a Go test file.

func needPython(t *testing.T) {
	t.Helper()
	if _, err := exec.LookPath("python3"); err != nil {
		t.Skip("no python3")
	}
}

// realPython3 is the interpreter python3 runs (its sys.executable): a
// pyenv shim starts a shell and pyenv first, seconds on a busy machine.
func realPython3(t *testing.T) string {
	t.Helper()
	out, err := exec.Command("python3", "-c", "import sys; print(sys.executable)").Output()
	if err != nil || strings.TrimSpace(string(out)) == "" {
		return "python3"
	}
	return strings.TrimSpace(string(out))
}

// openTestdata opens dir/name of testdata in c and returns its URI and text.
func openTestdata(t *testing.T, c *testClient, path, lang string) (string, string) {
	t.Helper()
	src, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	uri := fileURI(path)
	c.didOpen(uri, lang, string(src))
	return uri, string(src)
}

// summaryLens returns the summary lens title on line, "" if none.
func summaryLens(c *testClient, uri string, line int) string {
	for _, title := range lensTitles(c.codeLenses(uri))[line] {
		if strings.HasPrefix(title, "memory: ") {
			return title
		}
	}
	return ""
}

// isShowMessage matches a window/showMessage of the given type whose text
// contains all of parts.
func isShowMessage(typ int, parts ...string) func(message) bool {
	return func(m message) bool {
		if m.Method != "window/showMessage" {
			return false
		}
		var p struct {
			Type    int    `json:"type"`
			Message string `json:"message"`
		}
		if json.Unmarshal(m.Params, &p) != nil || p.Type != typ {
			return false
		}
		for _, s := range parts {
			if !strings.Contains(p.Message, s) {
				return false
			}
		}
		return true
	}
}

// TestPythonException profiles a function that raises midway: the run
// fails with an error message and an error diagnostic at the raise site,
// and what ran until then is shown, marked partial.
func TestPythonException(t *testing.T) {
	needPython(t)
	c := startServer(t)
	root, _ := filepath.Abs("../testdata/python")
	c.initialize(root, true, nil)
	uri, src := openTestdata(t, c, filepath.Join(root, "exception.py"), "python")
	def := lineOf(t, src, "def parse(items):")
	raise := lineOf(t, src, "out.append(int(s))")

	_, _, end, mark := profileAndWait(t, c, uri, "parse")
	if !strings.HasPrefix(end.Value.Message, "failed: panic") || !strings.Contains(end.Value.Message, "ValueError") {
		t.Errorf("progress end %+v", end.Value)
	}
	c.waitEvent(mark, 10*time.Second, "error message", isShowMessage(1, "profile of parse failed", "ValueError"))
	diags := waitDiagnostics(t, c, mark, uri, "the error at the raise site", func(ds []diagnostic) bool { return len(ds) > 0 })
	if len(diags) != 1 || diags[0].Severity != 1 || diags[0].Range.Start.Line != raise || diags[0].Source != "memlens" ||
		!strings.Contains(diags[0].Message, "parse (panic)") || !strings.Contains(diags[0].Message, "ValueError") {
		t.Errorf("diagnostics %+v, want one error on line %d", diags, raise)
	}

	// The lines that ran before the exception have hints: the loop body
	// ran for "1", "2" and "x".
	if got := hintCounts(t, c.inlayHints(uri, 0, 1000)); got[raise] != 3 || got[raise+1] != 0 {
		t.Errorf("hint counts %v: want ×3 on line %d, nothing on the return", got, raise)
	}
	if s := summaryLens(c, uri, def); !strings.Contains(s, "1 call") || !strings.HasSuffix(s, "(partial)") {
		t.Errorf("summary lens %q, want it marked partial", s)
	}
	if h := c.hover(uri, raise, 4); !strings.Contains(h, "`parse` line 8 · partial (panic)") {
		t.Errorf("hover not marked partial:\n%s", h)
	}

	// Clear withdraws the diagnostic.
	mark = c.mark()
	c.mustCall("workspace/executeCommand", map[string]any{"command": "memlens.clear", "arguments": []any{map[string]any{"uri": uri, "function": "parse"}}}, nil)
	waitDiagnostics(t, c, mark, uri, "the error cleared", func(ds []diagnostic) bool { return len(ds) == 0 })
}

// TestPythonTimeout profiles a function that never returns under a 5 s
// limit (a pyenv shim and a busy machine can take seconds to start Python):
// the run ends as a timeout, and what ran is shown, partial.
func TestPythonTimeout(t *testing.T) {
	needPython(t)
	c := startServer(t)
	root, _ := filepath.Abs("../testdata/python")
	c.initialize(root, true, map[string]any{"memlens": map[string]any{"timeout": "5s", "python": realPython3(t)}})
	uri, src := openTestdata(t, c, filepath.Join(root, "forever.py"), "python")
	def := lineOf(t, src, "def spin():")
	loop := lineOf(t, src, "n += 1")

	start := time.Now()
	_, _, end, mark := profileAndWait(t, c, uri, "spin")
	if took := time.Since(start); took > time.Minute {
		t.Errorf("the 5 s run took %v", took)
	}
	if !strings.HasPrefix(end.Value.Message, "failed: timeout") {
		t.Errorf("progress end %+v", end.Value)
	}
	c.waitEvent(mark, 10*time.Second, "error message", isShowMessage(1, "profile of spin failed: timeout"))
	if s := summaryLens(c, uri, def); !strings.HasSuffix(s, "(partial)") {
		t.Errorf("summary lens %q, want it marked partial", s)
	}
	if got := hintCounts(t, c.inlayHints(uri, 0, 1000)); got[loop] < 1 {
		t.Errorf("hint counts %v: want the loop on line %d", got, loop)
	}
	if h := c.hover(uri, loop, 8); !strings.Contains(h, "partial (timeout)") {
		t.Errorf("hover not marked partial:\n%s", h)
	}
	// A timeout has no position: no diagnostics.
	for _, m := range c.eventsSince(mark, "textDocument/publishDiagnostics") {
		if strings.Contains(string(m.Params), `"severity":1`) {
			t.Errorf("error diagnostic after a timeout: %s", m.Params)
		}
	}
}

// TestHoverSincePreviousRun profiles the same function twice: the second
// hover shows the change against the first run.
func TestHoverSincePreviousRun(t *testing.T) {
	needPython(t)
	c := startServer(t)
	root, _ := filepath.Abs("../testdata/python")
	c.initialize(root, true, nil)
	uri, src := openTestdata(t, c, filepath.Join(root, "plainfunc.py"), "python")
	body := lineOf(t, src, "        return [1] * 10")

	if _, _, end, _ := profileAndWait(t, c, uri, "Box.fill"); end.Value.Message != "done" {
		t.Fatalf("first run: %+v", end.Value)
	}
	if h := c.hover(uri, body, 8); h == "" || strings.Contains(h, "since the previous run") {
		t.Errorf("hover after one run:\n%s", h)
	}
	if _, _, end, _ := profileAndWait(t, c, uri, "Box.fill"); end.Value.Message != "done" {
		t.Fatalf("second run: %+v", end.Value)
	}
	h := c.hover(uri, body, 8)
	re := regexp.MustCompile(`since the previous run: allocated [+-][0-9.]+ (B|KiB|MiB), increment [+-][0-9.]+ (B|KiB|MiB), occurrences \+0\n`)
	if !re.MatchString(h) {
		t.Errorf("hover after two runs lacks the change:\n%s", h)
	}
	// The same in the hint's tooltip.
	for _, hn := range c.inlayHints(uri, body, body) {
		if !re.MatchString(hn.Tooltip.Value) {
			t.Errorf("tooltip after two runs:\n%s", hn.Tooltip.Value)
		}
	}
}

// TestPythonUnsavedNote profiles a Python function whose buffer has
// unsaved edits: the progress says the saved file runs.
func TestPythonUnsavedNote(t *testing.T) {
	needPython(t)
	c := startServer(t)
	root, _ := filepath.Abs("../testdata/python")
	c.initialize(root, true, nil)
	uri, src := openTestdata(t, c, filepath.Join(root, "plainfunc.py"), "python")
	def := lineOf(t, src, "    def fill(self):")
	lines := strings.Count(src, "\n")
	// An edit past the function, never saved.
	c.didChange(uri, 2, rng{Start: pos{Line: lines}, End: pos{Line: lines}}, "# unsaved\n")

	const note = "(the saved file: the buffer has unsaved changes)"
	begin, reports, end, _ := profileAndWait(t, c, uri, "Box.fill")
	if end.Value.Message != "done" {
		t.Fatalf("progress end %+v", end.Value)
	}
	if begin.Value.Message != "building "+note {
		t.Errorf("progress begin message %q, want the note", begin.Value.Message)
	}
	for _, r := range reports {
		if !strings.HasSuffix(r.Value.Message, note) {
			t.Errorf("progress report %q lacks the note", r.Value.Message)
		}
	}
	// The function is the same in both: its hint is there.
	if got := hintCounts(t, c.inlayHints(uri, 0, 1000)); got[def+1] != 1 {
		t.Errorf("hint counts %v", got)
	}

	// Saved (the buffer equals the file again): no note.
	c.didChange(uri, 3, rng{Start: pos{Line: lines}, End: pos{Line: lines + 1}}, "")
	begin, _, _, _ = profileAndWait(t, c, uri, "Box.fill")
	if begin.Value.Message != "building" {
		t.Errorf("progress begin message of a clean buffer %q", begin.Value.Message)
	}
}

// TestClientWithoutRefresh: a client that declares neither refresh support
// nor window.workDoneProgress gets no refresh requests and no progress
// token requests; it is told by messages, and the hints are there when it
// asks.
func TestClientWithoutRefresh(t *testing.T) {
	needPython(t)
	c := startServer(t)
	root, _ := filepath.Abs("../testdata/python")
	c.initialize(root, false, nil)
	uri, src := openTestdata(t, c, filepath.Join(root, "plainfunc.py"), "python")
	def := lineOf(t, src, "    def fill(self):")

	mark := c.mark()
	c.mustCall("workspace/executeCommand", map[string]any{
		"command": "memlens.profile", "arguments": []any{map[string]any{"uri": uri, "function": "Box.fill"}},
	}, nil)
	c.waitEvent(mark, 10*time.Second, "the start as a message", isShowMessage(3, "memlens: Profiling Box.fill…"))
	c.waitEvent(mark, 3*time.Minute, "the end as a message", isShowMessage(3, "memlens: profiled Box.fill"))
	if got := hintCounts(t, c.inlayHints(uri, 0, 1000)); got[def+1] != 1 {
		t.Errorf("hint counts after the run %v", got)
	}
	if s := summaryLens(c, uri, def); !strings.Contains(s, "1 call") {
		t.Errorf("summary lens %q", s)
	}
	// Clear refreshes too; then give stray requests time to arrive.
	c.mustCall("workspace/executeCommand", map[string]any{"command": "memlens.clear"}, nil)
	time.Sleep(time.Second)
	for _, method := range []string{"workspace/inlayHint/refresh", "workspace/codeLens/refresh", "window/workDoneProgress/create", "$/progress"} {
		if evs := c.eventsSince(mark, method); len(evs) > 0 {
			t.Errorf("%d %s sent to a client without support", len(evs), method)
		}
	}
}

// parseBytes reads a profile.Bytes figure ("12.3 KiB") as bytes.
func parseBytes(t *testing.T, s string) float64 {
	t.Helper()
	var v float64
	var unit string
	if _, err := fmt.Sscanf(strings.TrimPrefix(s, "+"), "%g %s", &v, &unit); err != nil {
		t.Fatalf("figure %q: %v", s, err)
	}
	switch unit {
	case "B":
	case "KiB":
		v *= 1 << 10
	case "MiB":
		v *= 1 << 20
	default:
		t.Fatalf("figure %q: unit %q", s, unit)
	}
	return v
}

// hoverRows maps the rows of a hover's table to their total and per-call
// cells.
func hoverRows(h string) map[string][2]string {
	out := map[string][2]string{}
	for _, l := range strings.Split(h, "\n") {
		cells := strings.Split(l, "|")
		if len(cells) != 5 {
			continue
		}
		out[strings.TrimSpace(cells[1])] = [2]string{strings.TrimSpace(cells[2]), strings.TrimSpace(cells[3])}
	}
	return out
}

// TestReprofileSeveralCalls profiles repeat, which DefFunc calls three
// times, then clicks Re-profile: a new result comes, and the hover divides
// by the three calls.
func TestReprofileSeveralCalls(t *testing.T) {
	c := startServer(t)
	root, _ := filepath.Abs("../testdata/go")
	c.initialize(root, true, map[string]any{"memlens": map[string]any{
		"timeout": "2m",
		"entries": map[string]any{"repeat": map[string]any{"test": "TestDefFunc"}},
	}})
	uri, src := openTestdata(t, c, filepath.Join(root, "examples", "examples.go"), "go")
	def := lineOf(t, src, "func repeat(v, n int) []int {")
	mk := lineOf(t, src, "s := make([]int, n)")
	store := lineOf(t, src, "s[i] = v")

	if _, _, end, _ := profileAndWait(t, c, uri, "repeat"); end.Value.Message != "done" {
		t.Fatalf("first run: %+v", end.Value)
	}
	var reprofile *lens
	for _, l := range c.codeLenses(uri) {
		if l.Range.Start.Line == def && l.Command.Title == "Re-profile" {
			reprofile = &l
		}
	}
	if reprofile == nil || reprofile.Command.Command != "memlens.reprofile" {
		t.Fatalf("no Re-profile lens on repeat: %q", lensTitles(c.codeLenses(uri))[def])
	}
	first := c.hover(uri, mk, 2)
	if strings.Contains(first, "since the previous run") {
		t.Errorf("first hover shows a previous run:\n%s", first)
	}

	// Click it.
	mark := c.mark()
	args := make([]any, len(reprofile.Command.Arguments))
	for i, a := range reprofile.Command.Arguments {
		args[i] = a
	}
	c.mustCall("workspace/executeCommand", map[string]any{"command": reprofile.Command.Command, "arguments": args}, nil)
	c.waitEvent(mark, 10*time.Second, "progress create", isMethod("window/workDoneProgress/create"))
	ev := c.waitEvent(mark, 3*time.Minute, "progress end", func(m message) bool {
		var p progressEvent
		return m.Method == "$/progress" && json.Unmarshal(m.Params, &p) == nil && p.Value.Kind == "end"
	})
	var end progressEvent
	json.Unmarshal(ev.Params, &end)
	if end.Value.Message != "done" {
		t.Fatalf("re-profile: %+v", end.Value)
	}
	begins := 0
	for _, m := range c.eventsSince(mark, "$/progress") {
		if strings.Contains(string(m.Params), `"title":"Profiling repeat"`) {
			begins++
		}
	}
	if begins != 1 {
		t.Errorf("%d progress begins titled Profiling repeat after the click", begins)
	}

	if s := summaryLens(c, uri, def); !strings.Contains(s, "3 calls") || strings.Contains(s, "partial") {
		t.Errorf("summary lens %q", s)
	}
	counts := hintCounts(t, c.inlayHints(uri, def, def+7))
	if counts[mk] != 3 || counts[store] != 6*6*6*6+2*2*2+4*6*6*6 {
		t.Errorf("hint counts %v", counts)
	}

	h := c.hover(uri, mk, 2)
	if !strings.Contains(h, "since the previous run") || !strings.Contains(h, "occurrences +0") {
		t.Errorf("hover lacks the change since the first run:\n%s", h)
	}
	if !strings.Contains(h, "allocated by `repeat` (3 calls)") {
		t.Errorf("hover lacks the 3 calls:\n%s", h)
	}
	rows := hoverRows(h)
	if occ := rows["occurrences"]; occ != [2]string{"×3", "1.0"} {
		t.Errorf("occurrences row %q, want ×3, 1.0 per call", occ)
	}
	alloc := rows["allocated"]
	total, each := parseBytes(t, alloc[0]), parseBytes(t, alloc[1])
	if total == 0 || math.Abs(3*each-total) > 0.02*total+3*52 {
		t.Errorf("allocated row %q: per call is not a third of the total", alloc)
	}
	if objs := rows["objects"]; objs[0] != "3" || objs[1] != "1.0" {
		t.Errorf("objects row %q, want 3, 1.0 per call", objs)
	}
	t.Logf("hover of the make line:\n%s", h)
	storeRows := hoverRows(c.hover(uri, store, 2))
	if occ := storeRows["occurrences"]; occ != [2]string{"×2168", "722.7"} {
		t.Errorf("occurrences row of the loop body %q, want ×2168, 722.7 per call", occ)
	}
}

// TestMalformedInputAnswers sends malformed frames and requests to the
// real server and checks each answer against JSON-RPC 2.0: a parse error
// (-32700) or invalid request (-32600) with a null id, an unknown method
// -32601, bad params -32602; nothing for notifications; and the session
// goes on.
func TestMalformedInputAnswers(t *testing.T) {
	c := startServer(t)

	// Before initialize, requests are refused with -32002.
	if _, err := c.call("textDocument/hover", map[string]any{}); !hasCode(err, -32002) {
		t.Errorf("hover before initialize: %v", err)
	}

	root, _ := filepath.Abs("../testdata/go")
	c.initialize(root, true, nil)
	file := filepath.Join(root, "examples", "examples.go")
	uri, _ := openTestdata(t, c, file, "go")
	alive := func(when string) {
		t.Helper()
		if ls := c.codeLenses(uri); len(ls) == 0 {
			t.Errorf("%s: no lenses", when)
		}
	}

	// Frames that are no request: answered with id null.
	for _, f := range []struct {
		name, frame string
		header      bool // a bad header instead of a body
		code        int
	}{
		{"truncated JSON", `{"jsonrpc":`, false, -32700},
		{"binary garbage", "\x00\xff\xfe", false, -32700},
		{"batch", `[{"jsonrpc":"2.0","id":1,"method":"shutdown"}]`, false, -32600},
		{"no method", `{"jsonrpc":"2.0","id":77}`, false, -32600},
		{"bad header", "Content-Length: x\r\n\r\n", true, -32700},
	} {
		mark := c.mark()
		if f.header {
			c.wmu.Lock()
			c.w.Write([]byte(f.frame))
			c.wmu.Unlock()
		} else {
			c.sendRaw([]byte(f.frame))
		}
		ev := c.waitEvent(mark, 10*time.Second, f.name+" answer", func(m message) bool { return m.Method == "" && m.Error != nil })
		var resp map[string]json.RawMessage
		json.Unmarshal(ev.raw, &resp)
		if id, ok := resp["id"]; ev.Error.Code != f.code || string(resp["jsonrpc"]) != `"2.0"` || !ok || string(id) != "null" {
			t.Errorf("%s: answer %s, want error %d with \"id\":null", f.name, ev.raw, f.code)
		}
		alive("after " + f.name)
	}

	// Requests with an id: answered under that id.
	for _, r := range []struct {
		name, method string
		params       any
		code         int
	}{
		{"unknown method", "memlens/bogus", map[string]any{}, -32601},
		{"unknown method, no params", "$/memlens/nothing", nil, -32601},
		{"hover, position of strings", "textDocument/hover", map[string]any{"textDocument": map[string]any{"uri": uri}, "position": map[string]any{"line": "a", "character": true}}, -32602},
		{"hover, params an array", "textDocument/hover", []any{1, 2}, -32602},
		{"codeLens, textDocument a number", "textDocument/codeLens", map[string]any{"textDocument": 42}, -32602},
		{"inlayHint, range a string", "textDocument/inlayHint", map[string]any{"textDocument": map[string]any{"uri": uri}, "range": "all"}, -32602},
		{"executeCommand, argument a string", "workspace/executeCommand", map[string]any{"command": "memlens.profile", "arguments": []any{"DefFunc"}}, -32602},
		{"executeCommand, unknown command", "workspace/executeCommand", map[string]any{"command": "memlens.bogus"}, -32602},
		{"executeCommand, profile without function", "workspace/executeCommand", map[string]any{"command": "memlens.profile", "arguments": []any{map[string]any{"uri": uri}}}, -32602},
		{"initialize again", "initialize", map[string]any{"capabilities": map[string]any{}}, -32600},
	} {
		if _, err := c.call(r.method, r.params); !hasCode(err, r.code) {
			t.Errorf("%s: %v, want error %d", r.name, err, r.code)
		}
	}
	alive("after bad requests")

	// Notifications are never answered, even when wrong.
	mark := c.mark()
	c.notify("textDocument/didOpen", 42)
	c.notify("textDocument/didChange", map[string]any{"textDocument": "x", "contentChanges": 7})
	c.notify("memlens/unknownNotification", map[string]any{})
	c.notify("$/cancelRequest", map[string]any{"id": map[string]any{}})
	alive("after bad notifications")
	time.Sleep(200 * time.Millisecond)
	for _, m := range c.eventsSince(mark, "") {
		t.Errorf("answer to a notification: %s", m.raw)
	}
	// The open document survived the bad didChange.
	if h := hintCounts(t, c.inlayHints(uri, 0, 1000)); len(h) != 0 {
		t.Errorf("hints without a run: %v", h)
	}
}

func hasCode(err error, code int) bool {
	e, ok := err.(*rpcError)
	return ok && e.Code == code
}

// TestGoTestFileLenses opens a _test.go file: its tests, benchmarks and
// helpers get a Profile memory lens.
func TestGoTestFileLenses(t *testing.T) {
	c := startServer(t)
	root, _ := filepath.Abs("../testdata/go")
	c.initialize(root, true, nil)
	uri, src := openTestdata(t, c, filepath.Join(root, "shapes", "shapes_test.go"), "go")
	titles := lensTitles(c.codeLenses(uri))
	re := regexp.MustCompile(`(?m)^func (\w+)\(`)
	names := re.FindAllStringSubmatch(src, -1)
	if len(names) == 0 {
		t.Fatal("no functions in shapes_test.go")
	}
	for _, m := range names {
		line := lineOf(t, src, m[0])
		if got := titles[line]; len(got) != 1 || got[0] != "Profile memory" {
			t.Errorf("lens on %s (line %d): %q", m[1], line, got)
		}
	}
	if n := strconv.Itoa(len(names)); len(titles) != len(names) {
		t.Errorf("%d lenses, want %s: %v", len(titles), n, titles)
	}
	if !strings.Contains(src, "func BenchmarkBuild(") {
		t.Error("shapes_test.go lost its benchmark")
	}
}
