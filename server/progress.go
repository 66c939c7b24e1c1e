package server

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"go.lsp.dev/protocol"

	"github.com/memlens/memlens/runner"
)

// progressInterval is how often a running profile reports its elapsed time.
const progressInterval = 500 * time.Millisecond

// progress reports one profile's work to the client: through $/progress
// when the client supports it, else through window/showMessage.
type progress struct {
	s     *Server
	j     *job
	token protocol.ProgressToken // nil: showMessage fallback
}

// beginProgress starts reporting on j. The token is the request's
// workDoneToken if the client sent one, else one the server creates.
func (s *Server) beginProgress(j *job, token protocol.ProgressToken) *progress {
	s.mu.Lock()
	supported := s.caps.progress
	if token == nil && supported {
		s.nextToken++
		token = protocol.String(fmt.Sprintf("memlens-%d", s.nextToken))
		s.mu.Unlock()
		if err := s.client.WorkDoneProgressCreate(s.ctx, &protocol.WorkDoneProgressCreateParams{Token: token}); err != nil {
			s.log.Warn("workDoneProgress/create failed", "error", err)
			token = nil
		}
		s.mu.Lock()
	}
	p := &progress{s: s, j: j, token: token}
	if token != nil {
		s.tokens[tokenKey(token)] = j
	}
	s.mu.Unlock()

	title := "Profiling " + j.key.name
	if token == nil {
		s.showMessage(protocol.MessageTypeInfo, "memlens: "+title+j.note+"…")
		return p
	}
	yes := true
	msg := "building" + j.note
	p.send(&protocol.WorkDoneProgressBegin{Kind: "begin", Title: title, Cancellable: &yes, Message: &msg})
	return p
}

// tick reports the stage and elapsed time until done is closed.
func (p *progress) tick(done <-chan struct{}) {
	if p.token == nil {
		return
	}
	t := time.NewTicker(progressInterval)
	defer t.Stop()
	for {
		select {
		case <-done:
			return
		case <-t.C:
			stage, _ := p.j.stage.Load().(runner.Stage)
			if stage == "" {
				stage = runner.StageRunning
			}
			msg := fmt.Sprintf("%s %s, %.1f s%s", stage, p.j.key.name, time.Since(p.j.started).Seconds(), p.j.note)
			p.send(&protocol.WorkDoneProgressReport{Kind: "report", Message: &msg})
		}
	}
}

// end closes the report with a final message ("done", "failed: …").
func (p *progress) end(msg string) {
	p.s.mu.Lock()
	if p.token != nil {
		delete(p.s.tokens, tokenKey(p.token))
	}
	p.s.mu.Unlock()
	if p.token == nil {
		if msg != "done" {
			return // failures get their own error message
		}
		p.s.showMessage(protocol.MessageTypeInfo, fmt.Sprintf("memlens: profiled %s", p.j.key.name))
		return
	}
	p.send(&protocol.WorkDoneProgressEnd{Kind: "end", Message: &msg})
}

func (p *progress) send(value any) {
	raw, err := json.Marshal(value)
	if err != nil {
		return
	}
	if err := p.s.client.Progress(p.s.ctx, &protocol.ProgressParams{Token: p.token, Value: raw}); err != nil {
		p.s.log.Warn("$/progress failed", "error", err)
	}
}

func tokenKey(t protocol.ProgressToken) string {
	switch t := t.(type) {
	case protocol.String:
		return "s:" + string(t)
	case protocol.Integer:
		return fmt.Sprintf("i:%d", t)
	}
	return ""
}

// WorkDoneProgressCancel cancels the profile reporting under the token.
func (s *Server) WorkDoneProgressCancel(ctx context.Context, params *protocol.WorkDoneProgressCancelParams) error {
	s.mu.Lock()
	j, ok := s.tokens[tokenKey(params.Token)]
	s.mu.Unlock()
	if ok {
		s.log.Info("profile canceled by the client", "function", j.key.name)
		j.cancel()
	}
	return nil
}
