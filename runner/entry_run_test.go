package runner

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/memlens/memlens/profile"
)

// treeFiles lists every file under dir, and the module's go.mod and go.sum,
// with their sizes and modification times.
func treeFiles(t *testing.T, dir string) []string {
	t.Helper()
	var files []string
	for _, name := range []string{"go.mod", "go.sum"} {
		path := filepath.Join(testdataDir, name)
		if info, err := os.Stat(path); err == nil {
			files = append(files, fmt.Sprintf("%s %d %d", path, info.Size(), info.ModTime().UnixNano()))
		} else {
			files = append(files, path+" absent")
		}
	}
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		files = append(files, fmt.Sprintf("%s %d %d", path, info.Size(), info.ModTime().UnixNano()))
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	sort.Strings(files)
	return files
}

// Entry step 5: Squares has no parameters and the package has no tests at
// all; a test that exists only in the build overlay calls it, and the
// user's tree gains no file.
func TestProfileGeneratedEntry(t *testing.T) {
	lonely := filepath.Join(testdataDir, "lonely")
	before := treeFiles(t, lonely)
	res := profileTestdata(t, Request{Target: "./testdata/go/lonely", Funcs: []string{"Squares"}})
	if res.Entry != "go test -run ^TestMemlensEntry$ (a generated test calls Squares)" {
		t.Errorf("entry %q", res.Entry)
	}
	checkCounts(t, res, "Squares", 1, lines{{"func Squares", 1}, {"out := make", 1}, {"total := 0", 1},
		{"for i := 1; i <= 10; i++", 11}, {"total += i * i", 10}, {"out = append", 10}, {"Sink = out", 1}, {"return total", 1}})
	f, _ := res.Function("Squares")
	// 4 strings of 16 B; then the slice grows to 8 (128 B) and 16 (256 B)
	// elements, and strconv.Itoa(100) allocates its 3 bytes.
	if l := lineOf(t, f, "out := make([]string, 0, 4)"); l.AllocBytes != 64 || l.AllocObjects != 1 {
		t.Errorf("make line: %d B in %d objects, want 64 B in 1", l.AllocBytes, l.AllocObjects)
	}
	if l := lineOf(t, f, "out = append(out, strconv.Itoa(i*i))"); l.AllocBytes < 128+256 || l.AllocBytes > 128+256+64 || l.AllocObjects < 2 {
		t.Errorf("append line: %d B in %d objects, want 384 B (+ a few for Itoa(100)) in at least 2", l.AllocBytes, l.AllocObjects)
	}
	for _, prefix := range []string{"total := 0", "total += i * i", "return total"} {
		if l := lineOf(t, f, prefix); l.AllocBytes != 0 {
			t.Errorf("%q: %d B allocated, want none", prefix, l.AllocBytes)
		}
	}
	if f.PeakMemBytes == 0 {
		t.Error("no RSS read")
	}
	if after := treeFiles(t, lonely); strings.Join(after, "\n") != strings.Join(before, "\n") {
		t.Errorf("the package or the module files changed:\nbefore\n  %s\nafter\n  %s", strings.Join(before, "\n  "), strings.Join(after, "\n  "))
	}
}

// A package's init functions run while the program initializes the
// package: an empty generated test runs them, each profiled on its own
// (two functions named init) with its calls, counts and allocations.
func TestProfileInitFuncs(t *testing.T) {
	res := profileTestdata(t, Request{Target: "./testdata/go/startup", Funcs: []string{"init"}})
	if len(res.Functions) != 2 {
		t.Fatalf("%d functions, want the 2 init functions", len(res.Functions))
	}
	first, second := &res.Functions[0], &res.Functions[1]
	if first.Name != "init" || second.Name != "init" || first.StartLine >= second.StartLine {
		t.Fatalf("functions %s:%d and %s:%d, want both init functions in source order", first.Name, first.StartLine, second.Name, second.StartLine)
	}
	for _, c := range []struct {
		f    *profile.Function
		want lines
	}{
		{first, lines{{"names = make([]string, 0, 2)", 1}, {"for i := 0; i < 8; i++ {", 9}, {"names = append(names, \"n\"+strconv.Itoa(i+10))", 8}}},
		{second, lines{{"codes = make(map[string]int, len(names))", 1}, {"for i, n := range names {", 9}, {"codes[n] = i", 8}}},
	} {
		if c.f.Calls != 1 {
			t.Errorf("init at line %d: %d calls, want 1", c.f.StartLine, c.f.Calls)
		}
		for _, w := range c.want {
			if l := lineOf(t, c.f, w.prefix); l.Occurrences != w.n {
				t.Errorf("init at line %d: %q ran %d times, want %d", c.f.StartLine, w.prefix, l.Occurrences, w.n)
			}
		}
		if c.f.AllocBytes == 0 {
			t.Errorf("init at line %d: no allocation recorded", c.f.StartLine)
		}
	}
	// The first make's 2 strings: 32 B, in one object.
	if l := lineOf(t, first, "names = make([]string, 0, 2)"); l.AllocBytes != 32 || l.AllocObjects != 1 {
		t.Errorf("make line: %d B in %d objects, want 32 B in 1", l.AllocBytes, l.AllocObjects)
	}
}

