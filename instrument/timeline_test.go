package instrument

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

const mib = 1 << 20

var timelineOpts = Options{RSS: true, Allocs: true, RSSInterval: time.Millisecond, Timeline: 10 * time.Millisecond}

// readOneTimeline reads the single process's timeline in dir.
func readOneTimeline(t *testing.T, dir string) Timeline {
	t.Helper()
	tls, err := ReadTimeline(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(tls) != 1 {
		t.Fatalf("%d timelines, want 1", len(tls))
	}
	tl := tls[0]
	if len(tl.Samples) == 0 || tl.Samples[0].Flags&SampleStart == 0 || tl.Samples[0].T != 0 {
		t.Fatalf("no start sample first: %+v", tl.Samples[:min(len(tl.Samples), 3)])
	}
	for i := 1; i < len(tl.Samples); i++ {
		if tl.Samples[i].T < tl.Samples[i-1].T {
			t.Fatalf("sample %d goes back in time", i)
		}
	}
	return tl
}

// lineSamples maps each sample to its source line (0: none).
func (p *prog) sampleLines(tl Timeline) []int {
	lines := make([]int, len(tl.Samples))
	for i, s := range tl.Samples {
		if !s.Running.Ran() {
			continue
		}
		for _, fl := range p.inst[s.Running.Package].Funcs {
			for _, ls := range fl.Lines {
				if ls.Slot == s.Running.Slot {
					lines[i] = ls.Line
				}
			}
		}
		if lines[i] == 0 {
			p.t.Fatalf("sample %d names slot %d, which no line has", i, s.Running.Slot)
		}
	}
	return lines
}

// TestTimelineSteps runs a program that grows memory in two steps and
// frees it: the samples during each growth line name it, heap and RSS rise
// across it, and fall after the free.
func TestTimelineSteps(t *testing.T) {
	t.Parallel()
	p := newProg(t, testdataSources(t, "timeline"), timelineOpts, isMarked)
	bin := p.build()
	dir := t.TempDir()
	start := time.Now()
	if r := run(t, bin, dir, "steps"); r.code != 0 || strings.TrimSpace(r.stdout) != "64" {
		t.Fatalf("run: %+v", r)
	}
	wall := time.Since(start)
	tl := readOneTimeline(t, dir)
	_, src := p.file("main.go")
	lines := p.sampleLines(tl)
	growA, holdA := lineOf(t, src, "a := grow(32<<20, step)"), lineAfter(t, src, "a := grow(32<<20, step)", "spin(step)")
	growB, free := lineOf(t, src, "b := grow(32<<20, step)"), lineOf(t, src, "\tfree()")
	holdB := lineAfter(t, src, "\tfree()", "spin(step)")
	last := tl.Samples[len(tl.Samples)-1]
	if last.Flags&SampleEnd == 0 {
		t.Errorf("last sample is not the end sample: %+v", last)
	}
	if last.T > wall || last.T < 4*300*time.Millisecond {
		t.Errorf("last sample at %v, run took %v", last.T, wall)
	}
	if n := len(tl.Samples); n < 50 || n > int(wall/(10*time.Millisecond))+5 {
		t.Errorf("%d samples over %v at 10ms", n, wall)
	}
	// Samples per line: each 300 ms line gets about 30 (at least 3 on a
	// busy machine, where the sampler's wake-ups come late).
	per := map[int][]TimelineSample{}
	for i, s := range tl.Samples {
		per[lines[i]] = append(per[lines[i]], s)
	}
	for _, l := range []int{growA, holdA, growB, holdB} {
		if n := len(per[l]); n < 3 {
			t.Errorf("line %d: %d samples, want about 30", l, n)
		}
	}
	// The steps: the first sample 16 MiB above the start names the first
	// growth line, the first 48 MiB above it the second, and the first
	// after the peak back under 8 MiB the free line or the one after.
	base := tl.Samples[0].Heap
	first := func(from int, cond func(TimelineSample) bool) int {
		for i := from; i < len(tl.Samples); i++ {
			if cond(tl.Samples[i]) {
				return i
			}
		}
		t.Fatalf("no sample from %d on meets the condition", from)
		return -1
	}
	i16 := first(0, func(s TimelineSample) bool { return s.Heap > base+16*mib })
	i48 := first(i16, func(s TimelineSample) bool { return s.Heap > base+48*mib })
	iPeak := first(i48, func(s TimelineSample) bool { return s.Heap > base+60*mib })
	iFree := first(iPeak, func(s TimelineSample) bool { return s.Heap < base+8*mib })
	if lines[i16] != growA || lines[i48] != growB || lines[iPeak] != growB && lines[iPeak] != free {
		t.Errorf("steps named lines %d, %d, peak %d; want %d, %d, %d", lines[i16], lines[i48], lines[iPeak], growA, growB, growB)
	}
	if lines[iFree] != free && lines[iFree] != holdB {
		t.Errorf("the drop names line %d, want %d or %d", lines[iFree], free, holdB)
	}
	// Holding keeps the heap flat at 32 MiB; after the free it stays low.
	for _, s := range per[holdA] {
		if s.Heap < base+30*mib || s.Heap > base+36*mib {
			t.Errorf("heap while holding: %d MiB", s.Heap/mib)
		}
	}
	for _, s := range per[holdB] {
		if s.Heap > base+8*mib {
			t.Errorf("heap after the free: %d MiB", s.Heap/mib)
		}
	}
	// RSS follows: the free returns the pages (debug.FreeOSMemory).
	var peak TimelineSample
	for _, s := range tl.Samples {
		if s.RSS > peak.RSS {
			peak = s
		}
	}
	if peak.RSS < 64*mib {
		t.Errorf("RSS peak %d MiB", peak.RSS/mib)
	}
	for _, s := range per[holdB] {
		if s.RSS > peak.RSS-40*mib {
			t.Errorf("RSS after the free %d MiB, peak %d MiB", s.RSS/mib, peak.RSS/mib)
			break
		}
	}
	// Samples before and after the call name no line; calls are numbered.
	if lines[0] != 0 || lines[len(lines)-1] != 0 {
		t.Errorf("first/last samples name lines %d, %d", lines[0], lines[len(lines)-1])
	}
	for i, s := range tl.Samples {
		if lines[i] != 0 && s.Running.Call != 1 {
			t.Fatalf("sample %d: call %d, want 1", i, s.Running.Call)
		}
	}
}

// TestTimelineCutShort: a run that ends by panic, os.Exit or SIGKILL keeps
// its samples, the growth line among them.
func TestTimelineCutShort(t *testing.T) {
	t.Parallel()
	p := newProg(t, testdataSources(t, "timeline"), timelineOpts, isMarked)
	bin := p.build()
	_, src := p.file("main.go")
	growLine := lineOf(t, src, "a := grow(16<<20, step)")
	for _, tc := range []struct {
		mode     string
		code     int
		lastFlag SampleFlag
	}{
		{"panic", 2, SampleUnwind},
		{"exit", 3, SampleEnd},
		{"kill", -1, 0},
	} {
		t.Run(tc.mode, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			if tc.mode == "kill" {
				cmd := exec.Command(bin, "kill")
				cmd.Env = append(goEnv(), EnvDir+"="+dir)
				if err := cmd.Start(); err != nil {
					t.Fatal(err)
				}
				// Killed once it has written 30 records (the header is 40
				// bytes, so are records), whenever that is on a busy machine.
				waitFor(30*time.Second, func() bool {
					st, err := os.Stat(filepath.Join(dir, fmt.Sprintf("timeline-%d", cmd.Process.Pid)))
					return err == nil && st.Size() >= 40+30*40
				})
				cmd.Process.Signal(syscall.SIGKILL)
				cmd.Wait()
			} else if r := run(t, bin, dir, tc.mode); r.code != tc.code {
				t.Fatalf("%+v", r)
			}
			tl := readOneTimeline(t, dir)
			lines := p.sampleLines(tl)
			n := 0
			for _, l := range lines {
				if l == growLine {
					n++
				}
			}
			if n < 8 {
				t.Errorf("%d samples on the growth line", n)
			}
			// The flag's sample: the end sample at exit, the unwinding
			// target's at a panic (the sampler may sample the panic's
			// printing after it, naming no line).
			last := tl.Samples[len(tl.Samples)-1]
			flagged := false
			for _, s := range tl.Samples {
				flagged = flagged || s.Flags&tc.lastFlag == tc.lastFlag
			}
			// (At exit the sampler may take one more sample meanwhile.)
			if !flagged || tc.lastFlag == SampleEnd && last.Flags != SampleEnd && tl.Samples[len(tl.Samples)-2].Flags != SampleEnd {
				t.Errorf("no sample flagged %d; last %+v", tc.lastFlag, last)
			}
			if tc.mode == "kill" && len(tl.Samples) < 25 {
				t.Errorf("%d samples after the kill, at least 30 records were written", len(tl.Samples))
			}
		})
	}
}

