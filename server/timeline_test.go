package server

import (
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/memlens/memlens/profile"
)

const MiB = 1 << 20

// samples builds a timeline every 10 ms from (rss MiB, function, line).
func samples(points ...any) *profile.Timeline {
	tl := &profile.Timeline{IntervalMS: 10}
	for i := 0; i+2 < len(points); i += 3 {
		tl.Samples = append(tl.Samples, profile.Sample{
			TMS: float64(10 * len(tl.Samples)), RSSBytes: uint64(points[i].(int)) * MiB, HeapBytes: uint64(points[i].(int)) * MiB / 2,
			Function: points[i+1].(string), Line: points[i+2].(int),
		})
	}
	return tl
}

func TestRSSSparkline(t *testing.T) {
	tests := []struct {
		name  string
		tl    *profile.Timeline
		width int
		want  string
	}{
		{"no timeline", nil, 8, ""},
		{"one sample", samples(1, "", 0), 8, ""},
		{"flat", samples(3, "", 0, 3, "", 0, 3, "", 0), 8, "▁▁▁"},
		{"steps up and a drop", samples(1, "", 0, 2, "", 0, 3, "", 0, 4, "", 0, 5, "", 0, 6, "", 0, 7, "", 0, 8, "", 0, 1, "", 0), 9, "▁▂▃▄▅▆▇█▁"},
		// Two samples a part: each part shows its highest.
		{"peaks survive binning", samples(1, "", 0, 8, "", 0, 1, "", 0, 1, "", 0, 1, "", 0), 2, "█▁"},
		// Fewer samples than the width: one character a sample.
		{"width capped by samples", samples(1, "", 0, 5, "", 0), 16, "▁█"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := rssSparkline(tt.tl, tt.width); got != tt.want {
				t.Errorf("rssSparkline = %q, want %q", got, tt.want)
			}
		})
	}
	// Parts with no sample repeat the level before (RSS is a level).
	tl := &profile.Timeline{Samples: []profile.Sample{{TMS: 0, RSSBytes: MiB}, {TMS: 10, RSSBytes: 8 * MiB}, {TMS: 11, RSSBytes: 8 * MiB}, {TMS: 100, RSSBytes: MiB}}}
	if got := rssSparkline(tl, 4); got != "███▁" {
		t.Errorf("gaps: %q, want ███▁", got)
	}
}

func TestLineActivity(t *testing.T) {
	// F runs from 10 to 80 ms: line 6 in the middle, line 4 at both ends.
	tl := samples(1, "", 0, 2, "F", 4, 2, "F", 5, 3, "F", 6, 3, "F", 6, 3, "F", 6, 3, "", 0, 3, "F", 4, 3, "F", 8, 1, "", 0)
	tests := []struct {
		line, width int
		spark       string
	}{
		{6, 8, "··███···"},
		{4, 8, "█·····█·"},
		{5, 8, "·█······"},
		{7, 8, "········"},
		// Two samples a part: half the part on the line is ▄.
		{5, 4, "▄···"},
		{6, 4, "·█▄·"},
		{6, 100, "··███···"}, // no wider than the samples
	}
	for _, tt := range tests {
		a, ok := lineActivity(tl, "F", tt.line, tt.width)
		if !ok {
			t.Fatalf("line %d: no activity", tt.line)
		}
		if a.spark != tt.spark || a.fromMS != 10 || a.toMS != 80 {
			t.Errorf("line %d width %d: %+v, want %q from 10 to 80", tt.line, tt.width, a, tt.spark)
		}
	}
	if _, ok := lineActivity(tl, "G", 1, 8); ok {
		t.Errorf("a function never sampled has activity")
	}
	if _, ok := lineActivity(nil, "F", 1, 8); ok {
		t.Errorf("no timeline has activity")
	}
}

