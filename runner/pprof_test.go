package runner

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/memlens/memlens/instrument"
)

// pprofList runs `go tool pprof -list regex -sample_index=index -unit=B`
// on file and returns the cum column per line of file, summed over the
// ROUTINE blocks that show that file (a closure's lines appear in its own
// block, and blank in its parent's).
func pprofList(t *testing.T, file, regex, index, srcFile string) map[int]int64 {
	t.Helper()
	cmd := exec.Command("go", "tool", "pprof", "-list", regex, "-sample_index="+index, "-unit=B", file)
	out, err := cmd.CombinedOutput()
	if err != nil && bytes.Contains(out, []byte("no matches found for regexp")) {
		return map[int]int64{} // the function never allocated (or was inlined away)
	}
	if err != nil {
		t.Fatalf("go tool pprof -list %s: %v\n%s", regex, err, out)
	}
	return parsePprofList(t, out, srcFile)
}

var (
	routineRE = regexp.MustCompile(`^ROUTINE =+ (.*) in (.*)$`)
	listRE    = regexp.MustCompile(`^\s+(\S+)\s+(\S+)\s+(\d+):`)
)

func parsePprofList(t *testing.T, out []byte, srcFile string) map[int]int64 {
	t.Helper()
	cum := map[int]int64{}
	inFile := false
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		line := sc.Text()
		if m := routineRE.FindStringSubmatch(line); m != nil {
			inFile = filepath.Clean(m[2]) == filepath.Clean(srcFile)
			continue
		}
		m := listRE.FindStringSubmatch(line)
		if !inFile || m == nil || m[2] == "." {
			continue
		}
		n, err := strconv.ParseInt(strings.TrimSuffix(m[2], "B"), 10, 64)
		if err != nil {
			t.Fatalf("pprof -list: bad cum %q in %q", m[2], line)
		}
		ln, _ := strconv.Atoi(m[3])
		cum[ln] += n
	}
	return cum
}

// The writer's profile must be readable by the real pprof, and -list must
// give each line the cum figures of the samples whose stacks hold it.
func TestWritePprofListsLines(t *testing.T) {
	// pprof -list prints only lines it can read: give it real files.
	dir := t.TempDir()
	src := filepath.Join(dir, "build.go")
	var text strings.Builder
	for i := 1; i <= 70; i++ {
		fmt.Fprintf(&text, "// line %d\n", i)
	}
	if err := os.WriteFile(src, []byte(text.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	samples := []allocSample{
		{AllocBytes: 800, AllocObjects: 3, InUseBytes: 800, InUseObjects: 3, Stack: []stackFrame{
			{"app.NewGrid", src, 30}, {"app.Build", src, 57}, {"app.TestBuild", "/src/app/build_test.go", 9}}},
		{AllocBytes: 256, AllocObjects: 16, Stack: []stackFrame{
			{"fmt.Sprintf", "/go/src/fmt/print.go", 240}, {"app.Build", src, 61}, {"app.TestBuild", "/src/app/build_test.go", 9}}},
		{AllocBytes: 64, AllocObjects: 1, Stack: []stackFrame{
			{"app.Build.func1", src, 63}, {"app.Build", src, 61}}},
		{AllocBytes: 7, AllocObjects: 1, Stack: []stackFrame{{"app.Other", "/src/app/other.go", 5}}},
	}
	path := filepath.Join(dir, "allocs.pprof")
	if err := writePprof(path, samples); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		index string
		want  map[int]int64
	}{
		{"alloc_space", map[int]int64{30: 800, 57: 800, 61: 320, 63: 64}},
		{"alloc_objects", map[int]int64{30: 3, 57: 3, 61: 17, 63: 1}},
		{"inuse_space", map[int]int64{30: 800, 57: 800}},
	}
	for _, tt := range tests {
		got := pprofList(t, path, `app\.(Build|NewGrid)`, tt.index, src)
		if !equalCum(got, tt.want) {
			t.Errorf("%s: cum %v, want %v", tt.index, got, tt.want)
		}
	}
}

func equalCum(a, b map[int]int64) bool {
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	for k, v := range b {
		if a[k] != v {
			return false
		}
	}
	return true
}

// TestTrimRuntimeLeaf: as in Go's heap profile, the runtime's frames at
// the leaf, internal/runtime's included (a map growing), are left out, so
// the flat figure is the user's line's and the line's runtime function is
// the one it called (runtime.mapassign_faststr); a stack of runtime frames
// only stays whole.
func TestTrimRuntimeLeaf(t *testing.T) {
	grow := []instrument.Frame{
		{Func: "runtime.mallocgc", File: "/go/src/runtime/malloc.go", Line: 1},
		{Func: "internal/runtime/maps.newarray", File: "/go/src/internal/runtime/maps/table.go", Line: 10},
		{Func: "runtime.mapassign_faststr", File: "/go/src/runtime/map_faststr.go", Line: 20},
		{Func: "gjson.Result.arrayOrMap", File: "/src/gjson.go", Line: 469},
	}
	if got := trimRuntimeLeaf(grow); len(got) != 1 || got[0].Func != "gjson.Result.arrayOrMap" {
		t.Errorf("leaf %+v, want the user's function alone", got)
	}
	only := []instrument.Frame{{Func: "runtime.malg", File: "/go/src/runtime/proc.go", Line: 5}}
	if got := trimRuntimeLeaf(only); len(got) != 1 || got[0].Func != "runtime.malg" {
		t.Errorf("runtime-only stack: %+v, want runtime.malg kept", got)
	}
}