// TestTimelineBlocked: a program blocked entirely pauses the sampler, so
// the runtime still reports a deadlock, and a target call resumes it.
func TestTimelineBlocked(t *testing.T) {
	t.Parallel()
	// Without allocation mode: its dump watcher runs while targets run.
	p := newProg(t, testdataSources(t, "timeline"), Options{RSS: true, Timeline: 10 * time.Millisecond}, isMarked)
	bin := p.build()
	t.Run("deadlock", func(t *testing.T) {
		t.Parallel()
		dir := t.TempDir()
		start := time.Now()
		r := run(t, bin, dir, "deadlock")
		if r.code != 2 || !strings.Contains(r.stderr, "all goroutines are asleep - deadlock!") {
			t.Fatalf("%+v", r)
		}
		// (About 1 s late; the bound leaves room for a loaded machine and
		// is far from the hang a sampler that never stops would cause.)
		if d := time.Since(start); d > 15*time.Second {
			t.Errorf("deadlock reported after %v", d)
		}
		tl := readOneTimeline(t, dir)
		if last := tl.Samples[len(tl.Samples)-1]; last.Flags&SamplePause == 0 {
			t.Errorf("last sample %+v, want the pause", last)
		}
	})
	t.Run("sleep", func(t *testing.T) {
		t.Parallel()
		dir := t.TempDir()
		if r := run(t, bin, dir, "sleep"); r.code != 0 {
			t.Fatalf("%+v", r)
		}
		tl := readOneTimeline(t, dir)
		var flags []SampleFlag
		for _, s := range tl.Samples {
			if s.Flags != 0 {
				flags = append(flags, s.Flags)
			}
		}
		want := []SampleFlag{SampleStart, SamplePause, SampleResume, SampleEnd}
		if len(flags) != len(want) || flags[0] != want[0] || flags[1] != want[1] || flags[2] != want[2] || flags[3] != want[3] {
			t.Errorf("flags %v, want %v", flags, want)
		}
		if n := len(tl.Samples); n < 50 {
			t.Errorf("%d samples after the resume", n)
		}
	})
	t.Run("quiet", func(t *testing.T) {
		t.Parallel()
		// The sampler allocates nothing per sample: over about 100
		// samples, at most the runtime's one-time allocations for a
		// waiting goroutine on a P it has not run on before (a timer heap
		// slot, a sudog); the program pins 2 Ps so that bound does not
		// grow with the machine.
		r := run(t, bin, t.TempDir(), "quiet")
		n, err := strconv.Atoi(strings.TrimSpace(r.stdout))
		if r.code != 0 || err != nil || n > 6 {
			t.Errorf("%+v", r)
		}
	})
}

