package server

import (
	"context"
	"fmt"
	"sort"
	"strings"

	"go.lsp.dev/protocol"

	"github.com/memlens/memlens/profile"
)

// InlayHint answers, for the requested range only, one hint at the end of
// every line that ran (or allocated) in a stored profile and is unchanged
// since.
func (s *Server) InlayHint(ctx context.Context, params *protocol.InlayHintParams) ([]protocol.InlayHint, error) {
	path, err := pathOf(params.TextDocument.URI)
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	d, err := s.document(path)
	if err != nil {
		return []protocol.InlayHint{}, nil // a file that is gone has no hints
	}
	hints := []protocol.InlayHint{}
	for _, pl := range s.profiledLinesLocked(path, int(params.Range.Start.Line), int(params.Range.End.Line)) {
		if pl.at >= d.lineCount() {
			continue
		}
		yes := true
		r := pl.entry.cur
		hints = append(hints, protocol.InlayHint{
			Position:    d.lineEnd(pl.at),
			Label:       protocol.String(hintLabel(r.result, pl.line, s.hintFigures(r, pl.line), r.shares.pct[pl.line.Line])),
			Tooltip:     &protocol.MarkupContent{Kind: protocol.MarkupKindMarkdown, Value: lineDetails(pl.entry, pl.line, pl.at)},
			PaddingLeft: &yes,
		})
	}
	return hints, nil
}

// mebibyte is the RSS increment from which a Go hint shows it by default:
// below it the increment is page noise (RSS moves in pages and is read at
// most once a millisecond), above it the line grew the process.
const mebibyte = 1 << 20

// hintFigures chooses the figures of a line's hint: the hints setting when
// the user set it, else what matters for the line's language, in this order:
//   - Go: the allocated bytes (exact), the RSS increment where it is at
//     least 1 MiB either way, ×N;
//   - Python: the increment (memory_profiler's figure), the allocated
//     bytes where they are larger, ×N;
//
// and on the function's heaviest lines their share, right after the figure
// it is a share of. Zero figures are left out of the defaults: a line that
// allocated nothing shows its ×N alone, so the lines that did stand out.
func (s *Server) hintFigures(r *run, l *profile.Line) []string {
	if len(s.settings.Hints) > 0 {
		return s.settings.Hints
	}
	figures := make([]string, 0, 5)
	add := func(f string) {
		figures = append(figures, f)
		if f == r.shares.figure && r.shares.pct[l.Line] > 0 {
			figures = append(figures, "share")
		}
	}
	switch r.result.Language {
	case "python":
		if l.IncrementBytes != 0 {
			add("increment")
		}
		if l.AllocBytes > max(l.IncrementBytes, 0) && profile.Bytes(l.AllocBytes) != profile.Bytes(l.IncrementBytes) {
			add("alloc")
		}
	default:
		if l.AllocBytes != 0 {
			add("alloc")
		}
		if l.IncrementBytes >= mebibyte || l.IncrementBytes <= -mebibyte {
			add("increment")
		}
	}
	return append(figures, "occurrences")
}

// hintLabel writes the chosen figures of a line: "alloc 4.0 KiB  ▲ 41%  ×106".
// Figures the run did not measure (no RSS in a counts-only run, no object
// counts from Python) are left out, and so is the share of a line that is
// not among its function's heaviest (share 0).
func hintLabel(r *profile.Result, l *profile.Line, figures []string, share int) string {
	parts := make([]string, 0, len(figures))
	for _, f := range figures {
		switch f {
		case "mem":
			if l.MemUsageBytes > 0 {
				parts = append(parts, profile.Bytes(int64(l.MemUsageBytes)))
			}
		case "increment":
			if l.MemUsageBytes > 0 || l.IncrementBytes != 0 {
				parts = append(parts, profile.SignedBytes(l.IncrementBytes))
			}
		case "alloc":
			parts = append(parts, "alloc "+profile.Bytes(l.AllocBytes))
		case "objects":
			if r.CountsObjects() {
				parts = append(parts, fmt.Sprintf("%d obj", l.AllocObjects))
			}
		case "retained":
			parts = append(parts, "retained "+profile.Bytes(l.RetainedBytes))
		case "occurrences":
			// A continuation line has no count of its own (its statement
			// counts on its first line): ×0 would say it never ran.
			if l.Ran() {
				parts = append(parts, fmt.Sprintf("×%d", l.Occurrences))
			}
		case "share":
			if share > 0 {
				parts = append(parts, fmt.Sprintf("▲ %d%%", share))
			}
		}
	}
	return strings.Join(parts, "  ")
}

// Which lines carry their share: at most heaviestLines of a function, each
// with at least shareThreshold percent of the function's total.
const shareThreshold = 10

// lineShares are the shares of a function's heaviest lines.
type lineShares struct {
	// figure is what they are shares of: "alloc" (the function's allocation,
	// each allocation counted once) or "increment" (its memory growth, the
	// sum of its lines' positive increments).
	figure string
	total  int64       // the function's total of figure
	pct    map[int]int // rounded percentages by line number
}

// heaviest returns the lines of fn that ran or allocated, heaviest first (ties in line
// order), by the figure a hint leads with: Go the allocated bytes, Python
// the increment (or the allocated bytes, when no line grew the process);
// and the function's total of that figure. Lines with nothing of it are
// left out.
func heaviest(r *profile.Result, fn *profile.Function) (lines []*profile.Line, figure string, total int64) {
	weight := func(l *profile.Line) int64 { return l.AllocBytes }
	figure, total = "alloc", fn.AllocBytes
	if r.Language == "python" {
		var growth int64
		for i := range fn.Lines {
			if l := &fn.Lines[i]; l.Ran() && l.IncrementBytes > 0 {
				growth += l.IncrementBytes
			}
		}
		if growth > 0 {
			weight = func(l *profile.Line) int64 { return l.IncrementBytes }
			figure, total = "increment", growth
		}
	}
	for i := range fn.Lines {
		if l := &fn.Lines[i]; l.Shown() && weight(l) > 0 {
			lines = append(lines, l)
		}
	}
	sort.SliceStable(lines, func(i, j int) bool { return weight(lines[i]) > weight(lines[j]) })
	return lines, figure, total
}

// shares finds the heaviest lines of fn, at most heaviestLines with at
// least shareThreshold percent of the function's total each.
func shares(r *profile.Result, fn *profile.Function) lineShares {
	if fn == nil {
		return lineShares{}
	}
	lines, figure, total := heaviest(r, fn)
	sh := lineShares{figure: figure, total: total, pct: map[int]int{}}
	if total <= 0 {
		return sh
	}
	for _, l := range lines[:min(heaviestLines, len(lines))] {
		w := l.AllocBytes
		if figure == "increment" {
			w = l.IncrementBytes
		}
		pct := float64(w) * 100 / float64(total)
		if pct < shareThreshold {
			break
		}
		sh.pct[l.Line] = int(pct + 0.5)
	}
	return sh
}
