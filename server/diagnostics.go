package server

import (
	"fmt"
	"path/filepath"
	"slices"

	"go.lsp.dev/protocol"
	"go.lsp.dev/uri"

	"github.com/memlens/memlens/profile"
)

// heaviestLines is how many lines per function the diagnostics view shows.
const heaviestLines = 3

// publishDiagnostics sends the full set of memlens diagnostics of each path:
// the positioned errors of stored runs (build errors, the panic site) and,
// when the diagnostics setting is on, the heaviest lines of each profile.
func (s *Server) publishDiagnostics(paths []string) {
	seen := map[string]bool{}
	for _, path := range paths {
		if path == "" || seen[path] {
			continue
		}
		seen[path] = true
		s.mu.Lock()
		diags := s.diagnosticsLocked(path)
		was := s.diagnosed[path]
		s.diagnosed[path] = len(diags) > 0
		s.mu.Unlock()
		if len(diags) == 0 && !was {
			continue
		}
		err := s.client.PublishDiagnostics(s.ctx, &protocol.PublishDiagnosticsParams{URI: uri.File(path), Diagnostics: diags})
		if err != nil {
			s.log.Warn("publishDiagnostics failed", "error", err)
		}
	}
}

func (s *Server) diagnosticsLocked(path string) []protocol.Diagnostic {
	diags := []protocol.Diagnostic{}
	d, derr := s.document(path)
	source := protocol.Optional[string]{}
	source.Set("memlens")
	for _, e := range s.runs {
		if e.cur == nil {
			continue
		}
		for _, er := range e.cur.result.Errors {
			if filepath.Clean(er.File) != path {
				continue
			}
			line := max(er.Line-1, 0)
			if t := e.cur.errorLines[path]; t != nil && er.Line > 0 {
				var ok bool
				if line, ok = t.current(line); !ok {
					continue // the line was edited: maybe fixed, certainly moved
				}
			}
			rng := protocol.Range{Start: protocol.Position{Line: uint32(line)}, End: protocol.Position{Line: uint32(line)}}
			if derr == nil && line < d.lineCount() {
				rng.End = d.lineEnd(line)
				if er.Column > 0 {
					rng.Start.Character = uint32(utf16Len(d.line(line)[:min(er.Column-1, len(d.line(line)))]))
				}
			}
			diags = append(diags, protocol.Diagnostic{
				Range:    rng,
				Severity: protocol.DiagnosticSeverityError,
				Source:   source,
				Message:  protocol.String(fmt.Sprintf("%s (%s): %s", e.cur.key.name, e.cur.result.Status, er.Message)),
			})
		}
	}
	if !s.settings.Diagnostics || derr != nil {
		return diags
	}
	byRun := map[*runEntry][]profiledLine{}
	for _, pl := range s.profiledLinesLocked(path, 0, d.lineCount()-1) {
		byRun[pl.entry] = append(byRun[pl.entry], pl)
	}
	for e, pls := range byRun {
		r := e.cur
		at := map[*profile.Line]int{}
		for _, pl := range pls {
			at[pl.line] = pl.at
		}
		heavy, _, _ := heaviest(r.result, r.fn)
		shown := 0
		for _, l := range heavy {
			line, ok := at[l] // still where it was measured
			if !ok {
				continue
			}
			if shown++; shown > heaviestLines {
				break
			}
			figures := s.hintFigures(r, l)
			msg := "memory: " + hintLabel(r.result, l, figures, r.shares.pct[l.Line])
			if !slices.Contains(figures, "alloc") {
				msg += " (allocated " + profile.Bytes(l.AllocBytes) + ")"
			}
			diags = append(diags, protocol.Diagnostic{
				Range:    protocol.Range{Start: protocol.Position{Line: uint32(line)}, End: d.lineEnd(line)},
				Severity: protocol.DiagnosticSeverityInformation,
				Source:   source,
				Message:  protocol.String(msg),
			})
		}
	}
	return diags
}
