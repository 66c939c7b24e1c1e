package server

import (
	"context"
	"encoding/json"

	"go.lsp.dev/jsonrpc2"
	"go.lsp.dev/protocol"
	"go.lsp.dev/uri"
)

// commandArgs is the argument object of the memlens commands.
type commandArgs struct {
	URI      string             `json:"uri"`
	Function string             `json:"function"`
	Position *protocol.Position `json:"position"`
	Run      uint64             `json:"run"`
}

// ExecuteCommand runs the memlens commands (see the package doc). A profile
// only starts here: it runs in the background and reports by progress.
func (s *Server) ExecuteCommand(ctx context.Context, params *protocol.ExecuteCommandParams) (protocol.LSPAny, error) {
	var args commandArgs
	if len(params.Arguments) > 0 {
		if err := json.Unmarshal(params.Arguments[0], &args); err != nil {
			return nil, jsonrpc2.Errorf(jsonrpc2.InvalidParams, "%s: argument must be an object {uri, function}: %v", params.Command, err)
		}
	}
	switch params.Command {
	case cmdProfile, cmdReprofile:
		if args.URI == "" || args.Function == "" {
			return nil, jsonrpc2.Errorf(jsonrpc2.InvalidParams, "%s needs {uri, function}", params.Command)
		}
		return nil, s.startProfile(args.URI, args.Function, nil, params.WorkDoneToken)
	case cmdProfileAtCursor:
		if args.URI == "" || args.Position == nil {
			return nil, jsonrpc2.Errorf(jsonrpc2.InvalidParams, "%s needs {uri, position}", params.Command)
		}
		return nil, s.startProfile(args.URI, "", args.Position, params.WorkDoneToken)
	case cmdClear:
		return nil, s.clear(args)
	case cmdShowProfile:
		if args.URI == "" || args.Function == "" {
			return nil, jsonrpc2.Errorf(jsonrpc2.InvalidParams, "%s needs {uri, function}", params.Command)
		}
		return nil, s.showProfile(args)
	case cmdTimeline:
		return s.timeline(args)
	}
	return nil, jsonrpc2.Errorf(jsonrpc2.InvalidParams, "unknown command %q", params.Command)
}

// pathOfArgument turns the uri of a command argument into a file path.
func pathOfArgument(rawURI string) (string, error) {
	u, err := uri.Parse(rawURI)
	if err != nil {
		return "", jsonrpc2.Errorf(jsonrpc2.InvalidParams, "bad uri %q: %v", rawURI, err)
	}
	path, err := pathOf(u)
	if err != nil {
		return "", jsonrpc2.Errorf(jsonrpc2.InvalidParams, "%v", err)
	}
	return path, nil
}

// clear forgets stored profiles: of one function, of one file, or all.
func (s *Server) clear(args commandArgs) error {
	path := ""
	if args.URI != "" {
		var err error
		if path, err = pathOfArgument(args.URI); err != nil {
			return err
		}
	}
	s.mu.Lock()
	affected := map[string]bool{}
	for k := range s.entryChoices {
		if (path == "" || k.path == path) && (args.Function == "" || k.name == args.Function) {
			delete(s.entryChoices, k) // asked again at the next profile
			affected[k.path] = true
		}
	}
	for k, e := range s.runs {
		if (path == "" || k.path == path) && (args.Function == "" || k.name == args.Function) {
			delete(s.runs, k)
			affected[k.path] = true
			if e.cur != nil {
				for _, p := range e.cur.errorFiles() {
					affected[p] = true
				}
			}
		}
	}
	s.generation++
	s.mu.Unlock()
	paths := make([]string, 0, len(affected))
	for p := range affected {
		paths = append(paths, p)
	}
	s.refresh(s.ctx, paths)
	return nil
}
