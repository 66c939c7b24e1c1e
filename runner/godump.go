package runner

import (
	"fmt"
	"os"
	"time"

	"github.com/memlens/memlens/instrument"
	"github.com/memlens/memlens/profile"
)

// dumpRequestWait bounds how long a timed-out or canceled Go program is
// given to dump its allocation records before its tree is killed: the
// runtime looks for the request every 50 ms and a dump takes a GC.
const dumpRequestWait = 300 * time.Millisecond

// requestDump asks the instrumented program writing to dataDir to dump its
// allocation records now, and waits until every package whose targets ran
// has answered, or dumpRequestWait has passed. The program's runtime polls
// for the request file instead of handling a signal, so the user's program
// keeps its own signal behaviour.
func requestDump(dataDir string, indexes []int) {
	asked := time.Now()
	if err := os.WriteFile(instrument.DumpRequestFile(dataDir), nil, 0o644); err != nil {
		return
	}
	for deadline := asked.Add(dumpRequestWait); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		if dumpedSince(dataDir, indexes, asked) {
			return
		}
	}
}

// dumpedSince reports whether each package whose targets ran has a dump
// taken at or after t, or one that holds all its calls.
func dumpedSince(dataDir string, indexes []int, t time.Time) bool {
	for _, i := range indexes {
		n := calls(dataDir, i)
		if n == 0 {
			continue
		}
		dumps, err := instrument.ReadAllocDumps(dataDir, i)
		if err != nil {
			return false
		}
		fresh := false
		for _, d := range dumps {
			// A dump taken after the last target call returned is as good.
			fresh = fresh || !d.Time.Before(t) || d.Running == 0 && d.Calls == n
		}
		if !fresh {
			return false
		}
	}
	return true
}

// calls is how many times targets of package index were called.
func calls(dataDir string, index int) uint64 {
	c, err := instrument.ReadCounters(dataDir, index)
	if err != nil {
		return 0
	}
	var sum uint64
	for _, n := range c.Calls {
		sum += n
	}
	return sum
}

// allocStaleness says, for a run that did not end by itself, how current
// its allocation figures are: "" when every package whose targets ran
// dumped at the end (at exit, or on the runner's request) or after its
// last target call had returned, else a clause for Result.Message. ended
// is when the program was stopped.
func allocStaleness(dataDir string, indexes []int, ended time.Time) string {
	var oldest time.Time
	missing := false
	for _, i := range indexes {
		n := calls(dataDir, i)
		if n == 0 {
			continue
		}
		dumps, err := instrument.ReadAllocDumps(dataDir, i)
		if err != nil || len(dumps) == 0 {
			missing = true
			continue
		}
		for _, d := range dumps {
			if d.Reason == "exit" || d.Reason == "request" || d.Running == 0 && d.Calls == n {
				continue
			}
			if oldest.IsZero() || d.Time.Before(oldest) {
				oldest = d.Time
			}
		}
	}
	switch {
	case missing:
		return "no allocation figures: the program was stopped before it saved any (occurrences and RSS are complete)"
	case !oldest.IsZero():
		return fmt.Sprintf("allocation figures are as of %s before the end (the program's last save; occurrences and RSS are complete)",
			ended.Sub(oldest).Round(10*time.Millisecond))
	}
	return ""
}

// noteStaleAllocs appends allocStaleness's clause to a stopped run's
// message.
func noteStaleAllocs(res *profile.Result, dataDir string, indexes []int, ended time.Time) {
	switch res.Status {
	case profile.StatusTimeout, profile.StatusCanceled, profile.StatusKilled:
	default:
		return
	}
	if note := allocStaleness(dataDir, indexes, ended); note != "" {
		res.Message += "; " + note
	}
}
