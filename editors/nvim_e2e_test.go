package editors_test

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

// nvimReport is what editors/nvim/test/e2e_init.lua writes.
type nvimReport struct {
	Error    string   `json:"error"`
	Steps    []string `json:"steps"`
	Nvim     string   `json:"nvim"`
	Native   bool     `json:"native"`
	Messages []struct {
		Type    int    `json:"type"`
		Message string `json:"message"`
	} `json:"messages"`
	Hints []struct {
		Line int    `json:"line"`
		Text string `json:"text"`
		Pos  string `json:"pos"`
	} `json:"hints"`
	LensesBefore    []nvimLens `json:"lenses_before"`
	LensesAfter     []nvimLens `json:"lenses_after"`
	Hover           string     `json:"hover"`
	HintsAfterClear []any      `json:"hints_after_clear"`
}

type nvimLens struct {
	Line    int    `json:"line"`
	Title   string `json:"title"`
	Command string `json:"command"`
}

// neovim is one Neovim the tests run on.
type neovim struct {
	version string // as in the subtest names: "0.7.2", "0.10.4"
	path    string
	// native: hints are vim.lsp.inlay_hint's (inline extmarks at the line
	// end), not the plugin's end-of-line virtual text.
	native bool
}

// neovims are the Neovims the plugin is tested on: Debian bookworm's 0.7.2
// (on PATH) and trixie's 0.10.4, the first with native inlay hints, which
// scripts/install-editor-deps.sh unpacks under the editor prefix.
func neovims(t *testing.T) []neovim {
	t.Helper()
	return []neovim{
		{version: "0.7.2", path: need(t, "nvim")},
		{version: "0.10.4", path: need(t, filepath.Join(editorPrefix(), "bin", "nvim-0.10")), native: true},
	}
}

// TestNeovim profiles each target in headless Neovim 0.7.2 and 0.10.4 with
// the plugin (through the lens for Go, :MemlensProfile for Python) and
// checks the hints as drawn (the plugin's extmarks on 0.7, native inlay
// hints on 0.10, which must show as soon as the run ends), the summary
// lens, the hover window and :MemlensClear. The Python runs start no
// memlens of their own: the plugin, copied into a checkout whose
// bin/memlens is built, must find that binary with no memlens on PATH.
func TestNeovim(t *testing.T) {
	nvims := neovims(t)
	bin := memlensBinary(t)
	root := repoRoot(t)
	checkout := pluginCheckout(t, bin)
	for _, nv := range nvims {
		for i, tg := range targets {
			t.Run(nv.version+"/"+tg.name, func(t *testing.T) {
				mode := "lens"
				if i%2 == 1 {
					mode = "command"
				}
				p := map[string]any{"line": tg.funcLine, "hover_line": tg.hoverLine, "mode": mode}
				env := []string{}
				if mode == "lens" {
					p["bin"] = bin
				} else {
					p["plugin_dir"] = filepath.Join(checkout, "editors", "nvim")
					env = append(env, "PATH="+pathWithout(t, "memlens"))
				}
				var rep nvimReport
				runNvimDriver(t, nv, filepath.Join(root, tg.file), env, p, &rep)

				shown := map[int]string{}
				wantPos := "eol"
				if nv.native {
					wantPos = "inline"
				}
				for _, h := range rep.Hints {
					if h.Pos != wantPos {
						t.Errorf("line %d: hint drawn at %q, want %s", h.Line, h.Pos, wantPos)
					}
					if _, dup := shown[h.Line]; dup {
						t.Errorf("line %d: two hint extmarks", h.Line)
					}
					shown[h.Line] = strings.TrimSpace(h.Text)
				}
				checkHints(t, tg, shown, true)
				checkSummaryLens(t, tg, rep.LensesAfter)
				checkHover(t, tg, rep.Hover)
				if len(rep.HintsAfterClear) != 0 {
					t.Errorf(":MemlensClear left hints: %v", rep.HintsAfterClear)
				}
				t.Logf("nvim %s hints: %v", rep.Nvim, shown)
			})
		}
	}
}

