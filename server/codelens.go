package server

import (
	"context"
	"encoding/json"

	"go.lsp.dev/protocol"
)

// CodeLens puts "Profile memory" above every function; above a profiled one
// the summary of its latest run, with Re-profile and Clear beside it.
func (s *Server) CodeLens(ctx context.Context, params *protocol.CodeLensParams) ([]protocol.CodeLens, error) {
	path, err := pathOf(params.TextDocument.URI)
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	d, err := s.document(path)
	if err != nil {
		return []protocol.CodeLens{}, nil // a file that is gone has no lenses
	}
	uriText := params.TextDocument.URI.String()
	funcs := d.functions()
	lenses := make([]protocol.CodeLens, 0, len(funcs))
	for _, f := range funcs {
		start := protocol.Position{Line: uint32(f.DefLine - 1)}
		rng := protocol.Range{Start: start, End: start}
		args := commandArguments(uriText, f.Name)
		e := s.runs[runKey{path: path, name: f.Name}]
		if _, running := s.jobs[runKey{path: path, name: f.Name}]; running {
			lenses = append(lenses, protocol.CodeLens{Range: rng, Command: protocol.Command{Title: "memory: profiling…"}})
			continue
		}
		if e == nil || e.cur == nil {
			lenses = append(lenses, protocol.CodeLens{Range: rng, Command: protocol.Command{
				Title: "Profile memory", Command: cmdProfile, Arguments: args,
			}})
			continue
		}
		lenses = append(lenses,
			protocol.CodeLens{Range: rng, Command: protocol.Command{Title: summary(e.cur, s.staleLocked(e.cur, d))}},
			protocol.CodeLens{Range: rng, Command: protocol.Command{Title: "Re-profile", Command: cmdReprofile, Arguments: args}},
			protocol.CodeLens{Range: rng, Command: protocol.Command{Title: "Clear", Command: cmdClear, Arguments: args}},
		)
	}
	return lenses, nil
}

// commandArguments is the {uri, function} argument list of the commands.
func commandArguments(uriText, name string) []protocol.LSPAny {
	raw, _ := json.Marshal(commandArgs{URI: uriText, Function: name})
	return []protocol.LSPAny{raw}
}
