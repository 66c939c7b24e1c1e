package runner

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/memlens/memlens/profile"
)

// testdataDir is the testdata module's root.
var testdataDir = filepath.Join(repoRoot, "testdata", "go")

const testdataModule = "example.com/memlens/testdata"

// profileTestdata profiles funcs of a testdata package through the test
// regexp tests (or the package's own entry when tests is empty).
func profileTestdata(t *testing.T, req Request) *profile.Result {
	t.Helper()
	req.Dir = repoRoot
	// One P, here and in the reference: fmt's printer cache is per P, so
	// with several the bytes a Sprintf allocates depend on scheduling.
	req.Env = append(req.Env, "GOMAXPROCS=1")
	res, err := Profile(context.Background(), req)
	if err != nil {
		t.Fatalf("Profile %s %v: %v", req.Target, req.Funcs, err)
	}
	if res.Status != profile.StatusOK {
		t.Fatalf("Profile %s %v: %s: %s\n%s", req.Target, req.Funcs, res.Status, res.Message, res.Output)
	}
	return res
}

// lineOf finds the line of f whose trimmed content is prefix, or else the
// only one that starts with it.
func lineOf(t *testing.T, f *profile.Function, prefix string) *profile.Line {
	t.Helper()
	for i := range f.Lines {
		if strings.TrimSpace(f.Lines[i].Content) == prefix {
			return &f.Lines[i]
		}
	}
	var found *profile.Line
	for i := range f.Lines {
		if strings.HasPrefix(strings.TrimSpace(f.Lines[i].Content), prefix) {
			if found != nil {
				t.Fatalf("%s: two lines start with %q", f.Name, prefix)
			}
			found = &f.Lines[i]
		}
	}
	if found == nil {
		t.Fatalf("%s: no line starts with %q", f.Name, prefix)
	}
	return found
}

// checkCounts compares occurrences with hand-derived counts; lines not in
// want must not have run, unless they hold no code.
func checkCounts(t *testing.T, res *profile.Result, name string, calls uint64, want lines) {
	t.Helper()
	f, ok := res.Function(name)
	if !ok {
		t.Fatalf("no function %s in the result", name)
	}
	if f.Calls != calls {
		t.Errorf("%s: calls %d, want %d", name, f.Calls, calls)
	}
	wanted := map[int]bool{}
	from := 0
	for _, w := range want {
		prefix, n := w.prefix, w.n
		l := lineFrom(t, f, from, prefix)
		from = l.Line - f.StartLine + 1
		wanted[l.Line] = true
		if n == someRuns && l.Occurrences > 0 {
			continue
		}
		if l.Occurrences != n {
			t.Errorf("%s:%d %q: occurrences %d, want %d", name, l.Line, prefix, l.Occurrences, n)
		}
	}
	for _, l := range f.Lines {
		if !wanted[l.Line] && l.Occurrences != 0 {
			t.Errorf("%s:%d %q: occurrences %d, want none", name, l.Line, l.Content, l.Occurrences)
		}
	}
	if len(f.Lines) != f.EndLine-f.StartLine+1 {
		t.Errorf("%s: %d lines for %d..%d", name, len(f.Lines), f.StartLine, f.EndLine)
	}
}

// referenceRuns is how many reference profiles are taken: some lines
// allocate differently from run to run in plain Go, and two runs tell many
// of them apart.
const referenceRuns = 2

// unsteadyLines allocate differently from one plain run to the next, too
// rarely for two reference runs to show it, by whole objects of one size
// that stay live to the end: such a line may differ from each reference
// run by a whole number of those objects, in allocated and in retained
// figures alike (bytes and objects), and by nothing else.
var unsteadyLines = map[string]unsteady{
	// The first request reads GODEBUG settings (http2client, ...) through
	// internal/godebug's cache, a sync.Map: its HashTrieMap expands by one
	// 160 B indirect node per hash-prefix level the new key shares with a
	// stored one, which depends on the per-process hash seed (0, 1 or 2
	// nodes seen). The cache is global: the nodes are retained.
	"(*BaseExtr).ParseURL: resp, err := b.Client.Get(url)": {"hash-seed dependent trie nodes", 160},
	// The first Marshal of an Order fills encoding/json's type caches
	// (encoderCache, fieldCache: sync.Maps keyed by reflect.Type) and
	// reflect's ptrMap: the same 160 B nodes, 3 to 5 seen.
	"JSONRoundTrip: data, err := json.Marshal(o)": {"hash-seed dependent trie nodes", 160},
}

// unsteady says why a line's figures vary and the size of the objects
// whose number does.
type unsteady struct {
	why    string
	object int64
}

// referenceProfile runs the package's tests, not instrumented, with
// -test.memprofilerate=1, referenceRuns times, and returns the memory
// profiles' paths.
func referenceProfile(t *testing.T, res *profile.Result, pkgDir string, testArgs ...string) []string {
	t.Helper()
	return referenceProfileWith(t, res, pkgDir, nil, testArgs...)
}

