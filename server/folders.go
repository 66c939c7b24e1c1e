package server

import (
	"context"
	"path/filepath"
	"strings"

	"go.lsp.dev/protocol"
)

// DidChangeWorkspaceFolders keeps the folder list: a Go run overlays the
// buffers of its own folder only, and a Python run starts in its folder.
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
