package instrument

import (
	"encoding/binary"
	"fmt"
	"math/bits"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// probeConfigs are the two probe configurations: counts only (whose
// loop-free bodies release their rows themselves) and with RSS and
// allocations (a deferred leave in every body).
var probeConfigs = []struct {
	name string
	opt  Options
}{
	{"counts", Options{}},
	{"rss+allocs", Options{RSS: true, Allocs: true}},
}

// TestCounts builds the counts program in both probe configurations and
// checks every line's count against its annotation, and that the program's
// output is unchanged.
func TestCounts(t *testing.T) {
	t.Parallel()
	srcs := testdataSources(t, "counts")
	for _, tc := range probeConfigs {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			p := newProg(t, srcs, tc.opt, isMarked)
			plain := run(t, p.buildPlain(), "")
			dir := t.TempDir()
			got := run(t, p.build(), dir)
			if got != plain {
				t.Errorf("instrumented run differs:\n%+v\nplain:\n%+v", got, plain)
			}
			p.checkAnnotated(dir)
		})
	}
}

// TestRows runs targets in every way that takes a different kind of
// counter row (see testdata/instrument/rows) under several GOMAXPROCS (one
// P; the default; more Ps than have rows of their own), checks every line's
// count, and looks into the counters file to see that each kind of row was
// used: the shared row only when calls outnumbered the rows, rows given
// back by calls that panicked or called runtime.Goexit.
func TestRows(t *testing.T) {
	t.Parallel()
	p := newProg(t, testdataSources(t, "rows"), Options{}, isMarked)
	bin, plainBin := p.build(), p.buildPlain()
	plain := run(t, plainBin, "")
	for _, procs := range []int{1, 0, 2*maxPRows + 3} {
		t.Run(fmt.Sprintf("GOMAXPROCS=%d", procs), func(t *testing.T) {
			dir, file := runWithProcs(t, bin, procs, plain.stdout)
			p.checkAnnotated(dir)
			rows := rowKinds(t, file)
			id := func(name string) int {
				for _, fl := range p.inst[0].Funcs {
					if fl.Func.Name == name {
						return fl.ID
					}
				}
				t.Fatalf("no target %s", name)
				return -1
			}
			// With more Ps than have rows, the scheduler may run none of
			// hold's goroutines on the few Ps that do (seen in about one
			// run in eight): per-P rows are then not required.
			if r := rows[id("hold")]; r.shared == 0 || (r.perP == 0 && procs <= maxPRows) || r.pool == 0 {
				t.Errorf("hold, 300 calls at once: %+v, want every kind of row used", r)
			}
			if r := rows[id("depth")]; r.pool == 0 {
				t.Errorf("depth, 101 calls deep: %+v, want pool rows used", r)
			}
			for _, name := range []string{"boom", "quit"} {
				if r := rows[id(name)]; r.shared != 0 {
					t.Errorf("%s: %+v: its calls, one at a time, did not give their rows back", name, r)
				}
			}
		})
	}
}

// heldRows counts, per target, the P rows and pool rows that a counters
// file shows claimed (busy words and pool bitmap bits set).
func heldRows(t *testing.T, name string) []int {
	t.Helper()
	b, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	np := rowPs()
	var out []int
	for f := range binary.LittleEndian.Uint64(b[16:]) {
		ctl := int(binary.LittleEndian.Uint64(b[counterHeader+counterEntry*f+40:]))
		n := bits.OnesCount64(binary.LittleEndian.Uint64(b[ctl:]))
		for pid := range np {
			block := ctl + 64 + pCtlSize(np)*pid
			for r := range perPRows(np) {
				if binary.LittleEndian.Uint32(b[block+4*(1+r):]) != 0 {
					n++
				}
			}
		}
		out = append(out, n)
	}
	return out
}

// runWithProcs runs bin with GOMAXPROCS=procs (0: the default) and a data
// directory of its own, checks that it printed want, and returns the
// directory and its one counters file (package index 0).
func runWithProcs(t *testing.T, bin string, procs int, want string) (dir, counters string) {
	t.Helper()
	dir = t.TempDir()
	cmd := exec.Command(bin)
	cmd.Env = append(os.Environ(), EnvDir+"="+dir)
	if procs > 0 {
		cmd.Env = append(cmd.Env, fmt.Sprintf("GOMAXPROCS=%d", procs))
	}
	out, err := cmd.CombinedOutput()
	if err != nil || string(out) != want {
		t.Fatalf("GOMAXPROCS=%d: %v\n%s\nplain:\n%s", procs, err, out, want)
	}
	files, _ := filepath.Glob(CountersPattern(dir, 0))
	if len(files) != 1 {
		t.Fatalf("counters files %v", files)
	}
	return dir, files[0]
}

