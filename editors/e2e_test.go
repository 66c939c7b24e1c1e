// Package editors_test runs memlens's editor integrations in the real editors,
// headless: the VS Code extension in code-server driven by Chromium, the
// Neovim plugin in Neovim (headless, and its screen through tmux), and Emacs
// eglot. Each test opens testdata files, profiles a function the way a user
// does and reads back what the editor shows; the assertions live here.
//
// The editors come from scripts/install-editor-deps.sh. A missing editor
// skips its test, or fails it when CI is set (CI installs everything).
package editors_test

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// target is a testdata function profiled by every editor test, with what
// its hints must say. The counts are derived from the code (see each entry)
// and are the ones the runner's own tests check.
type target struct {
	name string
	// file is relative to the repository root.
	file string
	// funcLine is the line of the function's "func"/"def", where its lens is.
	funcLine int
	// occurrences maps every line that must show a hint to its ×N; any other
	// line of the file showing a hint is an error.
	occurrences map[int]uint64
	// hints maps lines to what their hint must match with the default
	// figures (a regular expression); the ×N is checked on every line.
	hints map[int]string
	// hoverLine is a line to hover; its hover must mention hoverWant.
	hoverLine int
	hoverWant []string
}

var targets = []target{
	{
		// examples.repeat, run through TestDefFunc → DefFunc, which calls it
		// three times: repeat(1, 1296), repeat(1, 8), repeat(2, 864).
		name:     "go",
		file:     "testdata/go/examples/examples.go",
		funcLine: 15,
		occurrences: map[int]uint64{
			15: 3,                  // func repeat(...): the entry, once per call
			16: 3,                  // s := make([]int, n)
			17: 1296 + 8 + 864 + 3, // for i := range s: iterations + 1 per call
			18: 1296 + 8 + 864,     // s[i] = v
			20: 3,                  // return s
		},
		// Go's default hint: the allocation where a line allocated, with
		// its share of the function's on the heaviest lines; ×N alone
		// elsewhere. The slices are repeat's only allocation.
		hints: map[int]string{
			15: `^×3$`,
			16: `^alloc [0-9.]+ KiB  ▲ 100%  ×3$`,
			17: `^×2171$`,
			18: `^×2168$`,
			20: `^×3$`,
		},
		hoverLine: 16,
		// "why on the heap": the compiler's escape analysis of the line.
		hoverWant: []string{"line 16", "×3", "allocated", "occurrences", "why on the heap", "escapes to heap: returned"},
	},
	{
		// bigalloc.grow, run by the script itself: grow(4), whose loop keeps
		// four 3 MiB blocks. The counts are memory_profiler's (checked with
		// python3 -m memory_profiler bigalloc.py).
		name:     "python",
		file:     "testdata/python/bigalloc.py",
		funcLine: 7,
		occurrences: map[int]uint64{
			6:  1,  // @profile: the entry reading, as memory_profiler shows it
			8:  5,  // for i in range(times): 4 iterations + 1
			9:  4,  // block = b"x" * (3 << 20)
			10: 4,  // keep.append(block)
			11: 1,  // spike = ...
			12: 11, // sum(... for b in keep): 1 + the generator's 2 events per step (4 items and the end)
			13: 1,  // return
		},
		// Python's default hint: the increment (4 × 3 MiB kept) with its
		// share of the function's growth, and ×N.
		hints: map[int]string{
			9: `^\+1[12]\.[0-9] MiB  ▲ [0-9]+%  ×4$`,
		},
		hoverLine: 9,
		hoverWant: []string{"line 9", "×4", "allocated", "occurrences"},
	},
}

// timelineTarget is a testdata function whose memory timeline the editor
// tests open: it runs for about 0.4 s, holding one more 16 MiB block every
// 100 ms for three steps, then frees them, so that many samples fall on it
// and the RSS climbs by 48 MiB.
type timelineTarget struct {
	name     string
	file     string // relative to the repository root
	function string
	funcLine int
	// sleepLines hold the function's waits: most of its samples.
	sleepLines []int
	// climbMiB is how far the RSS must rise above its reading at the
	// start of the run (three 16 MiB blocks, less slack for what the
	// runtime had in reserve).
	climbMiB float64
}

