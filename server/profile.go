package server

import (
	"bytes"
	"context"
	"errors"
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

// job is a profile in progress.
type job struct {
	key      runKey
	cancel   context.CancelFunc
	tracker  *lineTracker
	funcText string
	stage    atomic.Value // runner.Stage
	note     string       // added to progress messages
	// chosen is the entry the user picked earlier for the function, when
	// this run uses it (see askEntry).
	chosen  *runner.EntryOption
	started time.Time
}

// startProfile resolves the function and starts its profile in the
// background. Errors are about the request: a bad URI, an unknown function,
// a profile of it already running.
func (s *Server) startProfile(rawURI, name string, at *protocol.Position, token protocol.ProgressToken) error {
	path, err := pathOfArgument(rawURI)
	if err != nil {
		return err
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

	req, snapshot, note, chosen, err := s.buildRequestLocked(d, f)
	if err != nil {
		return err
	}
	j := &job{key: key, note: note, chosen: chosen, started: time.Now()}
	j.stage.Store(runner.StageBuilding)
	sf, ok := functionNamed(snapshot.functions(), f.Name)
	if ok {
		j.funcText = snapshot.textOf(sf)
	} else {
		sf = f // the saved file lacks it: the run will say so
	}
	j.tracker = trackLines(snapshot, lineRange(sf.StartLine-1, sf.EndLine-1))
	j.tracker.verify(d) // the buffer may differ from what runs
	ctx, cancel := context.WithCancel(s.ctx)
	j.cancel = cancel
	s.jobs[key] = j
	s.generation++
	req.Progress = func(p runner.Progress) { j.stage.Store(p.Stage) }
	if req.Language == "go" {
		req.ChooseEntry = func(ctx context.Context, options []runner.EntryOption) (int, error) {
			return s.askEntry(ctx, j, options)
		}
	}
	go s.runJob(ctx, j, req, token)
	go s.refreshCodeLenses(s.ctx) // the lens turns into "profiling…"
	return nil
}

// buildRequestLocked makes the runner request for f of d. It returns the
// text the run will see (Go: the buffer; Python: the saved file), a note
// for the progress messages and the entry chosen earlier that it applied.
func (s *Server) buildRequestLocked(d *document, f function) (req runner.Request, snapshot *document, note string, chosen *runner.EntryOption, err error) {
	st := s.settings
	folder := s.folderOf(d.path)
	req = runner.Request{
		Language:   d.lang,
		Funcs:      []string{f.Name},
		Timeout:    st.Timeout,
		BuildFlags: st.BuildFlags,
		Python:     st.Python,
		// The timeline's interval; the runner's default when unset.
		SampleInterval: st.SampleInterval,
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
			req.In, req.Run = inFolder(folder, entry.In), inFolder(folder, entry.Run)
			if entry.Args != nil || entry.Run != "" {
				req.Args, req.HasArgs = entry.Args, true
			}
		} else if choice, ok := s.entryChoiceLocked(runKey{path: d.path, name: f.Name}); ok {
			choice.Apply(&req) // chosen earlier in the session
			chosen = &choice
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
		return req, d, "", chosen, nil
	case "python":
		if diskErr != nil {
			return req, nil, "", nil, fmt.Errorf("python runs the saved file, and %s cannot be read: %v", d.path, diskErr)
		}
		req.Dir = folder
		if req.Dir == "" {
			req.Dir = filepath.Dir(d.path)
		}
		req.Target = d.path
		// Without an entry the runner chooses: the file when running it
		// reaches the function, else the tests that reach it (pytest).
		if hasEntry {
			if entry.Script != "" {
				req.Target = entry.Script
				if !filepath.IsAbs(req.Target) {
					req.Target = filepath.Join(req.Dir, req.Target)
				}
				req.HasArgs = true // run that script, whatever it calls
			}
			if entry.Args != nil {
				req.Args, req.HasArgs = entry.Args, true
			}
			req.Test = entry.Test // pytest node ids or a -k expression
		}
		note = ""
		if !bytes.Equal(disk, []byte(d.text)) {
			note = " (the saved file: the buffer has unsaved changes)"
		}
		return req, newDocument(d.uri, d.path, string(disk), 0), note, nil, nil
	}
	return req, nil, "", nil, fmt.Errorf("cannot profile %s", d.path)
}

// inFolder resolves a package directory of the entries setting ("./cmd/tool")
// against the workspace folder; an import path stays as it is.
func inFolder(folder, pkg string) string {
	if folder != "" && (pkg == "." || pkg == ".." || strings.HasPrefix(pkg, "./") || strings.HasPrefix(pkg, "../")) {
		return filepath.Join(folder, pkg)
	}
	return pkg
}

// runJob runs one profile and publishes its outcome.
func (s *Server) runJob(ctx context.Context, j *job, req runner.Request, token protocol.ProgressToken) {
	defer j.cancel()
	p := s.beginProgress(j, token)
	done := make(chan struct{})
	go p.tick(done)

	res, err := runner.Profile(ctx, req)
	close(done)

	var errorLines map[string]*lineTracker
	if err == nil {
		errorLines = trackErrorLines(res.Errors, req)
	}
	if errors.Is(err, errNoEntryChosen) {
		s.mu.Lock()
		delete(s.jobs, j.key)
		s.generation++
		s.mu.Unlock()
		p.end("canceled: no entry chosen")
		s.refreshCodeLenses(s.ctx)
		return
	}

	s.mu.Lock()
	delete(s.jobs, j.key)
	s.generation++
	var failure string
	paths := []string{j.key.path}
	switch {
	case err != nil:
		failure = err.Error()
		if j.chosen != nil && errors.Is(err, runner.ErrNoEntry) {
			// The entry picked earlier no longer runs the function (a
			// test renamed or removed): forget it, so the next profile
			// asks again instead of failing the same way until Clear.
			delete(s.entryChoices, j.key)
			failure = fmt.Sprintf("the entry chosen earlier (%s) no longer runs it: %s; profile again to choose one", j.chosen.Label(), failure)
		}
	default:
		// The files with diagnostics of the run replaced, so that the
		// errors it reported are cleared or moved.
		if old := s.runs[j.key]; old != nil && old.cur != nil {
			paths = append(paths, old.cur.errorFiles()...)
		}
		r := &run{
			key:        j.key,
			result:     res,
			fn:         pickFunction(res, j.key.name, j.key.path),
			tracker:    j.tracker,
			errorLines: errorLines,
			funcText:   j.funcText,
			finished:   time.Now(),
		}
		for path, t := range errorLines {
			if d, open := s.docs[path]; open {
				t.verify(d) // edited while the profile ran
			}
		}
		s.storeRunLocked(r)
		paths = append(paths, r.errorFiles()...)
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
	// Also after an error: the lens of the function showed it running.
	s.refresh(s.ctx, paths)
	s.log.Info("profile finished", "function", j.key.name, "file", j.key.path, "failure", failure)
}

// trackErrorLines starts tracking the lines that errors point at, in the
// text the run saw of each file: the overlay (the editor's buffer) or the
// file on disk.
func trackErrorLines(errs []profile.Error, req runner.Request) map[string]*lineTracker {
	byFile := map[string][]int{}
	for _, e := range errs {
		if e.File != "" && e.Line > 0 {
			path := filepath.Clean(e.File)
			byFile[path] = append(byFile[path], e.Line-1)
		}
	}
	out := map[string]*lineTracker{}
	for path, lines := range byFile {
		text, ok := req.Overlay[path]
		if !ok {
			var err error
			if text, err = os.ReadFile(path); err != nil {
				continue // shown where reported, untracked
			}
		}
		out[path] = trackLines(newDocument(uri.File(path), path, string(text), 0), lines)
	}
	return out
}

func oneLine(s string) string {
	s, _, _ = strings.Cut(strings.TrimSpace(s), "\n")
	return s
}
