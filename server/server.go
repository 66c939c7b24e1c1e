package server

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"sync"

	"go.lsp.dev/jsonrpc2"
	"go.lsp.dev/protocol"

	"github.com/memlens/memlens/runner"
)

// Server is one LSP session.
type Server struct {
	protocol.UnimplementedServer

	log    *slog.Logger
	client protocol.Client
	conn   jsonrpc2.Conn
	ctx    context.Context // the session's lifetime; profiles run under it
	stop   context.CancelFunc

	mu       sync.Mutex
	initDone bool
	shutdown bool
	caps     clientCaps
	folders  []string
	settings Settings
	docs     map[string]*document // open documents by file path
	runs     map[runKey]*runEntry // stored profiles
	jobs     map[runKey]*job      // profiles in progress
	// entryChoices are the entries the user picked for functions (see
	// askEntry), kept for the session.
	entryChoices map[runKey]runner.EntryOption
	tokens       map[string]*job // by progress token
	nextToken    int
	lastRun      uint64          // the id of the latest stored run
	diagnosed    map[string]bool // files that have diagnostics published
	// generation counts changes of runs and jobs, to know when a cached
	// code lens list is out of date.
	generation  uint64
	exitCalled  bool
	exitHandled chan struct{}
}

type clientCaps struct {
	progress        bool
	inlayRefresh    bool
	codeLensRefresh bool
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
		log:          log,
		ctx:          ctx,
		stop:         stop,
		settings:     defaultSettings(),
		docs:         map[string]*document{},
		runs:         map[runKey]*runEntry{},
		jobs:         map[runKey]*job{},
		entryChoices: map[runKey]runner.EntryOption{},
		tokens:       map[string]*job{},
		diagnosed:    map[string]bool{},
		exitHandled:  make(chan struct{}),
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
	cmdShowProfile     = "memlens.showProfile"
	cmdTimeline        = "memlens.timeline"
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
			s.caps.codeLensRefresh = *w.CodeLens.RefreshSupport
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
			// Folders decide what a Go run overlays and where Python runs.
			Workspace: &protocol.WorkspaceOptions{WorkspaceFolders: &protocol.WorkspaceFoldersServerCapabilities{
				Supported: &yes, ChangeNotifications: protocol.Boolean(true),
			}},
			ExecuteCommandProvider: protocol.ExecuteCommandOptions{
				Commands: []string{cmdProfile, cmdReprofile, cmdProfileAtCursor, cmdClear, cmdShowProfile, cmdTimeline},
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
	s.refreshCodeLenses(ctx)
}

// refreshCodeLenses asks the client to redraw the lenses, where it can.
func (s *Server) refreshCodeLenses(ctx context.Context) {
	s.mu.Lock()
	supported := s.caps.codeLensRefresh
	s.mu.Unlock()
	if !supported {
		return
	}
	if err := s.client.CodeLensRefresh(ctx); err != nil {
		s.log.Warn("codeLens/refresh failed", "error", err)
	}
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