var timelineTargets = []timelineTarget{
	{name: "go-timeline", file: "testdata/go/staircase/staircase.go", function: "Climb", funcLine: 13, sleepLines: []int{17, 22}, climbMiB: 32},
	{name: "python-timeline", file: "testdata/python/staircase.py", function: "climb", funcLine: 10, sleepLines: []int{14, 17}, climbMiB: 32},
}

// timelineHoverRE is the hover's time share row and sparkline of when the
// line ran, as an editor shows the markdown.
var timelineHoverRE = regexp.MustCompile(`(?s)time \(share of the function's\)\W+[\d.]+%.*when it ran: \W*[·▁▂▃▄▅▆▇█]{2,}\W* [\d.]+ m?s–[\d.]+ m?s into the run \((\d+) of the (\d+) samples`)

// checkTimelineHover checks the hover of tg's first wait: its share of the
// function's time and when it ran, from a good part of the samples.
func checkTimelineHover(t *testing.T, tg timelineTarget, hover string) {
	t.Helper()
	m := timelineHoverRE.FindStringSubmatch(hover)
	if m == nil {
		t.Errorf("%s:%d: hover lacks the time share and when it ran (%s):\n%s", tg.file, tg.sleepLines[0], timelineHoverRE, hover)
		return
	}
	// Three waits of 100 ms: at least a tenth of the function's samples.
	on, all := atoi(m[1]), atoi(m[2])
	if on*10 < all || all == 0 {
		t.Errorf("%s:%d: the wait holds %d of %d samples", tg.file, tg.sleepLines[0], on, all)
	}
}

func atoi(s string) int {
	n, _ := strconv.Atoi(s)
	return n
}

// repoRoot is the repository root (tests run in editors/).
func repoRoot(t testing.TB) string {
	t.Helper()
	root, err := filepath.Abs("..")
	if err != nil {
		t.Fatal(err)
	}
	return root
}

// editorPrefix is where scripts/install-editor-deps.sh puts the npm tools.
func editorPrefix() string {
	if p := os.Getenv("MEMLENS_EDITOR_PREFIX"); p != "" {
		return p
	}
	return "/opt/memlens-editors"
}

// need returns the path of a required program or file, or skips the test
// (fails it under CI) with the way to install it.
func need(t testing.TB, what string) string {
	t.Helper()
	path := what
	if !filepath.IsAbs(what) {
		p, err := exec.LookPath(what)
		if err != nil {
			missing(t, what+" is not on PATH")
		}
		path = p
	} else if _, err := os.Stat(what); err != nil {
		missing(t, what+" is missing")
	}
	return path
}

func missing(t testing.TB, why string) {
	t.Helper()
	msg := why + ": run scripts/install-editor-deps.sh"
	if os.Getenv("CI") != "" {
		t.Fatal(msg)
	}
	t.Skip(msg)
}

var (
	buildOnce sync.Once
	builtBin  string
	buildErr  error
)

// memlensBinary builds the memlens command once for all tests.
func memlensBinary(t testing.TB) string {
	t.Helper()
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "memlens-editors-e2e-")
		if err != nil {
			buildErr = err
			return
		}
		builtBin = filepath.Join(dir, "memlens")
		cmd := exec.Command("go", "build", "-o", builtBin, ".")
		cmd.Dir = repoRoot(t)
		if out, err := cmd.CombinedOutput(); err != nil {
			buildErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return builtBin
}

func TestMain(m *testing.M) {
	code := m.Run()
	if builtBin != "" {
		os.RemoveAll(filepath.Dir(builtBin))
	}
	os.Exit(code)
}

// run runs a harness command with a deadline and returns its combined output.
func run(t testing.TB, timeout time.Duration, dir string, env []string, name string, args ...string) ([]byte, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), env...)
	cmd.WaitDelay = 5 * time.Second
	out, err := cmd.CombinedOutput()
	if ctx.Err() != nil {
		err = fmt.Errorf("%s: no result after %v: %w", name, timeout, err)
	}
	return out, err
}