// runNvimDriver runs editors/nvim/test/e2e_init.lua in headless nv on file
// with plan (and env), and decodes the report it writes into rep, an
// *nvimReport or a struct embedding one. It stops the test when the driver
// wrote no report or reported an error.
func runNvimDriver(t *testing.T, nv neovim, file string, env []string, plan map[string]any, rep interface{ base() *nvimReport }) {
	t.Helper()
	root := repoRoot(t)
	out := filepath.Join(t.TempDir(), "report.json")
	plan["out"] = out
	p, _ := json.Marshal(plan)
	env = append(env, "MEMLENS_E2E="+string(p))
	initLua := filepath.Join(root, "editors", "nvim", "test", "e2e_init.lua")
	log, err := run(t, 3*time.Minute, root, env, nv.path, "--headless", "-u", initLua, file)
	data, rerr := os.ReadFile(out)
	if rerr != nil || json.Unmarshal(data, rep) != nil {
		t.Fatalf("nvim wrote no report (%v, %v):\n%s", err, rerr, log)
	}
	r := rep.base()
	if r.Error != "" || err != nil {
		t.Fatalf("nvim %s: %s (exit: %v)\nsteps: %v\nserver messages: %+v\n%s", r.Nvim, r.Error, err, r.Steps, r.Messages, log)
	}
	if !strings.HasPrefix(r.Nvim, nv.version) || r.Native != nv.native {
		t.Errorf("ran Neovim %s (native hints %v), want %s (%v)", r.Nvim, r.Native, nv.version, nv.native)
	}
}

func (r *nvimReport) base() *nvimReport { return r }

// pluginCheckout lays out the plugin as a clone of the repository holds it,
// with bin/memlens built (a copy of bin), in a temporary directory.
func pluginCheckout(t *testing.T, bin string) string {
	t.Helper()
	dir := t.TempDir()
	src := filepath.Join(repoRoot(t), "editors", "nvim", "lua")
	err := filepath.WalkDir(src, func(path string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(src, path)
		return copyFile(path, filepath.Join(dir, "editors", "nvim", "lua", rel), 0o644)
	})
	if err == nil {
		err = copyFile(bin, filepath.Join(dir, "bin", "memlens"), 0o755)
	}
	if err != nil {
		t.Fatal(err)
	}
	return dir
}

func copyFile(from, to string, mode os.FileMode) error {
	data, err := os.ReadFile(from)
	if err == nil {
		err = os.MkdirAll(filepath.Dir(to), 0o755)
	}
	if err == nil {
		err = os.WriteFile(to, data, mode)
	}
	return err
}

// pathWithout is $PATH minus the directories that hold an executable name,
// for runs on "a machine without memlens on PATH". The tools a profile needs
// (go, python3) must stay: a directory holding one of them too fails the
// test rather than testing something else.
func pathWithout(t *testing.T, name string) string {
	t.Helper()
	var keep []string
	for _, dir := range filepath.SplitList(os.Getenv("PATH")) {
		if st, err := os.Stat(filepath.Join(dir, name)); err == nil && !st.IsDir() {
			for _, tool := range []string{"go", "python3"} {
				if _, err := os.Stat(filepath.Join(dir, tool)); err == nil {
					t.Fatalf("%s holds both %s and %s: cannot take %s off PATH", dir, name, tool, name)
				}
			}
			continue
		}
		keep = append(keep, dir)
	}
	return strings.Join(keep, string(os.PathListSeparator))
}

func checkSummaryLens(t *testing.T, tg target, lenses []nvimLens) {
	t.Helper()
	var titles []string
	for _, l := range lenses {
		if l.Line == tg.funcLine {
			titles = append(titles, l.Title)
		}
	}
	hasSummary, hasReprofile, hasClear := false, false, false
	for _, title := range titles {
		hasSummary = hasSummary || summaryRE.MatchString(title)
		hasReprofile = hasReprofile || strings.Contains(title, "Re-profile")
		hasClear = hasClear || strings.Contains(title, "Clear")
	}
	if !hasSummary || !hasReprofile || !hasClear {
		t.Errorf("line %d: lenses %q, want a summary (%s), Re-profile and Clear", tg.funcLine, titles, summaryRE)
	}
}

