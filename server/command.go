package server

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync/atomic"
	"time"

	"go.lsp.dev/jsonrpc2"
	"go.lsp.dev/protocol"
	"go.lsp.dev/uri"

	"github.com/memlens/memlens/profile"
	"github.com/memlens/memlens/runner"
)

// commandArgs is the argument object of the memlens commands.
type commandArgs struct {
	URI      string             `json:"uri"`
	Function string             `json:"function"`
	Position *protocol.Position `json:"position"`
}

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
	}
	return nil, jsonrpc2.Errorf(jsonrpc2.InvalidParams, "unknown command %q", params.Command)
}

// clear forgets stored profiles: of one function, of one file, or all.
func (s *Server) clear(args commandArgs) error {
	path := ""
	if args.URI != "" {
		u, err := uri.Parse(args.URI)
		if err != nil {
			return jsonrpc2.Errorf(jsonrpc2.InvalidParams, "bad uri %q: %v", args.URI, err)
		}
		if path, err = pathOf(u); err != nil {
			return jsonrpc2.Errorf(jsonrpc2.InvalidParams, "%v", err)
		}
	}
	s.mu.Lock()
	affected := map[string]bool{}
	for k, e := range s.runs {
		if (path == "" || k.path == path) && (args.Function == "" || k.name == args.Function) {
			delete(s.runs, k)
			affected[k.path] = true
			if e.cur != nil {
				for _, er := range e.cur.result.Errors {
					affected[filepath.Clean(er.File)] = true
				}
			}
		}
	}
	s.mu.Unlock()
	paths := make([]string, 0, len(affected))
	for p := range affected {
		paths = append(paths, p)
	}
	s.refresh(s.ctx, paths)
	return nil
}

// job is a profile in progress.
type job struct {
	key      runKey
	cancel   context.CancelFunc
	tracker  *lineTracker
	funcText string
	token    protocol.ProgressToken // nil: no progress support
	stage    atomic.Value           // runner.Stage
	note     string                 // added to progress messages
	started  time.Time
}

// startProfile resolves the function and starts its profile in the
// background. Errors are about the request: a bad URI, an unknown function,
// a profile of it already running.
func (s *Server) startProfile(rawURI, name string, at *protocol.Position, token protocol.ProgressToken) error {
	u, err := uri.Parse(rawURI)
	if err != nil {
		return jsonrpc2.Errorf(jsonrpc2.InvalidParams, "bad uri %q: %v", rawURI, err)
	}
	path, err := pathOf(u)
	if err != nil {
		return jsonrpc2.Errorf(jsonrpc2.InvalidParams, "%v", err)
	}

	s.mu.Lock()
	defer s.mu.Unlock()
	if s.shutdown {
		return jsonrpc2.NewError(jsonrpc2.InvalidRequest, "server is shutting down")
	}
	d, err := s.document(path)
	if err != nil {
		return fmt.Errorf("cannot read %s: %v", path, err)
	}
	if d.lang == "" {
		return fmt.Errorf("%s is neither Go nor Python", filepath.Base(path))
	}
	var f function
	var ok bool
	if at != nil {
		f, ok = functionAt(d.functions(), int(at.Line)+1)
		if !ok {
			return fmt.Errorf("no function at %s:%d", filepath.Base(path), at.Line+1)
		}
	} else if f, ok = functionNamed(d.functions(), name); !ok {
		return fmt.Errorf("function %s not found in %s (renamed or deleted?)", name, filepath.Base(path))
	}
	key := runKey{path: path, name: f.Name}
	if _, running := s.jobs[key]; running {
		return fmt.Errorf("%s is already being profiled", f.Name)
	}

	req, snapshot, note, err := s.buildRequestLocked(d, f)
	if err != nil {
		return err
	}
	j := &job{key: key, note: note, started: time.Now()}
	j.stage.Store(runner.StageBuilding)
	j.tracker = newLineTracker(snapshot.text)
	for i, p := range j.tracker.pos {
		if d.line(p) != j.tracker.text[i] {
			j.tracker.pos[i] = -1 // the buffer differs from what runs
		}
	}
	if sf, ok := functionNamed(snapshot.functions(), f.Name); ok {
		j.funcText = snapshot.textOf(sf)
	}
	ctx, cancel := context.WithCancel(s.ctx)
	j.cancel = cancel
	s.jobs[key] = j
	req.Progress = func(p runner.Progress) { j.stage.Store(p.Stage) }
	go s.runJob(ctx, j, req, token)
	return nil
}

