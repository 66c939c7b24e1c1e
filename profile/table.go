package profile

import (
	"fmt"
	"io"
	"strings"
)

// WriteTable prints the result as memory_profiler prints it: one table per
// function under a "Filename:" header, with memlens's exact columns
// (Allocated, Objects, Retained) after memory_profiler's own, and, when
// the timeline's samples found a profiled function running often enough
// (Function.Timed), line_profiler's % Time: the line's share of the samples
// that found its function running. Lines that never ran have empty figure
// columns, as in memory_profiler, except for the allocations recorded at a
// continuation line of a multi-line statement (see Line.Allocated).
func WriteTable(w io.Writer, r *Result) error {
	var b strings.Builder
	timed := false // a % Time column when some function was sampled running
	for _, f := range r.Functions {
		timed = timed || r.Timeline != nil && f.Timed()
	}
	for i, f := range r.Functions {
		if i > 0 {
			b.WriteString("\n\n")
		}
		fmt.Fprintf(&b, "Filename: %s\n\n", f.File)
		header := fmt.Sprintf("%6s %12s %12s  %11s %11s %9s %11s", "Line #", "Mem usage", "Increment", "Occurrences", "Allocated", "Objects", "Retained")
		if timed {
			header += fmt.Sprintf(" %7s", "% Time")
		}
		header += "   Line Contents"
		b.WriteString(header + "\n")
		b.WriteString(strings.Repeat("=", len(header)) + "\n")
		for _, l := range f.Lines {
			share := ""
			if timed {
				if l.Ran() && f.Timed() {
					share = fmt.Sprintf("%.1f", 100*l.TimeShare)
				}
				share = fmt.Sprintf(" %7s", share)
			}
			objects := "—"
			if r.CountsObjects() {
				objects = fmt.Sprint(l.AllocObjects)
			}
			if !l.Ran() {
				if !l.Allocated() {
					fmt.Fprintf(&b, "%6d %12s %12s  %11s %11s %9s %11s%s   %s\n", l.Line, "", "", "", "", "", "", share, l.Content)
					continue
				}
				// A continuation line of a statement counted on its first
				// line: its allocations, without a count of its own.
				fmt.Fprintf(&b, "%6d %12s %12s  %11s %11s %9s %11s%s   %s\n", l.Line, "", "", "",
					Bytes(l.AllocBytes), objects, Bytes(l.RetainedBytes), share, l.Content)
				continue
			}
			fmt.Fprintf(&b, "%6d %12s %12s  %11d %11s %9s %11s%s   %s\n",
				l.Line, MiB(int64(l.MemUsageBytes)), MiB(l.IncrementBytes), l.Occurrences,
				Bytes(l.AllocBytes), objects, Bytes(l.RetainedBytes), share, l.Content)
		}
		fmt.Fprintf(&b, "\n%d call(s), peak %s, allocated %s", f.Calls, MiB(int64(f.PeakMemBytes)), Bytes(f.AllocBytes))
		if r.CountsObjects() {
			fmt.Fprintf(&b, " in %d objects", f.AllocObjects)
		}
		fmt.Fprintf(&b, ", retained %s\n", Bytes(f.RetainedBytes))
	}
	if r.Status != StatusOK {
		if len(r.Functions) > 0 {
			b.WriteString("\n")
		}
		fmt.Fprintf(&b, "%s: %s\n", r.Status, r.Message)
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// MiB formats bytes as memory_profiler does: MiB with one decimal.
func MiB(n int64) string {
	return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
}

// Bytes formats a byte count with a unit that keeps it short: B, KiB, MiB, GiB.
func Bytes(n int64) string {
	sign := ""
	if n < 0 {
		sign, n = "-", -n
	}
	switch {
	case n < 1<<10:
		return fmt.Sprintf("%s%d B", sign, n)
	case n < 1<<20:
		return fmt.Sprintf("%s%.1f KiB", sign, float64(n)/(1<<10))
	case n < 1<<30:
		return fmt.Sprintf("%s%.1f MiB", sign, float64(n)/(1<<20))
	default:
		return fmt.Sprintf("%s%.2f GiB", sign, float64(n)/(1<<30))
	}
}

// SignedBytes is Bytes with an explicit sign, for increments: "+7.3 MiB".
func SignedBytes(n int64) string {
	if n >= 0 {
		return "+" + Bytes(n)
	}
	return Bytes(n)
}
