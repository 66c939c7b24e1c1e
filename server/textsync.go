package server

import (
	"context"
	"fmt"
	"path/filepath"

	"go.lsp.dev/protocol"
	"go.lsp.dev/uri"
)

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

// openPaths lists the open documents.
func (s *Server) openPaths() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	paths := make([]string, 0, len(s.docs))
	for p := range s.docs {
		paths = append(paths, p)
	}
	return paths
}

// DidOpen, DidChange and DidClose keep the buffers, which Go runs build
// (unsaved edits included), and move the lines of stored results with the
// edits.

func (s *Server) DidOpen(ctx context.Context, params *protocol.DidOpenTextDocumentParams) error {
	path, err := pathOf(params.TextDocument.URI)
	if err != nil {
		return err
	}
	s.mu.Lock()
	d := newDocument(params.TextDocument.URI, path, params.TextDocument.Text, params.TextDocument.Version)
	s.docs[path] = d
	// The buffer may differ from the file the stored lines were tracked on.
	for _, t := range s.trackersLocked(path) {
		t.verify(d)
	}
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

// trackersLocked lists the line trackers of stored and running profiles
// that follow lines of path.
func (s *Server) trackersLocked(path string) []*lineTracker {
	var ts []*lineTracker
	for k, e := range s.runs {
		for _, r := range []*run{e.cur, e.prev} {
			if r == nil {
				continue
			}
			if k.path == path {
				ts = append(ts, r.tracker)
			}
			if t := r.errorLines[path]; t != nil {
				ts = append(ts, t)
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