// TestTimelineTwoPackages: targets in two packages of one process share
// one sampler; samples name lines of both, and the call log ties the
// callee's call to the caller's line.
func TestTimelineTwoPackages(t *testing.T) {
	t.Parallel()
	dir := filepath.Join(testModule(t), fmt.Sprintf("p%d", pkgSeq.Add(1)))
	lib := "memlenstest/" + filepath.Base(dir) + "/lib"
	srcs := map[string]string{
		"main.go": "package main\n\nimport (\n\t\"fmt\"\n\t\"time\"\n\n\t\"" + lib + `"
)

//memlens:profile
func outer() int {
	n := lib.Work(400 * time.Millisecond)
	lib.Spin(400 * time.Millisecond)
	return n
}

func main() { fmt.Println(outer()) }
`,
		"lib/lib.go": `package lib

import "time"

// Spin keeps a CPU busy for d.
func Spin(d time.Duration) {
	for start := time.Now(); time.Since(start) < d; {
	}
}

//memlens:profile
func Work(d time.Duration) int {
	Spin(d)
	return 1
}
`,
	}
	p := newProgIn(t, dir, srcs, timelineOpts, isMarked)
	data := t.TempDir()
	if r := run(t, p.build(), data); r.code != 0 || strings.TrimSpace(r.stdout) != "1" {
		t.Fatalf("%+v", r)
	}
	tl := readOneTimeline(t, data)
	_, msrc := p.file("main.go")
	_, lsrc := p.file("lib/lib.go")
	where := func(r Running) (string, int) {
		for _, fl := range p.inst[r.Package].Funcs {
			for _, ls := range fl.Lines {
				if ls.Slot == r.Slot {
					return fl.Func.File, ls.Line
				}
			}
		}
		return "", 0
	}
	seen := map[string]int{}
	for _, s := range tl.Samples {
		if s.Running.Ran() {
			f, l := where(s.Running)
			seen[fmt.Sprintf("%s:%d", filepath.Base(f), l)]++
		}
	}
	spinLine, callLine := lineOf(t, lsrc, "\tSpin(d)"), lineOf(t, msrc, "n := lib.Work(")
	if seen[fmt.Sprintf("lib.go:%d", spinLine)] < 5 || seen[fmt.Sprintf("main.go:%d", lineOf(t, msrc, "lib.Spin(400"))] < 5 {
		t.Errorf("samples by line: %v (of %d samples)", seen, len(tl.Samples))
		for _, s := range tl.Samples {
			t.Logf("%+v", s)
		}
	}
	// The log: outer enters (call 1), Work enters (call 2) from outer's
	// line, leaves, outer leaves.
	var got []string
	for _, e := range tl.Calls {
		if !e.Enter {
			got = append(got, fmt.Sprintf("leave %d", e.Call))
			continue
		}
		f, l := where(Running{Package: e.Package, Slot: e.Slot})
		pf, pl := "", 0
		if e.Parent.Ran() {
			pf, pl = where(e.Parent)
			pf = filepath.Base(pf)
		}
		got = append(got, fmt.Sprintf("enter %d %s:%d from %s:%d", e.Call, filepath.Base(f), l, pf, pl))
	}
	want := []string{
		fmt.Sprintf("enter 1 main.go:%d from :0", lineOf(t, msrc, "func outer()")),
		fmt.Sprintf("enter 2 lib.go:%d from main.go:%d", lineOf(t, lsrc, "func Work("), callLine),
		"leave 2", "leave 1",
	}
	if fmt.Sprint(got) != fmt.Sprint(want) || !tl.CallsComplete {
		t.Errorf("call log %q (complete %v), want %q", got, tl.CallsComplete, want)
	}
}
