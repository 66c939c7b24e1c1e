package editors_test

import (
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestNeovimEntryQuestion clicks "Profile memory" on lib.Count in
// testdata/go/xpkg, which the tests of two other packages reach, in
// Neovim 0.7.2 and 0.10.4 in a terminal: the server's question
// (window/showMessageRequest) shows as Neovim's numbered list, the user
// types 2 (app's tests), and the hints and the summary lens show the run of
// the tests picked.
func TestNeovimEntryQuestion(t *testing.T) {
	nvims := neovims(t)
	tmux := need(t, "tmux")
	bin := memlensBinary(t)
	root := repoRoot(t)
	lc := findLibCount(t, root)
	file, lines, count, want := lc.file, lc.lines, lc.funcLine, lc.want
	rowRE := regexp.MustCompile(`^\s*(\d+) (.*)$`)
	cancelRE := regexp.MustCompile(`(?m)^3[.:] Cancel$`)
	for _, nv := range nvims {
		t.Run(nv.version, func(t *testing.T) {
			tm := startNvimInTmux(t, nv, tmux, "entry", 220, 50, file, map[string]any{"bin": bin, "line": count,
				"settings": map[string]any{"hints": []string{"occurrences"}}})
			screen := func() string {
				s, err := tm("capture-pane", "-p", "-t", "e2e")
				if err != nil {
					t.Fatalf("tmux capture-pane: %v\n%s", err, s)
				}
				return s
			}
			var s string
			for deadline := time.Now().Add(2 * time.Minute); ; time.Sleep(300 * time.Millisecond) {
				s = screen()
				if cancelRE.MatchString(s) || time.Now().After(deadline) {
					break
				}
			}
			os.WriteFile(filepath.Join(artifactDir(t, "nvim"), "screen-entry-question-"+nv.version+".txt"), []byte(s), 0o644)
			// 0.7 lists the actions itself ("1. …"); 0.10 through vim.ui.select ("1: …").
			for _, item := range []*regexp.Regexp{regexp.MustCompile(`(?m)^1[.:] report\.TestTop$`), regexp.MustCompile(`(?m)^2[.:] app: TestEmpty, TestSummary$`),
				cancelRE, regexp.MustCompile(`no test of its own package reaches Count`)} {
				if !item.MatchString(s) {
					t.Fatalf("the question on screen lacks %s:\n%s", item, s)
				}
			}
			if out, err := tm("send-keys", "-t", "e2e", "2", "Enter"); err != nil {
				t.Fatalf("tmux send-keys: %v\n%s", err, out)
			}
			shown := map[int]string{}
			for deadline := time.Now().Add(2 * time.Minute); ; time.Sleep(500 * time.Millisecond) {
				s = screen()
				shown = map[int]string{}
				for _, row := range strings.Split(s, "\n") {
					m := rowRE.FindStringSubmatch(row)
					if m == nil {
						continue
					}
					n, _ := strconv.Atoi(m[1])
					if n < 1 || n > len(lines) {
						continue
					}
					rest, ok := strings.CutPrefix(m[2], expandTabs(lines[n-1], 4))
					if !ok {
						continue
					}
					if n == count {
						shown[0] = rest // the lenses
					}
					if h := occurrencesRE.FindString(lensOnScreenRE.ReplaceAllString(rest, "")); h != "" {
						shown[n] = strings.TrimSpace(h)
					}
				}
				if strings.Contains(shown[0], "via app: TestEmpty, TestSummary") || time.Now().After(deadline) {
					break
				}
			}
			os.WriteFile(filepath.Join(artifactDir(t, "nvim"), "screen-entry-chosen-"+nv.version+".txt"), []byte(s), 0o644)
			if !strings.Contains(shown[0], "2 calls") || !strings.Contains(shown[0], "via app: TestEmpty, TestSummary") {
				t.Errorf("Count's lenses on screen %q, want the summary of 2 calls via app's tests\n%s", shown[0], s)
			}
			for l, h := range want {
				if shown[l] != h {
					t.Errorf("line %d: hint %q, want %q\n%s", l, shown[l], h, s)
				}
			}
		})
	}
}
