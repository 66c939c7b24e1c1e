package server

import (
	"context"
	"fmt"
	"strings"

	"go.lsp.dev/protocol"

	"github.com/memlens/memlens/profile"
)

// InlayHint answers, for the requested range only, one hint at the end of
// every line that ran in a stored profile and is unchanged since.
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
	figures := s.settings.Hints
	for _, pl := range s.profiledLinesLocked(path, int(params.Range.Start.Line), int(params.Range.End.Line)) {
		if pl.at >= d.lineCount() {
			continue
		}
		yes := true
		hints = append(hints, protocol.InlayHint{
			Position:    d.lineEnd(pl.at),
			Label:       protocol.String(hintLabel(pl.entry.cur.result, pl.line, figures)),
			Tooltip:     &protocol.MarkupContent{Kind: protocol.MarkupKindMarkdown, Value: lineDetails(pl.entry, pl.line, pl.at)},
			PaddingLeft: &yes,
		})
	}
	return hints, nil
}

// hintLabel writes the chosen figures of a line: "41.2 MiB  +7.3 MiB  ×1".
// Figures the run did not measure (no RSS in a counts-only run, no object
// counts from Python) are left out.
func hintLabel(r *profile.Result, l *profile.Line, figures []string) string {
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
			parts = append(parts, fmt.Sprintf("×%d", l.Occurrences))
		}
	}
	return strings.Join(parts, "  ")
}
