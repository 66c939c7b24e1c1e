package server

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// The integration tests run the real binary (`memlens serve`), built once
// here, and talk LSP to it over its stdin and stdout as an editor does.

var binary string

func TestMain(m *testing.M) {
	root, err := filepath.Abs("..")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	binary = filepath.Join(root, "tmp", "memlens")
	build := exec.Command("go", "build", "-o", binary, ".")
	build.Dir = root
	if out, err := build.CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "building memlens: %v\n%s", err, out)
		os.Exit(1)
	}
	os.Exit(m.Run())
}

// startServer runs `memlens serve` and returns a client on its pipes.
func startServer(t *testing.T) *testClient {
	t.Helper()
	cmd := exec.Command(binary, "serve", "-log", filepath.Join(t.TempDir(), "serve.log"))
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	c := newTestClient(t, stdout, stdin)
	t.Cleanup(func() {
		c.call("shutdown", nil)
		c.notify("exit", nil)
		done := make(chan error, 1)
		go func() { done <- cmd.Wait() }()
		select {
		case err := <-done:
			if err != nil && !t.Failed() {
				t.Errorf("server exited with %v after shutdown and exit", err)
			}
		case <-time.After(10 * time.Second):
			cmd.Process.Kill()
			t.Error("server did not exit after shutdown and exit")
		}
	})
	return c
}

type progressValue struct {
	Kind    string `json:"kind"`
	Title   string `json:"title"`
	Message string `json:"message"`
}

type progressEvent struct {
	Token json.RawMessage `json:"token"`
	Value progressValue   `json:"value"`
}

// profileAndWait runs memlens.profile and waits for the end of its
// progress. It skips the test while the runner for the language is still a
// placeholder (issues 2 and 3), so the test never passes without a real run.
func profileAndWait(t *testing.T, c *testClient, uri, function string) (begin progressEvent, reports []progressEvent, end progressEvent, mark int) {
	t.Helper()
	mark = c.mark()
	c.mustCall("workspace/executeCommand", map[string]any{
		"command":   "memlens.profile",
		"arguments": []any{map[string]any{"uri": uri, "function": function}},
	}, nil)
	c.waitEvent(mark, 10*time.Second, "progress create", isMethod("window/workDoneProgress/create"))
	ev := c.waitEvent(mark, 3*time.Minute, "progress end", func(m message) bool {
		var p progressEvent
		return m.Method == "$/progress" && json.Unmarshal(m.Params, &p) == nil && p.Value.Kind == "end"
	})
	json.Unmarshal(ev.Params, &end)
	for _, m := range c.eventsSince(mark, "$/progress") {
		var p progressEvent
		json.Unmarshal(m.Params, &p)
		switch p.Value.Kind {
		case "begin":
			begin = p
		case "report":
			reports = append(reports, p)
		}
	}
	if strings.Contains(end.Value.Message, "not yet implemented") {
		t.Skipf("the runner is not there yet: %s", end.Value.Message)
	}
	return begin, reports, end, mark
}

// hintCounts maps 0-based lines to the ×N of their hints.
func hintCounts(t *testing.T, hs []hint) map[int]int {
	t.Helper()
	re := regexp.MustCompile(`×(\d+)$`)
	out := map[int]int{}
	for _, h := range hs {
		m := re.FindStringSubmatch(h.Label)
		if m == nil {
			t.Errorf("hint %q has no ×N", h.Label)
			continue
		}
		var n int
		fmt.Sscan(m[1], &n)
		out[h.Position.Line] = n
	}
	return out
}

// lineOf returns the 0-based line of the first line of src containing s.
func lineOf(t *testing.T, src, s string) int {
	t.Helper()
	i := strings.Index(src, s)
	if i < 0 {
		t.Fatalf("%q not in source", s)
	}
	return strings.Count(src[:i], "\n")
}

