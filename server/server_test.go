package server

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/memlens/memlens/profile"
)

// TestSessionWithoutRunner drives a real session in process (no profile
// runs): capabilities, lenses on every function, code actions, and bad
// input that must be answered without ending the session.
func TestSessionWithoutRunner(t *testing.T) {
	c, _ := newInProcessClient(t)
	root, _ := filepath.Abs("../testdata/go")
	file := filepath.Join(root, "shapes", "shapes.go")
	src, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}

	// Requests before initialize are refused.
	if _, err := c.call("textDocument/hover", map[string]any{}); err == nil || err.(*rpcError).Code != -32002 {
		t.Errorf("hover before initialize: %v, want ServerNotInitialized", err)
	}
	res := c.initialize(root, true, map[string]any{"memlens": map[string]any{"timeout": "30s", "hints": []string{"alloc", "occurrences"}}})
	capsJSON, _ := json.Marshal(res["capabilities"])
	for _, want := range []string{`"change":2`, `"inlayHintProvider":true`, `"memlens.profile"`, `"memlens.clear"`, `"memlens.reprofile"`, `"memlens.profileAtCursor"`, `"memlens.showProfile"`, `"positionEncoding":"utf-16"`} {
		if !strings.Contains(string(capsJSON), want) {
			t.Errorf("capabilities lack %s: %s", want, capsJSON)
		}
	}

	uri := fileURI(file)
	// Never opened: lenses come from the file on disk.
	lenses := c.codeLenses(uri)
	c.didOpen(uri, "go", string(src))
	if got := c.codeLenses(uri); len(got) != len(lenses) {
		t.Errorf("%d lenses when open, %d from disk", len(got), len(lenses))
	}
	names := map[string]bool{}
	for _, l := range lenses {
		if l.Command.Title != "Profile memory" || l.Command.Command != "memlens.profile" {
			t.Errorf("lens %+v", l.Command)
		}
		var args commandArgs
		if err := json.Unmarshal(l.Command.Arguments[0], &args); err != nil || args.URI != uri {
			t.Errorf("lens arguments %s: %v", l.Command.Arguments[0], err)
		}
		names[args.Function] = true
	}
	for _, want := range []string{"NewGrid", "(*Grid).Add", "Grid.Len", "Build", "Map"} {
		if !names[want] {
			t.Errorf("no lens for %s (have %v)", want, names)
		}
	}

	// The code action on the line inside Build.
	buildLine := strings.Count(string(src[:strings.Index(string(src), "func Build(")]), "\n")
	var actions []struct {
		Title   string `json:"title"`
		Kind    string `json:"kind"`
		Command struct {
			Command string `json:"command"`
		} `json:"command"`
	}
	c.mustCall("textDocument/codeAction", map[string]any{
		"textDocument": map[string]any{"uri": uri},
		"range":        rng{Start: pos{Line: buildLine + 2}, End: pos{Line: buildLine + 2}},
		"context":      map[string]any{"diagnostics": []any{}},
	}, &actions)
	if len(actions) != 1 || actions[0].Title != "Profile memory: Build" || actions[0].Kind != "" || actions[0].Command.Command != "memlens.profile" {
		t.Errorf("code actions %+v", actions)
	}

	// Bad input, each answered with an error; the session stays up.
	badCalls := []struct {
		method string
		params any
		code   int
	}{
		{"memlens/nonsense", map[string]any{}, -32601},
		{"textDocument/hover", map[string]any{"textDocument": 7}, -32602},
		{"textDocument/inlayHint", "a string", -32602},
		{"workspace/executeCommand", map[string]any{"command": "memlens.profile", "arguments": []any{map[string]any{"uri": uri, "function": "NoSuchFunc"}}}, 0},
		{"workspace/executeCommand", map[string]any{"command": "memlens.profile", "arguments": []any{"not an object"}}, -32602},
		{"workspace/executeCommand", map[string]any{"command": "memlens.nonsense"}, -32602},
		{"workspace/executeCommand", map[string]any{"command": "memlens.showProfile", "arguments": []any{map[string]any{"uri": uri, "function": "Build"}}}, 0},
		{"workspace/executeCommand", map[string]any{"command": "memlens.showProfile"}, -32602},
		{"workspace/executeCommand", map[string]any{"command": "memlens.profile", "arguments": []any{map[string]any{"uri": "file:///no/such/file.go", "function": "F"}}}, 0},
	}
	for _, bc := range badCalls {
		_, err := c.call(bc.method, bc.params)
		re, ok := err.(*rpcError)
		if !ok || (bc.code != 0 && re.Code != bc.code) {
			t.Errorf("%s %v: error %v, want code %d", bc.method, bc.params, err, bc.code)
		}
	}
	if _, err := c.call("workspace/executeCommand", badCalls[3].params); err == nil || !strings.Contains(err.Error(), "NoSuchFunc not found") {
		t.Errorf("profile of a missing function: %v", err)
	}
	// Notifications with bad params, positions out of range, documents never opened.
	c.notify("textDocument/didChange", map[string]any{"textDocument": "x"})
	c.notify("textDocument/didOpen", 42)
	c.notify("$/cancelRequest", map[string]any{"id": []int{1}})
	c.didChange(uri, 2, rng{Start: pos{Line: 9999, Character: 5}, End: pos{Line: 9999, Character: 9}}, "")
	if h := c.hover(uri, 100000, 100000); h != "" {
		t.Errorf("hover out of range: %q", h)
	}
	if h := c.inlayHints(fileURI("/no/such/file.go"), 0, 10); len(h) != 0 {
		t.Errorf("hints for a missing file: %v", h)
	}
	if got := c.codeLenses(uri); len(got) != len(lenses) {
		t.Errorf("session damaged: %d lenses after bad input, want %d", len(got), len(lenses))
	}
}