// rowUse sums a target's counter words by kind of row.
type rowUse struct{ shared, perP, pool uint64 }

// rowKinds reads a counters file's rows (see readCountersFile), per target.
func rowKinds(t *testing.T, name string) []rowUse {
	t.Helper()
	b, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	w := func(off uint64) uint64 { return binary.LittleEndian.Uint64(b[off:]) }
	var out []rowUse
	for f := range w(16) {
		e := counterHeader + counterEntry*f
		nlines, rows, nrows, stride := w(e+8), w(e+16), w(e+24), w(e+32)
		np := uint64(rowPs())
		var u rowUse
		for r := range nrows {
			for i := range 1 + nlines {
				v := w(rows + r*stride + 8*i)
				switch {
				case r == 0:
					u.shared += v
				case r <= np*uint64(perPRows(int(np))):
					u.perP += v
				default:
					u.pool += v
				}
			}
		}
		out = append(out, u)
	}
	return out
}

// lineOf returns the 1-based line of the first line of src containing s.
func lineOf(t testing.TB, src []byte, s string) int {
	t.Helper()
	for i, l := range strings.Split(string(src), "\n") {
		if strings.Contains(l, s) {
			return i + 1
		}
	}
	t.Fatalf("no line holds %q", s)
	return 0
}

// lineAfter returns the line of the first line holding s after the line
// holding anchor.
func lineAfter(t testing.TB, src []byte, anchor, s string) int {
	t.Helper()
	a := lineOf(t, src, anchor)
	lines := strings.Split(string(src), "\n")
	for i := a; i < len(lines); i++ {
		if strings.Contains(lines[i], s) {
			return i + 1
		}
	}
	t.Fatalf("no line after %q holds %q", anchor, s)
	return 0
}

func (p *prog) file(base string) (string, []byte) {
	path := filepath.Join(p.dir, filepath.FromSlash(base))
	return path, p.orig[path]
}

// slotOf returns the counter slot of path:line.
func (p *prog) slotOf(index int, path string, line int) int {
	p.t.Helper()
	for _, fl := range p.inst[index].Funcs {
		if fl.Func.File != path {
			continue
		}
		for _, ls := range fl.Lines {
			if ls.Line == line {
				return ls.Slot
			}
		}
	}
	p.t.Fatalf("%s:%d has no slot", path, line)
	return -1
}

// lineBytes sums the allocation records whose innermost target frame is
// path:line.
func lineBytes(recs []AllocRecord, path string, line int) (bytes, objects int64) {
	for _, r := range recs {
		for _, f := range r.Stack {
			if f.File == path && f.Line == line {
				bytes += r.AllocBytes
				objects += r.AllocObjects
				break
			}
		}
	}
	return
}

func TestRSSIncrement(t *testing.T) {
	t.Parallel()
	srcs := testdataSources(t, "mem")
	for _, interval := range []time.Duration{0, time.Millisecond} {
		t.Run(interval.String(), func(t *testing.T) {
			t.Parallel()
			p := newProg(t, srcs, Options{RSS: true, Allocs: true, RSSInterval: interval}, isMarked)
			dir := t.TempDir()
			bin := p.build()
			if r := run(t, bin, dir, "rss"); r.code != 0 || strings.TrimSpace(r.stdout) != "67108864" {
				t.Fatalf("run: %+v", r)
			}
			if r := run(t, bin, t.TempDir(), "noalloc"); strings.TrimSpace(r.stdout) != "0 0" {
				t.Errorf("probes allocated: %+v", r)
			}
			path, src := p.file("main.go")
			_, c := p.counts(dir, 0)
			s := p.slotOf(0, path, lineOf(t, src, "b := touch("))
			const mib = 1 << 20
			if inc := c.IncSum[s]; inc < 60*mib || inc > 72*mib {
				t.Errorf("increment of the 64 MiB line: %.1f MiB", float64(inc)/mib)
			}
			if c.MemMax[s] < 64*mib {
				t.Errorf("mem usage of the 64 MiB line: %.1f MiB", float64(c.MemMax[s])/mib)
			}
			ret := p.slotOf(0, path, lineOf(t, src, "return len(b)"))
			if inc := c.IncSum[ret]; inc > 4*mib || inc < -4*mib {
				t.Errorf("increment of the return line: %.1f MiB", float64(inc)/mib)
			}
			if c.MemMax[ret] < 64*mib {
				t.Errorf("mem usage of the return line: %.1f MiB", float64(c.MemMax[ret])/mib)
			}
		})
	}
}

