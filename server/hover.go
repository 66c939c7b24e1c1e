package server

import (
	"context"
	"fmt"
	"strings"

	"go.lsp.dev/protocol"

	"github.com/memlens/memlens/profile"
)

// Hover shows every figure of a profiled line.
func (s *Server) Hover(ctx context.Context, params *protocol.HoverParams) (*protocol.Hover, error) {
	path, err := pathOf(params.TextDocument.URI)
	if err != nil {
		return nil, err
	}
	at := int(params.Position.Line)
	s.mu.Lock()
	defer s.mu.Unlock()
	lines := s.profiledLinesLocked(path, at, at)
	if len(lines) == 0 {
		return nil, nil
	}
	pl := lines[0]
	return &protocol.Hover{
		Contents: &protocol.MarkupContent{Kind: protocol.MarkupKindMarkdown, Value: lineDetails(pl.entry, pl.line, pl.at)},
	}, nil
}

// lineDetails is the markdown description of one profiled line, for the
// hover and the hint's tooltip.
func lineDetails(e *runEntry, l *profile.Line, at int) string {
	r := e.cur
	fn := r.fn
	var b strings.Builder
	fmt.Fprintf(&b, "**memlens** · `%s` line %d", fn.Name, l.Line)
	if r.result.Failed() {
		fmt.Fprintf(&b, " · partial (%s)", r.result.Status)
	}
	b.WriteString("\n\n| | total | per call |\n|---|---:|---:|\n")
	calls := fn.Calls
	perCall := func(n int64) string {
		if calls == 0 {
			return ""
		}
		return profile.Bytes(n / int64(calls))
	}
	row := func(name, total, each string) { fmt.Fprintf(&b, "| %s | %s | %s |\n", name, total, each) }
	row("mem usage (RSS, highest)", profile.Bytes(int64(l.MemUsageBytes)), "")
	row("increment", profile.SignedBytes(l.IncrementBytes), signedPerCall(l.IncrementBytes, calls))
	row("allocated", profile.Bytes(l.AllocBytes), perCall(l.AllocBytes))
	if r.result.Language == "python" {
		// Allocated counts what the line allocated; this nets its frees.
		row("net heap change", profile.SignedBytes(l.NetAllocBytes), signedPerCall(l.NetAllocBytes, calls))
	}
	if r.result.CountsObjects() {
		row("objects", fmt.Sprint(l.AllocObjects), countPerCall(l.AllocObjects, calls))
	}
	if l.PeakAllocBytes > 0 {
		row("peak inside the line", profile.Bytes(l.PeakAllocBytes), "")
	}
	row("retained", profile.Bytes(l.RetainedBytes), perCall(l.RetainedBytes))
	if l.Ran() {
		row("occurrences", fmt.Sprintf("×%d", l.Occurrences), countPerCall(int64(l.Occurrences), calls))
	} else {
		row("occurrences", "counted on the first line of the statement", "")
	}
	if share, ok := timeShare(r, l); ok {
		row("time (share of the function's)", share, "")
	}
	b.WriteString(timelineDetails(r, l))
	if fn.AllocBytes > 0 && l.AllocBytes > 0 {
		fmt.Fprintf(&b, "\n%.1f%% of the %s allocated by `%s` (%d call", 100*float64(l.AllocBytes)/float64(fn.AllocBytes), profile.Bytes(fn.AllocBytes), fn.Name, calls)
		if calls != 1 {
			b.WriteString("s")
		}
		b.WriteString(")\n")
	}
	if r.shares.figure == "increment" && l.IncrementBytes > 0 {
		fmt.Fprintf(&b, "\n%.1f%% of the memory growth of `%s` (the sum of its lines' positive increments)\n", 100*float64(l.IncrementBytes)/float64(r.shares.total), fn.Name)
	}
	b.WriteString(whyDetails(r.result, l))
	if len(l.Callees) > 0 {
		b.WriteString("\nallocated most on behalf of this line:\n")
		for _, c := range l.Callees {
			fmt.Fprintf(&b, "- `%s` %s in %d objects\n", c.Name, profile.Bytes(c.AllocBytes), c.AllocObjects)
		}
	}
	if p, ok := previousLine(e.prev, at); ok {
		fmt.Fprintf(&b, "\nsince the previous run: allocated %s, increment %s, occurrences %+d\n",
			profile.SignedBytes(l.AllocBytes-p.AllocBytes), profile.SignedBytes(l.IncrementBytes-p.IncrementBytes),
			int64(l.Occurrences)-int64(p.Occurrences))
	}
	if r.result.Entry != "" {
		fmt.Fprintf(&b, "\nran: `%s`\n", r.result.Entry)
	}
	return b.String()
}

func signedPerCall(n int64, calls uint64) string {
	if calls == 0 {
		return ""
	}
	return profile.SignedBytes(n / int64(calls))
}

func countPerCall(n int64, calls uint64) string {
	if calls == 0 {
		return ""
	}
	return fmt.Sprintf("%.1f", float64(n)/float64(calls))
}
