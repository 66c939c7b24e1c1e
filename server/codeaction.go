package server

import (
	"context"

	"go.lsp.dev/protocol"
)

// CodeAction offers the lens commands on the function under the cursor, for
// editors that show no code lenses (Helix, Emacs eglot). The actions have no
// kind: "source" and "refactor" menus are for edits, and a kindless action
// shows in every client's default list.
func (s *Server) CodeAction(ctx context.Context, params *protocol.CodeActionParams) ([]protocol.CommandOrCodeAction, error) {
	path, err := pathOf(params.TextDocument.URI)
	if err != nil {
		return nil, err
	}
	actions := []protocol.CommandOrCodeAction{}
	if len(params.Context.Only) > 0 {
		return actions, nil // the client asked for kinds these actions do not have
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	d, err := s.document(path)
	if err != nil {
		return actions, nil
	}
	f, ok := functionAt(d.functions(), int(params.Range.Start.Line)+1)
	if !ok {
		return actions, nil
	}
	args := commandArguments(params.TextDocument.URI.String(), f.Name)
	key := runKey{path: path, name: f.Name}
	if e := s.runs[key]; e != nil && e.cur != nil {
		actions = append(actions,
			&protocol.CodeAction{Title: "Re-profile memory: " + f.Name, Command: protocol.Command{Title: "Re-profile", Command: cmdReprofile, Arguments: args}},
			&protocol.CodeAction{Title: "Clear memory profile: " + f.Name, Command: protocol.Command{Title: "Clear", Command: cmdClear, Arguments: args}},
		)
		return actions, nil
	}
	actions = append(actions, &protocol.CodeAction{
		Title:   "Profile memory: " + f.Name,
		Command: protocol.Command{Title: "Profile memory", Command: cmdProfile, Arguments: args},
	})
	return actions, nil
}
