package editors_test

import (
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// nvimTimelineReport is what editors/nvim/test/e2e_init.lua writes when
// its plan asks for the timeline.
type nvimTimelineReport struct {
	nvimReport
	Timeline *nvimTimeline `json:"timeline"`
}

type nvimTimeline struct {
	Menu    []string `json:"menu"` // the lenses offered on the function's line
	Name    string   `json:"name"`
	Buftype string   `json:"buftype"`
	Lines   []string `json:"lines"`
	Row     string   `json:"row"` // the row <CR> was pressed on
	Jump    struct {
		BufIsSource bool `json:"buf_is_source"`
		Line        int  `json:"line"`
	} `json:"jump"`
	Closed bool `json:"closed"`
	// Run is the run shown; Followed, the buffer after a re-profile with
	// it open.
	Run      int `json:"run"`
	Followed struct {
		Run        int      `json:"run"`
		SameWindow bool     `json:"same_window"`
		Lines      []string `json:"lines"`
	} `json:"followed"`
}

// TestNeovimTimeline profiles each timeline target in headless Neovim and
// opens its memory timeline, by the Timeline lens (Go) or :MemlensTimeline
// (Python): the lens shows the RSS as a sparkline, the scratch buffer a
// chart that climbs and drops as the function holds and frees memory and
// the function's lines by time, and <CR> on a line goes to it.
func TestNeovimTimeline(t *testing.T) {
	nvims := neovims(t)
	bin := memlensBinary(t)
	root := repoRoot(t)
	for _, nv := range nvims {
		for i, tg := range timelineTargets {
			t.Run(nv.version+"/"+tg.name, func(t *testing.T) { neovimTimeline(t, nv, root, bin, tg, []string{"lens", "command"}[i%2]) })
		}
	}
}

func neovimTimeline(t *testing.T, nv neovim, root, bin string, tg timelineTarget, how string) {
	var rep nvimTimelineReport
	runNvimDriver(t, nv, filepath.Join(root, tg.file), nil, map[string]any{
		"bin": bin, "line": tg.funcLine, "hover_line": tg.sleepLines[0], "mode": "lens", "timeline": how,
	}, &rep)
	tl := rep.Timeline
	if tl == nil {
		t.Fatalf("no timeline in the report; steps %v", rep.Steps)
	}
	checkTimelineHover(t, tg, rep.Hover)
	lens := ""
	for _, l := range rep.LensesAfter {
		if l.Line == tg.funcLine && strings.HasPrefix(l.Title, "Timeline") {
			lens = l.Title
		}
	}
	if !timelineLensRE.MatchString(lens) {
		t.Errorf("Timeline lens %q, want %s; lenses %+v", lens, timelineLensRE, rep.LensesAfter)
	}
	if how == "lens" {
		if len(tl.Menu) != 4 || !summaryRE.MatchString(tl.Menu[0]) || tl.Menu[1] != lens || tl.Menu[2] != "Re-profile" || tl.Menu[3] != "Clear" {
			t.Errorf("the lenses offered on line %d: %q, want the summary, %q, Re-profile, Clear", tg.funcLine, tl.Menu, lens)
		}
	}
	if tl.Name != "memlens://timeline/"+tg.function || tl.Buftype != "nofile" || !tl.Closed {
		t.Errorf("timeline buffer %q (buftype %q, closed by q: %v)", tl.Name, tl.Buftype, tl.Closed)
	}
	src, err := os.ReadFile(filepath.Join(root, tg.file))
	if err != nil {
		t.Fatal(err)
	}
	byTime := checkTextTimeline(t, tg, strings.Split(string(src), "\n"), tl.Lines)
	if m := timeRowRE.FindStringSubmatch(tl.Row); m == nil {
		t.Errorf("<CR> pressed on %q, not a line by time", tl.Row)
	} else if n, _ := strconv.Atoi(m[2]); !tl.Jump.BufIsSource || tl.Jump.Line != n {
		t.Errorf("<CR> on %q went to line %d (source buffer: %v), want line %d", tl.Row, tl.Jump.Line, tl.Jump.BufIsSource, n)
	}
	if len(byTime) == 0 {
		t.Errorf("no lines by time")
	}
	// The re-profile's run replaced the shown one in the same window, and
	// is drawn as fully.
	if f := tl.Followed; tl.Run == 0 || f.Run <= tl.Run || !f.SameWindow {
		t.Errorf("after a re-profile the timeline shows run %d (before: %d), in the same window: %v", f.Run, tl.Run, f.SameWindow)
	} else if len(checkTextTimeline(t, tg, strings.Split(string(src), "\n"), f.Lines)) == 0 {
		t.Errorf("no lines by time after the re-profile")
	}
	if t.Failed() {
		t.Logf("timeline buffer:\n%s", strings.Join(tl.Lines, "\n"))
	}
}

// timeRowRE reads a row of the timeline's lines by time:
// " 40.0% 9    ··██·█···  block = …" (a * after the number: edited since).
var timeRowRE = regexp.MustCompile(`^\s*([\d.]+)% (\d+)(\*?)\s+([·▁▂▃▄▅▆▇█]+)  (.*)$`)

// blocks are the eighths of a chart row.
var blocks = []rune("▁▂▃▄▅▆▇█")

// chartLabelRE reads the RSS labels at the top and bottom of the chart.
var chartLabelRE = regexp.MustCompile(`^\s*([\d.]+) (B|KiB|MiB|GiB) ┤`)

// checkTextTimeline judges the timeline text of tg as Neovim shows it (the
// scratch buffer, or the screen with screen true): the header, an RSS chart
// that climbs by the blocks tg holds and is lower at the end, after the
// free, and the lines by time, each with its source text. It returns the
// lines by time, line → share in percent.
func checkTextTimeline(t *testing.T, tg timelineTarget, src, text []string) map[int]float64 {
	t.Helper()
	if len(text) == 0 || !strings.HasPrefix(text[0], "memlens timeline · "+tg.function+" · ") {
		t.Errorf("timeline header %q", strings.Join(text[:min(1, len(text))], ""))
	}
	var labels []float64
	var chart []string // the rows of the chart, bars only
	byTime := map[int]float64{}
	inLines := false
	for _, row := range text {
		if m := chartLabelRE.FindStringSubmatch(row); m != nil {
			labels = append(labels, mib(m[1], m[2]))
		}
		if i := strings.Index(row, " ┤"); i >= 0 {
			chart = append(chart, row[i+len(" ┤"):])
		} else if i := strings.Index(row, " │"); i >= 0 && len(chart) > 0 {
			chart = append(chart, row[i+len(" │"):])
		}
		if strings.HasPrefix(row, "lines of "+tg.function+" by time") {
			inLines = true
			continue
		}
		if !inLines {
			continue
		}
		if strings.TrimSpace(row) == "" {
			break
		}
		m := timeRowRE.FindStringSubmatch(row)
		if m == nil {
			t.Errorf("line by time %q, want %s", row, timeRowRE)
			continue
		}
		n, _ := strconv.Atoi(m[2])
		share, _ := strconv.ParseFloat(m[1], 64)
		byTime[n] = share
		if n < 1 || n > len(src) || strings.TrimSpace(src[n-1]) != strings.TrimRight(m[5], " ") {
			t.Errorf("line by time %q: not the source of line %d", row, n)
		}
	}
	if len(labels) != 2 || labels[0]-labels[1] < tg.climbMiB {
		t.Errorf("RSS chart from %v MiB: want a climb of %.0f MiB", labels, tg.climbMiB)
	}
	if len(chart) != 8 {
		t.Errorf("RSS chart has %d rows, want 8", len(chart))
	} else {
		// Column heights in eighths of a row: the highest block of each.
		heights := map[int]int{}
		width := 0
		for row, line := range chart {
			for col, r := range []rune(strings.TrimRight(line, " ")) {
				width = max(width, col+1)
				if i := slices.Index(blocks, r); i >= 0 {
					heights[col] = max(heights[col], (len(chart)-1-row)*8+i+1)
				}
			}
		}
		highest := 0
		for _, h := range heights {
			highest = max(highest, h)
		}
		if last := heights[width-1]; highest != 64 || last > highest/2 {
			t.Errorf("RSS chart: highest column %d/64, last %d: want the peak at the top and the end below half, after the free", highest, last)
		}
	}
	sum := 0.0
	for _, s := range byTime {
		sum += s
	}
	if sum > 100.5 {
		t.Errorf("lines by time add up to %.1f%%", sum)
	}
	found := false
	for _, l := range tg.sleepLines {
		_, ok := byTime[l]
		found = found || ok
	}
	if !found {
		t.Errorf("lines by time %v lack every one of the waits %v", byTime, tg.sleepLines)
	}
	return byTime
}

// TestNeovimTimelineScreen runs Neovim in tmux, profiles the Python
// timeline target, and reads the screen: the Timeline lens with its
// sparkline, then, after :MemlensTimeline typed as a user does, the chart
// and the lines by time.
func TestNeovimTimelineScreen(t *testing.T) {
	nvims := neovims(t)
	tmux := need(t, "tmux")
	bin := memlensBinary(t)
	for _, nv := range nvims {
		t.Run(nv.version, func(t *testing.T) { neovimTimelineScreen(t, nv, tmux, bin) })
	}
}

func neovimTimelineScreen(t *testing.T, nv neovim, tmux, bin string) {
	root := repoRoot(t)
	tg := timelineTargets[len(timelineTargets)-1]
	tm := startNvimInTmux(t, nv, tmux, "e2e-timeline", 160, 60, filepath.Join(root, tg.file), map[string]any{"bin": bin, "line": tg.funcLine})
	src, err := os.ReadFile(filepath.Join(root, tg.file))
	if err != nil {
		t.Fatal(err)
	}
	srcLines := strings.Split(string(src), "\n")

	// The lens line: "   10 def climb():  memory: … | Timeline ▁▅█▁ | Re-profile | Clear"
	// (in another order on Neovim 0.10).
	lensRE := regexp.MustCompile(`(Timeline [▁▂▃▄▅▆▇█]+)`)
	screen := waitScreen(t, tm, 2*time.Minute, "the Timeline lens", func(screen string) bool {
		return lensRE.MatchString(screen)
	})
	lens := lensRE.FindStringSubmatch(screen)[1]
	if !timelineLensRE.MatchString(lens) {
		t.Errorf("Timeline lens on screen %q, want %s", lens, timelineLensRE)
	}

	if out, err := tm("send-keys", "-t", "e2e", ":MemlensTimeline", "Enter"); err != nil {
		t.Fatalf("tmux send-keys: %v\n%s", err, out)
	}
	screen = waitScreen(t, tm, 30*time.Second, "the timeline", func(screen string) bool {
		return strings.Contains(screen, "lines of "+tg.function+" by time") && strings.Contains(screen, "memlens timeline · ")
	})
	os.WriteFile(filepath.Join(artifactDir(t, "nvim"), "screen-timeline-"+nv.version+".txt"), []byte(screen), 0o644)
	// The timeline window is the bottom split: from its header to the
	// filler lines (~) or the command line under it.
	rows := strings.Split(screen, "\n")
	start := -1
	for i, r := range rows {
		if strings.HasPrefix(r, "memlens timeline · ") {
			start = i
		}
	}
	var text []string
	for _, r := range rows[start:] {
		if strings.HasPrefix(r, "~") || strings.HasPrefix(r, ":") {
			break
		}
		text = append(text, strings.TrimRight(r, " "))
	}
	checkTextTimeline(t, tg, srcLines, text)
	if t.Failed() {
		t.Logf("screen:\n%s", screen)
	}
}

// waitScreen captures the tmux pane until ok holds or the time is up.
func waitScreen(t *testing.T, tm func(...string) (string, error), timeout time.Duration, what string, ok func(string) bool) string {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		screen, err := tm("capture-pane", "-p", "-t", "e2e")
		if err != nil {
			t.Fatalf("tmux capture-pane: %v\n%s", err, screen)
		}
		if ok(screen) {
			return screen
		}
		if time.Now().After(deadline) {
			t.Fatalf("no %s on screen within %v:\n%s", what, timeout, screen)
		}
		time.Sleep(500 * time.Millisecond)
	}
}