// timelineResult is what memlens.timeline returns, decoded.
type timelineResult struct {
	Run        uint64             `json:"run"`
	URI        string             `json:"uri"`
	Function   string             `json:"function"`
	Language   string             `json:"language"`
	Status     string             `json:"status"`
	IntervalMS float64            `json:"interval_ms"`
	Samples    []profile.Sample   `json:"samples"`
	Calls      []profile.CallSpan `json:"calls"`
	Lines      []struct {
		Line    int     `json:"line"`
		At      *int    `json:"at"`
		Content string  `json:"content"`
		Samples uint64  `json:"samples"`
		Share   float64 `json:"share"`
	} `json:"lines"`
	Stale bool `json:"stale"`
}

func (c *testClient) timeline(args any) (timelineResult, error) {
	var out timelineResult
	params := map[string]any{"command": "memlens.timeline"}
	if args != nil {
		params["arguments"] = []any{args}
	}
	raw, err := c.call("workspace/executeCommand", params)
	if err == nil {
		err = json.Unmarshal(raw, &out)
	}
	return out, err
}

// TestTimelineCommand checks memlens.timeline, the Timeline lens and the
// hover's time share over a stored profile with a timeline built here;
// integration_test.go checks them on real runs.
func TestTimelineCommand(t *testing.T) {
	c, s := newInProcessClient(t)
	dir := t.TempDir()
	file := filepath.Join(dir, "a.go")
	src := "package a\n\nfunc F() []int {\n\tx := make([]int, 10)\n\tfor i := range x {\n\t\tx[i] = i\n\t}\n\treturn x\n}\n\nfunc G() {}\n"
	if err := os.WriteFile(file, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	res := c.initialize(dir, true, nil)
	if !strings.Contains(mustJSON(t, res), `"memlens.timeline"`) {
		t.Errorf("memlens.timeline is not in executeCommandProvider: %s", mustJSON(t, res))
	}
	uri := fileURI(file)
	c.didOpen(uri, "go", src)

	if _, err := c.timeline(nil); err == nil || !strings.Contains(err.Error(), "no profile yet") {
		t.Errorf("timeline before any run: %v", err)
	}
	if _, err := c.timeline(map[string]any{"uri": uri, "function": "F"}); err == nil || !strings.Contains(err.Error(), "no profile of F") {
		t.Errorf("timeline of an unprofiled function: %v", err)
	}

	// A run without a timeline (not sampled): no Timeline lens, a clear error.
	loadProfile(t, s, file, src, "F", map[int]uint64{3: 2, 4: 2, 5: 13, 6: 11, 8: 2})
	if titles := lensTitles(c.codeLenses(uri))[2]; len(titles) != 3 {
		t.Errorf("lenses without a timeline: %q", titles)
	}
	if _, err := c.timeline(map[string]any{"uri": uri, "function": "F"}); err == nil || !strings.Contains(err.Error(), "not sampled") {
		t.Errorf("timeline of an unsampled run: %v", err)
	}
	if h := c.hover(uri, 3, 1); strings.Contains(h, "time (share") || strings.Contains(h, "when it ran") {
		t.Errorf("hover of an unsampled run mentions time:\n%s", h)
	}

	// The same with a timeline as the runner gives it: two calls, line 6
	// the busiest, RSS up in steps and down at the end, the samples on
	// each line counted in the lines.
	loadProfile(t, s, file, src, "F", map[int]uint64{3: 2, 4: 2, 5: 13, 6: 11, 8: 2})
	tl := samples(1, "", 0, 2, "F", 4, 2, "F", 5, 3, "F", 6, 3, "F", 6, 3, "F", 6, 3, "", 0, 3, "F", 4, 3, "F", 8, 1, "", 0)
	tl.Calls = []profile.CallSpan{{Function: "F", StartMS: 10, EndMS: 60, Calls: 1}, {Function: "G", StartMS: 60, EndMS: 61, Calls: 1}, {Function: "F", StartMS: 70, EndMS: 90, Calls: 1}}
	s.mu.Lock()
	r := s.runs[runKey{path: file, name: "F"}].cur
	r.result.Timeline = tl
	r.fn.TimeSamples = 7
	for l, n := range map[int]uint64{4: 2, 5: 1, 6: 3, 8: 1} {
		line, _ := r.fn.Line(l)
		line.TimeSamples, line.TimeShare = n, float64(n)/7
	}
	s.generation++
	s.mu.Unlock()

	titles := lensTitles(c.codeLenses(uri))[2]
	if len(titles) != 4 || !strings.HasPrefix(titles[0], "memory: ") || titles[1] != "Timeline ▁▅▅██████▁" || titles[2] != "Re-profile" || titles[3] != "Clear" {
		t.Errorf("lenses with a timeline: %q", titles)
	}
	for _, l := range c.codeLenses(uri) {
		if strings.HasPrefix(l.Command.Title, "Timeline") {
			if l.Command.Command != "memlens.timeline" || len(l.Command.Arguments) != 1 || !strings.Contains(string(l.Command.Arguments[0]), `"function":"F","run":`) {
				t.Errorf("Timeline lens command %+v", l.Command)
			}
		}
	}

	got, err := c.timeline(map[string]any{"uri": uri, "function": "F"})
	if err != nil {
		t.Fatal(err)
	}
	if got.Run == 0 || got.Function != "F" || got.URI != uri || got.IntervalMS != 10 || len(got.Samples) != len(tl.Samples) || got.Stale {
		t.Errorf("timeline: %+v", got)
	}
	if mustJSON(t, got.Samples) != mustJSON(t, tl.Samples) {
		t.Errorf("samples %s, want %s", mustJSON(t, got.Samples), mustJSON(t, tl.Samples))
	}
	if want := `[{"function":"F","start_ms":10,"end_ms":60,"calls":1},{"function":"F","start_ms":70,"end_ms":90,"calls":1}]`; mustJSON(t, got.Calls) != want {
		t.Errorf("calls %s, want %s", mustJSON(t, got.Calls), want)
	}
	type lineWant struct {
		line, at int
		samples  uint64
		share    float64
	}
	wantLines := []lineWant{{3, 2, 0, 0}, {4, 3, 2, 2.0 / 7}, {5, 4, 1, 1.0 / 7}, {6, 5, 3, 3.0 / 7}, {8, 7, 1, 1.0 / 7}}
	if len(got.Lines) != len(wantLines) {
		t.Fatalf("lines %+v, want %v", got.Lines, wantLines)
	}
	for i, w := range wantLines {
		l := got.Lines[i]
		if l.Line != w.line || l.At == nil || *l.At != w.at || l.Samples != w.samples || l.Share != w.share || l.Content != strings.Split(src, "\n")[w.line-1] {
			t.Errorf("line %d: %+v, want %+v", w.line, l, w)
		}
	}

	// The hover of the busiest line: its share, and when it ran.
	h := c.hover(uri, 5, 2)
	for _, want := range []string{"| time (share of the function's) | 42.9% |  |", "when it ran: `··███···` 10 ms–80 ms into the run (3 of the 7 samples that found `F` running, one every 10 ms)"} {
		if !strings.Contains(h, want) {
			t.Errorf("hover lacks %q:\n%s", want, h)
		}
	}

	// The same run by id, by position (inside F, or in G which has no run:
	// the file's latest), by file, and with no arguments.
	for _, args := range []any{
		map[string]any{"run": got.Run},
		map[string]any{"uri": uri, "position": pos{Line: 5, Character: 0}},
		map[string]any{"uri": uri, "position": pos{Line: 10, Character: 0}},
		map[string]any{"uri": uri},
		nil,
	} {
		if again, err := c.timeline(args); err != nil || again.Run != got.Run || len(again.Samples) != len(tl.Samples) {
			t.Errorf("timeline(%v): run %d, %v", args, again.Run, err)
		}
	}
	if _, err := c.timeline(map[string]any{"run": got.Run + 100}); err == nil || !strings.Contains(err.Error(), "no run") {
		t.Errorf("timeline of an unknown run: %v", err)
	}
	if _, err := c.timeline(map[string]any{"function": "F"}); err == nil || !strings.Contains(err.Error(), "needs its uri") {
		t.Errorf("timeline of a function without uri: %v", err)
	}
	if _, err := c.timeline(map[string]any{"uri": fileURI(filepath.Join(dir, "b.go"))}); err == nil || !strings.Contains(err.Error(), "no profile in b.go") {
		t.Errorf("timeline of a file without runs: %v", err)
	}

	// Lines move with edits; an edited line has no place (at null), and
	// the timeline says the function is stale.
	c.didChange(uri, 2, rng{Start: pos{Line: 1}, End: pos{Line: 1}}, "// one\n// two\n")
	c.didChange(uri, 3, rng{Start: pos{Line: 7, Character: 9}, End: pos{Line: 7, Character: 10}}, "2*i")
	moved, err := c.timeline(map[string]any{"uri": uri, "function": "F"})
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range moved.Lines {
		switch {
		case l.Line == 6 && l.At != nil:
			t.Errorf("the edited line 6 is still placed at %d", *l.At)
		case l.Line != 6 && (l.At == nil || *l.At != l.Line+1):
			t.Errorf("line %d placed at %v, want %d", l.Line, l.At, l.Line+1)
		}
	}
	if !moved.Stale {
		t.Errorf("timeline of an edited function is not stale")
	}
}

func mustJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestTimelineSession profiles the staircase testdata (one more 16 MiB
// block every 100 ms for three steps, then all freed) with the real
// server over its pipes, Go and Python: first with sampleInterval "off"
// (no timeline), then every 5 ms, and checks what an editor gets: the Timeline
// lens with the RSS climbing in its sparkline, memlens.timeline's samples
// with the climb and the drop after the free and the function's lines,
// and the hover's time share of a wait.
func TestTimelineSession(t *testing.T) {
	tests := []struct {
		lang, dir, file, function, def string
		sleep                          string // the wait after each step
	}{
		{"go", "../testdata/go", "staircase/staircase.go", "Climb", "func Climb() int {", "\t\ttime.Sleep(100 * time.Millisecond)"},
		{"python", "../testdata/python", "staircase.py", "climb", "def climb():", "        time.sleep(0.1)"},
	}
	for _, tt := range tests {
		t.Run(tt.lang, func(t *testing.T) {
			if tt.lang == "python" {
				needPython(t)
			}
			c := startServer(t)
			root, _ := filepath.Abs(tt.dir)
			// The interval reaches the runner: "off" takes no timeline.
			c.initialize(root, true, map[string]any{"memlens": map[string]any{"sampleInterval": "off"}})
			uri, src := openTestdata(t, c, filepath.Join(root, tt.file), tt.lang)
			def, sleep := lineOf(t, src, tt.def), lineOf(t, src, tt.sleep)
			if _, _, end, _ := profileAndWait(t, c, uri, tt.function); end.Value.Message != "done" {
				t.Fatalf("progress end %+v", end.Value)
			}
			if titles := lensTitles(c.codeLenses(uri))[def]; len(titles) != 3 {
				t.Errorf("lenses after a run with sampleInterval off: %q, want no Timeline", titles)
			}
			if _, err := c.timeline(map[string]any{"uri": uri, "function": tt.function}); err == nil || !strings.Contains(err.Error(), "not sampled") {
				t.Errorf("timeline of a run with sampleInterval off: %v", err)
			}
			c.notify("workspace/didChangeConfiguration", map[string]any{"settings": map[string]any{"memlens": map[string]any{"sampleInterval": "5ms"}}})
			if _, _, end, _ := profileAndWait(t, c, uri, tt.function); end.Value.Message != "done" {
				t.Fatalf("progress end %+v", end.Value)
			}

			titles := lensTitles(c.codeLenses(uri))[def]
			if len(titles) != 4 || !strings.HasPrefix(titles[1], "Timeline ") {
				t.Fatalf("lenses %q, want the summary, Timeline, Re-profile, Clear", titles)
			}
			// Low at the start, the top (█) in the middle, low again after the free.
			spark := []rune(strings.TrimPrefix(titles[1], "Timeline "))
			level := func(r rune) int { return slices.Index(sparkBlocks, r) }
			if len(spark) < 8 || level(spark[0]) > 3 || level(spark[len(spark)-1]) > 3 || !slices.Contains(spark[1:len(spark)-1], '█') {
				t.Errorf("Timeline lens %q: want the RSS low at both ends and at the top (█) between", titles[1])
			}
			t.Logf("lens %q", titles[1])

			tl, err := c.timeline(map[string]any{"uri": uri, "function": tt.function})
			if err != nil {
				t.Fatal(err)
			}
			if tl.Function != tt.function || tl.Language != tt.lang || tl.IntervalMS != 5 || tl.Status != "ok" {
				t.Errorf("timeline of %s: function %q, language %q, interval %v ms, status %q", tt.function, tl.Function, tl.Language, tl.IntervalMS, tl.Status)
			}
			// 0.4 s of the function alone at 5 ms (fewer where a loaded
			// machine delays the sampler).
			if len(tl.Samples) < 40 || len(tl.Calls) < 1 {
				t.Fatalf("%d samples, %d call stretches", len(tl.Samples), len(tl.Calls))
			}
			fnLines := map[int]bool{}
			for _, l := range tl.Lines {
				fnLines[l.Line] = true
			}
			var peak uint64
			onFunc := 0
			for i, sm := range tl.Samples {
				if i > 0 && sm.TMS <= tl.Samples[i-1].TMS {
					t.Errorf("sample %d at %v ms, not after %v ms", i, sm.TMS, tl.Samples[i-1].TMS)
				}
				if sm.Function == tt.function {
					onFunc++
					if !fnLines[sm.Line] {
						t.Errorf("sample %d on line %d, which is not a line of %s that ran", i, sm.Line, tt.function)
					}
				}
				peak = max(peak, sm.RSSBytes)
			}
			first, last := tl.Samples[0].RSSBytes, tl.Samples[len(tl.Samples)-1].RSSBytes
			if peak < first+32*MiB {
				t.Errorf("RSS from %s to a peak of %s: want a climb of 48 MiB", profile.Bytes(int64(first)), profile.Bytes(int64(peak)))
			}
			if last > peak-24*MiB {
				t.Errorf("RSS at the end %s, peak %s: want the drop after the free", profile.Bytes(int64(last)), profile.Bytes(int64(peak)))
			}
			// Every wait holds samples (100 ms and more each); the shares
			// add up to the whole function.
			var total float64
			for _, l := range tl.Lines {
				total += l.Share
				if strings.Contains(l.Content, "leep(") && l.Samples < 5 {
					t.Errorf("the wait on line %d holds %d samples", l.Line, l.Samples)
				}
				if l.At == nil || *l.At != l.Line-1 {
					t.Errorf("line %d placed at %v", l.Line, l.At)
				}
			}
			if total > 1.0001 || total < 0.99 {
				t.Errorf("the shares of the lines add up to %.3f", total)
			}

			h := c.hover(uri, sleep, 4)
			re := regexp.MustCompile("\\| time \\(share of the function's\\) \\| ([\\d.]+)% \\|(?s:.*)when it ran: `[·▁▂▃▄▅▆▇█]+` .* into the run \\((\\d+) of the (\\d+) samples that found `" + regexp.QuoteMeta(tt.function) + "` running, one every 5 ms\\)")
			m := re.FindStringSubmatch(h)
			if m == nil {
				t.Fatalf("hover of the wait lacks the time share and sparkline (%s):\n%s", re, h)
			}
			if n, _ := strconv.Atoi(m[3]); n != onFunc {
				t.Errorf("hover counts %s samples of %s, the timeline %d", m[3], tt.function, onFunc)
			}
		})
	}
}
