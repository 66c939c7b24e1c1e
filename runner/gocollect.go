package runner

import (
	"context"
	"errors"
	"io/fs"
	"path/filepath"
	"strings"

	"github.com/memlens/memlens/instrument"
	"github.com/memlens/memlens/profile"
)

// calleesPerLine is how many callees a line keeps.
const calleesPerLine = 5

// collect is the last stage: it reads back what the probe runtime of each
// instrumented package wrote (counters, allocation records) into one
// profile.Function per target, and writes the pprof file when asked.
func (r *goRun) collect(context.Context) error {
	if r.instrumentOptions().Allocs {
		noteStaleAllocs(r.res, r.data, r.indexes(), r.ended)
	}
	r.req.Progress(Progress{Stage: StageCollecting, Message: "collecting the profile"})
	var samples []allocSample
	for _, p := range r.instrumented {
		fns, recs, err := collect(r.data, p.index, p.out, p.pkgPath, r.editor)
		if err != nil {
			return err
		}
		r.res.Functions = append(r.res.Functions, fns...)
		samples = append(samples, recs...)
	}
	// A table of empty lines says nothing about why: the entry (a test or
	// benchmark the user named, a reaching test that takes another path)
	// never called the function.
	if r.res.Status == profile.StatusOK {
		var never []string
		for _, f := range r.res.Functions {
			if f.Calls == 0 {
				never = append(never, f.Name)
			}
		}
		if len(never) > 0 {
			r.req.Progress(Progress{Stage: StageCollecting, Message: strings.Join(dedup(never), ", ") +
				" never ran: what ran (" + firstLine(r.res.Entry, "the entry") + ") did not call it"})
		}
	}
	if r.req.PprofFile != "" {
		return writePprof(r.req.PprofFile, samples)
	}
	return nil
}

// collect reads package index's counters and allocation records from dir
// and builds one profile.Function per instrumented target. Missing files
// (the program died before the runtime started) give empty profiles.
// It also returns the records, for the pprof writer.
func collect(dir string, index int, in *instrument.Instrumented, pkgPath string, editor map[string][]byte) ([]profile.Function, []allocSample, error) {
	counters, err := instrument.ReadCounters(dir, index)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, nil, err
	}
	recs, err := instrument.ReadAllocs(dir, index)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, nil, err
	}
	samples := make([]allocSample, len(recs))
	for i, r := range recs {
		s := allocSample{AllocBytes: r.AllocBytes, AllocObjects: r.AllocObjects, InUseBytes: r.InUseBytes, InUseObjects: r.InUseObjects}
		stack := trimRuntimeLeaf(r.Stack)
		if n := len(r.Stack) - len(stack); n > 0 {
			s.Runtime = r.Stack[n-1].Func
		}
		for _, f := range stack {
			s.Stack = append(s.Stack, stackFrame{Func: f.Func, File: filepath.Clean(f.File), Line: f.Line})
		}
		samples[i] = s
	}
	var fns []profile.Function
	for _, layout := range in.Funcs {
		src, err := readSource(layout.Func.File, editor)
		if err != nil {
			return nil, nil, err
		}
		fns = append(fns, buildFunction(layout, counters, samples, pkgPath, src))
	}
	return fns, samples, nil
}