// referenceProfileWith is referenceProfile with extra files in the build
// overlay: test files that exist only there, which the memlens run was
// given as Request.Overlay too, so that both runs execute the same entry.
//
// The profiled functions are marked //go:noinline in the reference (through
// an overlay; a //line directive keeps the lines): a profiled function is
// never inlined (it has probes and a deferred leave), and inlining changes
// what escapes. Plain, examples.repeat is inlined into DefFunc, where the
// compiler sees var1 and var3 never escape and keeps them on the stack.
func referenceProfileWith(t *testing.T, res *profile.Result, pkgDir string, extra map[string][]byte, testArgs ...string) []string {
	t.Helper()
	dir := t.TempDir()
	ov := newOverlay(dir)
	for path, src := range extra {
		if err := ov.add(path, src); err != nil {
			t.Fatal(err)
		}
	}
	starts := map[string][]int{}
	for _, f := range res.Functions {
		starts[f.File] = append(starts[f.File], f.StartLine)
	}
	for file, lines := range starts {
		src, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		text := strings.SplitAfter(string(src), "\n")
		for _, n := range lines {
			text[n-1] = fmt.Sprintf("//go:noinline\n//line %s:%d\n", file, n) + text[n-1]
		}
		if err := ov.add(file, []byte(strings.Join(text, ""))); err != nil {
			t.Fatal(err)
		}
	}
	ovFile, err := ov.write()
	if err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(dir, "ref.test")
	build := exec.Command("go", "test", "-c", "-o", bin, "-overlay", ovFile, ".")
	build.Dir = pkgDir
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go test -c: %v\n%s", err, out)
	}
	var mems []string
	for i := range referenceRuns {
		mem := filepath.Join(dir, fmt.Sprintf("mem%d.pprof", i))
		args := append([]string{"-test.count=1", "-test.memprofilerate=1", "-test.memprofile=" + mem}, testArgs...)
		run := exec.Command(bin, args...)
		run.Dir = pkgDir
		run.Env = append(os.Environ(), "GOMAXPROCS=1")
		if out, err := run.CombinedOutput(); err != nil {
			t.Fatalf("reference run: %v\n%s", err, out)
		}
		mems = append(mems, mem)
	}
	return mems
}

// pprofSymbol is the regexp that selects a function and its closures in
// pprof -list: pkg.Build, pkg.Build.func1, pkg.(*Grid).Add, pkg.Map[...],
// and pkg.TestLabels.Labels.func1 (Labels inlined into its caller).
func pprofSymbol(importPath, name string) string {
	return "^" + regexp.QuoteMeta(importPath+".") + `(.*\.)?` + regexp.QuoteMeta(name) + `(\.|\[|$)`
}

// checkAgainstPprof compares every line's allocated bytes and objects with
// pprof -list's cum column (alloc_space, alloc_objects) on the reference
// profiles; see comparePprof.
func checkAgainstPprof(t *testing.T, res *profile.Result, mems []string) {
	t.Helper()
	comparePprof(t, res, mems, allocated)
}

// checkRetainedAgainstPprof compares every line's retained bytes and
// objects with pprof -list's cum column of inuse_space and inuse_objects
// on the reference profiles; see comparePprof.
//
// Both are read after one GC at the end of the run: go test's
// -test.memprofile runs runtime.GC and writes the heap profile once the
// tests are done, and memlens's exit dump runs runtime.GC and reads the
// same records (runtime.GC publishes the cycle it completes, allocations
// and the frees of its sweep). What a line retains is what is reachable
// from package variables, caches and sync.Pools then.
func checkRetainedAgainstPprof(t *testing.T, res *profile.Result, mems []string) {
	t.Helper()
	comparePprof(t, res, mems, retained)
}

// pprofMeasure is a pair of a line's figures and pprof's sample indexes
// for them.
type pprofMeasure struct {
	verb           string // "allocated", "retained"
	space, objects string // pprof sample indexes
	line           func(*profile.Line) (bytes, objects int64)
}

var (
	allocated = pprofMeasure{"allocated", "alloc_space", "alloc_objects", func(l *profile.Line) (int64, int64) { return l.AllocBytes, l.AllocObjects }}
	retained  = pprofMeasure{"retained", "inuse_space", "inuse_objects", func(l *profile.Line) (int64, int64) { return l.RetainedBytes, l.RetainedObjects }}
)

// comparePprof compares every line's figures of measure m with pprof
// -list's cum column on the reference profiles. Where the reference runs
// agree, the line must match them, but for whole tiny-allocator blocks;
// where they disagree (plain Go is not deterministic there), the line must
// stay within their range widened by their spread.
func comparePprof(t *testing.T, res *profile.Result, mems []string, m pprofMeasure) {
	t.Helper()
	for _, f := range res.Functions {
		sym := pprofSymbol(f.Package, f.Name)
		var space, objects []map[int]int64
		for _, mem := range mems {
			space = append(space, pprofList(t, mem, sym, m.space, f.File))
			objects = append(objects, pprofList(t, mem, sym, m.objects, f.File))
		}
		for i := range f.Lines {
			l := &f.Lines[i]
			gotBytes, gotObjects := m.line(l)
			if u, ok := unsteadyLines[f.Name+": "+strings.TrimSpace(l.Content)]; ok {
				for r := range space {
					d, dObjects := gotBytes-space[r][l.Line], gotObjects-objects[r][l.Line]
					if d%u.object != 0 || dObjects != d/u.object {
						t.Errorf("%s:%d %q: %s %d B in %d objects, reference run %d %d B in %d: not a whole number of %d B objects (%s)",
							f.Name, l.Line, l.Content, m.verb, gotBytes, gotObjects, r, space[r][l.Line], objects[r][l.Line], u.object, u.why)
					} else if d != 0 {
						t.Logf("%s:%d %q: %s %+d object(s) of %d B vs reference run %d (%s)", f.Name, l.Line, strings.TrimSpace(l.Content), m.verb, dObjects, u.object, r, u.why)
					}
				}
				continue
			}
			lo, hi := space[0][l.Line], space[0][l.Line]
			for _, sp := range space[1:] {
				lo, hi = min(lo, sp[l.Line]), max(hi, sp[l.Line])
			}
			spread := hi - lo
			if lo != hi {
				if gotBytes < lo-spread || gotBytes > hi+spread {
					t.Errorf("%s:%d %q: %s %d B, plain runs %d..%d B", f.Name, l.Line, l.Content, m.verb, gotBytes, lo, hi)
				} else {
					t.Logf("%s:%d %q: %s %d B; plain runs vary, %d..%d B", f.Name, l.Line, strings.TrimSpace(l.Content), m.verb, gotBytes, lo, hi)
				}
				continue
			}
			wantBytes, wantObjects := lo, objects[0][l.Line]
			dBytes, dObjects := gotBytes-wantBytes, gotObjects-wantObjects
			if dBytes == 0 && dObjects == 0 {
				continue
			}
			// The tiny allocator: pointer-free objects under 16 B share a
			// 16-byte block and only the allocation that opens a block is
			// recorded, as 16 B and 1 object (and stays in use while any
			// object of the block is). Which allocation opens one depends
			// on the block left over when the function starts, which
			// differs between two programs (the reference is not
			// instrumented). Such a line may differ by whole blocks, no
			// more.
			if dBytes%16 == 0 && dObjects == dBytes/16 && abs(int(dObjects)) <= max(int(gotObjects), int(wantObjects)) {
				t.Logf("%s:%d %q: %s %+d tiny block(s) vs the reference (%d B, %d objects)", f.Name, l.Line, strings.TrimSpace(l.Content), m.verb, dObjects, wantBytes, wantObjects)
				continue
			}
			t.Errorf("%s:%d %q: %s %d B in %d objects, pprof -list -sample_index=%s says %d B in %d",
				f.Name, l.Line, l.Content, m.verb, gotBytes, gotObjects, m.space, wantBytes, wantObjects)
		}
	}
}

