// Package server is memlens's language server: it shows line-by-line memory
// profiles of Go and Python functions in the editor.
//
// What the editor gets:
//   - a "Profile memory" code lens above every Go function and method
//     (tests and benchmarks included) and every Python def, and the same
//     action as a code action on the function under the cursor;
//   - while a profile runs, $/progress (building, running with the elapsed
//     time, done or failed), cancellable from the editor;
//   - afterwards an inlay hint at the end of every line that ran
//     ("41.2 MiB  +7.3 MiB  ×1"), a summary lens ("memory: peak … ·
//     allocated … · 3 calls · 0.4 s") with Re-profile and Clear beside it,
//     and a hover with every figure of the line;
//   - failures as window/showMessage and, where they have a position
//     (build errors, the panic site), diagnostics.
//
// # Commands (workspace/executeCommand)
//
//	memlens.profile          {"uri": URI, "function": NAME}
//	memlens.reprofile        {"uri": URI, "function": NAME}
//	memlens.profileAtCursor  {"uri": URI, "position": {"line": L, "character": C}}
//	memlens.clear            {"uri": URI, "function": NAME}, {"uri": URI}, or nothing (all)
//
// NAME is the runner's function name: Build, Grid.Add, (*Grid).Add,
// baseExtr.parseList, outer.<locals>.inner. The command returns at once; the
// profile runs in the background.
//
// # Settings
//
// Given as initializationOptions or through workspace/didChangeConfiguration,
// either under a "memlens" key or flat:
//
//	timeout      string   run time limit, build included, e.g. "30s" (default 2m)
//	env          object   extra environment of the program, {"KEY": "value"}
//	buildFlags   []string Go build flags, e.g. ["-tags=integration"]
//	entries      object   how to run a function, by "FUNC" or "relative/file.go:FUNC"
//	                      (path relative to the workspace folder):
//	                      {"test": "TestX"} | {"bench": "BenchmarkX"} | {"args": [...]}
//	                      (Go: run the main package with these arguments) |
//	                      {"script": "main.py", "args": [...]} (Python: the script
//	                      to run, default the file itself)
//	python       string   Python interpreter (default python3 on PATH)
//	hints        []string figures in the inlay hint, in order, from "mem",
//	                      "increment", "alloc", "objects", "retained",
//	                      "occurrences" (default ["mem", "increment", "occurrences"])
//	diagnostics  bool     also show the heaviest lines of each profiled function
//	                      as information diagnostics, for editors without
//	                      inlay hints (default false)
//
// Go runs use the editor's buffers (unsaved edits included) through the
// build overlay; Python runs the saved files. The server never runs a
// program itself: it calls runner.Profile.
package server

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"go.lsp.dev/jsonrpc2"
	"go.lsp.dev/protocol"
	"go.lsp.dev/uri"
)

// Server is one LSP session.
type Server struct {
	protocol.UnimplementedServer

	log    *slog.Logger
	client protocol.Client
	conn   jsonrpc2.Conn
	ctx    context.Context // the session's lifetime; profiles run under it
	stop   context.CancelFunc

	mu          sync.Mutex
	initDone    bool
	shutdown    bool
	caps        clientCaps
	folders     []string
	settings    Settings
	docs        map[string]*document // open documents by file path
	runs        map[runKey]*runEntry // stored profiles
	jobs        map[runKey]*job      // profiles in progress
	tokens      map[string]*job      // by progress token
	nextToken   int
	diagnosed   map[string]bool // files that have diagnostics published
	exitCalled  bool
	exitHandled chan struct{}
}

type clientCaps struct {
	progress       bool
	inlayRefresh   bool
	codeLensRefres bool
}

// Serve runs one session over rwc (stdin/stdout for `memlens serve`) until
// the client sends exit or closes the stream. It returns an error when the
// session ended without shutdown.
func Serve(ctx context.Context, rwc io.ReadWriteCloser, log *slog.Logger) error {
	s := newServer(ctx, log)
	s.start(rwc)
	select {
	case <-s.conn.Done():
	case <-s.exitHandled:
	case <-ctx.Done():
	}
	// Close without waiting: a read blocked on stdin does not end when
	// stdin is closed, and the process is about to exit anyway.
	go s.conn.Close()
	_ = rwc.Close()
	s.stop()
	s.mu.Lock()
	clean := s.shutdown
	s.mu.Unlock()
	if !clean {
		if err := s.conn.Err(); err != nil && !errors.Is(err, io.EOF) {
			return fmt.Errorf("session ended without shutdown: %w", err)
		}
		return errors.New("session ended without shutdown")
	}
	return nil
}