// TestAllocsExact checks that the records of a function add up to the
// TotalAlloc delta of its call, and lines get their own allocations.
func TestAllocsExact(t *testing.T) {
	t.Parallel()
	p := newProg(t, testdataSources(t, "mem"), Options{Allocs: true}, isMarked)
	dir := t.TempDir()
	r := run(t, p.build(), dir, "allocs")
	var total, mallocs int64
	if _, err := fmt.Sscan(r.stdout, &total, &mallocs); err != nil || r.code != 0 {
		t.Fatalf("run: %+v", r)
	}
	recs, err := ReadAllocs(dir, 0)
	if err != nil || recs == nil {
		t.Fatalf("ReadAllocs: %v, %v", recs, err)
	}
	// A run this short is not disturbed by periodic dumps: the exit hook
	// dumps once.
	if dumps, _ := ReadAllocDumps(dir, 0); len(dumps) != 1 || dumps[0].Reason != "exit" {
		t.Errorf("dumps %+v, want one at exit", dumps)
	}
	path, src := p.file("main.go")
	lo, hi := lineOf(t, src, "func exact("), lineOf(t, src, "return len(out) + len(m)")
	var sum int64
	for _, r := range recs {
		for _, f := range r.Stack {
			if f.File == path && f.Line >= lo && f.Line <= hi {
				sum += r.AllocBytes
				break
			}
		}
	}
	if sum != total {
		t.Errorf("records of exact: %d bytes; TotalAlloc delta %d", sum, total)
	}
	// Lines of build, which exact's lines repeat.
	if b, o := lineBytes(recs, path, lineAfter(t, src, "func build(", "out = append(out, make(")); o != 2000 || b < 2000*100 {
		t.Errorf("append line: %d bytes, %d objects; want 2000 objects", b, o)
	}
	if b, o := lineBytes(recs, path, lineAfter(t, src, "func build(", "out := make([][]byte")); o != 1 || b < 2000*24 {
		t.Errorf("make line: %d bytes, %d objects", b, o)
	}
	if b, _ := lineBytes(recs, path, lineOf(t, src, "strings.Repeat(")); b < 1000 {
		t.Errorf("callee line: %d bytes", b)
	}
	// The probes themselves allocate nothing, whatever the options.
	if r := run(t, p.build(), dir, "noalloc"); strings.TrimSpace(r.stdout) != "0 0" {
		t.Errorf("probes allocated: %+v", r)
	}
	if b, _ := lineBytes(recs, path, lineOf(t, src, "done <- len(fmt.Sprint(")); b == 0 {
		t.Errorf("goroutine line: no bytes")
	}
	for _, r := range recs {
		if r.InUseBytes < 0 || r.InUseBytes > r.AllocBytes || len(r.Stack) == 0 {
			t.Errorf("odd record %+v", r)
		}
		for _, f := range r.Stack {
			if strings.Contains(f.File, "zz_memlens_rt") {
				t.Errorf("record from the probe runtime: %+v", r)
			}
		}
	}
}

var traceLine = regexp.MustCompile(`(?m)^\t(\S+\.go:\d+)`)