// testArgsOf extracts the test binary flags from a Result.Entry such as
// "go test -run ^(A|B)$ -bench ^(C)$ -benchtime 1x (tests that reach F)".
func testArgsOf(entry string) []string {
	var args []string
	fields := strings.Fields(entry)
	for i := 0; i+1 < len(fields); i++ {
		switch fields[i] {
		case "-run", "-bench", "-benchtime":
			args = append(args, "-test."+fields[i][1:], fields[i+1])
		}
	}
	return args
}

// The shapes package: every function run through its tests, occurrences
// against hand counts, allocations against pprof.
func TestProfileShapes(t *testing.T) {
	res := profileTestdata(t, Request{
		Target: "./testdata/go/shapes",
		Test:   "TestBuild|TestLabels|TestSafeDiv|TestAreas|TestFirstBig|TestDrainAndDescribe",
		Funcs: []string{"NewGrid", "Build", "(*Grid).Add", "Grid.Len", "Grid.Kinds", "Labels", "Map", "SafeDiv", "Areas", "area",
			"FirstBig", "Drain", "Describe", "Histogram"},
	})
	if res.Entry != "go test -run ^(TestBuild|TestLabels|TestSafeDiv|TestAreas|TestFirstBig|TestDrainAndDescribe)$" {
		t.Errorf("entry %q", res.Entry)
	}
	for _, c := range shapesCounts {
		checkCounts(t, res, c.name, c.calls, c.lines)
	}
	// Callees name who allocated for a line; RSS is read on counted lines.
	build, _ := res.Function("Build")
	label := lineOf(t, build, "label := fmt.Sprintf")
	if len(label.Callees) == 0 || label.Callees[0].Name != "fmt.Sprintf" {
		t.Errorf("label line callees %+v, want fmt.Sprintf first", label.Callees)
	}
	if label.MemUsageBytes == 0 || build.PeakMemBytes < label.MemUsageBytes {
		t.Errorf("label line mem usage %d, function peak %d", label.MemUsageBytes, build.PeakMemBytes)
	}
	for _, l := range build.Lines {
		if l.RetainedBytes > l.AllocBytes {
			t.Errorf("Build:%d retains %d B of %d allocated", l.Line, l.RetainedBytes, l.AllocBytes)
		}
	}
	mem := referenceProfile(t, res, filepath.Join(testdataDir, "shapes"), testArgsOf(res.Entry)...)
	checkAgainstPprof(t, res, mem)
	checkRetainedAgainstPprof(t, res, mem)
}

// lineFrom finds the first line of f from index i on whose trimmed
// content starts with prefix.
func lineFrom(t *testing.T, f *profile.Function, i int, prefix string) *profile.Line {
	t.Helper()
	for ; i < len(f.Lines); i++ {
		if strings.HasPrefix(strings.TrimSpace(f.Lines[i].Content), prefix) {
			return &f.Lines[i]
		}
	}
	t.Fatalf("%s: no line starting with %q after the previous one", f.Name, prefix)
	return nil
}

// someRuns stands for a count that depends on map iteration order (a
// sort's comparisons): the line must have run, how often is not fixed.
const someRuns = ^uint64(0)

// funcCounts is a function's hand-derived call and line counts.
type funcCounts struct {
	name  string
	calls uint64
	lines lines
}

// lines are line content prefixes and their occurrences, in source order
// (so that a repeated line, like `if err != nil {`, is told apart).
type lines []struct {
	prefix string
	n      uint64
}

