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

// privateMemlensCache gives the test a memlens cache of its own (returned:
// the XDG cache directory) while go's build cache stays where it is, warm.
func privateMemlensCache(t *testing.T) string {
	t.Helper()
	gocache, err := exec.Command("go", "env", "GOCACHE").Output()
	if err != nil {
		t.Fatal(err)
	}
	t.Setenv("GOCACHE", strings.TrimSpace(string(gocache)))
	cache := t.TempDir()
	t.Setenv("XDG_CACHE_HOME", cache)
	return cache
}

// A second run of the same function finds its program up to date at the
// stable output path (same inode); an edited buffer builds a program of its
// own beside it (a variant of the same family) and the run sees the edit;
// going back to the unedited file finds the first program still current;
// past buildCacheVariants variants the least recently used goes; programs
// unused for a week are pruned.
func TestBuildCacheReusesProgram(t *testing.T) {
	cache := privateMemlensCache(t)
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
	programs := func() map[string]uint64 {
		t.Helper()
		progs, _ := filepath.Glob(filepath.Join(root, "*", "prog"))
		inodes := map[string]uint64{}
		for _, p := range progs {
			var st syscall.Stat_t
			if err := syscall.Stat(p, &st); err != nil {
				t.Fatal(err)
			}
			inodes[p] = st.Ino
		}
		return inodes
	}
	program := func() (string, uint64) {
		t.Helper()
		progs := programs()
		if len(progs) != 1 {
			t.Fatalf("programs in the cache: %v, want one", progs)
		}
		for p, ino := range progs {
			return p, ino
		}
		return "", 0
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
	after := programs()
	if len(after) != 2 || after[path1] != ino1 {
		t.Fatalf("after an edit: programs %v, want %s (inode %d) kept and a new one", after, path1, ino1)
	}
	for p := range after {
		if p != path1 && filepath.Base(filepath.Dir(p))[:24] != filepath.Base(filepath.Dir(path1))[:24] {
			t.Errorf("the edited buffer's program %s is not of %s's family", p, path1)
		}
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

	req.Overlay = nil
	profileTestdata(t, req)
	if back := programs(); back[path1] != ino1 {
		t.Errorf("back to the file: programs %v, want %s (inode %d) as it was", back, path1, ino1)
	}

	// More edits than the family keeps: the least recently used go.
	for i := range buildCacheVariants {
		edit := bytes.Replace(src, []byte("\tvar3 = nil\n"), []byte(strings.Repeat("\tvar3 = nil\n", i+3)), 1)
		req.Overlay = map[string][]byte{file: edit}
		profileTestdata(t, req)
	}
	if last := programs(); len(last) != buildCacheVariants {
		t.Errorf("after %d more edits: %d programs, want %d (%v)", buildCacheVariants, len(last), buildCacheVariants, last)
	}
}