func TestGoProfileSession(t *testing.T) {
	c := startServer(t)
	root, _ := filepath.Abs("../testdata/go")
	file := filepath.Join(root, "examples", "examples.go")
	srcBytes, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	src := string(srcBytes)
	c.initialize(root, true, map[string]any{"memlens": map[string]any{
		"timeout": "2m",
		"entries": map[string]any{"DefFunc": map[string]any{"test": "TestDefFunc"}},
	}})
	uri := fileURI(file)
	c.didOpen(uri, "go", src)

	def := lineOf(t, src, "func DefFunc()")
	if titles := lensTitles(c.codeLenses(uri))[def]; len(titles) != 1 || titles[0] != "Profile memory" {
		t.Fatalf("lens on DefFunc: %q", titles)
	}
	begin, reports, end, mark := profileAndWait(t, c, uri, "DefFunc")
	if begin.Value.Title != "Profiling DefFunc" || end.Value.Message != "done" {
		t.Fatalf("progress begin %+v, end %+v", begin.Value, end.Value)
	}
	if len(reports) == 0 || !strings.Contains(reports[len(reports)-1].Value.Message, " s") {
		t.Errorf("progress reports %+v", reports)
	}
	c.waitEvent(mark, 10*time.Second, "inlay hint refresh", isMethod("workspace/inlayHint/refresh"))
	c.waitEvent(mark, 10*time.Second, "code lens refresh", isMethod("workspace/codeLens/refresh"))

	// Every statement of DefFunc runs once; nothing else ran.
	body := map[int]int{}
	for l := def + 1; l <= def+7; l++ {
		body[l] = 1
	}
	got := hintCounts(t, c.inlayHints(uri, 0, 1000))
	delete(got, def) // the func line itself may carry the entry reading
	if fmt.Sprint(got) != fmt.Sprint(body) {
		t.Errorf("hint counts %v, want %v", got, body)
	}
	lenses := c.codeLenses(uri)
	titles := lensTitles(lenses)[def]
	t.Logf("lens: %q", titles)
	// A click on the summary shows it as a message.
	for _, l := range lenses {
		if l.Range.Start.Line != def || !strings.HasPrefix(l.Command.Title, "memory: ") {
			continue
		}
		if l.Command.Command != "memlens.showProfile" {
			t.Errorf("summary lens command %q", l.Command.Command)
		}
		mark := c.mark()
		c.mustCall("workspace/executeCommand", map[string]any{"command": l.Command.Command, "arguments": l.Command.Arguments}, nil)
		c.waitEvent(mark, 10*time.Second, "the summary as a message", func(m message) bool {
			return m.Method == "window/showMessage" && strings.Contains(string(m.Params), `"type":3`) && strings.Contains(string(m.Params), "DefFunc — memory: peak")
		})
	}
	// Go's default figures: the exact allocation where a line allocated,
	// with its share of the function's on the heaviest, ×N alone elsewhere.
	// Only var2 is on the heap: it is returned; repeat is inlined, and
	// var1's and var3's arrays, dropped in DefFunc, stay on its stack.
	labels := hintLabels(c.inlayHints(uri, def, def+8))
	for l := def; l <= def+8; l++ {
		t.Logf("hint line %d: %s", l, labels[l])
	}
	if labels[def+2] != "alloc 64 B  ▲ 100%  ×1" {
		t.Errorf("hint of var2 %q, want alloc 64 B  ▲ 100%%  ×1", labels[def+2])
	}
	for _, l := range []int{def + 1, def + 3} {
		if labels[l] != "×1" {
			t.Errorf("hint of line %d (allocates nothing) %q, want ×1", l, labels[l])
		}
	}
	for l := def + 4; l <= def+7; l++ {
		if labels[l] != "×1" {
			t.Errorf("hint of line %d (allocates nothing) %q, want ×1", l, labels[l])
		}
	}
	// The summary, the run's Timeline (every run is sampled), Re-profile, Clear.
	if len(titles) != 4 || !strings.HasPrefix(titles[0], "memory: ") || !strings.Contains(titles[0], "1 call") || !strings.HasPrefix(titles[1], "Timeline") {
		t.Errorf("summary lens %q", titles)
	}
	if h := c.hover(uri, def+1, 3); !strings.Contains(h, "allocated") || !strings.Contains(h, "TestDefFunc") {
		t.Errorf("hover:\n%s", h)
	}

	// Insert two lines above the function: the hints move with it.
	c.didChange(uri, 2, rng{Start: pos{Line: def}, End: pos{Line: def}}, "// one\n// two\n")
	moved := hintCounts(t, c.inlayHints(uri, 0, 1000))
	delete(moved, def+2)
	want := map[int]int{}
	for l, n := range body {
		want[l+2] = n
	}
	if fmt.Sprint(moved) != fmt.Sprint(want) {
		t.Errorf("after inserting 2 lines: %v, want %v", moved, want)
	}
	// Change the first body line: its hint goes, the lens turns stale.
	c.didChange(uri, 3, rng{Start: pos{Line: def + 3, Character: 1}, End: pos{Line: def + 3, Character: 5}}, "vv1")
	after := hintCounts(t, c.inlayHints(uri, 0, 1000))
	if _, ok := after[def+3]; ok {
		t.Errorf("the changed line kept its hint: %v", after)
	}
	if titles := lensTitles(c.codeLenses(uri))[def+2]; len(titles) == 0 || !strings.Contains(titles[0], "stale") {
		t.Errorf("lens after the change: %q", titles)
	}
	c.mustCall("workspace/executeCommand", map[string]any{"command": "memlens.clear", "arguments": []any{map[string]any{"uri": uri}}}, nil)
	if hs := c.inlayHints(uri, 0, 1000); len(hs) != 0 {
		t.Errorf("hints after clear: %v", hs)
	}
}