func TestExits(t *testing.T) {
	t.Parallel()
	p := newProg(t, testdataSources(t, "exits"), Options{RSS: true, Allocs: true}, isMarked)
	bin := p.build()
	path, src := p.file("main.go")
	makeLine := lineOf(t, src, "buf := make([]byte, 1<<20)")
	check := func(t *testing.T, dir, caseLine string) {
		t.Helper()
		got, c := p.counts(dir, 0)
		if c.Calls[0] != 1 || got[path][lineOf(t, src, caseLine)] != 1 {
			t.Errorf("calls %d, %s %d", c.Calls[0], caseLine, got[path][lineOf(t, src, caseLine)])
		}
		recs, err := ReadAllocs(dir, 0)
		if err != nil {
			t.Fatal(err)
		}
		if b, o := lineBytes(recs, path, makeLine); b < 1<<20 || o < 1 {
			t.Errorf("make line: %d bytes, %d objects", b, o)
		}
	}
	t.Run("exit", func(t *testing.T) {
		t.Parallel()
		dir := t.TempDir()
		if r := run(t, bin, dir, "exit"); r.code != 3 {
			t.Fatalf("%+v", r)
		}
		check(t, dir, `case "exit":`)
	})
	t.Run("panic", func(t *testing.T) {
		t.Parallel()
		dir := t.TempDir()
		r := run(t, bin, dir, "panic")
		plain := run(t, p.buildPlain(), "", "panic")
		if r.code != 2 || r.code != plain.code || !strings.HasPrefix(r.stderr, "panic: assignment to entry in nil map\n") {
			t.Fatalf("%+v", r)
		}
		want := fmt.Sprintf("%s:%d", path, lineOf(t, src, `m["x"] = len(buf)`))
		frames := traceLine.FindAllStringSubmatch(r.stderr, -1)
		if len(frames) == 0 || frames[0][1] != want {
			t.Errorf("trace starts %v, want %s:\n%s", frames, want, r.stderr)
		}
		if pf := traceLine.FindAllString(plain.stderr, -1); fmt.Sprint(pf) != fmt.Sprint(traceLine.FindAllString(r.stderr, -1)) {
			t.Errorf("trace differs from the plain build's:\n%s\nplain:\n%s", r.stderr, plain.stderr)
		}
		check(t, dir, `case "panic":`)
	})
	t.Run("goexit", func(t *testing.T) {
		t.Parallel()
		dir := t.TempDir()
		start := time.Now()
		if r := run(t, bin, dir, "goexit"); r.code != 2 || !strings.Contains(r.stderr, "main called runtime.Goexit") {
			t.Fatalf("%+v", r)
		}
		check(t, dir, `case "goexit":`)
		// The process lives until the dump watcher's next poll (its pending
		// timer delays the deadlock report); the dump must come from the
		// Goexit leave, after which the watcher has nothing to do and ends.
		files, _ := filepath.Glob(AllocsPattern(dir, 0))
		if len(files) != 1 {
			t.Fatalf("dumps %v", files)
		}
		if st, err := os.Stat(files[0]); err != nil || st.ModTime().Sub(start) > 400*time.Millisecond {
			t.Errorf("dump written %v after start: not at Goexit", st.ModTime().Sub(start))
		}
	})
	t.Run("kill", func(t *testing.T) {
		t.Parallel()
		dir := t.TempDir()
		cmd := exec.Command(bin, "kill")
		cmd.Env = append(os.Environ(), EnvDir+"="+dir)
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		// A target running for 2 s gets a periodic dump; then the runner's
		// request is answered at once.
		dumpedBy := func(reason string) bool {
			return waitFor(10*time.Second, func() bool {
				dumps, _ := ReadAllocDumps(dir, 0)
				return len(dumps) == 1 && dumps[0].Reason == reason
			})
		}
		periodic := dumpedBy("periodic")
		if err := os.WriteFile(DumpRequestFile(dir), nil, 0o644); err != nil {
			t.Fatal(err)
		}
		requested := dumpedBy("request")
		cmd.Process.Kill()
		cmd.Wait()
		if !periodic || !requested {
			t.Fatalf("periodic dump %v, dump on request %v", periodic, requested)
		}
		check(t, dir, `case "kill":`)
		got, _ := p.counts(dir, 0)
		if n := got[path][lineOf(t, src, "time.Sleep(10")]; n < 1 {
			t.Errorf("sleep line count %d", n)
		}
	})
}

// TestGoTest profiles a library, its internal test and its external test
// package through go test (vet on), with the exit dump of a test binary.
func TestGoTest(t *testing.T) {
	t.Parallel()
	srcs := testdataSources(t, "gotest")
	p := newProg(t, nil, Options{}, isMarked) // reserve a directory name
	for k, v := range srcs {
		srcs[k] = strings.ReplaceAll(v, "memlenstest/PKG", p.pkg)
	}
	p = newProgIn(t, p.dir, srcs, Options{RSS: true, Allocs: true}, isMarked)
	if len(p.inst) != 2 || !strings.HasSuffix(p.inst[1].RuntimePath, "_test.go") {
		t.Fatalf("want the package and its external test package, got %d", len(p.inst))
	}
	dir := t.TempDir()
	cmd := exec.Command("go", "test", "-count=1", "-overlay", p.overlay, "-ldflags="+LDFlags, "-bench=.", "-benchtime=3x", "-v", "./"+filepath.Base(p.dir))
	cmd.Dir = testModule(t)
	cmd.Env = append(goEnv(), EnvDir+"="+dir)
	out, err := cmd.CombinedOutput()
	if err != nil || !strings.Contains(string(out), "--- PASS: ExampleWords") {
		t.Fatalf("go test: %v\n%s", err, out)
	}
	for i, in := range p.inst {
		c, err := ReadCounters(dir, i)
		if err != nil {
			t.Fatal(err)
		}
		for _, fl := range in.Funcs {
			if c.Calls[fl.ID] == 0 {
				t.Errorf("%s not called", fl.Func.Name)
			}
		}
		if recs, err := ReadAllocs(dir, i); err != nil || len(recs) == 0 {
			t.Errorf("package %d: no allocation records (%v)", i, err)
		}
	}
	path, src := p.file("lib_test.go")
	got, _ := p.counts(dir, 0)
	if n := got[path][lineOf(t, src, "if got := Words(")]; n != 3 {
		t.Errorf("TestWords loop body count %d, want 3", n)
	}
	recs, _ := ReadAllocs(dir, 0)
	lib, libSrc := p.file("lib.go")
	if b, _ := lineBytes(recs, lib, lineOf(t, libSrc, "out = append(out, strings.ToUpper(w))")); b == 0 {
		t.Errorf("no allocations on Words' append line")
	}
}

