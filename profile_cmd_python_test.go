package main

import (
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
}
