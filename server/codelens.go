package server

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"go.lsp.dev/jsonrpc2"
	"go.lsp.dev/protocol"

	"github.com/memlens/memlens/profile"
)

// CodeLens puts "Profile memory" above every function; above a profiled one
// the summary of its latest run, with Re-profile and Clear beside it.
func (s *Server) CodeLens(ctx context.Context, params *protocol.CodeLensParams) ([]protocol.CodeLens, error) {
	lc, err := s.codeLenses(params)
	if err != nil {
		return nil, err
	}
	return lc.lenses, nil
}

// codeLensResponse answers textDocument/codeLens with the encoded list. The
// list is cached per document text and result generation: editors ask again
// after every edit and refresh, and building and encoding a lens per
// function of a large file is most of the request's time.
func (s *Server) codeLensResponse(raw jsonrpc2.RawMessage) (any, error) {
	var params protocol.CodeLensParams
	if err := protocol.Unmarshal(raw, &params); err != nil {
		return nil, jsonrpc2.Errorf(jsonrpc2.InvalidParams, "invalid params for %s: %v", protocol.MethodTextDocumentCodeLens, err)
	}
	lc, err := s.codeLenses(&params)
	if err != nil {
		return nil, err
	}
	return lc.encoded, nil
}

// lensCache is a document's lens list for one generation of results.
type lensCache struct {
	generation uint64
	uri        string // as the client spelled it, for the command arguments
	lenses     []protocol.CodeLens
	encoded    jsonrpc2.RawMessage
}

func (s *Server) codeLenses(params *protocol.CodeLensParams) (*lensCache, error) {
	path, err := pathOf(params.TextDocument.URI)
	if err != nil {
		return nil, err
	}
	uriText := params.TextDocument.URI.String()
	s.mu.Lock()
	defer s.mu.Unlock()
	d, err := s.document(path)
	if err != nil {
		// A file that is gone has no lenses.
		return &lensCache{lenses: []protocol.CodeLens{}, encoded: jsonrpc2.RawMessage("[]")}, nil
	}
	if lc := d.lenses; lc != nil && lc.generation == s.generation && lc.uri == uriText {
		return lc, nil
	}
	lc := &lensCache{generation: s.generation, uri: uriText, lenses: s.buildLensesLocked(d, uriText)}
	lc.encoded = appendLenses(make([]byte, 0, 200*len(lc.lenses)+2), lc.lenses)
	d.lenses = lc
	return lc, nil
}

func (s *Server) buildLensesLocked(d *document, uriText string) []protocol.CodeLens {
	funcs := d.functions()
	lenses := make([]protocol.CodeLens, 0, len(funcs)+3*len(s.runs)) // 4 lenses on a profiled function
	for _, f := range funcs {
		start := protocol.Position{Line: uint32(f.DefLine - 1)}
		rng := protocol.Range{Start: start, End: start}
		args := commandArguments(uriText, f.Name)
		key := runKey{path: d.path, name: f.Name}
		// The summary lenses run memlens.showProfile rather than no command:
		// a lens is a clickable item in VS Code and Neovim, and a command
		// that does nothing (or an empty one, which Neovim tries to
		// execute) would answer a click with an error.
		if _, running := s.jobs[key]; running {
			lenses = append(lenses, protocol.CodeLens{Range: rng, Command: protocol.Command{
				Title: "memory: profiling…", Command: cmdShowProfile, Arguments: args,
			}})
			continue
		}
		e := s.runs[key]
		if e == nil || e.cur == nil {
			title := "Profile memory"
			if o, chosen := s.entryChoiceLocked(key); chosen {
				title += " via " + o.Label()
			}
			lenses = append(lenses, protocol.CodeLens{Range: rng, Command: protocol.Command{
				Title: title, Command: cmdProfile, Arguments: args,
			}})
			continue
		}
		lenses = append(lenses,
			protocol.CodeLens{Range: rng, Command: protocol.Command{Title: summary(e.cur, s.staleLocked(e.cur, d)), Command: cmdShowProfile, Arguments: args}})
		if e.cur.hasTimeline() {
			lenses = append(lenses, protocol.CodeLens{Range: rng, Command: protocol.Command{Title: timelineLensTitle(e.cur.result.Timeline), Command: cmdTimeline, Arguments: timelineArguments(uriText, f.Name, e.cur.id)}})
		}
		lenses = append(lenses,
			protocol.CodeLens{Range: rng, Command: protocol.Command{Title: "Re-profile", Command: cmdReprofile, Arguments: args}},
			protocol.CodeLens{Range: rng, Command: protocol.Command{Title: "Clear", Command: cmdClear, Arguments: args}},
		)
	}
	return lenses
}

// commandArguments is the {uri, function} argument list of the commands
// (commandArgs, written out directly: there is one per lens).
func commandArguments(uriText, name string) []protocol.LSPAny {
	return []protocol.LSPAny{appendFunctionArgument(make([]byte, 0, len(uriText)+len(name)+28), uriText, name)}
}