// occurrencesRE reads the ×N at the end of a hint.
var occurrencesRE = regexp.MustCompile(`×(\d+)\s*$`)

// checkHints compares the hints an editor shows, line → text, with the
// target's counts: every wanted line has a hint ending in its ×N, and no
// other line has one. With defaults, the hints also match tg.hints.
func checkHints(t testing.TB, tg target, shown map[int]string, defaults bool) {
	t.Helper()
	lines := make([]int, 0, len(tg.occurrences))
	for l := range tg.occurrences {
		lines = append(lines, l)
	}
	sort.Ints(lines)
	for _, l := range lines {
		text, ok := shown[l]
		if !ok {
			t.Errorf("%s:%d: no hint, want one ending ×%d", tg.file, l, tg.occurrences[l])
			continue
		}
		m := occurrencesRE.FindStringSubmatch(text)
		if m == nil {
			t.Errorf("%s:%d: hint %q has no ×N at its end", tg.file, l, text)
			continue
		}
		if n, _ := strconv.ParseUint(m[1], 10, 64); n != tg.occurrences[l] {
			t.Errorf("%s:%d: hint %q says ×%d, want ×%d", tg.file, l, text, n, tg.occurrences[l])
		}
		if want, ok := tg.hints[l]; ok && defaults && !regexp.MustCompile(want).MatchString(text) {
			t.Errorf("%s:%d: hint %q, want %s", tg.file, l, text, want)
		}
	}
	for l, text := range shown {
		if _, ok := tg.occurrences[l]; !ok {
			t.Errorf("%s:%d: unexpected hint %q", tg.file, l, text)
		}
	}
}

// checkHover checks the hover text shown for tg.hoverLine.
func checkHover(t testing.TB, tg target, hover string) {
	t.Helper()
	if strings.TrimSpace(hover) == "" {
		t.Errorf("%s:%d: empty hover", tg.file, tg.hoverLine)
		return
	}
	for _, want := range tg.hoverWant {
		if !strings.Contains(hover, want) {
			t.Errorf("%s:%d: hover lacks %q:\n%s", tg.file, tg.hoverLine, want, hover)
		}
	}
}

// summaryRE is the summary lens that replaces "Profile memory" after a run.
var summaryRE = regexp.MustCompile(`^memory: .*\d+ calls?\b`)

// artifactDir is where a test leaves screenshots and reports for people to
// look at (git-ignored).
func artifactDir(t testing.TB, editor string) string {
	t.Helper()
	dir := filepath.Join(repoRoot(t), "editors", editor, "test-artifacts")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

// libCount is lib.Count of testdata/go/xpkg, the entry question's example:
// only other packages' tests reach it (report's TestTop, app's TestEmpty
// and TestSummary). want is the ×N of each of its lines after app's tests
// ran it (on "a", "B", "b" in TestSummary and on nothing in TestEmpty).
type libCount struct {
	file               string
	lines              []string
	funcLine, wordLine int
	want               map[int]string
}

func findLibCount(t *testing.T, root string) libCount {
	t.Helper()
	c := libCount{file: filepath.Join(root, "testdata", "go", "xpkg", "lib", "lib.go")}
	src, err := os.ReadFile(c.file)
	if err != nil {
		t.Fatal(err)
	}
	c.lines = strings.Split(string(src), "\n")
	lineOf := func(prefix string) int {
		for i, l := range c.lines {
			if strings.HasPrefix(strings.TrimSpace(l), prefix) {
				return i + 1
			}
		}
		t.Fatalf("no line %q in %s", prefix, c.file)
		return 0
	}
	c.funcLine, c.wordLine = lineOf("func Count("), lineOf("counts[strings.ToLower(w)]++")
	c.want = map[int]string{c.funcLine: "×2", lineOf("counts := make"): "×2", lineOf("for _, w := range words {"): "×5",
		c.wordLine: "×3", lineOf("return counts"): "×2"}
	return c
}
