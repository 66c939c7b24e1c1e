package server

import (
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

// messageRequest is the params of a window/showMessageRequest.
type messageRequest struct {
	Type    int    `json:"type"`
	Message string `json:"message"`
	Actions []struct {
		Title string `json:"title"`
	} `json:"actions"`
}

func (m messageRequest) titles() []string {
	var out []string
	for _, a := range m.Actions {
		out = append(out, a.Title)
	}
	return out
}

// A real session on testdata/go/xpkg/lib, whose functions run only through
// other packages' tests or programs: the lens works for each shape, the
// user is asked (window/showMessageRequest) where several entries are
// possible or only a program, once per function, and the summary lens and
// hover name the entry that ran.
func TestEntryChoiceSession(t *testing.T) {
	c := startServer(t)
	root, _ := filepath.Abs("../testdata/go")
	c.initialize(root, true, nil)
	uri, src := openTestdata(t, c, filepath.Join(root, "xpkg", "lib", "lib.go"), "go")

	// The user's answers, by the question's first action: the test picks
	// the second option for Count, Cancel for Pairs, the program for Tally.
	var asked []messageRequest
	answers := map[string]string{"report.TestTop": "app: TestEmpty, TestSummary", "run cmd/pairs": "Cancel", "run cmd/tool": "run cmd/tool"}
	c.answer("window/showMessageRequest", func(params json.RawMessage) any {
		var req messageRequest
		if err := json.Unmarshal(params, &req); err != nil || len(req.Actions) == 0 {
			t.Errorf("showMessageRequest %s", params)
			return nil
		}
		asked = append(asked, req)
		return map[string]string{"title": answers[req.Actions[0].Title]}
	})
	questions := func(mark int) []messageRequest {
		var out []messageRequest
		for _, m := range c.eventsSince(mark, "window/showMessageRequest") {
			var req messageRequest
			json.Unmarshal(m.Params, &req)
			out = append(out, req)
		}
		return out
	}

	// Join: one package's tests reach it, nobody is asked.
	join := lineOf(t, src, "func Join(")
	_, _, end, mark := profileAndWait(t, c, uri, "Join")
	if end.Value.Message != "done" {
		t.Fatalf("Join: %q", end.Value.Message)
	}
	if q := questions(mark); len(q) != 0 {
		t.Errorf("asked %+v for Join", q)
	}
	counts := hintCounts(t, c.inlayHints(uri, join, join+10))
	if counts[lineOf(t, src, "b = append(b, sep...)")] != 2 || counts[lineOf(t, src, "b = append(b, w...)")] != 3 {
		t.Errorf("Join's hints %v", counts)
	}
	if s := summaryLens(c, uri, join); !strings.Contains(s, "1 call") || !strings.HasSuffix(s, " · via app.TestRun") {
		t.Errorf("Join's summary lens %q", s)
	}
	if h := c.hover(uri, lineOf(t, src, "return string(b)"), 2); !strings.Contains(h, "ran: `go test -run ^(TestRun)$ example.com/memlens/testdata/xpkg/app (tests of another package that reach Join)`") {
		t.Errorf("hover:\n%s", h)
	}

	// Count: report's and app's tests reach it; the user picks app's.
	count := lineOf(t, src, "func Count(")
	_, _, end, mark = profileAndWait(t, c, uri, "Count")
	q := questions(mark)
	if end.Value.Message != "done" || len(q) != 1 {
		t.Fatalf("Count: %q after %d questions", end.Value.Message, len(q))
	}
	if got, want := q[0].titles(), []string{"report.TestTop", "app: TestEmpty, TestSummary", "Cancel"}; !reflect.DeepEqual(got, want) {
		t.Errorf("actions %q, want %q", got, want)
	}
	if !strings.Contains(q[0].Message, "Count") || !strings.Contains(q[0].Message, "example.com/memlens/testdata/xpkg/report, example.com/memlens/testdata/xpkg/app") {
		t.Errorf("question %q", q[0].Message)
	}
	if s := summaryLens(c, uri, count); !strings.Contains(s, "2 calls") || !strings.HasSuffix(s, " · via app: TestEmpty, TestSummary") {
		t.Errorf("Count's summary lens %q", s)
	}
	// Re-profile: the choice holds, no second question.
	_, _, end, mark = profileAndWait(t, c, uri, "Count")
	if q := questions(mark); end.Value.Message != "done" || len(q) != 0 {
		t.Errorf("re-profile of Count: %q, asked %+v", end.Value.Message, q)
	}
	if s := summaryLens(c, uri, count); !strings.Contains(s, "2 calls") {
		t.Errorf("Count's summary lens after re-profile %q", s)
	}

	// Pairs: two programs reach it; the question says how to give them
	// arguments, and Cancel runs nothing.
	pairs := lineOf(t, src, "func Pairs(")
	_, _, end, mark = profileAndWait(t, c, uri, "Pairs")
	q = questions(mark)
	if end.Value.Message != "canceled: no entry chosen" || len(q) != 1 {
		t.Fatalf("Pairs: %q after %d questions", end.Value.Message, len(q))
	}
	if got, want := q[0].titles(), []string{"run cmd/pairs", "run cmd/tool", "Cancel"}; !reflect.DeepEqual(got, want) {
		t.Errorf("actions %q, want %q", got, want)
	}
	if !strings.Contains(q[0].Message, `"entries" setting`) || !strings.Contains(q[0].Message, `"Pairs": {"run"`) {
		t.Errorf("question %q does not say how to give arguments", q[0].Message)
	}
	if titles := lensTitles(c.codeLenses(uri))[pairs]; !reflect.DeepEqual(titles, []string{"Profile memory"}) {
		t.Errorf("Pairs' lens after Cancel %q", titles)
	}

	// Tally: only cmd/tool reaches it; it runs once the user says so.
	tally := lineOf(t, src, "func Tally(")
	_, _, end, mark = profileAndWait(t, c, uri, "Tally")
	if q := questions(mark); end.Value.Message != "done" || len(q) != 1 || q[0].titles()[0] != "run cmd/tool" {
		t.Fatalf("Tally: %q, asked %+v", end.Value.Message, q)
	}
	if s := summaryLens(c, uri, tally); !strings.Contains(s, "1 call") || !strings.HasSuffix(s, " · via run cmd/tool") {
		t.Errorf("Tally's summary lens %q", s)
	}

	// The entries setting runs a program with arguments, unasked.
	c.notify("workspace/didChangeConfiguration", map[string]any{"settings": map[string]any{"memlens": map[string]any{
		"entries": map[string]any{"Pairs": map[string]any{"run": "./xpkg/cmd/tool", "args": []string{"a", "b", "c"}}},
	}}})
	time.Sleep(100 * time.Millisecond) // a notification: let it apply
	_, _, end, mark = profileAndWait(t, c, uri, "Pairs")
	if q := questions(mark); end.Value.Message != "done" || len(q) != 0 {
		t.Fatalf("Pairs with the setting: %q, asked %+v", end.Value.Message, q)
	}
	counts = hintCounts(t, c.inlayHints(uri, pairs, pairs+12))
	if counts[lineOf(t, src, `out = append(out, a+"-"+b)`)] != 6 {
		t.Errorf("Pairs' hints %v, want 6 pairs appended", counts)
	}

	// Clear forgets Count's choice: the next profile asks again.
	c.mustCall("workspace/executeCommand", map[string]any{"command": "memlens.clear",
		"arguments": []any{map[string]any{"uri": uri, "function": "Count"}}}, nil)
	_, _, end, mark = profileAndWait(t, c, uri, "Count")
	if q := questions(mark); end.Value.Message != "done" || len(q) != 1 {
		t.Errorf("Count after Clear: %q, asked %d times", end.Value.Message, len(q))
	}
	if len(asked) != 4 {
		t.Errorf("asked %d questions in all, want 4", len(asked))
	}
}

// A client that cannot answer window/showMessageRequest: the first of
// several packages' tests runs, as on the command line, and a program is
// not started (the error says to use the entries setting). A question
// still open when the user cancels the progress ends the run quietly.
func TestEntryQuestionUnanswered(t *testing.T) {
	c := startServer(t)
	root, _ := filepath.Abs("../testdata/go")
	c.initialize(root, true, nil)
	uri, src := openTestdata(t, c, filepath.Join(root, "xpkg", "lib", "lib.go"), "go")
	c.answer("window/showMessageRequest", func(json.RawMessage) any {
		return &rpcError{Code: -32601, Message: "method not found"}
	})

	_, _, end, _ := profileAndWait(t, c, uri, "Count")
	if end.Value.Message != "done" {
		t.Fatalf("Count: %q", end.Value.Message)
	}
	if s := summaryLens(c, uri, lineOf(t, src, "func Count(")); !strings.HasSuffix(s, " · via report.TestTop") {
		t.Errorf("Count's summary lens %q, want the first option's", s)
	}
	_, _, end, mark := profileAndWait(t, c, uri, "Tally")
	if !strings.HasPrefix(end.Value.Message, "failed: ") {
		t.Errorf("Tally: %q, want a failure", end.Value.Message)
	}
	c.waitEvent(mark, 10*time.Second, "the error about the entries setting", isShowMessage(1, "only a program runs Tally", `"entries" setting`))

	// Nobody answers; the user cancels the progress instead.
	asked := make(chan struct{}, 1)
	release := make(chan struct{})
	t.Cleanup(func() { close(release) })
	c.answer("window/showMessageRequest", func(json.RawMessage) any {
		asked <- struct{}{}
		<-release
		return nil
	})
	mark = c.mark()
	c.mustCall("workspace/executeCommand", map[string]any{"command": "memlens.profile",
		"arguments": []any{map[string]any{"uri": uri, "function": "Pairs"}}}, nil)
	select {
	case <-asked:
	case <-time.After(2 * time.Minute):
		t.Fatal("not asked about Pairs")
	}
	create := c.waitEvent(mark, 10*time.Second, "progress create", isMethod("window/workDoneProgress/create"))
	var p struct {
		Token json.RawMessage `json:"token"`
	}
	json.Unmarshal(create.Params, &p)
	c.notify("window/workDoneProgress/cancel", map[string]any{"token": p.Token})
	c.waitEvent(mark, 30*time.Second, "the end of the canceled run", func(m message) bool {
		var pe progressEvent
		return m.Method == "$/progress" && json.Unmarshal(m.Params, &pe) == nil && pe.Value.Kind == "end" && pe.Value.Message == "canceled: no entry chosen"
	})
	if q := c.eventsSince(mark, "window/showMessage"); len(q) != 0 {
		t.Errorf("messages after the cancel: %s", q[0].Params)
	}
}

// An entry picked earlier that no longer runs the function (its test was
// renamed, here in an unsaved buffer) fails once with a message that says
// so, and is forgotten: the next profile asks again, offering the tests
// as they are now.
func TestEntryChoiceForgottenWhenGone(t *testing.T) {
	c := startServer(t)
	root, _ := filepath.Abs("../testdata/go")
	c.initialize(root, true, nil)
	uri, src := openTestdata(t, c, filepath.Join(root, "xpkg", "lib", "lib.go"), "go")
	answer := "app: TestEmpty, TestSummary"
	c.answer("window/showMessageRequest", func(json.RawMessage) any {
		return map[string]string{"title": answer}
	})
	count := lineOf(t, src, "func Count(")
	_, _, end, _ := profileAndWait(t, c, uri, "Count")
	if s := summaryLens(c, uri, count); end.Value.Message != "done" || !strings.HasSuffix(s, " · via app: TestEmpty, TestSummary") {
		t.Fatalf("Count: %q, lens %q", end.Value.Message, s)
	}

	testFile := filepath.Join(root, "xpkg", "app", "app_test.go")
	disk, err := os.ReadFile(testFile)
	if err != nil {
		t.Fatal(err)
	}
	c.didOpen(fileURI(testFile), "go", strings.Replace(string(disk), "func TestSummary(", "func TestSummaryOfWords(", 1))
	_, _, end, mark := profileAndWait(t, c, uri, "Count")
	if !strings.HasPrefix(end.Value.Message, "failed: ") {
		t.Fatalf("Count with its chosen test renamed: %q, want a failure", end.Value.Message)
	}
	c.waitEvent(mark, 10*time.Second, "the error naming the chosen entry", isShowMessage(1,
		"the entry chosen earlier (app: TestEmpty, TestSummary) no longer runs it", "no test, benchmark or example named TestSummary", "profile again to choose"))

	answer = "app: TestEmpty, TestSummaryOfWords"
	_, _, end, mark = profileAndWait(t, c, uri, "Count")
	q := c.eventsSince(mark, "window/showMessageRequest")
	if end.Value.Message != "done" || len(q) != 1 {
		t.Fatalf("Count after the failure: %q after %d questions", end.Value.Message, len(q))
	}
	if s := summaryLens(c, uri, count); !strings.Contains(s, "2 calls") || !strings.HasSuffix(s, " · via app: TestEmpty, TestSummaryOfWords") {
		t.Errorf("Count's summary lens %q", s)
	}
}