// Build runs with n = 4 (TestBuild), 2 (TestLabels), 3 (TestAreas) and 3
// (TestFirstBig): 38 cells, 12 kinds printed. A function's own line counts
// its calls; a loop header counts its iterations + 1 per loop run.
var shapesCounts = []funcCounts{
	// Build's 4 grids and TestDrainAndDescribe's.
	{"NewGrid", 5, lines{{"func NewGrid", 5}, {"return &Grid", 5}}},
	// TestBuild's g.Len() (through the *Grid wrapper).
	{"Grid.Len", 1, lines{{"func (g Grid) Len", 1}}},
	// No test calls Histogram: profiled, it must show nothing, as the
	// reference does.
	{"Histogram", 0, nil},
	{"Build", 4, lines{{"func Build", 4}, {"g := NewGrid(n)", 4}, {"counts := map", 4}, {"for i := 0; i < n*n; i++", 42}, {"kind := kinds", 38}, {"label := fmt.Sprintf", 38}, {"g.Add(Shape", 38}, {"counts[kind]++", 38}, {"var b strings.Builder", 4}, {"for _, k := range g.Kinds()", 16}, {"fmt.Fprintf(&b", 12}, {"return g, strings.TrimSpace", 4}}},
	{"(*Grid).Add", 38, lines{{"func (g *Grid) Add", 38}, {"g.Cells = append", 38}, {"g.index[s.Kind] = append", 38}}},
	{"Grid.Kinds", 4, lines{{"func (g Grid) Kinds", 4}, {"kinds := make", 4}, {"for k := range g.index", 16}, {"kinds = append", 12}, {"sort.Strings(kinds)", 4}, {"return kinds", 4}}},
	// Labels of a 2x2 grid: the closure runs once per cell, called by Map.
	{"Labels", 1, lines{{"func Labels", 1}, {"upper := func", 1}, {"return prefix + strings.ToUpper", 4}, {"return Map(g.Cells, upper)", 1}}},
	{"Map", 1, lines{{"func Map", 1}, {"out := make", 1}, {"for _, x := range xs", 5}, {"out = append(out, f(x))", 4}, {"return out", 1}}},
	// 7/2, then 1/0 which panics and is recovered by the deferred closure.
	{"SafeDiv", 2, lines{{"func SafeDiv", 2}, {"defer func()", 2}, {"if r := recover()", 2}, {"err = fmt.Errorf", 1}, {"q = a / b", 2}, {"return q, nil", 1}}},
	// 9 cells on 2 goroutines (5 + 4).
	{"Areas", 1, lines{{"func Areas", 1}, {"var wg sync.WaitGroup", 1}, {"var mu sync.Mutex", 1}, {"total := 0", 1}, {"chunk :=", 1}, {"for w := 0; w < workers; w++", 3}, {"lo, hi :=", 2}, {"wg.Add(1)", 2}, {"go func()", 2}, {"defer wg.Done()", 2}, {"sums := make", 2}, {"for _, s := range g.Cells[lo:hi]", 11}, {"sums = append", 9}, {"mu.Lock()", 2}, {"for _, v := range sums", 11}, {"total += v", 9}, {"mu.Unlock()", 2}, {"wg.Wait()", 1}, {"return total", 1}}},
	{"area", 9, lines{{"func area", 9}, {"switch s.Kind", 9}, {"case \"circle\":", 3}, {"return 3 * s.Size * s.Size", 3}, {"case \"square\":", 3}, {"return s.Size * s.Size", 3}, {"default:", 3}, {"return s.Size * s.Size / 2", 3}}},
	// Limit 5 is found at cell 5 (row 1, column 2); limit 100 scans all 9.
	{"FirstBig", 2, lines{{"func FirstBig", 2}, {"found := -1", 2}, {"for r := 0; r < g.N; r++", 6}, {"for c := 0; c < g.N; c++", 19}, {"i := r*g.N + c", 15}, {"if i >= len(g.Cells)", 15}, {"if g.Cells[i].Size >= limit", 15}, {"found = i", 1}, {"break rows", 1}, {"if found < 0", 2}, {"goto none", 1}, {"return fmt.Sprintf", 1}, {"return \"none\"", 1}}},
	// Two values, then the closed channel: a `for {` header counts each
	// iteration (there is no condition to count once more).
	{"Drain", 1, lines{{"func Drain", 1}, {"var out []string", 1}, {"for {", 3}, {"select {", 3}, {"case v, ok := <-values:", 3}, {"if !ok", 3}, {"return out", 1}, {"out = append(out, fmt.Sprint(v))", 2}}},
	{"Describe", 4, lines{{"func Describe", 4}, {"switch x := v.(type)", 4}, {"case Shape:", 1}, {"return \"shape \" + x.Label", 1}, {"case *Grid:", 1}, {"return fmt.Sprintf(\"grid", 1}, {"case []string:", 1}, {"return strings.Join", 1}, {"default:", 1}, {"return fmt.Sprint(x)", 1}}},
}

// DefFunc calls repeat three times (1296, 8 and 864 elements); the test
// serves 20000 words and parses a list of 5.
var examplesCounts = []funcCounts{
	{"DefFunc", 1, lines{{"func DefFunc", 1}, {"var1 := repeat", 1}, {"var2 := repeat", 1}, {"var3 := repeat", 1}, {"var3 = nil", 1}, {"var1 = nil", 1}, {"_, _ = var1, var3", 1}, {"return var2", 1}}},
	{"repeat", 3, lines{{"func repeat", 3}, {"s := make", 3}, {"for i := range s", 2171}, {"s[i] = v", 2168}, {"return s", 3}}},
	{"(*BaseExtr).ParseList", 1, lines{{"func (b *BaseExtr) ParseList", 1}, {"sampleFile, err := os.Create", 1}, {"if err != nil", 1}, {"defer sampleFile.Close()", 1}, {"w := bufio.NewWriter", 1}, {"for _, parsedWords := range array", 6}, {"if _, err := w.WriteString", 5}, {"return w.Flush()", 1}}},
	{"(*BaseExtr).ParseURL", 1, lines{{"func (b *BaseExtr) ParseURL", 1}, {"resp, err := b.Client.Get(url)", 1}, {"if err != nil", 1}, {"defer resp.Body.Close()", 1}, {"if resp.StatusCode != http.StatusOK", 1}, {"response, err := io.ReadAll", 1}, {"if err != nil", 1}, {"sampleFile, err := os.Create", 1}, {"if err != nil", 1}, {"defer sampleFile.Close()", 1}, {"n, err := sampleFile.Write(response)", 1}, {"return n, err", 1}}},
}

// The built-in sample: 48 words, 16 distinct; sort's comparisons depend on
// map order.
var wordcountCounts = []funcCounts{
	{"Count", 1, lines{{"func Count", 1}, {"counts := make", 1}, {"sc := bufio.NewScanner", 1}, {"sc.Split", 1}, {"for sc.Scan()", 49}, {"w := strings.ToLower", 48}, {"if w != \"\"", 48}, {"counts[w]++", 48}, {"return counts, sc.Err()", 1}}},
	{"Top", 1, lines{{"func Top", 1}, {"es := make", 1}, {"for w, c := range counts", 17}, {"es = append", 16}, {"sort.Slice", 1}, {"if es[i].n != es[j].n", someRuns}, {"return es[i].n > es[j].n", someRuns}, {"return es[i].word < es[j].word", someRuns}, {"return es[:min(n, len(es))]", 1}}},
}

// pidWriter signals when the program prints "pid=N".
type pidWriter struct {
	buf bytes.Buffer
	pid chan int
}

