package runner

import (
	"fmt"
	"os"

	"github.com/google/pprof/profile"
)

// allocSample is one allocation record as the pprof writer needs it: the
// four counts and a stack, leaf first. It mirrors instrument.AllocRecord so
// that this file does not depend on the probe runtime's format.
type allocSample struct {
	AllocBytes, AllocObjects, InUseBytes, InUseObjects int64
	Stack                                              []stackFrame
	// Runtime is the runtime function the leaf frame of Stack called to
	// allocate (runtime.growslice, runtime.makechan): the outermost of the
	// allocator's frames that Stack leaves out.
	Runtime string
}

// stackFrame is one frame of an allocation stack, in original source terms.
type stackFrame struct {
	Func, File string
	Line       int
}

// writePprof writes samples to path as a gzipped pprof profile with the
// sample types of Go's own heap profile (alloc_objects, alloc_space,
// inuse_objects, inuse_space), so `go tool pprof -list FUNC path` works.
func writePprof(path string, samples []allocSample) error {
	p := buildPprof(samples)
	if err := p.CheckValid(); err != nil {
		return fmt.Errorf("pprof profile: %w", err)
	}
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := p.Write(f); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// buildPprof turns samples into a profile: one function per (name, file),
// one location per distinct frame.
func buildPprof(samples []allocSample) *profile.Profile {
	// One mapping that says symbols are already resolved, so pprof does not
	// look for a binary to symbolize against.
	m := &profile.Mapping{ID: 1, HasFunctions: true, HasFilenames: true, HasLineNumbers: true}
	p := &profile.Profile{
		SampleType: []*profile.ValueType{
			{Type: "alloc_objects", Unit: "count"},
			{Type: "alloc_space", Unit: "bytes"},
			{Type: "inuse_objects", Unit: "count"},
			{Type: "inuse_space", Unit: "bytes"},
		},
		DefaultSampleType: "alloc_space",
		PeriodType:        &profile.ValueType{Type: "space", Unit: "bytes"},
		Period:            1,
		Mapping:           []*profile.Mapping{m},
	}
	type funcKey struct{ name, file string }
	funcs := map[funcKey]*profile.Function{}
	locs := map[stackFrame]*profile.Location{}
	for _, s := range samples {
		ps := &profile.Sample{Value: []int64{s.AllocObjects, s.AllocBytes, s.InUseObjects, s.InUseBytes}}
		for _, fr := range s.Stack {
			loc, ok := locs[fr]
			if !ok {
				fk := funcKey{fr.Func, fr.File}
				fn, ok := funcs[fk]
				if !ok {
					fn = &profile.Function{ID: uint64(len(p.Function) + 1), Name: fr.Func, SystemName: fr.Func, Filename: fr.File}
					funcs[fk] = fn
					p.Function = append(p.Function, fn)
				}
				// A distinct fake address per location keeps pprof's
				// address-based grouping from merging frames.
				id := uint64(len(p.Location) + 1)
				loc = &profile.Location{ID: id, Mapping: m, Address: id, Line: []profile.Line{{Function: fn, Line: int64(fr.Line)}}}
				locs[fr] = loc
				p.Location = append(p.Location, loc)
			}
			ps.Location = append(ps.Location, loc)
		}
		p.Sample = append(p.Sample, ps)
	}
	return p
}