// Build tags reach go list, the call graph, the generated test and the
// build: Tagged, in a file behind //go:build memlenstag, is profiled with
// -tags=memlenstag (alongside Squares, one generated test calling both)
// and is not found without it.
func TestProfileBuildTags(t *testing.T) {
	res := profileTestdata(t, Request{Target: "./testdata/go/lonely", Funcs: []string{"Tagged", "Squares"},
		BuildFlags: []string{"-tags=memlenstag"}})
	if res.Entry != "go test -run ^TestMemlensEntry$ (a generated test calls Tagged, Squares)" {
		t.Errorf("entry %q", res.Entry)
	}
	checkCounts(t, res, "Tagged", 1, lines{{"func Tagged", 1}, {"buf := make", 1}, {"for i := 0; i < 3; i++", 4},
		{"buf = append", 3}, {"return buf", 1}})
	tagged, _ := res.Function("Tagged")
	if filepath.Base(tagged.File) != "tagged.go" || tagged.AllocBytes < 16 {
		t.Errorf("Tagged in %s, %d B allocated; want tagged.go, at least 16 B (the 16-byte buffer)", tagged.File, tagged.AllocBytes)
	}
	if sq, ok := res.Function("Squares"); !ok || sq.Calls != 1 {
		t.Errorf("Squares not called once beside Tagged: %+v", sq)
	}

	_, err := Profile(context.Background(), Request{Dir: repoRoot, Target: "./testdata/go/lonely", Funcs: []string{"Tagged"}})
	if err == nil || !strings.HasPrefix(err.Error(), "no function Tagged in the package; similar: Squares") || errors.Is(err, ErrNoEntry) {
		t.Errorf("without the tag: error %v, want no function Tagged (similar: Squares)", err)
	}
}

// FuzzWords runs its 3 seeds (2, 3 and 0 words); BenchmarkWords runs once
// (-benchtime 1x), one iteration of 8 words.
var (
	fuzzWordsCounts = funcCounts{"FuzzWords", 1, lines{{"func FuzzWords", 1}, {`f.Add("Hello World")`, 1}, {`f.Add("a  B\tc")`, 1},
		{`f.Add("")`, 1}, {"f.Fuzz(func", 1}, {"for _, w := range Words(s)", 8}, {`if w == ""`, 5}}}
	benchmarkWordsCounts = funcCounts{"BenchmarkWords", 1, lines{{"func BenchmarkWords", 1}, {"text := strings.Repeat", 1},
		{"for b.Loop()", 2}, {"if len(Words(text)) != 8", 1}}}
)

// FUNC is itself a Fuzz function (run on its seed corpus) and a Benchmark
// (run once); and the explicit Bench field runs a benchmark once for a
// plain function, as do the tests that reach it, the fuzz target included.
func TestProfileFuzzAndBenchmark(t *testing.T) {
	t.Run("fuzz and benchmark targets", func(t *testing.T) {
		res := profileTestdata(t, Request{Target: "./testdata/go/tokens", Funcs: []string{"FuzzWords", "BenchmarkWords"}})
		if res.Entry != "go test -run ^(FuzzWords)$ -bench ^(BenchmarkWords)$ -benchtime 1x" {
			t.Errorf("entry %q", res.Entry)
		}
		for _, c := range []funcCounts{fuzzWordsCounts, benchmarkWordsCounts} {
			checkCounts(t, res, c.name, c.calls, c.lines)
		}
		fuzz, _ := res.Function("FuzzWords")
		if l := lineOf(t, fuzz, "for _, w := range Words(s)"); l.AllocBytes == 0 || l.AllocObjects < 5 {
			t.Errorf("fuzz loop: %d B in %d objects, want Words' slices and lower-cased copies", l.AllocBytes, l.AllocObjects)
		}
		bench, _ := res.Function("BenchmarkWords")
		if l := lineOf(t, bench, "text := strings.Repeat"); l.AllocBytes != 48 || l.AllocObjects != 1 {
			t.Errorf("Repeat line: %d B in %d objects, want 48 B (40 rounded up) in 1", l.AllocBytes, l.AllocObjects)
		}
		if l := lineOf(t, bench, "if len(Words(text)) != 8"); l.AllocBytes == 0 {
			t.Error("Words in the benchmark allocated nothing")
		}
		if !strings.Contains(res.Output, "BenchmarkWords") || !strings.Contains(res.Output, "PASS") {
			t.Errorf("output %q", res.Output)
		}
	})
	wordsCounts := func(calls, words uint64) funcCounts {
		return funcCounts{"Words", calls, lines{{"func Words", calls}, {"var out []string", calls},
			{"for _, w := range strings.Fields(s)", words + calls}, {"out = append", words}, {"return out", calls}}}
	}
	t.Run("explicit bench", func(t *testing.T) {
		res := profileTestdata(t, Request{Target: "./testdata/go/tokens", Funcs: []string{"Words"}, Bench: "BenchmarkWords"})
		if res.Entry != "go test -bench ^(BenchmarkWords)$ -benchtime 1x -run ^$" {
			t.Errorf("entry %q", res.Entry)
		}
		c := wordsCounts(1, 8)
		checkCounts(t, res, c.name, c.calls, c.lines)
		if f, _ := res.Function("Words"); f.AllocBytes == 0 {
			t.Error("Words allocated nothing")
		}
	})
	t.Run("tests that reach", func(t *testing.T) {
		res := profileTestdata(t, Request{Target: "./testdata/go/tokens", Funcs: []string{"Words"}})
		if res.Entry != "go test -run ^(FuzzWords)$ -bench ^(BenchmarkWords)$ -benchtime 1x (tests that reach Words)" {
			t.Errorf("entry %q", res.Entry)
		}
		c := wordsCounts(4, 2+3+0+8)
		checkCounts(t, res, c.name, c.calls, c.lines)
	})
}