func newServer(ctx context.Context, log *slog.Logger) *Server {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	ctx, stop := context.WithCancel(ctx)
	return &Server{
		log:         log,
		ctx:         ctx,
		stop:        stop,
		settings:    defaultSettings(),
		docs:        map[string]*document{},
		runs:        map[runKey]*runEntry{},
		jobs:        map[runKey]*job{},
		tokens:      map[string]*job{},
		diagnosed:   map[string]bool{},
		exitHandled: make(chan struct{}),
	}
}

func (s *Server) start(rwc io.ReadWriteCloser) {
	stream := newLenientStream(rwc, s.log)
	s.conn = jsonrpc2.NewConn(stream, jsonrpc2.WithCodec(lspCodec{}))
	s.client = protocol.ClientDispatcher(s.conn)
	s.conn.Go(s.ctx, s.handler())
}

func (s *Server) initialized() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.initDone
}

// Commands the server executes.
const (
	cmdProfile         = "memlens.profile"
	cmdReprofile       = "memlens.reprofile"
	cmdProfileAtCursor = "memlens.profileAtCursor"
	cmdClear           = "memlens.clear"
)

func (s *Server) Initialize(ctx context.Context, params *protocol.InitializeParams) (*protocol.InitializeResult, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.initDone {
		return nil, jsonrpc2.NewError(jsonrpc2.InvalidRequest, "initialize sent twice")
	}
	caps := params.Capabilities
	if w := caps.Window; w != nil && w.WorkDoneProgress != nil {
		s.caps.progress = *w.WorkDoneProgress
	}
	if w := caps.Workspace; w != nil {
		if w.InlayHint != nil && w.InlayHint.RefreshSupport != nil {
			s.caps.inlayRefresh = *w.InlayHint.RefreshSupport
		}
		if w.CodeLens != nil && w.CodeLens.RefreshSupport != nil {
			s.caps.codeLensRefres = *w.CodeLens.RefreshSupport
		}
	}
	if folders, ok := params.WorkspaceFolders.Get(); ok {
		for _, f := range folders {
			if p := f.URI.FsPath(); p != "" {
				s.folders = append(s.folders, filepath.Clean(p))
			}
		}
	}
	if len(s.folders) == 0 && params.RootURI != nil {
		if p := params.RootURI.FsPath(); p != "" {
			s.folders = append(s.folders, filepath.Clean(p))
		}
	}
	if len(params.InitializationOptions) > 0 {
		st, err := parseSettings(s.settings, params.InitializationOptions)
		if err != nil {
			return nil, jsonrpc2.Errorf(jsonrpc2.InvalidParams, "initializationOptions: %v", err)
		}
		s.settings = st
	}
	s.initDone = true

	change := protocol.TextDocumentSyncKindIncremental
	yes := true
	return &protocol.InitializeResult{
		Capabilities: protocol.ServerCapabilities{
			PositionEncoding: protocol.PositionEncodingKindUTF16,
			TextDocumentSync: &protocol.TextDocumentSyncOptions{
				OpenClose: &yes,
				Change:    &change,
				Save:      protocol.Boolean(true),
			},
			HoverProvider:      protocol.Boolean(true),
			CodeLensProvider:   &protocol.CodeLensOptions{},
			InlayHintProvider:  protocol.Boolean(true),
			CodeActionProvider: protocol.Boolean(true),
			ExecuteCommandProvider: protocol.ExecuteCommandOptions{
				Commands: []string{cmdProfile, cmdReprofile, cmdProfileAtCursor, cmdClear},
			},
		},
		ServerInfo: protocol.ServerInfo{Name: "memlens"},
	}, nil
}

func (s *Server) Initialized(ctx context.Context, params *protocol.InitializedParams) error {
	return nil
}

func (s *Server) Shutdown(ctx context.Context) error {
	s.mu.Lock()
	s.shutdown = true
	jobs := make([]*job, 0, len(s.jobs))
	for _, j := range s.jobs {
		jobs = append(jobs, j)
	}
	s.mu.Unlock()
	for _, j := range jobs {
		j.cancel()
	}
	return nil
}

func (s *Server) Exit(ctx context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.exitCalled {
		s.exitCalled = true
		close(s.exitHandled)
	}
	return nil
}