func TestPythonProfileSession(t *testing.T) {
	if _, err := exec.LookPath("python3"); err != nil {
		t.Skip("no python3")
	}
	c := startServer(t)
	root, _ := filepath.Abs("../testdata/python")
	file := filepath.Join(root, "plainfunc.py")
	srcBytes, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	src := string(srcBytes)
	c.initialize(root, true, nil)
	uri := fileURI(file)
	c.didOpen(uri, "python", src)
	def := lineOf(t, src, "    def fill(self):")
	if titles := lensTitles(c.codeLenses(uri))[def]; len(titles) != 1 || titles[0] != "Profile memory" {
		t.Fatalf("lens on Box.fill: %q", titles)
	}
	_, _, end, _ := profileAndWait(t, c, uri, "Box.fill")
	if end.Value.Message != "done" {
		t.Fatalf("progress end %+v", end.Value)
	}
	got := hintCounts(t, c.inlayHints(uri, 0, 1000))
	delete(got, def)
	if fmt.Sprint(got) != fmt.Sprint(map[int]int{def + 1: 1}) {
		t.Errorf("hint counts %v, want line %d ×1", got, def+1)
	}
	if h := c.hover(uri, def+1, 0); !strings.Contains(h, "occurrences") || strings.Contains(h, "why on the heap") {
		t.Errorf("hover (figures, no Go explanation):\n%s", h)
	}
	// Python's default figures: the increment where there is one, the
	// allocation where it is larger (the list of ten), ×N; no object count.
	if label := hintLabels(c.inlayHints(uri, def+1, def+1))[def+1]; !regexp.MustCompile(`^(\+[0-9.]+ (B|KiB|MiB)  )?(▲ [0-9]+%  )?alloc [0-9]+ B  (▲ [0-9]+%  )?×1$`).MatchString(label) {
		t.Errorf("python hint %q, want the allocation and ×1", label)
	}
	c.didChange(uri, 2, rng{Start: pos{Line: 0}, End: pos{Line: 0}}, "\n\n")
	moved := hintCounts(t, c.inlayHints(uri, 0, 1000))
	delete(moved, def+2)
	if fmt.Sprint(moved) != fmt.Sprint(map[int]int{def + 3: 1}) {
		t.Errorf("after inserting 2 lines: %v", moved)
	}
	c.mustCall("workspace/executeCommand", map[string]any{"command": "memlens.clear"}, nil)
	if hs := c.inlayHints(uri, 0, 1000); len(hs) != 0 {
		t.Errorf("hints after clear: %v", hs)
	}
}

