package editors_test

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// vscodeReport is what editors/vscode/e2e/run.mjs writes.
type vscodeReport struct {
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
	// SettingsLines are shown after memlens.hints became ["occurrences"].
	SettingsLines []vscodeLine `json:"settingsLines"`
	Screenshots   []string     `json:"screenshots"`
}

type vscodeLens struct {
	Text     string   `json:"text"`
	Commands []string `json:"commands"`
}

type vscodeLine struct {
	Line int    `json:"line"`
	Text string `json:"text"`
}

// TestVSCode installs the .vsix into a fresh code-server profile, and for each
// target opens the file, clicks "Profile memory" and reads the page: hints
// with their ×N on the right lines, the summary lens, the hover; on the first
// target it also runs the palette's "memlens: Clear" and "memlens: Profile
// function at cursor". Screenshots land in editors/vscode/test-artifacts/.
func TestVSCode(t *testing.T) {
	prefix := editorPrefix()
	codeServer := need(t, filepath.Join(prefix, "code-server", "node_modules", "code-server", "out", "node", "entry.js"))
	playwright := need(t, filepath.Join(prefix, "tools", "node_modules", "playwright-core"))
	need(t, filepath.Join(prefix, "tools", "node_modules", ".bin", "vsce"))
	chromium := need(t, "chromium")
	node := need(t, "node")
	bin := memlensBinary(t)
	root := repoRoot(t)

	build := filepath.Join(root, "editors", "vscode", "build.sh")
	if out, err := run(t, 3*time.Minute, root, nil, "bash", build); err != nil {
		t.Fatalf("build.sh: %v\n%s", err, out)
	}
	vsix := filepath.Join(root, "editors", "vscode", "dist", "memlens.vsix")

	type file struct {
		Name      string `json:"name"`
		File      string `json:"file"`
		FuncLine  int    `json:"funcLine"`
		HoverLine int    `json:"hoverLine"`
		Palette   bool   `json:"palette"`
	}
	workspace := filepath.Join(root, "testdata")
	var files []file
	for i, tg := range targets {
		rel, err := filepath.Rel(workspace, filepath.Join(root, tg.file))
		if err != nil {
			t.Fatal(err)
		}
		files = append(files, file{Name: tg.name, File: rel, FuncLine: tg.funcLine, HoverLine: tg.hoverLine, Palette: i == 0})
	}
	artifacts := artifactDir(t, "vscode")
	out := filepath.Join(artifacts, "report.json")
	os.Remove(out)
	plan, _ := json.Marshal(map[string]any{
		"codeServer": codeServer, "chromium": chromium, "playwright": playwright,
		"vsix": vsix, "bin": bin, "workspace": workspace, "artifacts": artifacts,
		"out": out, "files": files,
	})
	log, err := run(t, 5*time.Minute, root, []string{"MEMLENS_E2E=" + string(plan)},
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