func (w *pidWriter) Write(p []byte) (int, error) {
	w.buf.Write(p)
	var pid int
	if _, err := fmt.Sscanf(w.buf.String(), "pid=%d", &pid); err == nil && pid > 0 && w.pid != nil {
		w.pid <- pid
		w.pid = nil
	}
	return len(p), nil
}

// The crash program ends each way a run can end; each gives the right
// status, a one-line message and the profile of what ran before.
func TestProfileFailureModes(t *testing.T) {
	tests := []struct {
		name     string
		args     []string
		funcs    []string
		status   profile.Status
		exitCode int
		message  string
		counted  string // a function that must have run
	}{
		{"panic", []string{"panic"}, []string{"Work", "Panic"}, profile.StatusPanic, 2, "panic: runtime error: index out of range [14] with length 9 (at main.go:", "Work"},
		{"exit", []string{"exit", "3"}, []string{"Work", "Exit"}, profile.StatusExit, 3, "exit status 3", "Exit"},
		{"killed", []string{"kill"}, []string{"Work", "Kill"}, profile.StatusKilled, -1, "killed by signal 9", "Kill"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res, err := Profile(context.Background(), Request{Dir: repoRoot, Target: "./testdata/go/cmd/crash", Funcs: tt.funcs, Args: tt.args, HasArgs: true})
			if err != nil {
				t.Fatal(err)
			}
			if res.Status != tt.status || res.ExitCode != tt.exitCode || !res.Partial {
				t.Fatalf("status %s code %d partial %v, want %s code %d partial\n%s", res.Status, res.ExitCode, res.Partial, tt.status, tt.exitCode, res.Output)
			}
			if !strings.HasPrefix(res.Message, tt.message) || strings.Contains(res.Message, "\n") {
				t.Errorf("message %q, want one line starting %q", res.Message, tt.message)
			}
			f, ok := res.Function(tt.counted)
			if !ok || f.Calls != 1 {
				t.Fatalf("%s not profiled as called once: %+v", tt.counted, f)
			}
			work, _ := res.Function("Work")
			if l := lineOf(t, work, "parts = append"); l.Occurrences == 0 {
				t.Errorf("Work's loop did not count: the partial profile is empty")
			}
			// SIGKILL leaves no time to dump allocation records (counters
			// live in a shared mapping and survive), and the message says
			// so; the others dump.
			if tt.status != profile.StatusKilled && work.AllocBytes == 0 {
				t.Errorf("Work: no allocations recorded before the %s", tt.status)
			}
			if stale := strings.Contains(res.Message, "; no allocation figures"); stale != (tt.status == profile.StatusKilled) {
				t.Errorf("message %q: says allocation figures are missing: %v, want %v", res.Message, stale, tt.status == profile.StatusKilled)
			}
		})
	}
	// The panic's origin is the indexing line, in the original file.
	t.Run("panic origin", func(t *testing.T) {
		res, err := Profile(context.Background(), Request{Dir: repoRoot, Target: "./testdata/go/cmd/crash", Funcs: []string{"Panic"}, Args: []string{"panic"}, HasArgs: true})
		if err != nil {
			t.Fatal(err)
		}
		f, _ := res.Function("Panic")
		l := lineOf(t, f, "return int(s[idx])")
		if len(res.Errors) != 1 || res.Errors[0].File != f.File || res.Errors[0].Line != l.Line {
			t.Errorf("errors %+v, want the panic at %s:%d", res.Errors, f.File, l.Line)
		}
		if l.Occurrences != 1 || lineOf(t, f, "s := Work(n)").Occurrences != 1 {
			t.Errorf("lines before the panic did not count once")
		}
	})
}

// A timeout or a cancel ends the whole tree within a second, and the
// profile of what ran comes back.
func TestProfileTimeoutAndCancel(t *testing.T) {
	for _, mode := range []profile.Status{profile.StatusCanceled, profile.StatusTimeout} {
		t.Run(string(mode), func(t *testing.T) {
			// The overlay directory must be gone afterwards.
			tmp := t.TempDir()
			t.Setenv("TMPDIR", tmp)
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			out := &pidWriter{pid: make(chan int, 1)}
			req := Request{Dir: repoRoot, Target: "./testdata/go/cmd/crash", Funcs: []string{"Forever", "Work"},
				Args: []string{"forever"}, HasArgs: true, Output: out, Timeout: DefaultTimeout}
			pids := make(chan int, 1)
			go func() {
				pid := <-out.pid
				pids <- pid
				if mode == profile.StatusCanceled {
					cancel()
				}
			}()
			if mode == profile.StatusTimeout {
				// The cancel case ran first and warmed the build cache: 5 s
				// covers a warm build and leaves the program running.
				req.Timeout = 5 * time.Second
			}
			res, err := Profile(ctx, req)
			if err != nil {
				t.Fatal(err)
			}
			if res.Status != mode {
				t.Fatalf("status %s (%s), want %s", res.Status, res.Message, mode)
			}
			var pid int
			select {
			case pid = <-pids:
			default:
				t.Fatalf("the program never ran: %s", res.Output)
			}
			deadline := time.Now().Add(time.Second)
			for alive(pid) {
				if time.Now().After(deadline) {
					t.Fatalf("program %d still alive a second after Profile returned", pid)
				}
				time.Sleep(20 * time.Millisecond)
			}
			f, _ := res.Function("Work")
			if f.Calls == 0 {
				t.Errorf("Work: no calls counted before the %s", mode)
			}
			// Before the kill, the runner asked the program to dump its
			// allocation records (Forever runs well under 2 s: no periodic
			// dump happened), and it answered.
			if f.AllocBytes == 0 || strings.Contains(res.Message, "allocation figures") {
				t.Errorf("Work: %d B allocated, message %q: the dump request went unanswered", f.AllocBytes, res.Message)
			}
			if left, _ := filepath.Glob(filepath.Join(tmp, "memlens-go-*")); len(left) > 0 {
				t.Errorf("overlay directory left behind: %v", left)
			}
		})
	}
}