func TestCancelProfile(t *testing.T) {
	if _, err := exec.LookPath("python3"); err != nil {
		t.Skip("no python3")
	}
	c := startServer(t)
	root, _ := filepath.Abs("../testdata/python")
	file := filepath.Join(root, "forever.py")
	c.initialize(root, true, map[string]any{"timeout": "2m"})
	uri := fileURI(file)
	mark := c.mark()
	c.mustCall("workspace/executeCommand", map[string]any{"command": "memlens.profile", "arguments": []any{map[string]any{"uri": uri, "function": "spin"}}}, nil)
	create := c.waitEvent(mark, 10*time.Second, "progress create", isMethod("window/workDoneProgress/create"))
	var token struct {
		Token json.RawMessage `json:"token"`
	}
	json.Unmarshal(create.Params, &token)
	// Let it run, check the server still answers, then cancel.
	c.waitEvent(mark, 30*time.Second, "a progress report", func(m message) bool {
		return m.Method == "$/progress" && strings.Contains(string(m.Params), `"report"`)
	})
	c.waitEvent(mark, 10*time.Second, "code lens refresh", isMethod("workspace/codeLens/refresh"))
	running := false
	for _, l := range c.codeLenses(uri) {
		if l.Command.Title == "memory: profiling…" && l.Command.Command == "memlens.showProfile" {
			running = true
		}
	}
	if !running {
		t.Errorf("no running lens during the profile: %v", lensTitles(c.codeLenses(uri)))
	}
	c.notify("window/workDoneProgress/cancel", map[string]any{"token": token.Token})
	ev := c.waitEvent(mark, 30*time.Second, "progress end", func(m message) bool {
		return m.Method == "$/progress" && strings.Contains(string(m.Params), `"end"`)
	})
	if strings.Contains(string(ev.Params), "not yet implemented") {
		t.Skipf("the runner is not there yet: %s", ev.Params)
	}
	if !strings.Contains(string(ev.Params), "cancel") {
		t.Errorf("progress end after cancel: %s", ev.Params)
	}
}