// TestRace runs go test -race over an instrumented goroutine-heavy function
// with every probe enabled, and with the timeline too (its goroutines race
// on the running line by design: plain stores, norace).
func TestRace(t *testing.T) {
	if testing.Short() {
		t.Skip("race build")
	}
	t.Parallel()
	for _, tc := range []struct {
		name string
		opt  Options
	}{
		{"probes", Options{RSS: true, Allocs: true, RSSInterval: 50 * time.Microsecond}},
		{"timeline", timelineOpts},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			p := newProg(t, testdataSources(t, "race"), tc.opt, func(fn Func) bool { return fn.Name == "fanOut" })
			dir := t.TempDir()
			cmd := exec.Command("go", "test", "-race", "-count=1", "-overlay", p.overlay, "-ldflags="+LDFlags, "./"+filepath.Base(p.dir))
			cmd.Dir = testModule(t)
			cmd.Env = append(goEnv(), EnvDir+"="+dir)
			out, err := cmd.CombinedOutput()
			if err != nil || strings.Contains(string(out), "DATA RACE") {
				t.Fatalf("go test -race: %v\n%s", err, out)
			}
			_, c := p.counts(dir, 0)
			if c.Calls[0] != 80 {
				t.Errorf("calls %d, want 80", c.Calls[0])
			}
			if tc.opt.Timeline == 0 {
				return
			}
			tl := readOneTimeline(t, dir)
			enters := 0
			for _, e := range tl.Calls {
				if e.Enter {
					enters++
				}
			}
			if enters != 80 || !tl.CallsComplete {
				t.Errorf("%d calls logged (complete %v), want 80", enters, tl.CallsComplete)
			}
		})
	}
}

var errPos = regexp.MustCompile(`(?m)^(?:\./)?\S*?([^/\s]+\.go:\d+:\d+): (.*)$`)

// TestCompileErrorPositions builds a broken file plain and instrumented: the
// compiler must report the same errors at the same file:line:col.
func TestCompileErrorPositions(t *testing.T) {
	t.Parallel()
	src := `package main

import "fmt"

func main() {
	x := 1; y := undefinedName + x
	for i := 0; i < "three"; i++ {
		fmt.Println(i, y)
	}
	if x > 0 {
	} else if z := x + "s"; z {
	}
	switch x {
	case 1: fmt.Println(nope)
	}
	go func() { var q int = "q" }()
}
`
	p := newProg(t, map[string]string{"main.go": src}, Options{RSS: true, Allocs: true}, func(Func) bool { return true })
	errs := func(args ...string) []string {
		out, err := gocmd(t, args...)
		if err == nil {
			t.Fatalf("go %v succeeded", args)
		}
		var es []string
		for _, m := range errPos.FindAllStringSubmatch(out, -1) {
			es = append(es, m[1]+": "+m[2])
		}
		return es
	}
	plain := errs("build", "-gcflags=-e", "-o", os.DevNull, "./"+filepath.Base(p.dir))
	inst := errs("build", "-gcflags=-e", "-overlay", p.overlay, "-o", os.DevNull, "./"+filepath.Base(p.dir))
	if len(plain) < 5 || strings.Join(plain, "\n") != strings.Join(inst, "\n") {
		t.Errorf("errors differ:\nplain:\n%s\ninstrumented:\n%s", strings.Join(plain, "\n"), strings.Join(inst, "\n"))
	}
}

