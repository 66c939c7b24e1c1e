package runner

import (
	"sort"
	"time"

	"github.com/memlens/memlens/profile"
)

// DefaultSampleInterval is the timeline's sampling interval when the
// request sets none.
const DefaultSampleInterval = 10 * time.Millisecond

// maxSpansPerFunction bounds a function's Timeline.Calls.
const maxSpansPerFunction = 1000

// sampleInterval is the request's timeline interval; 0 when the run is not
// sampled (--counts-only measures no memory).
func sampleInterval(req Request) time.Duration {
	switch {
	case req.CountsOnly || req.SampleInterval < 0:
		return 0
	case req.SampleInterval == 0:
		return DefaultSampleInterval
	}
	return req.SampleInterval
}

// rawSample is one sample as an engine read it back, before the result's
// timeline is built from all of them.
type rawSample struct {
	t         time.Duration // since the first sample
	rss, heap uint64
	fn        int    // index in Result.Functions; -1: no profiled function ran
	line      int    // its line
	call      uint64 // which call of fn (an engine's own numbering); 0 unknown
	// outer are the calls of profiled functions the running one was
	// called from, innermost first, each with the line it was on.
	outer []outerCall
}

// outerCall is a call further out on the stack of a sample, and its line.
type outerCall struct {
	fnCall
	line int
}

// fnCall is a call of a profiled function: its index in Result.Functions
// and the engine's number for the call.
type fnCall struct {
	fn   int
	call uint64
}

// rawSpan is a call whose start and end the engine logged.
type rawSpan struct {
	fnCall
	start, end time.Duration
}