// treeWatch learns the family program's pids from its output
// ("pids=PROGRAM,CHILD,DETACHED") and, once started, records when the last
// of them is gone.
type treeWatch struct {
	mu   sync.Mutex
	buf  strings.Builder
	pids chan []int // the pids, once, all alive when printed
	sent bool
}

func (w *treeWatch) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.buf.Write(p)
	var a, b, c int
	if _, err := fmt.Sscanf(w.buf.String(), "pids=%d,%d,%d\n", &a, &b, &c); err == nil && !w.sent {
		w.sent = true
		w.pids <- []int{a, b, c}
	}
	return len(p), nil
}

// goneAt polls until none of pids runs and returns when that was seen.
func goneAt(pids []int, limit time.Duration) (time.Time, bool) {
	for end := time.Now().Add(limit); ; time.Sleep(5 * time.Millisecond) {
		left := false
		for _, p := range pids {
			left = left || alive(p)
		}
		if !left {
			return time.Now(), true
		}
		if time.Now().After(end) {
			return time.Now(), false
		}
	}
}

// A cancel or a timeout ends the program's whole tree — the program, its
// child in its process group and its child in a session of its own —
// within a second measured from cancel() or from the deadline, not from
// when Profile returns (collecting comes after the kill).
func TestProfileCancelAndTimeoutEndTreeInTime(t *testing.T) {
	var started time.Duration // from Profile's call to the pids, in the cancel run
	for _, mode := range []profile.Status{profile.StatusCanceled, profile.StatusTimeout} {
		t.Run(string(mode), func(t *testing.T) {
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			w := &treeWatch{pids: make(chan []int, 1)}
			req := Request{Dir: repoRoot, Target: "./testdata/go/cmd/family", Funcs: []string{"Forever", "Work"},
				Output: w, Timeout: DefaultTimeout}
			if mode == profile.StatusTimeout {
				// The cancel run warmed the build: leave the program some
				// seconds of running whatever the machine's load.
				req.Timeout = max(5*time.Second, 3*started+2*time.Second)
			}
			type watched struct {
				pids      []int
				alive     bool
				from, end time.Time
				gone      bool
			}
			result := make(chan watched, 1)
			call := time.Now()
			go func() {
				pids := <-w.pids
				seen := time.Now()
				wt := watched{pids: pids, alive: alive(pids[0]) && alive(pids[1]) && alive(pids[2])}
				if mode == profile.StatusCanceled {
					started = seen.Sub(call)
					wt.from = time.Now()
					cancel()
				} else {
					// The run's deadline is Timeout after profileGo starts,
					// which is after call: this is at or before it.
					wt.from = call.Add(req.Timeout)
				}
				wt.end, wt.gone = goneAt(pids, time.Until(wt.from)+10*time.Second)
				result <- wt
			}()
			res, err := Profile(ctx, req)
			if err != nil {
				t.Fatal(err)
			}
			if res.Status != mode {
				t.Fatalf("status %s (%s), want %s\n%s", res.Status, res.Message, mode, res.Output)
			}
			var wt watched
			select {
			case wt = <-result:
			case <-time.After(15 * time.Second):
				t.Fatalf("the program never printed its pids, or its tree outlived the watch: %q", res.Output)
			}
			defer func() {
				for _, p := range wt.pids {
					_ = syscall.Kill(p, syscall.SIGKILL)
				}
			}()
			if !wt.alive {
				t.Fatalf("pids %v: not all alive when printed", wt.pids)
			}
			if !wt.gone {
				t.Fatalf("pids %v still alive %v after the %s", wt.pids, time.Since(wt.from), mode)
			}
			if d := wt.end.Sub(wt.from); d > time.Second {
				t.Errorf("the tree %v was gone %v after the %s, want under 1s", wt.pids, d, mode)
			} else {
				t.Logf("the tree %v was gone %v after the %s", wt.pids, d, mode)
			}
			if f, ok := res.Function("Work"); !ok || f.Calls == 0 {
				t.Errorf("Work: no calls counted before the %s", mode)
			}
		})
	}
}