// buildRequestLocked makes the runner request for f of d. It returns the
// text the run will see (Go: the buffer; Python: the saved file) and a note
// for the progress messages.
func (s *Server) buildRequestLocked(d *document, f function) (runner.Request, *document, string, error) {
	st := s.settings
	folder := s.folderOf(d.path)
	req := runner.Request{
		Language:   d.lang,
		Funcs:      []string{f.Name},
		Timeout:    st.Timeout,
		BuildFlags: st.BuildFlags,
		Python:     st.Python,
	}
	for k, v := range st.Env {
		req.Env = append(req.Env, k+"="+v)
	}
	sort.Strings(req.Env)
	entry, hasEntry := st.Entries[relativeTo(folder, d.path)+":"+f.Name]
	if !hasEntry {
		entry, hasEntry = st.Entries[f.Name]
	}

	disk, diskErr := os.ReadFile(d.path)
	switch d.lang {
	case "go":
		req.Dir = filepath.Dir(d.path)
		req.Target = "."
		if hasEntry {
			req.Test, req.Bench = entry.Test, entry.Bench
			if entry.Args != nil {
				req.Args, req.HasArgs = entry.Args, true
			}
		}
		req.Overlay = map[string][]byte{}
		for p, od := range s.docs {
			if od.lang != "go" || (folder != "" && s.folderOf(p) != folder) {
				continue
			}
			if b, err := os.ReadFile(p); err != nil || string(b) != od.text {
				req.Overlay[p] = []byte(od.text)
			}
		}
		return req, d, "", nil
	case "python":
		if diskErr != nil {
			return req, nil, "", fmt.Errorf("python runs the saved file, and %s cannot be read: %v", d.path, diskErr)
		}
		req.Dir = folder
		if req.Dir == "" {
			req.Dir = filepath.Dir(d.path)
		}
		req.Target = d.path
		if hasEntry {
			if entry.Script != "" {
				req.Target = entry.Script
				if !filepath.IsAbs(req.Target) {
					req.Target = filepath.Join(req.Dir, req.Target)
				}
			}
			if entry.Args != nil {
				req.Args, req.HasArgs = entry.Args, true
			}
		}
		note := ""
		if !bytes.Equal(disk, []byte(d.text)) {
			note = " (the saved file: the buffer has unsaved changes)"
		}
		return req, newDocument(d.uri, d.path, string(disk), 0), note, nil
	}
	return req, nil, "", fmt.Errorf("cannot profile %s", d.path)
}

// runJob runs one profile and publishes its outcome.
func (s *Server) runJob(ctx context.Context, j *job, req runner.Request, token protocol.ProgressToken) {
	defer j.cancel()
	p := s.beginProgress(j, token)
	done := make(chan struct{})
	go p.tick(done)

	res, err := runner.Profile(ctx, req)
	close(done)

	s.mu.Lock()
	delete(s.jobs, j.key)
	var failure string
	var paths []string
	switch {
	case err != nil:
		failure = err.Error()
	default:
		r := &run{
			key:      j.key,
			result:   res,
			fn:       pickFunction(res, j.key.name),
			tracker:  j.tracker,
			funcText: j.funcText,
			finished: time.Now(),
		}
		s.storeRunLocked(r)
		paths = append(paths, j.key.path)
		for _, e := range res.Errors {
			paths = append(paths, filepath.Clean(e.File))
		}
		if res.Failed() {
			failure = string(res.Status)
			if res.Message != "" {
				failure += ": " + oneLine(res.Message)
			}
		}
	}
	s.mu.Unlock()

	if failure != "" {
		p.end("failed: " + failure)
		s.showMessage(protocol.MessageTypeError, fmt.Sprintf("memlens: profile of %s failed: %s", j.key.name, failure))
	} else {
		p.end("done")
	}
	if err == nil {
		s.refresh(s.ctx, paths)
	}
	s.log.Info("profile finished", "function", j.key.name, "file", j.key.path, "failure", failure)
}

func oneLine(s string) string {
	s, _, _ = strings.Cut(strings.TrimSpace(s), "\n")
	return s
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
	if r.result.Failed() {
		b.WriteString(" (partial)")
	}
	if stale {
		add("stale — re-run")
	}
	return b.String()
}