// setTimeline builds res.Timeline from an engine's samples, in time order,
// and the calls it logged exactly (Go): each line's time share (from every
// sample, before any merging), the stretches of time each function's calls
// ran, and the samples themselves, merged down to profile.MaxSamples. No
// samples leave res.Timeline nil.
func setTimeline(res *profile.Result, interval time.Duration, raw []rawSample, logged []rawSpan) {
	// Strictly increasing times (the engines' clocks are monotonic; two
	// writers can tie).
	kept := raw[:0:0]
	for _, r := range raw {
		if len(kept) == 0 || r.t > kept[len(kept)-1].t {
			kept = append(kept, r)
		}
	}
	raw = kept
	if len(raw) == 0 {
		return
	}
	shareTime(res, raw)
	tl := &profile.Timeline{
		IntervalMS:  float64(interval) / float64(time.Millisecond),
		Calls:       callSpans(res, raw, logged),
		SampleCount: len(raw),
	}
	for _, i := range keepSamples(raw, profile.MaxSamples) {
		r := raw[i]
		s := profile.Sample{TMS: ms(r.t), RSSBytes: r.rss, HeapBytes: r.heap}
		if r.fn >= 0 {
			s.Function, s.Line = res.Functions[r.fn].Name, r.line
		}
		tl.Samples = append(tl.Samples, s)
	}
	res.Timeline = tl
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// shareTime sets the functions' and lines' TimeSamples and TimeShare: a
// sample counts for every function on its stack (once, however deep it
// recurses) and for the line each was on (a line waiting on a call is
// running, as in line_profiler's % Time).
func shareTime(res *profile.Result, raw []rawSample) {
	type fnLine struct{ fn, line int }
	for _, r := range raw {
		if r.fn < 0 {
			continue
		}
		fns := map[int]bool{r.fn: true}
		lines := map[fnLine]bool{{r.fn, r.line}: true}
		for _, o := range r.outer {
			fns[o.fn] = true
			lines[fnLine{o.fn, o.line}] = true
		}
		for fn := range fns {
			res.Functions[fn].TimeSamples++
		}
		for fl := range lines {
			if l, ok := res.Functions[fl.fn].Line(fl.line); ok {
				l.TimeSamples++
			}
		}
	}
	for i := range res.Functions {
		f := &res.Functions[i]
		for j := range f.Lines {
			if f.TimeSamples > 0 {
				f.Lines[j].TimeShare = float64(f.Lines[j].TimeSamples) / float64(f.TimeSamples)
			}
		}
	}
}

// callSpans returns the stretches of time during which calls ran: the
// logged ones as they are, the others from the samples: a stretch of
// consecutive samples that found the same call of a function running
// (innermost or, where the engine knows it, further out), from its first
// sample to the next sample after its last (the call ended in between);
// call number 0 (unknown) continues the stretch it falls in.
// A function with more than maxSpansPerFunction stretches has those with
// the shortest gaps between them merged.
func callSpans(res *profile.Result, raw []rawSample, logged []rawSpan) []profile.CallSpan {
	type span struct {
		fn         int
		start, end time.Duration
		calls      int
	}
	var spans []span
	exact := map[fnCall]bool{}
	for _, l := range logged {
		exact[l.fnCall] = true
		spans = append(spans, span{l.fn, l.start, l.end, 1})
	}
	open := map[int]int{}        // function -> index in spans of its open stretch
	openCall := map[int]uint64{} // function -> the call of that stretch
	for _, r := range raw {
		here := map[int]uint64{}
		if r.fn >= 0 && !exact[fnCall{r.fn, r.call}] {
			here[r.fn] = r.call
		}
		for _, o := range r.outer {
			if _, ok := here[o.fn]; !ok && !exact[o.fnCall] {
				here[o.fn] = o.call
			}
		}
		for fn, i := range open {
			spans[i].end = r.t
			c, ok := here[fn]
			switch {
			case !ok || c != openCall[fn] && c != 0 && openCall[fn] != 0:
				delete(open, fn)
			case openCall[fn] == 0:
				openCall[fn] = c // 0 is an unknown call (one caught starting): the same
			}
		}
		for fn, c := range here {
			if _, ok := open[fn]; !ok {
				spans = append(spans, span{fn, r.t, r.t, 1})
				open[fn], openCall[fn] = len(spans)-1, c
			}
		}
	}
	// In time order; of stretches starting together, the outer (longer) first.
	sort.SliceStable(spans, func(i, j int) bool {
		if spans[i].start != spans[j].start {
			return spans[i].start < spans[j].start
		}
		return spans[i].end > spans[j].end
	})
	// Bound each function's stretches: merge across the shortest gaps.
	byFn := map[int][]int{}
	for i, s := range spans {
		byFn[s.fn] = append(byFn[s.fn], i)
	}
	drop := map[int]bool{}
	for _, idx := range byFn {
		if len(idx) <= maxSpansPerFunction {
			continue
		}
		gaps := make([]time.Duration, 0, len(idx)-1)
		for k := 1; k < len(idx); k++ {
			gaps = append(gaps, spans[idx[k]].start-spans[idx[k-1]].end)
		}
		sorted := append([]time.Duration(nil), gaps...)
		sort.Slice(sorted, func(a, b int) bool { return sorted[a] < sorted[b] })
		limit := sorted[len(idx)-maxSpansPerFunction-1] // merge gaps up to this
		keep, left := idx[0], len(idx)
		for k := 1; k < len(idx); k++ {
			if gaps[k-1] <= limit && left > maxSpansPerFunction {
				spans[keep].end = max(spans[keep].end, spans[idx[k]].end)
				spans[keep].calls += spans[idx[k]].calls
				drop[idx[k]] = true
				left--
				continue
			}
			keep = idx[k]
		}
	}
	out := []profile.CallSpan{}
	for i, s := range spans {
		if !drop[i] {
			out = append(out, profile.CallSpan{Function: res.Functions[s.fn].Name, StartMS: ms(s.start), EndMS: ms(s.end), Calls: s.calls})
		}
	}
	return out
}

// keepSamples returns the indexes of the samples a timeline keeps: all of
// them up to max; beyond, the first and the last and, from each of
// (max-2)/4 stretches of equal numbers of samples, those with the lowest
// and highest RSS and heap, so that peaks and drops of both series survive
// and the peak keeps its line.
func keepSamples(raw []rawSample, max int) []int {
	idx := make([]int, 0, min(len(raw), max))
	if len(raw) <= max {
		for i := range raw {
			idx = append(idx, i)
		}
		return idx
	}
	buckets := (max - 2) / 4
	inner := raw[1 : len(raw)-1]
	idx = append(idx, 0)
	for b := 0; b < buckets; b++ {
		lo, hi := b*len(inner)/buckets, (b+1)*len(inner)/buckets
		if lo >= hi {
			continue
		}
		minR, maxR, minH, maxH := lo, lo, lo, lo
		for i := lo; i < hi; i++ {
			s := inner[i]
			if s.rss < inner[minR].rss {
				minR = i
			}
			if s.rss > inner[maxR].rss {
				maxR = i
			}
			if s.heap < inner[minH].heap {
				minH = i
			}
			if s.heap > inner[maxH].heap {
				maxH = i
			}
		}
		pick := []int{minR, maxR, minH, maxH}
		sort.Ints(pick)
		for k, i := range pick {
			if k == 0 || i != pick[k-1] {
				idx = append(idx, i+1)
			}
		}
	}
	return append(idx, len(raw)-1)
}