// TestBuildFailure profiles a function whose package does not compile: the
// run fails with a message and a diagnostic at the compiler's position,
// which follows edits of that file, goes on clear, comes back with the next
// failed run and goes once a run succeeds.
func TestBuildFailure(t *testing.T) {
	c := startServer(t)
	root, _ := filepath.Abs("../testdata/go")
	file := filepath.Join(root, "broken", "ok.go")
	bad := filepath.Join(root, "broken", "bad.go")
	c.initialize(root, true, nil)
	uri, badURI := fileURI(file), fileURI(bad)
	badSrc, err := os.ReadFile(bad)
	if err != nil {
		t.Fatal(err)
	}
	errLine := lineOf(t, string(badSrc), "}") // where the compiler stops
	errorAt := func(line int) func([]diagnostic) bool {
		return func(ds []diagnostic) bool {
			return len(ds) == 1 && ds[0].Severity == 1 && ds[0].Range.Start.Line == line && strings.Contains(ds[0].Message, "syntax error")
		}
	}
	noDiagnostics := func(ds []diagnostic) bool { return len(ds) == 0 }

	_, _, end, mark := profileAndWait(t, c, uri, "Fine")
	if !strings.HasPrefix(end.Value.Message, "failed: build_failed") {
		t.Errorf("progress end %+v", end.Value)
	}
	c.waitEvent(mark, 10*time.Second, "error message", func(m message) bool {
		return m.Method == "window/showMessage" && strings.Contains(string(m.Params), `"type":1`)
	})
	waitDiagnostics(t, c, mark, badURI, "the error on bad.go", errorAt(errLine))

	// A line inserted above the error moves it.
	c.didOpen(badURI, "go", string(badSrc))
	mark = c.mark()
	c.didChange(badURI, 2, rng{Start: pos{Line: 1}, End: pos{Line: 1}}, "// moved\n")
	waitDiagnostics(t, c, mark, badURI, "the error moved down", errorAt(errLine+1))

	// Clear withdraws it.
	mark = c.mark()
	c.mustCall("workspace/executeCommand", map[string]any{"command": "memlens.clear", "arguments": []any{map[string]any{"uri": uri, "function": "Fine"}}}, nil)
	waitDiagnostics(t, c, mark, badURI, "the error cleared", noDiagnostics)

	// The next run reports it again, on the buffer it built.
	_, _, end, mark = profileAndWait(t, c, uri, "Fine")
	if !strings.HasPrefix(end.Value.Message, "failed: build_failed") {
		t.Errorf("progress end of the second run %+v", end.Value)
	}
	waitDiagnostics(t, c, mark, badURI, "the error of the second run", errorAt(errLine+1))

	// Fix the buffer (the line before the error); the run that follows
	// builds and withdraws the error.
	fixLine := errLine // "return 1 +", moved down by one
	c.didChange(badURI, 3, rng{Start: pos{Line: fixLine, Character: len("\treturn 1")}, End: pos{Line: fixLine, Character: len("\treturn 1 +")}}, "")
	_, _, end, mark = profileAndWait(t, c, uri, "Fine")
	if end.Value.Message != "done" {
		t.Errorf("progress end after the fix %+v", end.Value)
	}
	waitDiagnostics(t, c, mark, badURI, "the error withdrawn after a good run", noDiagnostics)
}

// diagnostic is a published diagnostic as the tests read it.
type diagnostic struct {
	Range    rng    `json:"range"`
	Severity int    `json:"severity"`
	Source   string `json:"source"`
	Message  string `json:"message"`
}

// waitDiagnostics waits for a publishDiagnostics of uri after mark that
// satisfies pred, and returns its diagnostics.
func waitDiagnostics(t *testing.T, c *testClient, mark int, uri, what string, pred func([]diagnostic) bool) []diagnostic {
	t.Helper()
	var out []diagnostic
	c.waitEvent(mark, 20*time.Second, what, func(m message) bool {
		var p struct {
			URI         string       `json:"uri"`
			Diagnostics []diagnostic `json:"diagnostics"`
		}
		if m.Method != "textDocument/publishDiagnostics" || json.Unmarshal(m.Params, &p) != nil || p.URI != uri {
			return false
		}
		out = p.Diagnostics
		return pred(p.Diagnostics)
	})
	return out
}

// hintLabels maps 0-based lines to hint labels.
func hintLabels(hs []hint) map[int]string {
	out := map[int]string{}
	for _, h := range hs {
		out[h.Position.Line] = h.Label
	}
	return out
}