// Example 1 and Example 2 of the tutorial, through their tests (the word
// list comes from a local httptest server).
func TestProfileExamples(t *testing.T) {
	res := profileTestdata(t, Request{
		Target: "./testdata/go/examples",
		Test:   "TestDefFunc|TestParseURLAndList",
		Funcs:  []string{"DefFunc", "repeat", "(*BaseExtr).ParseList", "(*BaseExtr).ParseURL"},
	})
	for _, c := range examplesCounts {
		checkCounts(t, res, c.name, c.calls, c.lines)
	}
	// 1296 ints are 10368 B, which the allocator rounds up to its 10880 B
	// size class, as the heap profile reports.
	def, _ := res.Function("DefFunc")
	if l := lineOf(t, def, "var1 := repeat(1, 6*6*6*6)"); l.AllocBytes != 10880 || l.AllocObjects != 1 {
		t.Errorf("var1 line: %d B in %d objects, want 10880 B in 1", l.AllocBytes, l.AllocObjects)
	}
	mem := referenceProfile(t, res, filepath.Join(testdataDir, "examples"), testArgsOf(res.Entry)...)
	checkAgainstPprof(t, res, mem)
	checkRetainedAgainstPprof(t, res, mem)
}

// A main package runs as a program, with its arguments.
func TestProfileMainPackage(t *testing.T) {
	res := profileTestdata(t, Request{
		Target: "./testdata/go/cmd/wordcount", Funcs: []string{"Count", "Top"},
		Args: []string{"-top", "3"}, HasArgs: true,
	})
	if res.Entry != "go run example.com/memlens/testdata/cmd/wordcount -top 3" {
		t.Errorf("entry %q", res.Entry)
	}
	if !strings.Contains(res.Output, "     8 it\n") {
		t.Errorf("program output %q", res.Output)
	}
	for _, c := range wordcountCounts {
		checkCounts(t, res, c.name, c.calls, c.lines)
	}
	checkProgramAgainstPprof(t, res, filepath.Join(testdataDir, "cmd", "wordcount"), "wordcount", "-top", "3")
}

// checkProgramAgainstPprof compares res with the reference profile of the
// main package in dir run with args (os.Args[0] is name).
//
// go test -memprofilerate=1 takes only packages with tests, so a test that
// exists only in the reference's overlay runs the program as memlens ran
// it: main() with the same arguments. The profiled functions run the same
// code on the same input either way; what differs is what ran before them
// (the testing package's start-up, which parses its flags before main
// registers its own), which matters only to the tiny-allocator blocks
// comparePprof allows for. (GODEBUG=memprofilerate=1 on the built program
// would sample too, but nothing would write the profile without adding
// code to the program.)
func checkProgramAgainstPprof(t *testing.T, res *profile.Result, dir, name string, args ...string) {
	t.Helper()
	osArgs := strconv.Quote(name)
	for _, a := range args {
		osArgs += ", " + strconv.Quote(a)
	}
	mem := referenceProfileWith(t, res, dir, map[string][]byte{
		filepath.Join(dir, "memlens_reference_test.go"): []byte(`package main

import (
	"os"
	"testing"
)

func TestMemlensReference(t *testing.T) {
	os.Args = []string{` + osArgs + `}
	main()
}
`),
	}, "-test.run", "^TestMemlensReference$")
	checkAgainstPprof(t, res, mem)
	checkRetainedAgainstPprof(t, res, mem)
}

// Build failures carry the original positions: a type error in an editor
// buffer of the target's file, a syntax error in the target's file, and a
// syntax error in an unrelated file of the package.
func TestProfileBuildFailures(t *testing.T) {
	shapes := filepath.Join(testdataDir, "shapes", "shapes.go")
	src, err := os.ReadFile(shapes)
	if err != nil {
		t.Fatal(err)
	}
	typeErr := bytes.Replace(src, []byte("\tcounts[kind]++\n"), []byte("\tcounts[kind] += \"one\"\n"), 1)
	syntaxErr := bytes.Replace(src, []byte("\tcounts[kind]++\n"), []byte("\tcounts[kind]++ +\n"), 1)
	line := bytes.Count(src[:bytes.Index(src, []byte("\tcounts[kind]++\n"))], []byte("\n")) + 1
	tests := []struct {
		name    string
		req     Request
		file    string
		line    int
		message string
	}{
		{"type error in an editor buffer", Request{Target: "./testdata/go/shapes", Funcs: []string{"Build"}, Test: "TestBuild",
			Overlay: map[string][]byte{shapes: typeErr}}, shapes, line, "one"},
		{"syntax error in the target's file", Request{Target: "./testdata/go/shapes", Funcs: []string{"Build"}, Test: "TestBuild",
			Overlay: map[string][]byte{shapes: syntaxErr}}, shapes, line, "expected"},
		{"syntax error in an unrelated file", Request{Target: "./testdata/go/broken", Funcs: []string{"Fine"}},
			filepath.Join(testdataDir, "broken", "bad.go"), 5, "syntax error"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.req.Dir = repoRoot
			res, err := Profile(context.Background(), tt.req)
			if err != nil {
				t.Fatal(err)
			}
			if res.Status != profile.StatusBuildFailed || !res.Partial {
				t.Fatalf("status %s, want build_failed: %s", res.Status, res.Message)
			}
			if len(res.Errors) == 0 || res.Errors[0].File != tt.file || res.Errors[0].Line != tt.line || !strings.Contains(res.Errors[0].Message, tt.message) {
				t.Fatalf("errors %+v, want %s:%d %q first", res.Errors, tt.file, tt.line, tt.message)
			}
			if !strings.HasPrefix(res.Message, "build failed: ") || strings.Contains(res.Message, "\n") {
				t.Errorf("message %q", res.Message)
			}
		})
	}
	// The user's file is untouched.
	if now, _ := os.ReadFile(shapes); !bytes.Equal(now, src) {
		t.Fatal("shapes.go changed on disk")
	}
}