// TestNeovimScreen runs Neovim 0.7.2 and 0.10.4 in a real terminal (tmux),
// profiles the Go target and reads the screen: each hinted line shows its
// ×N at its end, as soon as the run ends.
func TestNeovimScreen(t *testing.T) {
	nvims := neovims(t)
	tmux := need(t, "tmux")
	bin := memlensBinary(t)
	for _, nv := range nvims {
		t.Run(nv.version, func(t *testing.T) { neovimScreen(t, nv, tmux, bin) })
	}
}

func neovimScreen(t *testing.T, nv neovim, tmux, bin string) {
	root := repoRoot(t)
	tg := targets[0]
	// Settings from setup() reach the server as initializationOptions: the
	// hints show the allocated bytes and the count only.
	tm := startNvimInTmux(t, nv, tmux, "e2e", 200, 50, filepath.Join(root, tg.file), map[string]any{"bin": bin, "line": tg.funcLine,
		"settings": map[string]any{"hints": []string{"alloc", "occurrences"}}})

	// Rows look like "   17     for i := range s {  12.1 MiB  +0 B  ×2171":
	// line numbers are on and tabs are 4 columns wide (tui_init.lua), so the
	// hint is what follows the source line's own text.
	src, err := os.ReadFile(filepath.Join(root, tg.file))
	if err != nil {
		t.Fatal(err)
	}
	srcLines := strings.Split(string(src), "\n")
	rowRE := regexp.MustCompile(`^\s*(\d+) (.*)$`)
	var screen string
	deadline := time.Now().Add(2 * time.Minute)
	for {
		var err error
		screen, err = tm("capture-pane", "-p", "-t", "e2e")
		if err != nil {
			t.Fatalf("tmux capture-pane: %v\n%s", err, screen)
		}
		shown := map[int]string{}
		var lenses []nvimLens
		for _, row := range strings.Split(screen, "\n") {
			m := rowRE.FindStringSubmatch(row)
			if m == nil {
				continue
			}
			n, _ := strconv.Atoi(m[1])
			if n < 1 || n > len(srcLines) {
				continue
			}
			code := expandTabs(srcLines[n-1], 4)
			rest, ok := strings.CutPrefix(m[2], code)
			if !ok {
				continue
			}
			// Neovim 0.7 draws code lenses at line ends too, before or after
			// the hint depending on which arrived first: take the lens out,
			// and the hint is what remains up to its ×N.
			if n == tg.funcLine {
				lenses = nil
				for _, title := range strings.Split(strings.TrimSpace(lensOnScreenRE.FindString(rest)), " | ") {
					lenses = append(lenses, nvimLens{Line: n, Title: title})
				}
			}
			rest = lensOnScreenRE.ReplaceAllString(rest, "")
			if h := hintOnScreenRE.FindString(rest); h != "" {
				shown[n] = strings.TrimSpace(h)
			}
		}
		if (len(shown) >= len(tg.occurrences) && hasSummary(lenses)) || time.Now().After(deadline) {
			os.WriteFile(filepath.Join(artifactDir(t, "nvim"), "screen-go-"+nv.version+".txt"), []byte(screen), 0o644)
			checkHints(t, tg, shown, false)
			for l, h := range shown {
				if !allocHintRE.MatchString(h) {
					t.Errorf("line %d: hint %q, want the allocated bytes and ×N only (settings.hints)", l, h)
				}
			}
			checkSummaryLens(t, tg, lenses)
			if t.Failed() {
				t.Logf("screen:\n%s", screen)
				return
			}
			neovimHoverScreen(t, nv, tm, tg)
			return
		}
		time.Sleep(500 * time.Millisecond)
	}
}