// appendFunctionArgument appends {"uri":…,"function":…}.
func appendFunctionArgument(raw []byte, uriText, name string) []byte {
	raw = append(raw, `{"uri":`...)
	raw = appendJSONString(raw, uriText)
	raw = append(raw, `,"function":`...)
	raw = appendJSONString(raw, name)
	return append(raw, '}')
}

// timelineArguments are the Timeline lens's: the function and the run it
// shows. A client showing that function's timeline sees from the run
// that a newer one replaced it (the VS Code webview follows it).
func timelineArguments(uriText, name string, run uint64) []protocol.LSPAny {
	raw := appendFunctionArgument(make([]byte, 0, len(uriText)+len(name)+48), uriText, name)
	raw = append(raw[:len(raw)-1], `,"run":`...)
	raw = strconv.AppendUint(raw, run, 10)
	return []protocol.LSPAny{append(raw, '}')}
}

// showProfile answers a click on a summary lens with the summary as a
// message (or how long the profile has been running).
func (s *Server) showProfile(args commandArgs) error {
	path, err := pathOfArgument(args.URI)
	if err != nil {
		return err
	}
	s.mu.Lock()
	key := runKey{path: path, name: args.Function}
	var msg string
	if j, running := s.jobs[key]; running {
		msg = fmt.Sprintf("memlens: %s is being profiled (%.0f s so far)", args.Function, time.Since(j.started).Seconds())
	} else if e := s.runs[key]; e != nil && e.cur != nil {
		stale := true
		if d, err := s.document(path); err == nil {
			stale = s.staleLocked(e.cur, d)
		}
		msg = fmt.Sprintf("memlens: %s — %s", args.Function, summary(e.cur, stale))
	}
	s.mu.Unlock()
	if msg == "" {
		return fmt.Errorf("no profile of %s", args.Function)
	}
	s.showMessage(protocol.MessageTypeInfo, msg)
	return nil
}

// appendLenses appends the JSON of lenses to buf. Written out by hand: the
// protocol package's encoder takes about a millisecond for the 500 lenses of
// a large file, most of the time of a request after an edit. The lenses
// here have a command with a range on one line and encoded arguments.
func appendLenses(buf []byte, lenses []protocol.CodeLens) []byte {
	buf = append(buf, '[')
	for i, l := range lenses {
		if i > 0 {
			buf = append(buf, ',')
		}
		buf = append(buf, `{"range":`...)
		buf = appendRange(buf, l.Range)
		buf = append(buf, `,"command":{"title":`...)
		buf = appendJSONString(buf, l.Command.Title)
		buf = append(buf, `,"command":`...)
		buf = appendJSONString(buf, l.Command.Command)
		if len(l.Command.Arguments) > 0 {
			buf = append(buf, `,"arguments":[`...)
			for j, a := range l.Command.Arguments {
				if j > 0 {
					buf = append(buf, ',')
				}
				buf = append(buf, a...)
			}
			buf = append(buf, ']')
		}
		buf = append(buf, "}}"...)
	}
	return append(buf, ']')
}

func appendRange(buf []byte, r protocol.Range) []byte {
	buf = append(buf, `{"start":`...)
	buf = appendPosition(buf, r.Start)
	buf = append(buf, `,"end":`...)
	buf = appendPosition(buf, r.End)
	return append(buf, '}')
}

func appendPosition(buf []byte, p protocol.Position) []byte {
	buf = append(buf, `{"line":`...)
	buf = strconv.AppendUint(buf, uint64(p.Line), 10)
	buf = append(buf, `,"character":`...)
	buf = strconv.AppendUint(buf, uint64(p.Character), 10)
	return append(buf, '}')
}

// appendJSONString appends s as a JSON string; s is valid UTF-8 (titles and
// command names the server wrote).
func appendJSONString(buf []byte, s string) []byte {
	const hex = "0123456789abcdef"
	buf = append(buf, '"')
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == '"' || c == '\\':
			buf = append(buf, '\\', c)
		case c < 0x20:
			buf = append(buf, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
		default:
			buf = append(buf, c)
		}
	}
	return append(buf, '"')
}

// summary is the text of a function's result lens.
func summary(r *run, stale bool) string {
	var b strings.Builder
	b.WriteString("memory:")
	sep := " "
	add := func(s string) {
		b.WriteString(sep + s)
		sep = " · "
	}
	if fn := r.fn; fn != nil {
		peak := fn.PeakMemBytes
		if peak == 0 {
			peak = r.result.PeakRSSBytes
		}
		if peak > 0 {
			add("peak " + profile.Bytes(int64(peak)))
		}
		add("allocated " + profile.Bytes(fn.AllocBytes))
		if fn.Calls == 1 {
			add("1 call")
		} else {
			add(fmt.Sprintf("%d calls", fn.Calls))
		}
	} else {
		add("no data")
	}
	add(fmt.Sprintf("%.1f s", float64(r.result.DurationMS)/1000))
	if r.result.EntryVia != "" {
		add("via " + r.result.EntryVia)
	}
	if r.result.Failed() {
		b.WriteString(" (partial)")
	}
	if stale {
		add("stale — re-run")
	}
	return b.String()
}