func (s *Server) DidChangeConfiguration(ctx context.Context, params *protocol.DidChangeConfigurationParams) error {
	s.mu.Lock()
	st, err := parseSettings(s.settings, params.Settings)
	if err == nil {
		s.settings = st
	}
	s.mu.Unlock()
	if err != nil {
		s.showMessage(protocol.MessageTypeError, "memlens settings: "+err.Error())
		return nil
	}
	// Figures shown in hints or diagnostics may have changed. In the
	// background: a notification handler runs on the connection's read loop,
	// so waiting here for the client's answer to the refresh requests would
	// hang the session (seen from Neovim and VS Code, which support refresh).
	go s.refresh(s.ctx, s.openPaths())
	return nil
}

func (s *Server) DidChangeWorkspaceFolders(ctx context.Context, params *protocol.DidChangeWorkspaceFoldersParams) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, f := range params.Event.Removed {
		p := filepath.Clean(f.URI.FsPath())
		for i, have := range s.folders {
			if have == p {
				s.folders = append(s.folders[:i], s.folders[i+1:]...)
				break
			}
		}
	}
	for _, f := range params.Event.Added {
		s.folders = append(s.folders, filepath.Clean(f.URI.FsPath()))
	}
	return nil
}

// folderOf returns the innermost workspace folder holding path, or "".
func (s *Server) folderOf(path string) string {
	best := ""
	for _, f := range s.folders {
		if (path == f || strings.HasPrefix(path, f+string(filepath.Separator))) && len(f) > len(best) {
			best = f
		}
	}
	return best
}

// Settings are the user's options; see the package doc.
type Settings struct {
	Timeout     time.Duration
	Env         map[string]string
	BuildFlags  []string
	Entries     map[string]Entry
	Python      string
	Hints       []string
	Diagnostics bool
}

// Entry says how to run one function.
type Entry struct {
	Test   string   `json:"test"`
	Bench  string   `json:"bench"`
	Args   []string `json:"args"`
	Script string   `json:"script"`
}

// hintFigures are the names accepted in the hints setting.
var hintFigures = []string{"mem", "increment", "alloc", "objects", "retained", "occurrences"}

func defaultSettings() Settings {
	return Settings{Hints: []string{"mem", "increment", "occurrences"}}
}

// parseSettings applies a settings object over base. Only the keys present
// change; an invalid value is an error and changes nothing.
func parseSettings(base Settings, raw []byte) (Settings, error) {
	var top map[string]json.RawMessage
	if err := json.Unmarshal(raw, &top); err != nil {
		if string(raw) == "null" {
			return base, nil
		}
		return base, fmt.Errorf("settings must be an object: %v", err)
	}
	if nested, ok := top["memlens"]; ok {
		top = nil
		if err := json.Unmarshal(nested, &top); err != nil {
			return base, fmt.Errorf("memlens settings must be an object: %v", err)
		}
	}
	st := base
	for key, val := range top {
		var err error
		switch key {
		case "timeout":
			var s string
			var secs float64
			if err = json.Unmarshal(val, &s); err == nil {
				st.Timeout, err = time.ParseDuration(s)
			} else if err = json.Unmarshal(val, &secs); err == nil {
				st.Timeout = time.Duration(secs * float64(time.Second))
			}
			if err == nil && st.Timeout < 0 {
				err = errors.New("negative")
			}
		case "env":
			st.Env = nil
			err = json.Unmarshal(val, &st.Env)
		case "buildFlags":
			st.BuildFlags = nil
			err = json.Unmarshal(val, &st.BuildFlags)
		case "entries":
			st.Entries = nil
			err = json.Unmarshal(val, &st.Entries)
		case "python":
			err = json.Unmarshal(val, &st.Python)
		case "hints":
			var hints []string
			if err = json.Unmarshal(val, &hints); err == nil {
				for _, h := range hints {
					if !contains(hintFigures, h) {
						err = fmt.Errorf("unknown figure %q (want %s)", h, strings.Join(hintFigures, ", "))
						break
					}
				}
				if len(hints) == 0 {
					hints = defaultSettings().Hints
				}
				st.Hints = hints
			}
		case "diagnostics":
			err = json.Unmarshal(val, &st.Diagnostics)
		default:
			continue // other tools' settings may share the object
		}
		if err != nil {
			return base, fmt.Errorf("setting %q: %v", key, err)
		}
	}
	return st, nil
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// pathOf turns a document URI into a clean file path.
func pathOf(u uri.URI) (string, error) {
	if !u.IsFile() {
		return "", fmt.Errorf("not a file URI: %q", u.String())
	}
	p := u.FsPath()
	if p == "" {
		return "", fmt.Errorf("not a file URI: %q", u.String())
	}
	return filepath.Clean(p), nil
}

// document returns the open document at path, or the file read from disk.
// Callers hold s.mu.
func (s *Server) document(path string) (*document, error) {
	if d, ok := s.docs[path]; ok {
		return d, nil
	}
	return readDocument(path)
}

func (s *Server) openPaths() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	paths := make([]string, 0, len(s.docs))
	for p := range s.docs {
		paths = append(paths, p)
	}
	return paths
}