// buildFunction turns counters and records into one function's profile:
// every line from StartLine to EndLine, counted lines from their slots,
// allocations with pprof -list's cum semantics (a record counts once for
// each distinct line of the function on its stack).
func buildFunction(layout instrument.FuncLayout, c *instrument.Counters, samples []allocSample, pkgPath string, src []byte) profile.Function {
	fn := layout.Func
	f := profile.Function{
		Name: displayName(fn), Package: pkgPath, File: fn.File,
		StartLine: fn.StartLine, EndLine: fn.EndLine,
	}
	text := strings.Split(string(src), "\n")
	for n := fn.StartLine; n <= fn.EndLine; n++ {
		l := profile.Line{Line: n}
		if n-1 < len(text) {
			l.Content = strings.TrimSuffix(text[n-1], "\r")
		}
		f.Lines = append(f.Lines, l)
	}
	line := func(n int) *profile.Line { return &f.Lines[n-fn.StartLine] }
	inFunc := func(n int) bool { return n >= fn.StartLine && n <= fn.EndLine }

	if c != nil {
		if layout.ID < len(c.Calls) {
			f.Calls = c.Calls[layout.ID]
		}
		for _, ls := range layout.Lines {
			if !inFunc(ls.Line) {
				continue
			}
			l := line(ls.Line)
			l.Code = true
			// Several slots on one line (a loop header's init and
			// condition, two statements): the line ran as often as its
			// busiest slot, its RSS change is the sum of theirs.
			if ls.Slot < len(c.Count) {
				l.Occurrences = max(l.Occurrences, c.Count[ls.Slot])
			}
			if ls.Slot < len(c.MemMax) {
				l.MemUsageBytes = max(l.MemUsageBytes, c.MemMax[ls.Slot])
			}
			if ls.Slot < len(c.IncSum) {
				l.IncrementBytes += c.IncSum[ls.Slot]
			}
		}
	} else {
		for _, ls := range layout.Lines {
			if inFunc(ls.Line) {
				line(ls.Line).Code = true
			}
		}
	}

	file := filepath.Clean(fn.File)
	callees := map[int]map[string]*profile.Callee{}
	// The bytes the runtime allocated for a line itself (no call of the
	// program's in between), by runtime function: the why of a line whose
	// values the compiler does not explain.
	runtimeBytes := map[int]map[string]int64{}
	for _, s := range samples {
		seen := map[int]bool{}
		for i, fr := range s.Stack {
			if fr.File != file || !inFunc(fr.Line) || seen[fr.Line] {
				continue
			}
			seen[fr.Line] = true
			l := line(fr.Line)
			l.AllocBytes += s.AllocBytes
			l.AllocObjects += s.AllocObjects
			l.RetainedBytes += s.InUseBytes
			l.RetainedObjects += s.InUseObjects
			if i > 0 {
				name := s.Stack[i-1].Func
				m := callees[fr.Line]
				if m == nil {
					m = map[string]*profile.Callee{}
					callees[fr.Line] = m
				}
				ce := m[name]
				if ce == nil {
					ce = &profile.Callee{Name: name}
					m[name] = ce
				}
				ce.AllocBytes += s.AllocBytes
				ce.AllocObjects += s.AllocObjects
			} else if s.Runtime != "" {
				m := runtimeBytes[fr.Line]
				if m == nil {
					m = map[string]int64{}
					runtimeBytes[fr.Line] = m
				}
				m[s.Runtime] += s.AllocBytes
			}
		}
		if len(seen) > 0 {
			f.AllocBytes += s.AllocBytes
			f.AllocObjects += s.AllocObjects
			f.RetainedBytes += s.InUseBytes
		}
	}
	for n, m := range callees {
		cs := make([]profile.Callee, 0, len(m))
		for _, ce := range m {
			cs = append(cs, *ce)
		}
		line(n).Callees = profile.SortCallees(cs, calleesPerLine)
	}
	for n, m := range runtimeBytes {
		best := ""
		for name, b := range m {
			if best == "" || b > m[best] || b == m[best] && name < best {
				best = name
			}
		}
		line(n).Runtime = best
	}
	for _, l := range f.Lines {
		f.PeakMemBytes = max(f.PeakMemBytes, l.MemUsageBytes)
	}
	return f
}

// trimRuntimeLeaf drops the allocator's own frames (runtime.mallocgc,
// runtime.makeslice, ...) from the leaf end of a stack, as Go's heap
// profile writer does (runtime/pprof's protomem.go): runtime.* and
// internal/runtime/* alike (a map's growth allocates in
// internal/runtime/maps, under runtime.mapassign), so that callees, the
// line's runtime function and the pprof output's flat column name the
// user's line and calls. A stack of runtime frames only is kept whole, as
// Go keeps it.
func trimRuntimeLeaf(stack []instrument.Frame) []instrument.Frame {
	for i, f := range stack {
		if !strings.HasPrefix(f.Func, "runtime.") && !strings.HasPrefix(f.Func, "internal/runtime/") {
			return stack[i:]
		}
	}
	return stack
}
