package editors_test

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
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
		})
		log, err := run(t, 5*time.Minute, root, []string{"MEMLENS_E2E=" + string(plan), "PATH=" + path},
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

// vscodeTargets maps GOOS/GOARCH to the VS Code platform of build.sh.
var vscodeTargets = map[string]string{
	"linux/amd64": "linux-x64", "linux/arm64": "linux-arm64",
	"darwin/amd64": "darwin-x64", "darwin/arm64": "darwin-arm64",
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