func (s *Server) showMessage(typ protocol.MessageType, msg string) {
	if err := s.client.ShowMessage(s.ctx, &protocol.ShowMessageParams{Type: typ, Message: msg}); err != nil {
		s.log.Warn("showMessage failed", "error", err)
	}
}

// refresh asks the client to redraw hints and lenses, where it can, and
// republishes diagnostics for the given files.
func (s *Server) refresh(ctx context.Context, paths []string) {
	s.publishDiagnostics(paths)
	s.mu.Lock()
	caps := s.caps
	s.mu.Unlock()
	if caps.inlayRefresh {
		if err := s.client.InlayHintRefresh(ctx); err != nil {
			s.log.Warn("inlayHint/refresh failed", "error", err)
		}
	}
	if caps.codeLensRefres {
		if err := s.client.CodeLensRefresh(ctx); err != nil {
			s.log.Warn("codeLens/refresh failed", "error", err)
		}
	}
}

// The document sync notifications.

func (s *Server) DidOpen(ctx context.Context, params *protocol.DidOpenTextDocumentParams) error {
	path, err := pathOf(params.TextDocument.URI)
	if err != nil {
		return err
	}
	s.mu.Lock()
	d := newDocument(params.TextDocument.URI, path, params.TextDocument.Text, params.TextDocument.Version)
	s.docs[path] = d
	// The buffer may differ from the file the stored lines were tracked on.
	s.retrackLocked(d)
	s.mu.Unlock()
	return nil
}

func (s *Server) DidChange(ctx context.Context, params *protocol.DidChangeTextDocumentParams) error {
	path, err := pathOf(params.TextDocument.URI)
	if err != nil {
		return err
	}
	s.mu.Lock()
	d, ok := s.docs[path]
	if !ok {
		s.mu.Unlock()
		return fmt.Errorf("didChange of %s, which is not open", path)
	}
	for _, c := range params.ContentChanges {
		e, err := d.apply(c)
		if err != nil {
			s.mu.Unlock()
			return err
		}
		for _, t := range s.trackersLocked(path) {
			t.update(e, d)
		}
	}
	d.version = params.TextDocument.Version
	d.funcs = nil
	diag := s.diagnosed[path]
	s.mu.Unlock()
	if diag {
		s.publishDiagnostics([]string{path})
	}
	return nil
}

func (s *Server) DidSave(ctx context.Context, params *protocol.DidSaveTextDocumentParams) error {
	return nil
}

func (s *Server) DidClose(ctx context.Context, params *protocol.DidCloseTextDocumentParams) error {
	path, err := pathOf(params.TextDocument.URI)
	if err != nil {
		return err
	}
	s.mu.Lock()
	delete(s.docs, path)
	s.mu.Unlock()
	return nil
}

// retrackLocked drops tracked lines whose text no longer matches d.
func (s *Server) retrackLocked(d *document) {
	for _, t := range s.trackersLocked(d.path) {
		for i, p := range t.pos {
			if p >= 0 && d.line(p) != t.text[i] {
				t.pos[i] = -1
			}
		}
	}
}

// trackersLocked lists the line trackers of stored and running profiles of
// path.
func (s *Server) trackersLocked(path string) []*lineTracker {
	var ts []*lineTracker
	for k, e := range s.runs {
		if k.path == path {
			for _, r := range []*run{e.cur, e.prev} {
				if r != nil {
					ts = append(ts, r.tracker)
				}
			}
		}
	}
	for k, j := range s.jobs {
		if k.path == path {
			ts = append(ts, j.tracker)
		}
	}
	return ts
}

// defaultLogger logs to w at info level.
func defaultLogger(w io.Writer) *slog.Logger {
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: slog.LevelInfo}))
}

// NewLogger opens the server's log: a file when path is set, else stderr.
func NewLogger(path string) (*slog.Logger, func(), error) {
	if path == "" {
		return defaultLogger(os.Stderr), func() {}, nil
	}
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, nil, err
	}
	return defaultLogger(f), func() { f.Close() }, nil
}
