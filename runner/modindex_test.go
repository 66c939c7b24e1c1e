package runner

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// copyTestdataModule copies testdata/go into a temporary directory (its
// files' times are then the copy's), for tests that change files.
func copyTestdataModule(t *testing.T) string {
	t.Helper()
	dst := filepath.Join(t.TempDir(), "go")
	err := filepath.WalkDir(testdataDir, func(path string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(testdataDir, path)
		if d.IsDir() {
			return os.MkdirAll(filepath.Join(dst, rel), 0o755)
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(dst, rel), b, 0o644)
	})
	if err != nil {
		t.Fatal(err)
	}
	return dst
}

// searchWith finds the entry of req with the store s.
func searchWith(t *testing.T, s *graphStore, req Request) string {
	t.Helper()
	req.Progress = func(Progress) {}
	r, err := newGoRun(req)
	if err != nil {
		t.Fatal(err)
	}
	defer r.close()
	r.store = s
	ctx := context.Background()
	if err := r.resolve(ctx); err != nil {
		t.Fatal(err)
	}
	e, err := r.findEntry(ctx)
	if err != nil {
		return "error: " + err.Error()
	}
	return e.Describe
}

// The module's listing and graphs are built once and then found in the
// store's memory, in its directory by a new store (a new memlens process),
// and built again only for what changed: a file's time, an editor buffer.
func TestGraphStoreCaches(t *testing.T) {
	mod := copyTestdataModule(t)
	cacheDir := t.TempDir()
	s := newGraphStore()
	s.dir = cacheDir
	req := Request{Dir: mod, Target: "./xpkg/lib", Funcs: []string{"Join"}}
	const app = "go test -run ^(TestRun)$ " + xpkg + "/app (tests of another package that reach Join)"

	if got := searchWith(t, s, req); got != app {
		t.Fatalf("entry %q, want %q", got, app)
	}
	if s.listed != 1 || s.built == 0 {
		t.Fatalf("first search: %d listings, %d graphs built", s.listed, s.built)
	}
	built := s.built
	if got := searchWith(t, s, req); got != app || s.listed != 1 || s.built != built {
		t.Errorf("second search: %q, %d listings, %d graphs built (want 1 and %d)", got, s.listed, s.built, built)
	}

	// A new process: everything from the disk.
	s2 := newGraphStore()
	s2.dir = cacheDir
	if got := searchWith(t, s2, req); got != app || s2.listed != 0 || s2.built != 0 {
		t.Errorf("new store: %q, %d listings, %d graphs built (want 0 and 0)", got, s2.listed, s2.built)
	}

	// A changed file: listed again; only the graph of its package (app
	// with its tests) is built again.
	test := filepath.Join(mod, "xpkg", "app", "app_test.go")
	later := time.Now().Add(time.Minute)
	if err := os.Chtimes(test, later, later); err != nil {
		t.Fatal(err)
	}
	if got := searchWith(t, s2, req); got != app || s2.listed != 1 || s2.built != 1 {
		t.Errorf("after touching app_test.go: %q, %d listings, %d graphs built (want 1 and 1)", got, s2.listed, s2.built)
	}

	// An editor buffer of app_test.go whose TestRun no longer calls Run:
	// no test reaches Join, and the file on disk still says otherwise.
	src, err := os.ReadFile(test)
	if err != nil {
		t.Fatal(err)
	}
	edited := strings.Replace(string(src), `got := Run([]string{"go", "memory", "lens"}, lib.Upper{Prefix: "+"}, lib.Twice)`, `got := lib.Twice("x")`, 1)
	if edited == string(src) {
		t.Fatal("app_test.go changed: the edit does not apply")
	}
	req.Overlay = map[string][]byte{test: []byte(edited)}
	if got := searchWith(t, s2, req); !strings.HasPrefix(got, "error: no way to run the function: no test or program of the module reaches Join") {
		t.Errorf("with the buffer: %q", got)
	}
	req.Overlay = nil
	if got := searchWith(t, s2, req); got != app {
		t.Errorf("without the buffer again: %q", got)
	}
}

// The in-memory cache forgets its least recently used entries.
func TestLRU(t *testing.T) {
	c := newLRU[int](4)
	for i, k := range []string{"a", "b", "c", "d"} {
		c.put(k, i+1)
	}
	c.get("a") // a is now the most recently used
	c.put("e", 5)
	if len(c.m) > 4 {
		t.Fatalf("%d entries kept, max 4", len(c.m))
	}
	if c.get("a") != 1 || c.get("e") != 5 {
		t.Errorf("lost a recent entry: %v", c.m)
	}
	if _, ok := c.m["b"]; ok {
		t.Errorf("kept the least recently used entry b: %v", c.m)
	}
}

// Outside modules (GOPATH mode) the package's own tests are still found;
// there is no module to search beyond it.
func TestEntryInGOPATHMode(t *testing.T) {
	gopath := t.TempDir()
	dir := filepath.Join(gopath, "src", "foo")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	files := map[string]string{
		"foo.go":      "package foo\n\nimport \"strings\"\n\nfunc Up(s string) string {\n\treturn strings.ToUpper(s + s)\n}\n\nfunc Down(s string) string {\n\treturn strings.ToLower(s)\n}\n",
		"foo_test.go": "package foo\n\nimport \"testing\"\n\nfunc TestUp(t *testing.T) {\n\tif Up(\"a\") != \"AA\" {\n\t\tt.Fatal()\n\t}\n}\n",
	}
	for name, src := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(src), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	t.Setenv("GOPATH", gopath)
	t.Setenv("GO111MODULE", "off")
	s := newGraphStore()
	s.dir = ""
	if got := searchWith(t, s, Request{Dir: dir, Target: ".", Funcs: []string{"Up"}}); got != "go test -run ^(TestUp)$ (tests that reach Up)" {
		t.Errorf("Up: %q", got)
	}
	if got := searchWith(t, s, Request{Dir: dir, Target: ".", Funcs: []string{"Down"}}); !strings.Contains(got, "the module search failed: ") {
		t.Errorf("Down: %q, want an error that says the module search failed", got)
	}
}