// TestTwoProfilesAtOnce runs a Go and a Python profile at the same time, in
// two workspace folders, and checks that nothing mixes: progress tokens,
// hints, lenses, the diagnostics view. It then changes the settings that
// decide what is shown, and asks for functions that do not exist (any
// more), which must be refused with a clear error while the server stays up.
func TestTwoProfilesAtOnce(t *testing.T) {
	if _, err := exec.LookPath("python3"); err != nil {
		t.Skip("no python3")
	}
	c := startServer(t)
	goRoot, _ := filepath.Abs("../testdata/go")
	pyRoot, _ := filepath.Abs("../testdata/python")
	goFile := filepath.Join(goRoot, "examples", "examples.go")
	pyFile := filepath.Join(pyRoot, "plainfunc.py")
	goSrc, err := os.ReadFile(goFile)
	if err != nil {
		t.Fatal(err)
	}
	pySrc, err := os.ReadFile(pyFile)
	if err != nil {
		t.Fatal(err)
	}
	// Settings in initializationOptions: hints show occurrences only, and
	// the diagnostics view is on.
	c.initializeFolders([]string{goRoot, pyRoot}, true, map[string]any{"memlens": map[string]any{
		"entries":     map[string]any{"DefFunc": map[string]any{"test": "TestDefFunc"}},
		"hints":       []string{"occurrences"},
		"diagnostics": true,
	}})
	goURI, pyURI := fileURI(goFile), fileURI(pyFile)
	c.didOpen(goURI, "go", string(goSrc))
	c.didOpen(pyURI, "python", string(pySrc))
	goDef := lineOf(t, string(goSrc), "func DefFunc()")
	pyDef := lineOf(t, string(pySrc), "    def fill(self):")

	mark := c.mark()
	for _, p := range []struct{ uri, function string }{{goURI, "DefFunc"}, {pyURI, "Box.fill"}} {
		c.mustCall("workspace/executeCommand", map[string]any{
			"command": "memlens.profile", "arguments": []any{map[string]any{"uri": p.uri, "function": p.function}},
		}, nil)
	}
	// Both run: each has its own token, begun with its function's title
	// and ended once with "done".
	titles := map[string]string{} // token → title
	ends := map[string]string{}   // token → end message
	c.waitEvent(mark, 3*time.Minute, "both progress ends", func(m message) bool {
		var p progressEvent
		if m.Method != "$/progress" || json.Unmarshal(m.Params, &p) != nil {
			return false
		}
		switch p.Value.Kind {
		case "begin":
			titles[string(p.Token)] = p.Value.Title
		case "end":
			ends[string(p.Token)] = p.Value.Message
		}
		return len(ends) == 2
	})
	if len(titles) != 2 || len(c.eventsSince(mark, "window/workDoneProgress/create")) != 2 {
		t.Fatalf("progress tokens %v; want two, one per profile", titles)
	}
	byTitle := map[string]string{}
	for token, title := range titles {
		byTitle[title] = ends[token]
	}
	if byTitle["Profiling DefFunc"] != "done" || byTitle["Profiling Box.fill"] != "done" {
		t.Fatalf("progress by title: %v", byTitle)
	}

	// Each file has the hints of its own function only, with the figures
	// of the hints setting.
	goWant, pyWant := map[int]string{}, map[int]string{pyDef + 1: "×1"}
	for l := goDef + 1; l <= goDef+7; l++ {
		goWant[l] = "×1"
	}
	goHints, pyHints := hintLabels(c.inlayHints(goURI, 0, 1000)), hintLabels(c.inlayHints(pyURI, 0, 1000))
	delete(goHints, goDef) // the func line may carry the entry's reading
	delete(pyHints, pyDef)
	if !equalMaps(goHints, goWant) || !equalMaps(pyHints, pyWant) {
		t.Errorf("hints\n go %v, want %v\n py %v, want %v", goHints, goWant, pyHints, pyWant)
	}
	if ls := lensTitles(c.codeLenses(pyURI)); len(ls[pyDef]) != 4 || len(ls[lineOf(t, string(pySrc), "def compute():")]) != 1 {
		t.Errorf("python lenses %v", ls)
	}

	// The diagnostics view: information on the heaviest lines of each
	// function, in its own file and within the function.
	for _, f := range []struct {
		uri      string
		from, to int
	}{{goURI, goDef, goDef + 8}, {pyURI, pyDef, pyDef + 1}} {
		diags := waitDiagnostics(t, c, mark, f.uri, "information diagnostics", func(ds []diagnostic) bool { return len(ds) > 0 })
		for _, d := range diags {
			if d.Severity != 3 || d.Source != "memlens" || !strings.HasPrefix(d.Message, "memory: ×1") || d.Range.Start.Line < f.from || d.Range.Start.Line > f.to {
				t.Errorf("%s: diagnostic %+v", filepath.Base(f.uri), d)
			}
		}
	}

	// New settings through didChangeConfiguration: more figures in the
	// hints, the diagnostics view off (its diagnostics are withdrawn).
	mark = c.mark()
	c.notify("workspace/didChangeConfiguration", map[string]any{"settings": map[string]any{"memlens": map[string]any{
		"hints": []string{"mem", "occurrences"}, "diagnostics": false,
	}}})
	for _, uri := range []string{goURI, pyURI} {
		waitDiagnostics(t, c, mark, uri, "diagnostics withdrawn", func(ds []diagnostic) bool { return len(ds) == 0 })
	}
	c.waitEvent(mark, 10*time.Second, "inlay hint refresh", isMethod("workspace/inlayHint/refresh"))
	memHint := regexp.MustCompile(`^[0-9.]+ (B|KiB|MiB|GiB)  ×1$`)
	for l, label := range hintLabels(c.inlayHints(goURI, goDef+1, goDef+7)) {
		if !memHint.MatchString(label) {
			t.Errorf("hint on line %d after the settings change: %q", l, label)
		}
	}
	// A bad setting is reported and changes nothing.
	mark = c.mark()
	c.notify("workspace/didChangeConfiguration", map[string]any{"settings": map[string]any{"hints": []string{"bogus"}}})
	c.waitEvent(mark, 10*time.Second, "error message", func(m message) bool {
		return m.Method == "window/showMessage" && strings.Contains(string(m.Params), "bogus")
	})
	if label := hintLabels(c.inlayHints(goURI, goDef+1, goDef+1))[goDef+1]; !memHint.MatchString(label) {
		t.Errorf("hint after a bad setting: %q", label)
	}

	// A function renamed in the buffer: the old name is refused.
	nameAt := strings.Index(string(goSrc), "DefFunc()") - strings.LastIndex(string(goSrc[:strings.Index(string(goSrc), "func DefFunc()")]), "\n") - 1
	c.didChange(goURI, 2, rng{Start: pos{Line: goDef, Character: nameAt}, End: pos{Line: goDef, Character: nameAt + len("DefFunc")}}, "DefFuncRenamed")
	_, err = c.call("workspace/executeCommand", map[string]any{
		"command": "memlens.profile", "arguments": []any{map[string]any{"uri": goURI, "function": "DefFunc"}},
	})
	if err == nil || !strings.Contains(err.Error(), "DefFunc not found") {
		t.Errorf("profile of a renamed function: %v", err)
	}
	if ls := lensTitles(c.codeLenses(goURI))[goDef]; len(ls) != 1 || ls[0] != "Profile memory" {
		t.Errorf("lens of the renamed function: %q", ls)
	}
	// A Python function only in the unsaved buffer: Python runs the saved
	// file, where it does not exist; the run fails with a message.
	c.didChange(pyURI, 2, rng{Start: pos{Line: 0}, End: pos{Line: 0}}, "def unsaved():\n    return [0] * 3\n\n\n")
	mark = c.mark()
	c.mustCall("workspace/executeCommand", map[string]any{
		"command": "memlens.profile", "arguments": []any{map[string]any{"uri": pyURI, "function": "unsaved"}},
	}, nil)
	end := c.waitEvent(mark, time.Minute, "progress end", func(m message) bool {
		return m.Method == "$/progress" && strings.Contains(string(m.Params), `"end"`)
	})
	if !strings.Contains(string(end.Params), "failed") {
		t.Errorf("progress end of a function missing from the saved file: %s", end.Params)
	}
	msg := c.waitEvent(mark, 10*time.Second, "error message", func(m message) bool {
		return m.Method == "window/showMessage" && strings.Contains(string(m.Params), `"type":1`)
	})
	t.Logf("missing function: %s", msg.Params)
	// The server is still up, and the earlier result of Box.fill is kept,
	// moved down by the four inserted lines.
	if hs := hintLabels(c.inlayHints(pyURI, 0, 1000)); hs[pyDef+5] == "" {
		t.Errorf("python hints after the failed run: %v", hs)
	}
}