// TestLoadedProfileFollowsEdits checks the line tracking and the lens and
// hint texts over a stored profile. The profile is built here so this stays
// a unit test of the editor-side logic; integration_test.go runs real ones.
func TestLoadedProfileFollowsEdits(t *testing.T) {
	c, s := newInProcessClient(t)
	dir := t.TempDir()
	file := filepath.Join(dir, "a.go")
	src := "package a\n\nfunc F() []int {\n\tx := make([]int, 10)\n\tfor i := range x {\n\t\tx[i] = i\n\t}\n\treturn x\n}\n"
	if err := os.WriteFile(file, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	c.initialize(dir, true, nil)
	uri := fileURI(file)
	c.didOpen(uri, "go", src)
	loadProfile(t, s, file, src, "F", map[int]uint64{3: 1, 4: 1, 5: 11, 6: 10, 8: 1})

	hintLines := func() map[int]string {
		out := map[int]string{}
		for _, h := range c.inlayHints(uri, 0, 100) {
			out[h.Position.Line] = h.Label
		}
		return out
	}
	// Go's default figures: the allocation (with its share on the heaviest
	// line) and ×N; the 80 B increment is below the 1 MiB that shows RSS.
	want := map[int]string{2: "×1", 3: "alloc 80 B  ▲ 100%  ×1", 4: "×11", 5: "×10", 7: "×1"}
	if got := hintLines(); !equalMaps(got, want) {
		t.Errorf("hints %v, want %v", got, want)
	}
	if h := c.inlayHints(uri, 4, 5); len(h) != 2 {
		t.Errorf("range 4-5 gave %d hints, want 2", len(h))
	}
	if end := c.inlayHints(uri, 3, 3)[0].Position; end.Character != len("\tx := make([]int, 10)") {
		t.Errorf("hint at column %d, want the end of the line", end.Character)
	}
	titles := lensTitles(c.codeLenses(uri))[2]
	if len(titles) != 3 || !strings.HasPrefix(titles[0], "memory: peak 1.0 MiB · allocated 80 B · 1 call · 0.2 s") || titles[1] != "Re-profile" || titles[2] != "Clear" {
		t.Errorf("lenses %q", titles)
	}
	if h := c.hover(uri, 3, 0); !strings.Contains(h, "| allocated | 80 B | 80 B |") || !strings.Contains(h, "100.0% of the 80 B") || !strings.Contains(h, "`runtime.makeslice`") || !strings.Contains(h, "ran: `go test -run ^TestF$`") {
		t.Errorf("hover:\n%s", h)
	}
	// A line that allocated nothing has no share of the allocation to show.
	if h := c.hover(uri, 5, 0); !strings.Contains(h, "| occurrences | ×10 |") || strings.Contains(h, "% of the") {
		t.Errorf("hover of a line that allocated nothing:\n%s", h)
	}

	// Two lines inserted above the function move every hint down by two.
	c.didChange(uri, 2, rng{Start: pos{Line: 1}, End: pos{Line: 1}}, "// one\n// two\n")
	shifted := map[int]string{}
	for l, label := range want {
		shifted[l+2] = label
	}
	if got := hintLines(); !equalMaps(got, shifted) {
		t.Errorf("after inserting 2 lines: %v, want %v", got, shifted)
	}
	if titles := lensTitles(c.codeLenses(uri))[4]; len(titles) != 3 || strings.Contains(titles[0], "stale") {
		t.Errorf("lens after a move only: %q", titles)
	}
	// Changing the loop body drops that line's hint and makes the lens stale.
	c.didChange(uri, 3, rng{Start: pos{Line: 7, Character: 9}, End: pos{Line: 7, Character: 10}}, "2*i")
	delete(shifted, 7)
	if got := hintLines(); !equalMaps(got, shifted) {
		t.Errorf("after changing line 7: %v, want %v", got, shifted)
	}
	if titles := lensTitles(c.codeLenses(uri))[4]; len(titles) != 3 || !strings.HasSuffix(titles[0], "stale — re-run") {
		t.Errorf("lens after a change: %q", titles)
	}
	mark := c.mark()
	c.mustCall("workspace/executeCommand", map[string]any{"command": "memlens.clear", "arguments": []any{map[string]any{"uri": uri, "function": "F"}}}, nil)
	c.waitEvent(mark, 5*time.Second, "inlay hint refresh", isMethod("workspace/inlayHint/refresh"))
	c.waitEvent(mark, 5*time.Second, "code lens refresh", isMethod("workspace/codeLens/refresh"))
	if got := hintLines(); len(got) != 0 {
		t.Errorf("hints after clear: %v", got)
	}
}

// loadProfile stores a profile of name in file as a finished run would.
func loadProfile(t testing.TB, s *Server, file, src, name string, occurrences map[int]uint64) {
	t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	d, err := s.document(file)
	if err != nil {
		t.Fatal(err)
	}
	f, ok := functionNamed(d.functions(), name)
	if !ok {
		t.Fatalf("no %s in %s", name, file)
	}
	fn := profile.Function{Name: name, File: file, StartLine: f.StartLine, EndLine: f.EndLine, Calls: 1, PeakMemBytes: 1 << 20}
	lines := strings.Split(src, "\n")
	for n := f.StartLine; n <= f.EndLine; n++ {
		l := profile.Line{Line: n, Content: lines[n-1], Occurrences: occurrences[n], Code: occurrences[n] > 0}
		if l.Ran() {
			l.MemUsageBytes = 1 << 20
		}
		if n == f.StartLine+1 {
			l.AllocBytes, l.AllocObjects, l.IncrementBytes = 80, 1, 80
			l.Callees = []profile.Callee{{Name: "runtime.makeslice", AllocBytes: 80, AllocObjects: 1}}
			fn.AllocBytes, fn.AllocObjects = 80, 1
		}
		fn.Lines = append(fn.Lines, l)
	}
	res := &profile.Result{Language: "go", Entry: "go test -run ^TestF$", Status: profile.StatusOK, DurationMS: 200, Functions: []profile.Function{fn}}
	s.storeRunLocked(&run{
		key: runKey{path: file, name: name}, result: res, fn: &res.Functions[0],
		tracker: trackLines(d, lineRange(f.StartLine-1, f.EndLine-1)), funcText: d.textOf(f), finished: time.Now(),
	})
}

func equalMaps(a, b map[int]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}
