package runner

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// A second run of the same function finds its program up to date at the
// stable output path (go skips the link: same inode); an edited buffer
// relinks it there and the run sees the edit; programs unused for a week
// are pruned.
func TestBuildCacheReusesProgram(t *testing.T) {
	gocache, err := exec.Command("go", "env", "GOCACHE").Output()
	if err != nil {
		t.Fatal(err)
	}
	// The go build cache stays where it is (warm); memlens's moves.
	t.Setenv("GOCACHE", strings.TrimSpace(string(gocache)))
	cache := t.TempDir()
	t.Setenv("XDG_CACHE_HOME", cache)
	root := filepath.Join(cache, "memlens", "build")
	old := filepath.Join(root, "unused")
	if err := os.MkdirAll(old, 0o755); err != nil {
		t.Fatal(err)
	}
	weekAgo := time.Now().Add(-buildCacheUnused - time.Hour)
	if err := os.Chtimes(old, weekAgo, weekAgo); err != nil {
		t.Fatal(err)
	}

	req := Request{Target: "./testdata/go/examples", Funcs: []string{"DefFunc"}, Test: "TestDefFunc", CountsOnly: true}
	program := func() (string, uint64) {
		t.Helper()
		progs, _ := filepath.Glob(filepath.Join(root, "*", "prog"))
		if len(progs) != 1 {
			t.Fatalf("programs in the cache: %v, want one", progs)
		}
		var st syscall.Stat_t
		if err := syscall.Stat(progs[0], &st); err != nil {
			t.Fatal(err)
		}
		return progs[0], st.Ino
	}

	profileTestdata(t, req)
	if _, err := os.Stat(old); !os.IsNotExist(err) {
		t.Errorf("the program unused for a week is still there (%v)", err)
	}
	path1, ino1 := program()
	profileTestdata(t, req)
	path2, ino2 := program()
	if path1 != path2 || ino1 != ino2 {
		t.Errorf("second run: program %s (inode %d), want %s (inode %d) left as it was", path2, ino2, path1, ino1)
	}

	file := filepath.Join(testdataDir, "examples", "examples.go")
	src, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	edited := bytes.Replace(src, []byte("\tvar3 = nil\n"), []byte("\tvar3 = nil\n\tvar3 = nil\n"), 1)
	req.Overlay = map[string][]byte{file: edited}
	res := profileTestdata(t, req)
	path3, ino3 := program()
	if path3 != path1 || ino3 == ino1 {
		t.Errorf("after an edit: program %s (inode %d), want a new one at %s", path3, ino3, path1)
	}
	f, ok := res.Function("DefFunc")
	if !ok {
		t.Fatal("no DefFunc in the result")
	}
	for _, n := range []int{28, 29} { // the edit's two var3 = nil, one run each
		if l, ok := f.Line(n); !ok || strings.TrimSpace(l.Content) != "var3 = nil" || l.Occurrences != 1 {
			t.Errorf("line %d of the edited buffer: %+v, want var3 = nil ×1", n, l)
		}
	}
}