// A line that allocates and touches 64 MiB shows it: in allocated bytes
// (the make line) and in RSS (the loop that writes every page).
func TestProfileRSSOfTouchedMemory(t *testing.T) {
	res := profileTestdata(t, Request{Target: "./testdata/go/examples", Funcs: []string{"LoadBuffer"}})
	if res.Entry != "go test -run ^(TestLoadBuffer)$ (tests that reach LoadBuffer)" {
		t.Errorf("entry %q", res.Entry)
	}
	f, _ := res.Function("LoadBuffer")
	mk := lineOf(t, f, "buf := make([]byte, n)")
	// The runtime may record a few small objects of its own under the make.
	if mk.AllocBytes < 64<<20 || mk.AllocBytes > 64<<20+4096 {
		t.Errorf("make line: %d B in %d objects, want 64 MiB", mk.AllocBytes, mk.AllocObjects)
	}
	var inc int64
	for _, l := range f.Lines {
		inc += l.IncrementBytes
	}
	if inc < 60<<20 || f.PeakMemBytes < 64<<20 || res.PeakRSSBytes < 64<<20 {
		t.Errorf("RSS: increments sum to %s, peak line %s, peak process %s; want about 64 MiB each",
			profile.MiB(inc), profile.MiB(int64(f.PeakMemBytes)), profile.MiB(int64(res.PeakRSSBytes)))
	}
	for _, l := range f.Lines {
		t.Logf("%4d %10s %10s %6d %s", l.Line, profile.MiB(int64(l.MemUsageBytes)), profile.MiB(l.IncrementBytes), l.Occurrences, l.Content)
	}
	// 64 MiB written every 4096 B: 16384 iterations.
	checkCounts(t, res, "LoadBuffer", 1, lines{{"func LoadBuffer", 1}, {"buf := make", 1}, {"for i := 0; i < len(buf); i += 4096", 16385}, {"buf[i] = byte(i)", 16384}, {"return buf", 1}})
	mem := referenceProfile(t, res, filepath.Join(testdataDir, "examples"), testArgsOf(res.Entry)...)
	checkAgainstPprof(t, res, mem)
	checkRetainedAgainstPprof(t, res, mem)
}

// CountsOnly counts lines and measures nothing else.
func TestProfileCountsOnly(t *testing.T) {
	res := profileTestdata(t, Request{Target: "./testdata/go/examples", Funcs: []string{"DefFunc", "repeat"}, Test: "TestDefFunc", CountsOnly: true})
	checkCounts(t, res, "DefFunc", 1, examplesCounts[0].lines)
	checkCounts(t, res, "repeat", 3, examplesCounts[1].lines)
	for _, f := range res.Functions {
		if f.AllocBytes != 0 || f.PeakMemBytes != 0 {
			t.Errorf("%s: %d B allocated, peak %d B: counts only measures neither", f.Name, f.AllocBytes, f.PeakMemBytes)
		}
	}
}

// Exact sampling is confined to the profiled function: the testdata's
// TestConfine reads runtime.MemProfileRate before, inside and after Target
// and counts the heap profile's samples of Outside, which it calls next;
// it fails the run when sampling leaks out of Target.
func TestProfileConfinesSampling(t *testing.T) {
	res := profileTestdata(t, Request{Target: "./testdata/go/confine", Funcs: []string{"Target"}, Test: "TestConfine"})
	// Target ran (TestConfine skips itself when not run by memlens) and
	// its 100 blocks were all sampled.
	checkCounts(t, res, "Target", 1, lines{{"func Target", 1}, {"for i := 0; i < n; i++", 101}, {"sink = append", 100}, {"return runtime.MemProfileRate", 1}})
	f, _ := res.Function("Target")
	if l := lineOf(t, f, "sink = append"); l.AllocObjects < 100 || l.AllocBytes < 100*4000 {
		t.Errorf("append line: %d B in %d objects, want at least 100 blocks of 4000 B", l.AllocBytes, l.AllocObjects)
	}
	// Outside, which the test calls next, sets the sink to nil: nothing
	// Target allocated is live at the end. (No pprof reference here: run
	// plainly at -memprofilerate=1, TestConfine fails by design, as the
	// rate is 1 outside Target too; TestProfileRetainedSink compares
	// Target with pprof through an entry of its own.)
	if f.RetainedBytes != 0 {
		t.Errorf("Target retains %d B, but its sink was dropped", f.RetainedBytes)
	}
}

// A function of an external test package (package confine_test) is
// profiled through the test that reaches it, with allocations as pprof
// reports them.
func TestProfileExternalTestPackage(t *testing.T) {
	res := profileTestdata(t, Request{Target: "./testdata/go/confine", Funcs: []string{"shout"}})
	if res.Entry != "go test -run ^(TestShout)$ (tests that reach shout)" {
		t.Errorf("entry %q", res.Entry)
	}
	checkCounts(t, res, "shout", 1, lines{{"func shout", 1}, {"var b strings.Builder", 1}, {"for _, w := range words", 4},
		{"b.WriteString", 3}, {"b.WriteByte", 3}, {"return b.String()", 1}})
	f, _ := res.Function("shout")
	if f.Package != testdataModule+"/confine_test" || f.AllocBytes == 0 {
		t.Errorf("package %q, %d B allocated", f.Package, f.AllocBytes)
	}
	mem := referenceProfile(t, res, filepath.Join(testdataDir, "confine"), testArgsOf(res.Entry)...)
	checkAgainstPprof(t, res, mem)
	checkRetainedAgainstPprof(t, res, mem)
}

// Request.RSSInterval's zero value is the default; a negative one asks the
// probes to read at every line (their 0).
func TestRSSInterval(t *testing.T) {
	for _, tt := range []struct{ in, want time.Duration }{
		{0, DefaultRSSInterval},
		{-1, 0},
		{-time.Second, 0},
		{5 * time.Millisecond, 5 * time.Millisecond},
	} {
		if got := rssInterval(tt.in); got != tt.want {
			t.Errorf("rssInterval(%v) = %v, want %v", tt.in, got, tt.want)
		}
	}
}

