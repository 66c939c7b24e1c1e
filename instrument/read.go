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

// ReadCounters reads the counters package index's runtime wrote in dir,
// summed over the run's processes (one file each; MemMax is the highest).
// They are valid at any time, also after os.Exit, a panic or SIGKILL: the
// runtime updates a shared memory mapping of its file and never needs to
// flush. No file (no process loaded the package) is an error wrapping
// os.ErrNotExist.
func ReadCounters(dir string, index int) (*Counters, error) {
	names, err := filepath.Glob(CountersPattern(dir, index))
	if err != nil {
		return nil, err
	}
	if len(names) == 0 {
		return nil, fmt.Errorf("%s: %w", CountersPattern(dir, index), os.ErrNotExist)
	}
	sort.Strings(names)
	var sum *Counters
	for _, name := range names {
		c, err := readCountersFile(name)
		if err != nil {
			return nil, err
		}
		if sum == nil {
			sum = c
			continue
		}
		if len(c.Calls) != len(sum.Calls) || len(c.Count) != len(sum.Count) {
			return nil, fmt.Errorf("%s: %d functions and %d slots, %s: %d and %d", names[0], len(sum.Calls), len(sum.Count), name, len(c.Calls), len(c.Count))
		}
		for i := range c.Calls {
			sum.Calls[i] += c.Calls[i]
		}
		for i := range c.Count {
			sum.Count[i] += c.Count[i]
			sum.MemMax[i] = max(sum.MemMax[i], c.MemMax[i])
			sum.IncSum[i] += c.IncSum[i]
		}
	}
	return sum, nil
}

// readCountersFile reads one process's counters file, whose layout is
// (little-endian uint64 words unless said otherwise):
//
//	header (64 bytes): magic "MLNSCNT1", version 2, functions, slots, file
//	    size, offset of the RSS arrays, offset of the table (64), 0
//	table: per function {first slot, line slots, offset of row 0, rows,
//	    row stride in bytes, offset of the control line}
//	RSS: MemMax[slots], then IncSum[slots] (int64)
//	per function: control lines (claims), then its rows: word 0 counts
//	    calls, word 1+i line slot i
//
// A function's figures are the sums over its rows.
func readCountersFile(name string) (*Counters, error) {
	b, err := os.ReadFile(name)
	if err != nil {
		return nil, err
	}
	if len(b) < counterHeader {
		return nil, fmt.Errorf("%s: truncated counters file (%d bytes)", name, len(b))
	}
	le := binary.LittleEndian
	word := func(off uint64) uint64 { return le.Uint64(b[off:]) }
	if word(0) != counterMagic || word(8) != counterVersion {
		return nil, fmt.Errorf("%s: not a memlens counters file (version %d)", name, counterVersion)
	}
	nf, ns, size, rssOff, tab := word(16), word(24), word(32), word(40), word(48)
	if nf > 1<<28 || ns > 1<<28 || size != uint64(len(b)) || tab != counterHeader ||
		tab+counterEntry*nf > size || rssOff < tab+counterEntry*nf || rssOff+16*ns > size {
		return nil, fmt.Errorf("%s: counters file of %d bytes does not hold %d functions and %d slots", name, len(b), nf, ns)
	}
	c := &Counters{Calls: make([]uint64, nf), Count: make([]uint64, ns), MemMax: make([]uint64, ns), IncSum: make([]int64, ns)}
	for i := range ns {
		c.MemMax[i] = word(rssOff + 8*i)
		c.IncSum[i] = int64(word(rssOff + 8*(ns+i)))
	}
	for f := range nf {
		e := tab + counterEntry*f
		slot0, nlines, rows, nrows, stride := word(e), word(e+8), word(e+16), word(e+24), word(e+32)
		if slot0+nlines > ns || nrows > 1<<16 || stride < 8*(1+nlines) || stride > size || rows+nrows*stride > size {
			return nil, fmt.Errorf("%s: function %d lies outside the file", name, f)
		}
		for r := range nrows {
			row := rows + r*stride
			c.Calls[f] += word(row)
			for i := range nlines {
				c.Count[slot0+i] += word(row + 8*(1+i))
			}
		}
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
