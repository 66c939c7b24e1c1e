package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// TestProfileCommandPython builds memlens once and checks that
// `memlens profile testdata/python/memoryexample.py defFunc` prints
// memory_profiler's table for the seed's Example 1.
func TestProfileCommandPython(t *testing.T) {
	if _, err := exec.LookPath("python3"); err != nil {
		t.Skip("no python3 on PATH")
	}
	bin := filepath.Join(t.TempDir(), "memlens")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	out, err := exec.Command(bin, "profile", "--quiet", "testdata/python/memoryexample.py", "defFunc").CombinedOutput()
	if err != nil {
		t.Fatalf("memlens profile: %v\n%s", err, out)
	}
	text := string(out)
	for _, want := range []*regexp.Regexp{
		regexp.MustCompile(`Filename: .*testdata/python/memoryexample\.py`),
		regexp.MustCompile(`Line #\s+Mem usage\s+Increment\s+Occurrences`),
		regexp.MustCompile(`(?m)^\s+4\s+[\d.]+ MiB\s+[-\d.]+ MiB\s+1\s.*@profile$`),
		// Python counts no objects: the column says so rather than 0.
		regexp.MustCompile(`(?m)^\s+8\s+[\d.]+ MiB\s+[-\d.]+ MiB\s+1\s+10\.\d KiB\s+—\s.*var1 = \[1\] \* \(6 \*\* 4\)$`),
		regexp.MustCompile(`(?m)^\s+14\s+[\d.]+ MiB\s+[-\d.]+ MiB\s+1\s.*return var2$`),
	} {
		if !want.MatchString(text) {
			t.Errorf("output lacks %v:\n%s", want, text)
		}
	}
	if strings.Contains(text, " objects,") {
		t.Errorf("the summary counts objects Python does not measure:\n%s", text)
	}
	if strings.Contains(text, "We have successfully") {
		t.Errorf("--quiet still echoed the program's output:\n%s", text)
	}

	// `memlens profile script.py < file`: the program reads memlens's stdin.
	in := filepath.Join(t.TempDir(), "in.csv")
	if err := os.WriteFile(in, []byte(strings.Repeat("a,b,c\n", 500)), 0o644); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(in)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	cmd := exec.Command(bin, "profile", "testdata/python/stdin.py")
	cmd.Stdin = f
	out, err = cmd.CombinedOutput()
	if err != nil || !strings.Contains(string(out), "read 500 rows") ||
		!regexp.MustCompile(`(?m)^\s+8\s+[\d.]+ MiB\s+[-\d.]+ MiB\s+500\s.*rows\.append`).Match(out) {
		t.Errorf("memlens profile stdin.py < in.csv: %v\n%s", err, out)
	}
}

// A function named that did not run, while another did, is said on stderr:
// the table alone would drop it without a word. A dataclass's generated
// __init__ runs, but has no source to profile; the message says so.
func TestProfileCommandPythonNotRun(t *testing.T) {
	if _, err := exec.LookPath("python3"); err != nil {
		t.Skip("no python3 on PATH")
	}
	code, stdout, stderr := profileCLI(t, "--quiet", "testdata/python/generated.py", "Point.norm", "Point.__init__")
	if code != 0 || !strings.Contains(stdout, "def norm(self):") || strings.Contains(stdout, "__init__") ||
		!strings.Contains(stderr, "memlens: Point.__init__ never ran: its code was generated while the program ran (<string>") {
		t.Errorf("exit code %d\nstdout:\n%s\nstderr:\n%s", code, stdout, stderr)
	}
	code, _, stderr = profileCLI(t, "--quiet", "testdata/python/plainfunc.py", "Box.fill", "needs")
	if code != 0 || !strings.Contains(stderr, "memlens: needs never ran: the script never called it and it needs arguments (a)") {
		t.Errorf("exit code %d\nstderr:\n%s", code, stderr)
	}
}

// `memlens profile -m MODULE FUNC -- ARGS` runs the module as python -m
// does; a function of a module that is no script runs through its tests,
// which the command names.
func TestProfileCommandPythonEntries(t *testing.T) {
	const py = "/usr/bin/python3" // Debian's, with python3-pytest (.ci/run)
	if exec.Command(py, "-c", "import pytest").Run() != nil {
		t.Skip(py + " cannot import pytest: apt-get install python3-pytest")
	}
	t.Run("module", func(t *testing.T) {
		t.Chdir("testdata/python/modrun")
		code, stdout, stderr := profileCLI(t, "--python", py, "-m", "tool.words", "longest", "--", "a", "bbb")
		if code != 0 || !strings.Contains(stdout, "def longest(words):") || !strings.Contains(stderr, "running "+py+" -m tool.words a bbb") ||
			!strings.Contains(stderr, "longest bbb") {
			t.Errorf("exit code %d\nstdout:\n%s\nstderr:\n%s", code, stdout, stderr)
		}
	})
	t.Run("pytest", func(t *testing.T) {
		code, stdout, stderr := profileCLI(t, "--python", py, "--quiet", "testdata/python/pkg/textutil.py", "count_words")
		if code != 0 || !strings.Contains(stdout, "def count_words(text):") ||
			!strings.Contains(stderr, "memlens: ran pytest pkg/test_wordstats.py::WordStats::test_count_words\n") {
			t.Errorf("exit code %d\nstdout:\n%s\nstderr:\n%s", code, stdout, stderr)
		}
	})
}
