package editors_test

import (
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// vscodeReport is what editors/vscode/e2e/run.mjs writes.
type vscodeReport struct {
	Missing *struct {
		Notification string `json:"notification"`
		Screenshot   string `json:"screenshot"`
	} `json:"missing"`
	Error         string                      `json:"error"`
	Steps         []string                    `json:"steps"`
	Notifications []string                    `json:"notifications"`
	ServerLog     string                      `json:"serverLog"`
	Files         map[string]vscodeFileReport `json:"files"`
}

type vscodeFileReport struct {
	LensBefore   *vscodeLens  `json:"lensBefore"`
	LensAfter    *vscodeLens  `json:"lensAfter"`
	Lines        []vscodeLine `json:"lines"`
	Hover        string       `json:"hover"`
	Cleared      bool         `json:"cleared"`
	PaletteLines []vscodeLine `json:"paletteLines"`
	// Question and Choices are the server's entry question and its buttons.
	Question string   `json:"question"`
	Choices  []string `json:"choices"`
	// SettingsLines are shown after memlens.hints became ["occurrences"].
	SettingsLines []vscodeLine    `json:"settingsLines"`
	Screenshots   []string        `json:"screenshots"`
	Timeline      *vscodeTimeline `json:"timeline"`
}

// vscodeTimeline is what the driver read from the memory timeline webview.
type vscodeTimeline struct {
	Lens   string `json:"lens"` // the Timeline lens's title, when opened by it
	Tab    string `json:"tab"`
	Points int    `json:"points"`
	// Run is the run the webview showed; FollowedRun the one it showed
	// after a click on Re-profile, with FollowedPoints samples.
	Run            int    `json:"run"`
	FollowedRun    int    `json:"followedRun"`
	FollowedPoints int    `json:"followedPoints"`
	Calls          int    `json:"calls"`
	Header         string `json:"header"`
	LinesTable     string `json:"linesTable"`
	Legend         string `json:"legend"`
	// Tips are the tooltips shown while the mouse crossed the chart.
	Tips []struct {
		Text string `json:"text"`
		Line int    `json:"line"`
	} `json:"tips"`
	Hover struct {
		Text string `json:"text"`
		Line int    `json:"line"`
	} `json:"hover"`
	CursorBefore int      `json:"cursorBefore"`
	CursorAfter  int      `json:"cursorAfter"`
	Screenshots  []string `json:"screenshots"`
}

type vscodeLens struct {
	Text     string   `json:"text"`
	Commands []string `json:"commands"`
}

type vscodeLine struct {
	Line int    `json:"line"`
	Text string `json:"text"`
}

// TestVSCode installs this platform's .vsix, which carries memlens, into a
// fresh code-server profile on a PATH without memlens and with no
// memlens.path, and for each target opens the file, clicks "Profile memory"
// and reads the page: hints with their ×N on the right lines and the
// default figures, the summary lens, the hover; on the first target it
// also runs the palette's "memlens: Clear" and "memlens: Profile function
// at cursor"; last it edits memlens.hints. Then the universal .vsix, with
// no binary anywhere, must say how to get one. Screenshots land in
// editors/vscode/test-artifacts/.
func TestVSCode(t *testing.T) {
	prefix := editorPrefix()
	codeServer := need(t, filepath.Join(prefix, "code-server", "node_modules", "code-server", "out", "node", "entry.js"))
	playwright := need(t, filepath.Join(prefix, "tools", "node_modules", "playwright-core"))
	need(t, filepath.Join(prefix, "tools", "node_modules", ".bin", "vsce"))
	chromium := need(t, "chromium")
	node := need(t, "node")
	root := repoRoot(t)
	target, ok := vscodeTargets[runtime.GOOS+"/"+runtime.GOARCH]
	if !ok {
		t.Skipf("no VS Code platform package for %s/%s", runtime.GOOS, runtime.GOARCH)
	}

	build := filepath.Join(root, "editors", "vscode", "build.sh")
	if out, err := run(t, 5*time.Minute, root, nil, "bash", build, "--universal", target); err != nil {
		t.Fatalf("build.sh: %v\n%s", err, out)
	}
	dist := filepath.Join(root, "editors", "vscode", "dist")
	// "A machine without memlens": no memlens on PATH, the Go toolchain
	// and Python still there.
	path := pathWithout(t, "memlens")

	type file struct {
		Name      string `json:"name"`
		File      string `json:"file"`
		FuncLine  int    `json:"funcLine"`
		HoverLine int    `json:"hoverLine"`
		Palette   bool   `json:"palette"`
		Timeline  string `json:"timeline,omitempty"`
		Choose    string `json:"choose,omitempty"`
	}
	workspace := filepath.Join(root, "testdata")
	var files []file
	// The timeline targets first (the last file of the plan also gets the
	// settings change): one opened by its Timeline lens, one from the palette.
	for i, tg := range timelineTargets {
		rel, err := filepath.Rel(workspace, filepath.Join(root, tg.file))
		if err != nil {
			t.Fatal(err)
		}
		files = append(files, file{Name: tg.name, File: rel, FuncLine: tg.funcLine, HoverLine: tg.sleepLines[0], Timeline: []string{"lens", "palette"}[i%2]})
	}
	// A function only other packages' tests reach: the server asks which.
	lc := findLibCount(t, root)
	entryRel, err := filepath.Rel(workspace, lc.file)
	if err != nil {
		t.Fatal(err)
	}
	files = append(files, file{Name: "go-entry-question", File: entryRel, FuncLine: lc.funcLine, HoverLine: lc.wordLine, Choose: "app: TestEmpty, TestSummary"})
	for i, tg := range targets {
		rel, err := filepath.Rel(workspace, filepath.Join(root, tg.file))
		if err != nil {
			t.Fatal(err)
		}
		files = append(files, file{Name: tg.name, File: rel, FuncLine: tg.funcLine, HoverLine: tg.hoverLine, Palette: i == 0})
	}
	artifacts := artifactDir(t, "vscode")
	drive := func(t *testing.T, vsix string, missing bool) vscodeReport {
		out := filepath.Join(artifacts, "report.json")
		if missing {
			out = filepath.Join(artifacts, "report-missing.json")
		}
		os.Remove(out)
		plan, _ := json.Marshal(map[string]any{
			"codeServer": codeServer, "chromium": chromium, "playwright": playwright,
			"vsix": vsix, "workspace": workspace, "artifacts": artifacts,
			"out": out, "files": files, "missing": missing,
			// The timeline's interval reaches the runner: the webview says it.
			"settings": map[string]any{"memlens.sampleInterval": "5ms"},
		})
		log, err := run(t, 12*time.Minute, root, []string{"MEMLENS_E2E=" + string(plan), "PATH=" + path},
			node, filepath.Join(root, "editors", "vscode", "e2e", "run.mjs"))
		var rep vscodeReport
		data, rerr := os.ReadFile(out)
		if rerr != nil || json.Unmarshal(data, &rep) != nil {
			t.Fatalf("the VS Code driver wrote no report (%v, %v):\n%s", err, rerr, log)
		}
		if rep.Error != "" || err != nil {
			t.Fatalf("VS Code: %s (exit: %v)\nsteps: %v\nnotifications: %q\ncode-server log:\n%s\ndriver:\n%s",
				rep.Error, err, rep.Steps, rep.Notifications, rep.ServerLog, log)
		}
		return rep
	}

	rep := drive(t, filepath.Join(dist, "memlens-"+target+".vsix"), false)
	for i, tg := range targets {
		t.Run(tg.name, func(t *testing.T) {
			r, ok := rep.Files[tg.name]
			if !ok {
				t.Fatalf("no report for %s", tg.name)
			}
			src, err := os.ReadFile(filepath.Join(root, tg.file))
			if err != nil {
				t.Fatal(err)
			}
			checkHints(t, tg, vscodeHints(t, strings.Split(string(src), "\n"), r.Lines), true)
			if r.LensBefore == nil || !strings.HasPrefix(r.LensBefore.Text, "Profile memory") {
				t.Errorf("lens before the run: %+v, want Profile memory", r.LensBefore)
			}
			if r.LensAfter == nil {
				t.Errorf("no lens after the run")
			} else {
				checkSummaryLens(t, tg, []nvimLens{{Line: tg.funcLine, Title: r.LensAfter.Text}})
			}
			checkHover(t, tg, r.Hover)
			if i == 0 {
				if !r.Cleared {
					t.Errorf("memlens: Clear did not clear")
				}
				checkHints(t, tg, vscodeHints(t, strings.Split(string(src), "\n"), r.PaletteLines), true)
			}
			if i == len(targets)-1 {
				// memlens.hints = ["occurrences"] (edited last): the server got
				// the new settings, and the hints show ×N alone.
				afterSettings := vscodeHints(t, strings.Split(string(src), "\n"), r.SettingsLines)
				for l, text := range afterSettings {
					if want := fmt.Sprintf("×%d", tg.occurrences[l]); text != want {
						t.Errorf("line %d after memlens.hints = [occurrences]: hint %q, want %q", l, text, want)
					}
				}
				if len(afterSettings) != len(tg.occurrences) {
					t.Errorf("after memlens.hints = [occurrences]: hints on %d lines, want %d", len(afterSettings), len(tg.occurrences))
				}
			}
			t.Logf("screenshots: %v", r.Screenshots)
		})
	}
	t.Run("entry question", func(t *testing.T) {
		r, ok := rep.Files["go-entry-question"]
		if !ok {
			t.Fatal("no report for the entry question")
		}
		if !strings.Contains(r.Question, "no test of its own package reaches Count") || !slices.Equal(r.Choices, []string{"report.TestTop", "app: TestEmpty, TestSummary", "Cancel"}) {
			t.Errorf("question %q with buttons %q, want Count's question with report.TestTop, app's tests and Cancel", r.Question, r.Choices)
		}
		if r.LensAfter == nil || !strings.Contains(r.LensAfter.Text, "2 calls") || !strings.Contains(r.LensAfter.Text, "via app: TestEmpty, TestSummary") {
			t.Errorf("lens after the choice %+v, want the summary of 2 calls via app's tests", r.LensAfter)
		}
		hints := vscodeHints(t, lc.lines, r.Lines)
		for l, w := range lc.want {
			if got := timesRE.FindString(hints[l]); got != w {
				t.Errorf("line %d: hint %q, want %s in it", l, hints[l], w)
			}
		}
	})
	for i, tg := range timelineTargets {
		t.Run(tg.name, func(t *testing.T) {
			r, ok := rep.Files[tg.name]
			if !ok || r.Timeline == nil {
				t.Fatalf("no timeline report for %s", tg.name)
			}
			checkVSCodeTimeline(t, root, tg, r.Timeline, i%2 == 0)
			checkTimelineHover(t, tg, r.Hover)
		})
	}

	t.Run("no binary", func(t *testing.T) {
		rep := drive(t, filepath.Join(dist, "memlens.vsix"), true)
		if rep.Missing == nil {
			t.Fatal("no report of the missing binary")
		}
		for _, want := range []string{"no memlens binary found", "memlens-" + target + ".vsix", "make vsix", "make install", "go install ."} {
			if !strings.Contains(rep.Missing.Notification, want) {
				t.Errorf("notification %q lacks %q", rep.Missing.Notification, want)
			}
		}
		t.Logf("notification: %q; screenshot %s", rep.Missing.Notification, rep.Missing.Screenshot)
	})
}

// timesRE is the ×N of a hint, wherever it stands in it.
var timesRE = regexp.MustCompile(`×\d+`)

// vscodeTargets maps GOOS/GOARCH to the VS Code platform of build.sh.
var vscodeTargets = map[string]string{
	"linux/amd64": "linux-x64", "linux/arm64": "linux-arm64",
	"darwin/amd64": "darwin-x64", "darwin/arm64": "darwin-arm64",
}

// checkVSCodeTimeline judges the webview of tg's timeline: the chart with
// its points and the call shaded, a tooltip naming a source line with its
// text, the RSS climbing across the tooltips, and the click on the chart
// moving the editor's cursor to that line; after Re-profile the open
// webview shows the new run.
func checkVSCodeTimeline(t *testing.T, root string, tg timelineTarget, tl *vscodeTimeline, byLens bool) {
	t.Helper()
	src, err := os.ReadFile(filepath.Join(root, tg.file))
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(string(src), "\n")
	if byLens && !timelineLensRE.MatchString(tl.Lens) {
		t.Errorf("Timeline lens %q, want %s", tl.Lens, timelineLensRE)
	}
	if !strings.HasPrefix(tl.Tab, "Memory timeline: "+tg.function) {
		t.Errorf("webview tab %q", tl.Tab)
	}
	// 0.4 s of the function alone, sampled every 5 ms (memlens.sampleInterval);
	// a loaded machine delays Python's sampler to 60 samples or so.
	if tl.Points < 20 || tl.Calls < 1 {
		t.Errorf("chart: %d points, %d call stretches; want at least 20 points and a call", tl.Points, tl.Calls)
	}
	for _, want := range []string{tg.function, "one every 5 ms", "peak RSS"} {
		if !strings.Contains(tl.Header, want) {
			t.Errorf("webview header lacks %q:\n%s", want, tl.Header)
		}
	}
	for _, l := range tg.sleepLines {
		if !strings.Contains(tl.LinesTable, strings.TrimSpace(lines[l-1])) {
			t.Errorf("lines by time lack line %d %q:\n%s", l, strings.TrimSpace(lines[l-1]), tl.LinesTable)
		}
	}
	// The tooltip: time, RSS, heap and the line with its source.
	hover := tl.Hover
	if hover.Line < tg.funcLine || hover.Line > len(lines) {
		t.Fatalf("tooltip line %d is not in %s", hover.Line, tg.function)
	}
	wantLine := fmt.Sprintf("%s line %d: %s", tg.function, hover.Line, strings.TrimSpace(lines[hover.Line-1]))
	if !tooltipRE.MatchString(hover.Text) || !strings.Contains(hover.Text, wantLine) {
		t.Errorf("tooltip %q, want time, RSS, heap (%s) and %q", hover.Text, tooltipRE, wantLine)
	}
	// The RSS the tooltips show climbs by the blocks the function holds.
	// From the lowest tooltip, not the first: the mouse's first spot may
	// come after the first block (then two blocks make 32.0 MiB less the
	// tooltips' rounding); the level before the blocks comes back after
	// the free.
	lowest, highest := math.Inf(1), 0.0
	for _, tip := range tl.Tips {
		m := tooltipRE.FindStringSubmatch(tip.Text)
		if m == nil {
			t.Errorf("tooltip %q, want %s", tip.Text, tooltipRE)
			continue
		}
		v := mib(m[1], m[2])
		lowest, highest = min(lowest, v), max(highest, v)
	}
	if highest-lowest < tg.climbMiB {
		t.Errorf("RSS in the tooltips rises from %.1f to %.1f MiB, want a climb of %.0f MiB", lowest, highest, tg.climbMiB)
	}
	if tl.CursorAfter != hover.Line || tl.CursorBefore == hover.Line {
		t.Errorf("click on the chart: cursor on line %d (before: %d), want line %d", tl.CursorAfter, tl.CursorBefore, hover.Line)
	}
	if tl.Run == 0 || tl.FollowedRun <= tl.Run || tl.FollowedPoints < 20 {
		t.Errorf("after Re-profile the open timeline shows run %d (%d points), want a run after %d", tl.FollowedRun, tl.FollowedPoints, tl.Run)
	}
	t.Logf("timeline: %d points; tooltip %q; screenshots %v", tl.Points, hover.Text, tl.Screenshots)
}

// timelineLensRE is the Timeline lens: the word and the RSS as a sparkline.
var timelineLensRE = regexp.MustCompile(`^Timeline [▁▂▃▄▅▆▇█]{2,16}$`)

// tooltipRE reads a timeline tooltip: "180 ms\nRSS 33.0 MiB · heap 13.0 MiB\n…".
var tooltipRE = regexp.MustCompile(`(?s)^[\d.]+ m?s\s+RSS ([\d.]+) (B|KiB|MiB|GiB) · heap [\d.]+ (B|KiB|MiB|GiB)\s+\S`)

// mib converts a figure as memlens prints it to MiB.
func mib(num, unit string) float64 {
	v, _ := strconv.ParseFloat(num, 64)
	switch unit {
	case "B":
		return v / (1 << 20)
	case "KiB":
		return v / (1 << 10)
	case "GiB":
		return v * (1 << 10)
	}
	return v
}

// vscodeHints takes the hint text of each shown line: what follows the
// source line's own text (tabs are 4 columns, as the driver sets).
func vscodeHints(t *testing.T, src []string, lines []vscodeLine) map[int]string {
	t.Helper()
	shown := map[int]string{}
	for _, l := range lines {
		if l.Line < 1 || l.Line > len(src) {
			continue
		}
		code := strings.TrimRight(expandTabs(src[l.Line-1], 4), " ")
		text := strings.TrimRight(l.Text, " \n")
		rest, ok := strings.CutPrefix(text, code)
		if !ok {
			t.Errorf("line %d shows %q, which does not start with the source %q", l.Line, text, code)
			continue
		}
		if rest = strings.TrimSpace(rest); rest != "" {
			shown[l.Line] = rest
		}
	}
	return shown
}
