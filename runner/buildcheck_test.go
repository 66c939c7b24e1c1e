package runner

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/memlens/memlens/profile"
)

// A click on an unchanged function runs no go command at all; editing,
// adding or removing a file of the package, or editing go.mod, builds
// again, and the run sees the change. The go command on PATH is a wrapper
// that logs its arguments.
func TestBuildSkippedWhenUpToDate(t *testing.T) {
	privateMemlensCache(t)
	realGo, err := exec.LookPath("go")
	if err != nil {
		t.Fatal(err)
	}
	bin := t.TempDir()
	log := filepath.Join(bin, "log")
	wrapper := "#!/bin/sh\necho \"$*\" >> " + log + "\nexec " + realGo + " \"$@\"\n"
	if err := os.WriteFile(filepath.Join(bin, "go"), []byte(wrapper), 0o755); err != nil {
		t.Fatal(err)
	}
	t.Setenv("PATH", bin+string(os.PathListSeparator)+os.Getenv("PATH"))

	// A module of our own, to edit on disk.
	mod := t.TempDir()
	for _, name := range []string{"go.mod", "examples/examples.go", "examples/examples_test.go"} {
		b, err := os.ReadFile(filepath.Join(testdataDir, name))
		if err != nil {
			t.Fatal(err)
		}
		write(t, filepath.Join(mod, name), string(b))
	}
	builds := func() int {
		b, _ := os.ReadFile(log)
		return strings.Count(string(b), "test -c ")
	}
	run := func(step string, wantBuilds, wantCalls int) {
		t.Helper()
		before := builds()
		res, err := Profile(context.Background(), Request{Dir: mod, Target: "./examples", Funcs: []string{"repeat"}, Test: "TestDefFunc", CountsOnly: true})
		if err != nil || res.Status != profile.StatusOK {
			t.Fatalf("%s: %v %+v", step, err, res)
		}
		if got := builds() - before; got != wantBuilds {
			t.Errorf("%s: go test -c ran %d times, want %d", step, got, wantBuilds)
		}
		if f, ok := res.Function("repeat"); !ok || f.Calls != uint64(wantCalls) {
			t.Errorf("%s: repeat called %+v, want %d calls", step, f, wantCalls)
		}
	}
	run("first", 1, 3)
	run("unchanged", 0, 3)
	run("unchanged again", 0, 3)

	test := filepath.Join(mod, "examples", "examples_test.go")
	src, err := os.ReadFile(test)
	if err != nil {
		t.Fatal(err)
	}
	edited := strings.Replace(string(src), "func TestDefFunc(t *testing.T) {\n", "func TestDefFunc(t *testing.T) {\n\tDefFunc()\n", 1)
	if edited == string(src) {
		t.Fatal("no TestDefFunc to edit")
	}
	write(t, test, edited) // a file that is not instrumented
	run("test file edited", 1, 6)
	run("unchanged after the edit", 0, 6)

	extra := filepath.Join(mod, "examples", "extra.go")
	write(t, extra, "package examples\n\nfunc init() { repeat(1, 1) }\n")
	run("file added", 1, 7)
	if err := os.Remove(extra); err != nil {
		t.Fatal(err)
	}
	backdate(t, filepath.Dir(extra))
	run("file removed", 1, 6)

	gomod := filepath.Join(mod, "go.mod")
	b, err := os.ReadFile(gomod)
	if err != nil {
		t.Fatal(err)
	}
	write(t, gomod, string(b)+"\n// edited\n")
	run("go.mod edited", 1, 6)
	run("unchanged at last", 0, 6)
}

// write writes a file and dates it and its directory a minute back: a
// file changed within a second of a build's start is not trusted to be
// the one the build read (recordInputs), so the next click would build
// again.
func write(t *testing.T, path, s string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(s), 0o644); err != nil {
		t.Fatal(err)
	}
	backdate(t, path, filepath.Dir(path))
}

func backdate(t *testing.T, paths ...string) {
	t.Helper()
	then := time.Now().Add(-time.Minute)
	for _, p := range paths {
		if err := os.Chtimes(p, then, then); err != nil {
			t.Fatal(err)
		}
	}
}