// TestTwoPackages profiles targets of two instrumented packages whose runs
// interleave: lib's starts first, main's starts, lib's ends while main's
// still runs. Sampling must stay exact until main's ends, then return to the
// default rate; each package dumps its own records.
func TestTwoPackages(t *testing.T) {
	t.Parallel()
	p := newProg(t, nil, Options{}, isMarked) // reserve a directory name
	srcs := map[string]string{
		"main.go": `package main

import (
	"fmt"
	"runtime"

	"` + p.pkg + `/lib"
)

var (
	sink     []byte
	entered  = make(chan bool)
	release  = make(chan bool)
	finished = make(chan int)
)

//memlens:profile
func outer() int {
	close(release)
	n := <-finished
	buf := make([]byte, 40000)
	sink = buf
	return n + len(buf)
}

func main() {
	go func() { finished <- lib.Inner(10, entered, release) }()
	<-entered
	fmt.Println(outer(), runtime.MemProfileRate)
}
`,
		"lib/lib.go": `package lib

var sink []int

//memlens:profile
func Inner(n int, entered chan<- bool, release <-chan bool) int {
	s := make([]int, n*1000)
	sink = s
	entered <- true
	<-release
	return len(s)
}
`,
	}
	p = newProgIn(t, p.dir, srcs, Options{Allocs: true, RSS: true}, isMarked)
	if len(p.inst) != 2 {
		t.Fatalf("%d packages", len(p.inst))
	}
	dir := t.TempDir()
	if r := run(t, p.build(), dir); r.code != 0 || strings.TrimSpace(r.stdout) != "50000 524288" {
		t.Fatalf("want 50000 and the default rate restored: %+v", r)
	}
	main, msrc := p.file("main.go")
	lib, lsrc := p.file("lib/lib.go")
	recs, err := ReadAllocs(dir, 0)
	if err != nil {
		t.Fatal(err)
	}
	if b, o := lineBytes(recs, main, lineOf(t, msrc, "buf := make(")); o != 1 || b < 40000 {
		t.Errorf("outer's make after inner ended: %d bytes, %d objects", b, o)
	}
	recs, err = ReadAllocs(dir, 1)
	if err != nil {
		t.Fatal(err)
	}
	if b, o := lineBytes(recs, lib, lineOf(t, lsrc, "s := make(")); o != 1 || b < 80000 {
		t.Errorf("inner's make: %d bytes, %d objects", b, o)
	}
	for i := range 2 {
		if _, c := p.counts(dir, i); c.Calls[0] != 1 {
			t.Errorf("package %d: calls %d", i, c.Calls[0])
		}
	}
}

// TestRelease runs loop-free targets, which in counts-only mode give their
// rows back at their returns rather than by defer (see walker.exits),
// with every probe configuration and under one P and the default: every
// line's count is its annotation, the output the plain build's. With one
// P, the 100 calls of at that panic keep more rows than it has, so its
// later calls take the shared row.
func TestRelease(t *testing.T) {
	t.Parallel()
	srcs := testdataSources(t, "release")
	for _, tc := range probeConfigs {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			p := newProg(t, srcs, tc.opt, isMarked)
			if tc.opt == (Options{}) {
				for path, b := range p.inst[0].Files {
					if n := strings.Count(string(b), "defer memlensLeave"); n != 0 {
						t.Errorf("%s: %d deferred leaves, want none (no target has a loop)", filepath.Base(path), n)
					}
				}
			}
			bin, plain := p.build(), run(t, p.buildPlain(), "")
			for _, procs := range []int{1, 0} {
				dir, file := runWithProcs(t, bin, procs, plain.stdout)
				p.checkAnnotated(dir)
				// At exit every call has left: only calls that panicked
				// or called Goexit keep rows, and only without the defer.
				rows, held := rowKinds(t, file), heldRows(t, file)
				for _, fl := range p.inst[0].Funcs {
					keeps := tc.opt == (Options{}) && (fl.Func.Name == "at" || fl.Func.Name == "leave")
					if h := held[fl.ID]; (h != 0) != keeps {
						t.Errorf("GOMAXPROCS=%d: %s holds %d rows at exit", procs, fl.Func.Name, h)
					}
					if procs == 1 && fl.Func.Name == "at" && (rows[fl.ID].shared == 0) == (tc.opt == (Options{})) {
						t.Errorf("at: %+v: the shared row is used once panicking calls kept the others, and only then", rows[fl.ID])
					}
				}
			}
		})
	}
}
