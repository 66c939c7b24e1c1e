package instrument

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Counters are what the probes counted, summed over the run's processes.
type Counters struct {
	Calls  []uint64 // per function ID: times entered
	Count  []uint64 // per slot: times the line ran
	MemMax []uint64 // per slot: highest RSS (bytes) seen while the line ran
	IncSum []int64  // per slot: sum over runs of RSS after the line minus RSS just before it
}

// ReadCounters reads package index's counters file in dir. It is valid at
// any time, also after os.Exit, a panic or SIGKILL: the runtime updates a
// shared memory mapping of the file and never needs to flush. A missing file
// (no process loaded the package) is an error wrapping os.ErrNotExist.
func ReadCounters(dir string, index int) (*Counters, error) {
	name := CountersFile(dir, index)
	b, err := os.ReadFile(name)
	if err != nil {
		return nil, err
	}
	const hdr = 32
	if len(b) < hdr {
		return nil, fmt.Errorf("%s: truncated counters file (%d bytes)", name, len(b))
	}
	le := binary.LittleEndian
	if le.Uint64(b) != counterMagic || le.Uint64(b[8:]) != 1 {
		return nil, fmt.Errorf("%s: not a memlens counters file", name)
	}
	nf, ns := le.Uint64(b[16:]), le.Uint64(b[24:])
	if nf > 1<<28 || ns > 1<<28 || uint64(len(b)) != hdr+8*(nf+3*ns) {
		return nil, fmt.Errorf("%s: counters file of %d bytes does not hold %d functions and %d slots", name, len(b), nf, ns)
	}
	words := func(off, n uint64) []uint64 {
		out := make([]uint64, n)
		for i := range out {
			out[i] = le.Uint64(b[hdr+8*(off+uint64(i)):])
		}
		return out
	}
	c := &Counters{
		Calls:  words(0, nf),
		Count:  words(nf, ns),
		MemMax: words(nf+ns, ns),
	}
	for _, v := range words(nf+2*ns, ns) {
		c.IncSum = append(c.IncSum, int64(v))
	}
	if c.IncSum == nil {
		c.IncSum = []int64{}
	}
	return c, nil
}

// AllocRecord is one allocation site: a distinct stack and what it allocated
// (raw runtime.MemProfile figures, with MemProfileRate 1 exact, not scaled).
type AllocRecord struct {
	AllocBytes, AllocObjects, InUseBytes, InUseObjects int64
	// Stack is leaf first, inlined calls expanded; it stops at the outermost
	// frame inside a target (frames further out are dropped).
	Stack []Frame
}

// Frame is one stack frame, positions in the user's original files.
type Frame struct {
	Func, File string
	Line       int
}

// AllocDump is one process's latest allocation dump.
type AllocDump struct {
	PID int
	// Time is when the records were taken (zero in a dump without a t line).
	Time time.Time
	// Reason says what made the runtime dump: exit (the program ended:
	// main returned or os.Exit, also of a test binary), unwind (a target
	// left by panic or runtime.Goexit), request (the runner asked before
	// killing the program), periodic (while targets ran), idle (targets had
	// stopped running for a while).
	Reason string
	// Calls is the package's call count (Counters.Calls summed) when the
	// records were taken, Running how many target calls were running then.
	// A dump with Running 0 and Calls equal to the counters' final sum
	// holds every allocation of the run (when one process ran the package).
	Calls   uint64
	Running int64
	Records []AllocRecord
}

// ReadAllocs reads the allocation records package index's runtime dumped in
// dir: the latest complete dump of every process, concatenated (each process
// counts its own allocations). It returns (nil, nil) when no dump was written.
//
// Dump format (text, one record after another):
//
//	memlens-allocs 1
//	t <unix nanoseconds> <reason> <calls> <running>
//	r <allocBytes> <allocObjects> <inUseBytes> <inUseObjects> <nframes>
//	f <line>\t<func>\t<file>        (nframes times, leaf first)
//	end
func ReadAllocs(dir string, index int) ([]AllocRecord, error) {
	dumps, err := ReadAllocDumps(dir, index)
	if err != nil || dumps == nil {
		return nil, err
	}
	out := []AllocRecord{}
	for _, d := range dumps {
		out = append(out, d.Records...)
	}
	return out, nil
}

// ReadAllocDumps is ReadAllocs by process, with each dump's time and
// reason. It returns (nil, nil) when no dump was written.
func ReadAllocDumps(dir string, index int) ([]AllocDump, error) {
	names, err := filepath.Glob(AllocsPattern(dir, index))
	if err != nil {
		return nil, err
	}
	sort.Strings(names)
	var out []AllocDump
	for _, name := range names {
		pid, err := strconv.Atoi(name[strings.LastIndexByte(name, '-')+1:])
		if err != nil {
			continue // allocs-<index>-<pid>.tmp, being written
		}
		b, err := os.ReadFile(name)
		if err != nil {
			return nil, err
		}
		d, err := parseAllocs(b)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		d.PID = pid
		out = append(out, d)
	}
	return out, nil
}

// DumpRequestFile is the file whose creation in dir asks every instrumented
// process of the run to dump its allocation records now (each answers once,
// within about 50 ms while a target runs or has records not yet dumped).
func DumpRequestFile(dir string) string { return filepath.Join(dir, "dump-request") }

func parseAllocs(b []byte) (AllocDump, error) {
	var d AllocDump
	sc := bufio.NewScanner(bytes.NewReader(b))
	sc.Buffer(make([]byte, 64<<10), 16<<20)
	if !sc.Scan() || sc.Text() != "memlens-allocs 1" {
		return d, errors.New("not a memlens allocation dump")
	}
	d.Records = []AllocRecord{}
	for n := 2; sc.Scan(); n++ {
		line := sc.Text()
		switch {
		case line == "end":
			return d, nil
		case n == 2 && strings.HasPrefix(line, "t "):
			var ns int64
			if _, err := fmt.Sscanf(line, "t %d %s %d %d", &ns, &d.Reason, &d.Calls, &d.Running); err != nil {
				return d, fmt.Errorf("line %d: %v", n, err)
			}
			d.Time = time.Unix(0, ns)
		case strings.HasPrefix(line, "r "):
			var r AllocRecord
			var nf int
			if _, err := fmt.Sscanf(line, "r %d %d %d %d %d", &r.AllocBytes, &r.AllocObjects, &r.InUseBytes, &r.InUseObjects, &nf); err != nil {
				return d, fmt.Errorf("line %d: %v", n, err)
			}
			d.Records = append(d.Records, r)
		case strings.HasPrefix(line, "f ") && len(d.Records) > 0:
			parts := strings.SplitN(line[2:], "\t", 3)
			if len(parts) != 3 {
				return d, fmt.Errorf("line %d: bad frame", n)
			}
			ln, err := strconv.Atoi(parts[0])
			if err != nil {
				return d, fmt.Errorf("line %d: %v", n, err)
			}
			r := &d.Records[len(d.Records)-1]
			r.Stack = append(r.Stack, Frame{Func: parts[1], File: parts[2], Line: ln})
		default:
			return d, fmt.Errorf("line %d: unexpected %q", n, line)
		}
	}
	if err := sc.Err(); err != nil {
		return d, err
	}
	return d, errors.New("incomplete dump (no end line)")
}
