package runner

import (
	"context"

	"github.com/memlens/memlens/instrument"
)

// timeline is the stage after collect: it reads the samples and the call
// log the probe runtime's sampler wrote and sets r.res.Timeline, the
// lines' % Time and the calls' stretches (see setTimeline).
func (r *goRun) timeline(context.Context) error {
	opt := r.instrumentOptions()
	if opt.Timeline <= 0 {
		return nil
	}
	// collect appended one function per layout, package after package.
	var pkgs []timelinePackage
	first := 0
	for _, p := range r.instrumented {
		pkgs = append(pkgs, timelinePackage{p.index, p.out, first})
		first += len(p.out.Funcs)
	}
	raw, spans, err := goTimeline(r.data, pkgs)
	if err != nil {
		return err
	}
	setTimeline(r.res, opt.Timeline, raw, spans)
	return nil
}

// timelinePackage says where an instrumented package's functions are in
// Result.Functions: its layouts' profiles start at index first, in order.
type timelinePackage struct {
	index int
	out   *instrument.Instrumented
	first int
}

// goTimeline reads the samples and call events the probe runtime's
// sampler wrote in dir and names their lines and functions. A call that
// entered but was not seen leaving (the run was cut short, or the log
// stopped) ends at the sample after its last one, or at the run's last
// sample when it ran to the end. Each sample also gets the target calls
// its call was made from, each on the line that made the call, from the
// call log (a call entered from a target line while that line was the
// running one: on one goroutine, its caller). With several processes (a program that runs
// itself again), the one whose samples found profiled lines running most
// often is shown (the first one on a tie): its RSS and heap are the ones
// the table's figures come from in the usual case.
func goTimeline(dir string, pkgs []timelinePackage) ([]rawSample, []rawSpan, error) {
	tls, err := instrument.ReadTimeline(dir)
	if err != nil || len(tls) == 0 {
		return nil, nil, err
	}
	type where struct{ fn, line int }
	slots := map[[2]int]where{} // {package index, slot} -> function, line
	for _, p := range pkgs {
		for i, fl := range p.out.Funcs {
			for _, ls := range fl.Lines {
				k := [2]int{p.index, ls.Slot}
				if _, ok := slots[k]; !ok {
					slots[k] = where{p.first + i, ls.Line}
				}
			}
		}
	}
	best, bestOn := 0, -1
	for i, tl := range tls {
		on := 0
		for _, s := range tl.Samples {
			if s.Running.Ran() {
				on++
			}
		}
		if on > bestOn {
			best, bestOn = i, on
		}
	}
	tl := tls[best]
	var raw []rawSample
	lastOn := map[uint64]int{} // call -> index of the last sample that found it running
	for _, s := range tl.Samples {
		r := rawSample{t: s.T, rss: s.RSS, heap: s.Heap, fn: -1}
		if w, ok := slots[[2]int{s.Running.Package, s.Running.Slot}]; ok && s.Running.Ran() {
			r.fn, r.line, r.call = w.fn, w.line, uint64(s.Running.Call)
			lastOn[r.call] = len(raw)
		}
		raw = append(raw, r)
	}
	var spans []rawSpan
	open := map[uint32]int{} // call -> index in spans
	parent := map[uint32]instrument.Running{}
	for _, e := range tl.Calls {
		if e.Enter {
			if w, ok := slots[[2]int{e.Package, e.Slot}]; ok {
				open[e.Call] = len(spans)
				spans = append(spans, rawSpan{fnCall{w.fn, uint64(e.Call)}, e.T, -1})
			}
			if e.Parent.Ran() && e.Parent.Call != e.Call {
				parent[e.Call] = e.Parent
			}
			continue
		}
		if i, ok := open[e.Call]; ok {
			spans[i].end = e.T
			delete(open, e.Call)
		}
	}
	// The calls each sample's call was made from, as far out as logged.
	for i := range raw {
		r := &raw[i]
		c := uint32(r.call)
		for depth := 0; r.fn >= 0 && depth < 64; depth++ {
			p, ok := parent[c]
			if !ok {
				break
			}
			w, ok := slots[[2]int{p.Package, p.Slot}]
			if !ok {
				break
			}
			r.outer = append(r.outer, outerCall{fnCall{w.fn, uint64(p.Call)}, w.line})
			c = p.Call
		}
	}
	for _, i := range open {
		sp := &spans[i]
		sp.end = sp.start
		if j, ok := lastOn[sp.call]; ok && len(raw) > 0 {
			sp.end = raw[min(j+1, len(raw)-1)].t
		}
	}
	return raw, spans, nil
}