// Target keeps what it allocates in a package-level sink. TestConfine
// cannot be the entry here: it drops the sink afterwards (Outside sets it
// to nil) and, run plainly at -memprofilerate=1, fails by design (the rate
// is 1 outside Target too). A test that exists only in the overlay, given
// to memlens as an editor buffer and to the reference the same way, calls
// Target(100) and leaves the sink alone.
func TestProfileRetainedSink(t *testing.T) {
	dir := filepath.Join(testdataDir, "confine")
	extra := map[string][]byte{filepath.Join(dir, "memlens_retain_test.go"): []byte(`package confine

import "testing"

func TestMemlensRetain(t *testing.T) {
	if Target(100) != 1 {
		t.Error("Target did not run at rate 1")
	}
}
`)}
	res := profileTestdata(t, Request{Target: "./testdata/go/confine", Funcs: []string{"Target"}, Test: "TestMemlensRetain", Overlay: extra})
	checkCounts(t, res, "Target", 1, lines{{"func Target", 1}, {"for i := 0; i < n; i++", 101}, {"sink = append", 100}, {"return runtime.MemProfileRate", 1}})
	f, _ := res.Function("Target")
	// 100 blocks of 4000 B (the 4096 B size class) and sink's last backing
	// array are live at the end, the smaller arrays it outgrew are not.
	// That array holds at least the 100 slice headers (24 B each) and, as
	// append at most doubles, at most 200 (4864 B, with the size class);
	// Go 1.26 makes it 4096 B (cap 170) after seven others.
	l := lineOf(t, f, "sink = append")
	if lo, hi := int64(100*4096+100*24), int64(100*4096+4864); l.RetainedBytes < lo || l.RetainedBytes > hi || l.RetainedObjects != 101 {
		t.Errorf("append line: retained %d B in %d objects, want %d..%d B in 101", l.RetainedBytes, l.RetainedObjects, lo, hi)
	}
	if f.RetainedBytes != l.RetainedBytes {
		t.Errorf("Target retains %d B, its append line %d B", f.RetainedBytes, l.RetainedBytes)
	}
	mem := referenceProfileWith(t, res, dir, extra, testArgsOf(res.Entry)...)
	checkAgainstPprof(t, res, mem)
	checkRetainedAgainstPprof(t, res, mem)
}

// The bench workloads, with small inputs (their own tests take seconds at
// rate 1): a test that exists only in the overlay, as above.
func TestProfileWorkloads(t *testing.T) {
	dir := filepath.Join(testdataDir, "workloads")
	extra := map[string][]byte{filepath.Join(dir, "memlens_small_test.go"): []byte(`package workloads

import "testing"

func TestMemlensSmall(t *testing.T) {
	if len(MapBuild(5000)) != 5000 {
		t.Error("MapBuild")
	}
	if _, q, err := JSONRoundTrip(50); err != nil || q != 50*15 {
		t.Error("JSONRoundTrip", q, err)
	}
	if BuildStrings(300) <= 0 {
		t.Error("BuildStrings")
	}
}
`)}
	res := profileTestdata(t, Request{Target: "./testdata/go/workloads", Funcs: []string{"MapBuild", "JSONRoundTrip", "BuildStrings"},
		Test: "TestMemlensSmall", Overlay: extra})
	for _, c := range workloadsCounts {
		checkCounts(t, res, c.name, c.calls, c.lines)
	}
	mem := referenceProfileWith(t, res, dir, extra, testArgsOf(res.Entry)...)
	checkAgainstPprof(t, res, mem)
	checkRetainedAgainstPprof(t, res, mem)
}

// MapBuild(5000), JSONRoundTrip(50) with 5 items an order, BuildStrings(300)
// with 8 digits a line.
var workloadsCounts = []funcCounts{
	{"MapBuild", 1, lines{{"func MapBuild", 1}, {"m := make", 1}, {"for i := 0; i < n; i++", 5001}, {"k := ", 5000}, {"m[k] = i", 5000}, {"return m", 1}}},
	{"JSONRoundTrip", 1, lines{{"func JSONRoundTrip", 1}, {"for i := 0; i < n; i++", 51}, {"o := Order{", 50}, {"for j := 0; j < 5; j++", 300},
		{"o.Items = append", 250}, {"data, err := json.Marshal(o)", 50}, {"if err != nil", 50}, {"encoded += len(data)", 50}, {"var back Order", 50},
		{"if err := json.Unmarshal", 50}, {"for _, it := range back.Items", 300}, {"quantity += it.Quantity", 250}, {"return encoded, quantity, nil", 1}}},
	{"BuildStrings", 1, lines{{"func BuildStrings", 1}, {"total := 0", 1}, {"var b strings.Builder", 1}, {"parts := make", 1}, {"for i := 0; i < n; i++", 301},
		{"s := \"line \"", 300}, {"for j := 0; j < 8; j++", 2700}, {"s += strconv.Itoa(j)", 2400}, {"b.WriteString(s)", 300}, {"b.WriteByte('\\n')", 300},
		{"parts = append(parts[:0]", 300}, {"total += len(strings.Join", 300}, {"total += len(b.String())", 1}, {"return total", 1}}},
}

// A function the entry never called gets a table of empty lines; the run
// says so, naming what ran, so that an empty table is not mistaken for a
// function that allocates nothing.
func TestProfileNeverRanNote(t *testing.T) {
	var mu sync.Mutex
	var msgs []string
	res := profileTestdata(t, Request{Target: "./testdata/go/shapes", Funcs: []string{"Histogram", "Build"}, Test: "TestAreas", Progress: func(p Progress) {
		mu.Lock()
		defer mu.Unlock()
		msgs = append(msgs, p.Message)
	}})
	if f, ok := res.Function("Build"); !ok || f.Calls == 0 {
		t.Fatalf("Build did not run through TestAreas")
	}
	mu.Lock()
	defer mu.Unlock()
	want := "Histogram never ran: what ran (go test -run ^(TestAreas)$) did not call it"
	if !slices.Contains(msgs, want) {
		t.Errorf("progress lacks %q:\n%s", want, strings.Join(msgs, "\n"))
	}
	for _, m := range msgs {
		if strings.Contains(m, "Build never ran") {
			t.Errorf("Build ran, yet: %s", m)
		}
	}
}
