package runner

import (
	"context"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/memlens/memlens/profile"
)

// The timeline end to end: testdata/go/cmd/steps and testdata/python/steps.py
// fill three batches of 16 MiB (calls of batch, one growth line each, ~160
// ms), hold each 150 ms, then free everything; early modes panic, raise or
// run until killed after a batch of 8 MiB.

const stepMiB = 1 << 20

// stepsLines are batch's growth line and run's line calling batch.
var stepsLines = map[string][2]string{
	"go":     {"out = append(out, fill(byte(i)))", "kept = append(kept, batch(16)...)"},
	"python": {"out.append(fill())", "kept.extend(batch(16))"},
}

// nthLine is the nth line (from 1) of f starting with prefix.
func nthLine(t *testing.T, f *profile.Function, n int, prefix string) *profile.Line {
	t.Helper()
	for i := range f.Lines {
		if strings.HasPrefix(strings.TrimSpace(f.Lines[i].Content), prefix) {
			if n--; n == 0 {
				return &f.Lines[i]
			}
		}
	}
	t.Fatalf("%s: fewer lines start with %q", f.Name, prefix)
	return nil
}

func profileSteps(t *testing.T, lang string, args ...string) *profile.Result {
	t.Helper()
	req := Request{Dir: repoRoot, Timeout: 60 * time.Second}
	switch lang {
	case "go":
		req.Target, req.Args, req.HasArgs = "./testdata/go/cmd/steps", args, true
	case "python":
		req.Target, req.Args, req.Python = "testdata/python/steps.py", args, testPython(t)
	}
	if len(args) > 0 && args[0] == "forever" {
		req.Timeout = 10 * time.Second
		if lang == "go" {
			// The build is part of the timeout: warm the cache first.
			warm := req
			warm.Args, warm.Timeout = []string{"panic"}, 60*time.Second
			if _, err := Profile(context.Background(), warm); err != nil {
				t.Fatal(err)
			}
		}
	}
	res, err := Profile(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	return res
}

// checkTimelineOrder checks what every timeline must be: samples from t=0,
// strictly increasing, within the run.
func checkTimelineOrder(t *testing.T, res *profile.Result) []profile.Sample {
	t.Helper()
	tl := res.Timeline
	if tl == nil || len(tl.Samples) < 2 {
		t.Fatalf("timeline %+v (%s: %s)\n%s", tl, res.Status, res.Message, res.Output)
	}
	if tl.IntervalMS != 10 || tl.SampleCount != len(tl.Samples) {
		t.Errorf("interval %v ms, %d samples of %d", tl.IntervalMS, len(tl.Samples), tl.SampleCount)
	}
	s := tl.Samples
	if s[0].TMS != 0 || s[0].Function != "" {
		t.Errorf("first sample %+v", s[0])
	}
	for i := 1; i < len(s); i++ {
		if s[i].TMS <= s[i-1].TMS {
			t.Fatalf("sample %d at %v ms after %v ms", i, s[i].TMS, s[i-1].TMS)
		}
	}
	if last := s[len(s)-1].TMS; last > float64(res.DurationMS) {
		t.Errorf("last sample at %v ms of a %d ms run", last, res.DurationMS)
	}
	return s
}

func TestTimelineSteps(t *testing.T) {
	for _, lang := range []string{"go", "python"} {
		t.Run(lang, func(t *testing.T) {
			t.Parallel()
			res := profileSteps(t, lang)
			if res.Status != profile.StatusOK {
				t.Fatalf("%s: %s\n%s", res.Status, res.Message, res.Output)
			}
			s := checkTimelineOrder(t, res)
			batch, _ := res.Function("batch")
			run, _ := res.Function("run")
			if batch == nil || run == nil {
				t.Fatalf("functions %v", res.Functions)
			}
			grow := lineOf(t, batch, stepsLines[lang][0])
			call := lineOf(t, run, stepsLines[lang][1])
			hold := nthLine(t, run, 1, "work(")  // holding after each batch
			after := nthLine(t, run, 2, "work(") // after the free
			if grow.Line == batch.StartLine || call.Line == run.StartLine {
				t.Fatalf("lines %d, %d", grow.Line, call.Line)
			}
			base := s[0].HeapBytes
			// Every sample in batch is on its growth line (the loop header
			// and return take microseconds), and the heap rises across
			// each call: 16 MiB from its first sample to the next after it.
			for _, c := range res.Timeline.Calls {
				if c.Function != "batch" {
					continue
				}
				var in []profile.Sample
				var next profile.Sample
				for _, sm := range s {
					if sm.TMS >= c.StartMS && sm.TMS < c.EndMS {
						in = append(in, sm)
					} else if sm.TMS >= c.EndMS && next.TMS == 0 {
						next = sm
					}
				}
				if len(in) < 3 {
					t.Errorf("batch call %v–%v ms: %d samples", c.StartMS, c.EndMS, len(in))
					continue
				}
				// (Python's sampler runs when the main thread lets go of
				// the GIL, which it does at loop back-edges too: a sample
				// can fall on batch's loop header.)
				off := 0
				for _, sm := range in {
					if sm.Function != "batch" || sm.Line != grow.Line {
						off++
					}
				}
				if off > len(in)/5 {
					t.Errorf("%d of %d samples in the batch call at %v ms name another line than batch:%d", off, len(in), c.StartMS, grow.Line)
				}
				if rise := int64(next.HeapBytes) - int64(in[0].HeapBytes); rise < 13*stepMiB || rise > 19*stepMiB {
					t.Errorf("heap rose %.1f MiB across the batch call at %v ms", float64(rise)/stepMiB, c.StartMS)
				}
			}
			// Holding: flat at 16, 32 and 48 MiB above the start.
			var holds []uint64
			for i, sm := range s {
				if sm.Function == "run" && sm.Line == hold.Line && (i == 0 || s[i-1].Line != hold.Line) {
					holds = append(holds, sm.HeapBytes-base)
				}
			}
			// (On a loaded machine a 150 ms hold can go unsampled: at
			// least two of the three must show, each at its level.)
			if len(holds) < 2 || len(holds) > 3 {
				t.Fatalf("%d stretches on the hold line, want 3", len(holds))
			}
			level := 0
			for _, h := range holds {
				for level < 3 && h > uint64(16*(level+1)+3)*stepMiB {
					level++
				}
				if want := uint64(16*(level+1)) * stepMiB; level == 3 || h < want-2*stepMiB {
					t.Errorf("holds at %v bytes above the start, want 16, 32 and 48 MiB", holds)
					break
				}
				level++
			}
			// The peak is the last batch's; after the free the heap is
			// back near the start, on the last line.
			peak := s[0]
			for _, sm := range s {
				if sm.HeapBytes > peak.HeapBytes {
					peak = sm
				}
			}
			if peak.HeapBytes-base < 47*stepMiB || peak.Function == "" {
				t.Errorf("peak %+v", peak)
			}
			n := 0
			for _, sm := range s {
				if sm.Function == "run" && sm.Line == after.Line {
					n++
					if sm.HeapBytes > base+3*stepMiB || sm.TMS < peak.TMS {
						t.Errorf("after the free: %+v (peak at %v ms)", sm, peak.TMS)
					}
				}
			}
			if n < 1 {
				t.Errorf("no sample after the free")
			}
			if lang == "go" {
				// debug.FreeOSMemory gives the pages back: RSS drops too.
				for _, sm := range s[len(s)-3:] {
					if sm.RSSBytes+40*stepMiB > peak.RSSBytes {
						t.Errorf("RSS %d MiB after the free, %d at the peak", sm.RSSBytes/stepMiB, peak.RSSBytes/stepMiB)
					}
				}
			}
			// Calls: run once around all three batch calls.
			var runs, batches []profile.CallSpan
			for _, c := range res.Timeline.Calls {
				switch c.Function {
				case "run":
					runs = append(runs, c)
				case "batch":
					batches = append(batches, c)
				}
			}
			if len(runs) != 1 || len(batches) != 3 {
				t.Fatalf("call stretches %+v", res.Timeline.Calls)
			}
			for i, b := range batches {
				if b.StartMS < runs[0].StartMS || b.EndMS > runs[0].EndMS || i > 0 && b.StartMS < batches[i-1].EndMS+50 {
					t.Errorf("batch call %d at %v–%v ms, run %v–%v ms", i, b.StartMS, b.EndMS, runs[0].StartMS, runs[0].EndMS)
				}
			}
			// % Time: batch's time is its growth line's; run's is on its
			// call line (batch's time included), hold and after lines.
			if grow.TimeShare < 0.9 {
				t.Errorf("growth line %.2f of batch's time", grow.TimeShare)
			}
			for _, f := range []*profile.Function{batch, run} {
				sum := 0.0
				for _, l := range f.Lines {
					sum += l.TimeShare
				}
				if f.TimeSamples == 0 || math.Abs(sum-1) > 1e-9 {
					t.Errorf("%s: %d samples, shares sum to %v", f.Name, f.TimeSamples, sum)
				}
			}
			if call.TimeShare < 0.25 || hold.TimeShare < 0.05 || after.TimeShare == 0 || call.TimeSamples < batch.TimeSamples {
				t.Errorf("run's shares: call %.2f (%d samples, batch %d), hold %.2f, after %.2f",
					call.TimeShare, call.TimeSamples, batch.TimeSamples, hold.TimeShare, after.TimeShare)
			}
		})
	}
}

// TestTimelineCutShort: a run that panics (raises) or times out keeps its
// samples up to then, the growth line among them.
func TestTimelineCutShort(t *testing.T) {
	for _, tc := range []struct {
		lang, mode string
		status     profile.Status
	}{
		{"go", "panic", profile.StatusPanic},
		{"go", "forever", profile.StatusTimeout},
		{"python", "raise", profile.StatusPanic},
		{"python", "forever", profile.StatusTimeout},
	} {
		t.Run(tc.lang+"/"+tc.mode, func(t *testing.T) {
			t.Parallel()
			res := profileSteps(t, tc.lang, tc.mode)
			if res.Status != tc.status {
				t.Fatalf("%s: %s", res.Status, res.Message)
			}
			s := checkTimelineOrder(t, res)
			batch, ok := res.Function("batch")
			if !ok {
				t.Fatalf("no batch in %+v: %s\n%s", res.Functions, res.Message, res.Output)
			}
			grow := lineOf(t, batch, stepsLines[tc.lang][0])
			n, peak := 0, uint64(0)
			for _, sm := range s {
				if sm.Function == "batch" && sm.Line == grow.Line {
					n++
				}
				peak = max(peak, sm.HeapBytes-s[0].HeapBytes)
			}
			if n < 3 || peak < 7*stepMiB {
				t.Errorf("%d samples on the growth line, heap peak %.1f MiB above the start", n, float64(peak)/stepMiB)
			}
			if tc.mode == "forever" {
				// Samples until the kill: the last one within a second of it.
				last := s[len(s)-1]
				var spans []string
				for _, c := range res.Timeline.Calls {
					spans = append(spans, c.Function)
				}
				if strings.Join(spans, " ") != "early batch" {
					t.Errorf("call stretches %v", spans)
				}
				if last.Function != "early" {
					t.Errorf("last sample %+v", last)
				}
			}
		})
	}
}

// TestTimelineOff: --counts-only measures no memory, so no timeline.
func TestTimelineOff(t *testing.T) {
	t.Parallel()
	res, err := Profile(context.Background(), Request{Dir: repoRoot, Target: "testdata/python/steps.py", Python: testPython(t), CountsOnly: true, Timeout: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	if res.Timeline != nil {
		t.Errorf("timeline with --counts-only: %d samples", len(res.Timeline.Samples))
	}
}

// TestKeepSamples: long runs keep at most the bound, the first and last
// samples, and every stretch's highest and lowest RSS and heap.
func TestKeepSamples(t *testing.T) {
	for _, tc := range []struct {
		name string
		n    int
		rss  func(i int) uint64
	}{
		{"short", 500, func(i int) uint64 { return uint64(i) }},
		{"sawtooth", 100000, func(i int) uint64 { return uint64(i % 7919) }},
		{"one spike", 250000, func(i int) uint64 {
			if i == 123457 {
				return 1 << 40
			}
			return 100
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			raw := make([]rawSample, tc.n)
			for i := range raw {
				raw[i] = rawSample{t: time.Duration(i) * time.Millisecond, rss: tc.rss(i), heap: uint64(tc.n - i), fn: -1}
			}
			idx := keepSamples(raw, profile.MaxSamples)
			if want := min(tc.n, profile.MaxSamples); len(idx) > want || tc.n <= want && len(idx) != tc.n {
				t.Fatalf("%d kept of %d", len(idx), tc.n)
			}
			if idx[0] != 0 || idx[len(idx)-1] != tc.n-1 {
				t.Errorf("first and last kept: %d, %d", idx[0], idx[len(idx)-1])
			}
			var maxRSS, minRSS uint64 = 0, math.MaxUint64
			for i, k := range idx {
				if i > 0 && k <= idx[i-1] {
					t.Fatalf("kept indexes out of order at %d", i)
				}
				maxRSS, minRSS = max(maxRSS, raw[k].rss), min(minRSS, raw[k].rss)
			}
			var wantMax, wantMin uint64 = 0, math.MaxUint64
			for _, r := range raw {
				wantMax, wantMin = max(wantMax, r.rss), min(wantMin, r.rss)
			}
			if maxRSS != wantMax || minRSS != wantMin {
				t.Errorf("kept RSS %d..%d, all %d..%d", minRSS, maxRSS, wantMin, wantMax)
			}
		})
	}
}

// TestCallSpans: logged calls as they are; the others from consecutive
// samples (a new stretch at another call), nested calls from the samples'
// outer calls; a function's stretches bounded.
func TestCallSpans(t *testing.T) {
	res := &profile.Result{Functions: []profile.Function{{Name: "f"}, {Name: "g"}}}
	ms := time.Millisecond
	sample := func(t time.Duration, fn int, call uint64, outer ...outerCall) rawSample {
		return rawSample{t: t, fn: fn, call: call, outer: outer}
	}
	raw := []rawSample{
		sample(0, -1, 0),
		sample(10*ms, 0, 1),
		sample(20*ms, 1, 7, outerCall{fnCall{0, 1}, 3}),
		sample(30*ms, 0, 1),
		sample(40*ms, 0, 2), // f's next call, right after
		sample(50*ms, -1, 0),
		sample(60*ms, 1, 8), // logged
		sample(70*ms, -1, 0),
	}
	got := callSpans(res, raw, []rawSpan{{fnCall{1, 8}, 55 * ms, 62 * ms}})
	want := []profile.CallSpan{
		{Function: "f", StartMS: 10, EndMS: 40, Calls: 1},
		{Function: "g", StartMS: 20, EndMS: 30, Calls: 1},
		{Function: "f", StartMS: 40, EndMS: 50, Calls: 1},
		{Function: "g", StartMS: 55, EndMS: 62, Calls: 1},
	}
	if len(got) != len(want) {
		t.Fatalf("spans %+v", got)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("span %d: %+v, want %+v", i, got[i], want[i])
		}
	}

	// Bounded: 3,000 one-sample calls with growing gaps merge to the bound.
	raw = nil
	at := time.Duration(0)
	for c := 1; c <= 3000; c++ {
		raw = append(raw, sample(at, 0, uint64(c)), sample(at+ms, -1, 0))
		at += time.Duration(2+c%5) * ms
	}
	got = callSpans(res, raw, nil)
	calls := 0
	for _, c := range got {
		calls += c.Calls
	}
	if len(got) != maxSpansPerFunction || calls != 3000 {
		t.Errorf("%d stretches holding %d calls", len(got), calls)
	}
}
