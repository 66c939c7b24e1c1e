package runner

import (
	"encoding/binary"
	"errors"
	"io/fs"
	"os"
	"time"
)

// pyTimelineFile is the timeline's file in the Python run's directory.
const pyTimelineFile = "timeline.bin"

// pyTimelineRecord is the size of the tracer's timeline record (see
// "timeline" in memlens_tracer.py): t ns, RSS, heap as 64-bit words, then
// function (1 + index in the result's functions), line, call and flags as
// 32-bit words, little-endian.
const pyTimelineRecord = 40

// pyOuter flags a record naming a call the previous sample's running
// function was called from, and the line that call was on.
const pyOuter = 4

// readPyTimeline reads the samples the tracer wrote to path. nfuncs is how
// many functions the result has: a sample naming a function the last
// result written did not list yet (a run killed between two writes) names
// none. A missing file gives no samples.
func readPyTimeline(path string, nfuncs int) ([]rawSample, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	} else if err != nil {
		return nil, err
	}
	le := binary.LittleEndian
	var out []rawSample
	for off := 0; off+pyTimelineRecord <= len(b); off += pyTimelineRecord {
		r := b[off : off+pyTimelineRecord]
		fn, call := int(le.Uint32(r[24:]))-1, uint64(le.Uint32(r[32:]))
		if le.Uint32(r[36:])&pyOuter != 0 {
			if len(out) > 0 && fn >= 0 && fn < nfuncs {
				last := &out[len(out)-1]
				last.outer = append(last.outer, outerCall{fnCall{fn, call}, int(le.Uint32(r[28:]))})
			}
			continue
		}
		s := rawSample{
			t:    time.Duration(int64(le.Uint64(r))),
			rss:  le.Uint64(r[8:]),
			heap: le.Uint64(r[16:]),
			fn:   fn,
			line: int(le.Uint32(r[28:])),
			call: call,
		}
		if s.fn >= nfuncs {
			s.fn = -1
		}
		out = append(out, s)
	}
	return out, nil
}