// neovimHoverScreen opens the hover of tg.hoverLine in the running Neovim
// and reads it off the screen: Go's says why the line's values are on the
// heap (saved as screen-go-hover-VERSION.txt).
func neovimHoverScreen(t *testing.T, nv neovim, tm func(...string) (string, error), tg target) {
	if out, err := tm("send-keys", "-t", "e2e", "Escape", fmt.Sprintf(":%d", tg.hoverLine), "Enter", ":lua vim.lsp.buf.hover()", "Enter"); err != nil {
		t.Fatalf("tmux send-keys: %v\n%s", err, out)
	}
	var screen string
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(300 * time.Millisecond) {
		screen, _ = tm("capture-pane", "-p", "-t", "e2e")
		if strings.Contains(screen, "escapes to heap") || time.Now().After(deadline) {
			break
		}
	}
	os.WriteFile(filepath.Join(artifactDir(t, "nvim"), "screen-go-hover-"+nv.version+".txt"), []byte(screen), 0o644)
	for _, want := range []string{"why on the heap", "escapes to heap: returned"} {
		if !strings.Contains(screen, want) {
			t.Errorf("the hover on screen lacks %q:\n%s", want, screen)
		}
	}
}

// startNvimInTmux starts nv with editors/nvim/test/tui_init.lua and plan
// on file, in a width×height terminal of a tmux server of the test's own
// (nothing else's sessions are touched), ended with the test. It returns
// a runner of tmux commands on that server; the session is "e2e".
func startNvimInTmux(t *testing.T, nv neovim, tmux, name string, width, height int, file string, plan map[string]any) func(...string) (string, error) {
	t.Helper()
	socket := fmt.Sprintf("memlens-%s-%d-%s", name, os.Getpid(), nv.version)
	tm := func(args ...string) (string, error) {
		out, err := exec.Command(tmux, append([]string{"-L", socket}, args...)...).CombinedOutput()
		return string(out), err
	}
	p, _ := json.Marshal(plan)
	initLua := filepath.Join(repoRoot(t), "editors", "nvim", "test", "tui_init.lua")
	shell := fmt.Sprintf("MEMLENS_E2E=%s %s -u %s %s", shellQuote(string(p)), shellQuote(nv.path), shellQuote(initLua), shellQuote(file))
	if out, err := tm("new-session", "-d", "-s", "e2e", "-x", fmt.Sprint(width), "-y", fmt.Sprint(height), shell); err != nil {
		t.Fatalf("tmux new-session: %v\n%s", err, out)
	}
	t.Cleanup(func() { tm("kill-server") })
	return tm
}

// allocHintRE is a hint showing the figures "alloc" and "occurrences".
var allocHintRE = regexp.MustCompile(`^(alloc )?-?[0-9.]+ (B|KiB|MiB|GiB)  ×\d+$`)

// hintOnScreenRE is a hint as a screen row shows it after the code.
var hintOnScreenRE = regexp.MustCompile(`^.*?×\d+`)

// lensOnScreenRE is the summary lens with its companions, as Neovim before
// 0.12 draws code lenses: titles joined by " | ", in the server's order on
// 0.7, in any order on 0.10 (its sort of the lenses of a line is unstable).
var lensOnScreenRE = regexp.MustCompile(`(?:` + lensTitleOnScreen + `)(?: \| (?:` + lensTitleOnScreen + `))+`)

const lensTitleOnScreen = `memory: [^|]*?|Timeline [▁▂▃▄▅▆▇█]*|Re-profile|Clear`

func hasSummary(lenses []nvimLens) bool {
	for _, l := range lenses {
		if summaryRE.MatchString(l.Title) {
			return true
		}
	}
	return false
}

func shellQuote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// expandTabs renders a line as a terminal shows it with the given tab width.
func expandTabs(line string, width int) string {
	var b strings.Builder
	col := 0
	for _, r := range line {
		if r == '\t' {
			n := width - col%width
			b.WriteString(strings.Repeat(" ", n))
			col += n
			continue
		}
		b.WriteRune(r)
		col++
	}
	return b.String()
}
