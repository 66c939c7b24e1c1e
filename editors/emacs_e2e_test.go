package editors_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

// emacsReport is what editors/emacs/test/e2e.el writes.
type emacsReport struct {
	Error         string   `json:"error"`
	Steps         []string `json:"steps"`
	Mode          string   `json:"mode"`
	ActionsBefore []string `json:"actions_before"`
	ActionsAfter  []string `json:"actions_after"`
	Diagnostics   []struct {
		Line int    `json:"line"`
		Text string `json:"text"`
		Type string `json:"type"`
	} `json:"diagnostics"`
}

// diagnosticCountRE reads the ×N inside a memory diagnostic.
var diagnosticCountRE = regexp.MustCompile(`×(\d+)`)

// TestEmacsEglot drives Emacs 28 with eglot 1.9 (Debian) and the documented
// configuration, editors/emacs/memlens-eglot.el: the code action path (eglot
// shows no code lenses) and the diagnostics view (eglot 1.9 shows no inlay
// hints). The Go target's heaviest lines must carry their memory and ×N.
func TestEmacsEglot(t *testing.T) {
	emacs := need(t, "emacs")
	need(t, "/usr/share/emacs/site-lisp/elpa/eglot-1.9")
	need(t, "/usr/share/emacs/site-lisp/elpa/go-mode-1.6.0")
	bin := memlensBinary(t)
	root := repoRoot(t)
	tg := targets[0]

	out := filepath.Join(t.TempDir(), "report.json")
	plan, _ := json.Marshal(map[string]any{
		"bin": bin, "file": filepath.Join(root, tg.file), "line": tg.funcLine, "out": out,
	})
	log, err := run(t, 3*time.Minute, t.TempDir(), []string{"MEMLENS_E2E=" + string(plan)},
		emacs, "--batch", "-l", filepath.Join(root, "editors", "emacs", "test", "e2e.el"))
	var rep emacsReport
	data, rerr := os.ReadFile(out)
	if rerr != nil || json.Unmarshal(data, &rep) != nil {
		t.Fatalf("emacs wrote no report (%v, %v):\n%s", err, rerr, log)
	}
	if rep.Error != "" || err != nil {
		t.Fatalf("emacs: %s (exit: %v)\nsteps: %v\n%s", rep.Error, err, rep.Steps, log)
	}

	if rep.Mode != "go-mode" {
		t.Errorf("major mode %q, want go-mode", rep.Mode)
	}
	if want := "Profile memory: repeat"; !contains(rep.ActionsBefore, want) {
		t.Errorf("code actions %q, want %q", rep.ActionsBefore, want)
	}
	if want := "Clear memory profile: repeat"; !contains(rep.ActionsAfter, want) {
		t.Errorf("code actions after the run %q, want %q", rep.ActionsAfter, want)
	}
	// The view shows the heaviest lines only; line 16 allocates every call.
	seen := map[int]bool{}
	for _, d := range rep.Diagnostics {
		m := diagnosticCountRE.FindStringSubmatch(d.Text)
		if m == nil {
			continue
		}
		seen[d.Line] = true
		want, ok := tg.occurrences[d.Line]
		if n, _ := strconv.ParseUint(m[1], 10, 64); !ok || n != want {
			t.Errorf("line %d: diagnostic %q, want ×%d on a profiled line", d.Line, d.Text, want)
		}
		if !strings.Contains(d.Text, "B") || !strings.Contains(d.Type, "note") {
			t.Errorf("line %d: diagnostic %q of type %s, want a memory figure as a note", d.Line, d.Text, d.Type)
		}
	}
	if !seen[16] {
		t.Errorf("no memory diagnostic on line 16 (s := make([]int, n)); got %+v", rep.Diagnostics)
	}
	t.Logf("diagnostics: %+v", rep.Diagnostics)
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
