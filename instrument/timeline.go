package instrument

import (
	"encoding/binary"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Timeline is what one process's sampler wrote: samples of the process's
// memory and of the profiled line running, in the order they were taken.
type Timeline struct {
	PID int
	// Start is the wall clock at the first sample; the samples' T count
	// from it.
	Start time.Time
	// Interval is the sampling interval asked for. The sampler doubles it
	// on very long runs (every 200,000 samples and each doubling of that),
	// so the spacing of T grows then.
	Interval time.Duration
	Samples  []TimelineSample
	// Calls are target calls entering and leaving, in the order logged
	// (each goroutine's in time order). The runtime logs the first
	// 20,000 events of a run; CallsComplete is false when some were not
	// logged (that limit, or more than 4,096 events between two samples).
	Calls         []CallEvent
	CallsComplete bool
}

// CallEvent is a target call entering or leaving.
type CallEvent struct {
	T time.Duration // since the first sample
	// Call is the call's number (Running.Call); Package and Slot name the
	// function's func line when the call enters, and are -1 when it leaves.
	Call    uint32
	Package int
	Slot    int
	Enter   bool
	// Parent is, when the call enters, the line that was running: its
	// caller's line when the caller is a target call on the same goroutine.
	Parent Running
}

// TimelineSample is one record of the sampler.
type TimelineSample struct {
	T    time.Duration // since the first sample
	RSS  uint64        // process RSS in bytes
	Heap uint64        // runtime/metrics /memory/classes/heap/objects:bytes
	// Running names the line running when the sample was taken: the line
	// most recently entered by any goroutine in a target call or literal
	// still running; zero when none was running.
	Running  Running
	Flags    SampleFlag
	Position int // index of the record in the file
}

// Running is a line of a target call in the timeline.
type Running struct {
	// Call numbers the process's target calls from 1, in the order they
	// started (0: a function literal started outside any target call).
	Call uint32
	// Package is the index of the instrumented package (Package.Index),
	// Slot the line's slot in it (FuncLayout.Lines); Package is -1 when no
	// target was running.
	Package int
	Slot    int
}

// Ran reports whether a target line was running.
func (r Running) Ran() bool { return r.Package >= 0 }

// SampleFlag says why a sample was taken besides the interval.
type SampleFlag uint64

const (
	SampleStart  SampleFlag = 1  // the first sample: the runtime started
	SampleEnd    SampleFlag = 2  // at exit (main returned, os.Exit, end of a test binary)
	SamplePause  SampleFlag = 4  // the sampler stopped: the program was blocked entirely for 1 s
	SampleResume SampleFlag = 8  // a target call started the sampler again
	SampleUnwind SampleFlag = 16 // a target left by panic or runtime.Goexit
	flagCall     SampleFlag = 32 // a call event entering (not a sample)
	flagReturn   SampleFlag = 64 // a call event leaving (not a sample)
)

// The runtime's call log: ring size and the most events logged (rt_timeline.go).
const (
	timelineRing   = 4096
	timelineLogMax = 20000
)

// TimelinePattern names the timeline files of every process of a run in dir.
func TimelinePattern(dir string) string { return filepath.Join(dir, "timeline-*") }

const timelineHeader = 40

// maxTimelinePackage is the highest package index a timeline can name
// (the runtime's word holds index+1 in 8 bits).
const maxTimelinePackage = 254

// ReadTimeline reads the timeline of every process of the run in dir, in
// process id order. Like the counters, a timeline is valid at any time:
// records are written as they are taken, so a run cut short by a panic,
// os.Exit, a timeout or SIGKILL keeps what it sampled until then. It returns
// (nil, nil) when no process sampled.
func ReadTimeline(dir string) ([]Timeline, error) {
	names, err := filepath.Glob(TimelinePattern(dir))
	if err != nil {
		return nil, err
	}
	var out []Timeline
	for _, name := range names {
		pid, err := strconv.Atoi(strings.TrimPrefix(filepath.Base(name), "timeline-"))
		if err != nil {
			continue
		}
		b, err := os.ReadFile(name)
		if err != nil {
			return nil, err
		}
		tl, err := parseTimeline(b)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		tl.PID = pid
		tl.CallsComplete = callsComplete(filepath.Join(dir, "tlshared-"+strconv.Itoa(pid)))
		out = append(out, tl)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].PID < out[j].PID })
	return out, nil
}

func parseTimeline(b []byte) (Timeline, error) {
	var tl Timeline
	le := binary.LittleEndian
	if len(b) < timelineHeader || le.Uint64(b) != timelineMagic || le.Uint64(b[8:]) != 1 {
		return tl, fmt.Errorf("not a memlens timeline file")
	}
	size := le.Uint64(b[32:])
	if size < 40 || size > 1<<10 {
		return tl, fmt.Errorf("timeline record size %d", size)
	}
	tl.Start = time.Unix(0, int64(le.Uint64(b[16:])))
	tl.Interval = time.Duration(le.Uint64(b[24:]))
	for off, i := uint64(timelineHeader), 0; off+size <= uint64(len(b)); off, i = off+size, i+1 {
		r := b[off : off+size]
		s := TimelineSample{
			T:        time.Duration(le.Uint64(r)),
			RSS:      le.Uint64(r[8:]),
			Heap:     le.Uint64(r[16:]),
			Running:  decodeRunning(le.Uint64(r[24:])),
			Flags:    SampleFlag(le.Uint64(r[32:])),
			Position: i,
		}
		if s.RSS == 0 && s.Flags == 0 && s.T == 0 {
			continue // a record whose write the process did not live to make
		}
		if s.Flags&(flagCall|flagReturn) != 0 {
			e := CallEvent{T: s.T, Call: uint32(le.Uint64(r[24:]) >> 32), Package: -1, Slot: -1, Enter: s.Flags&flagCall != 0,
				Parent: decodeRunning(0)}
			if e.Enter {
				e.Package, e.Slot = s.Running.Package, s.Running.Slot
				e.Parent = decodeRunning(le.Uint64(r[8:]))
			}
			tl.Calls = append(tl.Calls, e)
			continue
		}
		tl.Samples = append(tl.Samples, s)
	}
	// Two writers (the sampler and the exit hook or a panicking target)
	// can write records out of time order.
	sort.SliceStable(tl.Samples, func(i, j int) bool { return tl.Samples[i].T < tl.Samples[j].T })
	return tl, nil
}

// decodeRunning splits the runtime's word: call<<32 | (package+1)<<24 | (slot+1).
func decodeRunning(w uint64) Running {
	pkg, slot := int(w>>24&0xff)-1, int(w&0xffffff)-1
	if pkg < 0 || slot < 0 {
		return Running{Package: -1, Slot: -1}
	}
	return Running{Call: uint32(w >> 32), Package: pkg, Slot: slot}
}

// callsComplete reads the process's shared timeline page: whether every
// call event was logged (none dropped, the limit not reached).
func callsComplete(name string) bool {
	b, err := os.ReadFile(name)
	if err != nil || len(b) < 48 {
		return false
	}
	le := binary.LittleEndian
	// cur, calls, owner+asleep, head, tail, dropped
	head, dropped := le.Uint64(b[24:]), le.Uint64(b[40:])
	return dropped == 0 && head < timelineLogMax
}
