package server

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"runtime/debug"

	"go.lsp.dev/jsonrpc2"
	"go.lsp.dev/protocol"
)

// This file hardens the jsonrpc2 connection. Measured in rpc_test.go, the
// library as shipped:
//   - ends the read loop (and so the session) on a frame that is not JSON or
//     not a JSON-RPC message, and on a malformed header;
//   - fails the connection when a notification handler returns an error, which
//     the typed dispatcher does for any notification whose params do not decode;
//   - fails the connection when a handler panics;
//   - runs every request and notification concurrently under
//     protocol.Handlers, so didChange events could be applied out of order.
// lenientStream and Server.handler fix all four.

// lenientStream wraps an LSP header stream so that a bad frame is answered
// with an error response and skipped instead of ending the session. It
// implements the library's frame interface (ReadFrame/WriteFrame), so the
// connection still takes its fast path.
type lenientStream struct {
	inner jsonrpc2.Stream
	frame interface {
		ReadFrame(ctx context.Context) ([]byte, int64, error)
		WriteFrame(ctx context.Context, data []byte) (int64, error)
	}
	log *slog.Logger
}

func newLenientStream(rwc io.ReadWriteCloser, log *slog.Logger) *lenientStream {
	inner := jsonrpc2.NewHeaderStream(rwc)
	s := &lenientStream{inner: inner, log: log}
	s.frame = inner.(interface {
		ReadFrame(ctx context.Context) ([]byte, int64, error)
		WriteFrame(ctx context.Context, data []byte) (int64, error)
	})
	return s
}

// ReadFrame returns the next well-formed JSON-RPC message. Malformed frames
// are answered (id null, as JSON-RPC prescribes when the id is unknown) and
// dropped; only the end of the input or a broken transport ends the loop.
func (s *lenientStream) ReadFrame(ctx context.Context) ([]byte, int64, error) {
	for {
		frame, n, err := s.frame.ReadFrame(ctx)
		if errors.Is(err, jsonrpc2.ErrInvalidHeader) {
			// The bad header block has been consumed up to its blank line;
			// the next frame starts after it.
			s.reject(ctx, jsonrpc2.ParseError, "invalid message header")
			continue
		}
		if err != nil {
			return nil, 0, err
		}
		if i := firstNonSpace(frame); i < len(frame) && frame[i] == '[' {
			s.reject(ctx, jsonrpc2.InvalidRequest, "batch requests are not part of LSP")
			continue
		}
		if _, err := jsonrpc2.DecodeMessage(frame); err != nil {
			code := jsonrpc2.InvalidRequest
			if errors.Is(err, jsonrpc2.ErrParse) {
				code = jsonrpc2.ParseError
			}
			s.reject(ctx, code, fmt.Sprintf("malformed message: %v", err))
			continue
		}
		return frame, n, nil
	}
}

func (s *lenientStream) reject(ctx context.Context, code jsonrpc2.Code, msg string) {
	s.log.Warn("rejected message", "error", msg)
	_, _ = s.inner.Write(ctx, jsonrpc2.NewResponse(jsonrpc2.ID{}, nil, jsonrpc2.NewError(code, msg)))
}

func (s *lenientStream) WriteFrame(ctx context.Context, data []byte) (int64, error) {
	return s.frame.WriteFrame(ctx, data)
}

func (s *lenientStream) Read(ctx context.Context) (jsonrpc2.Message, int64, error) {
	frame, n, err := s.ReadFrame(ctx)
	if err != nil {
		return nil, 0, err
	}
	msg, err := jsonrpc2.DecodeMessage(frame)
	return msg, n, err
}

func (s *lenientStream) Write(ctx context.Context, msg jsonrpc2.Message) (int64, error) {
	return s.inner.Write(ctx, msg)
}

func (s *lenientStream) Close() error { return s.inner.Close() }

func firstNonSpace(b []byte) int {
	i := 0
	for i < len(b) && (b[i] == ' ' || b[i] == '\t' || b[i] == '\r' || b[i] == '\n') {
		i++
	}
	return i
}

// lspCodec marshals payloads with the protocol package's union-aware codec
// (the library's own codec type is unexported).
type lspCodec struct{}

func (lspCodec) Marshal(v any) ([]byte, error) {
	switch m := v.(type) {
	case jsonrpc2.RawMessage:
		if m == nil {
			return []byte("null"), nil
		}
		return m, nil
	case nil:
		return []byte("null"), nil
	}
	return protocol.Marshal(v)
}

func (lspCodec) Unmarshal(data []byte, v any) error {
	if p, ok := v.(*jsonrpc2.RawMessage); ok {
		*p = append(jsonrpc2.RawMessage(nil), data...)
		return nil
	}
	return protocol.Unmarshal(data, v)
}

// handler routes messages to the typed Server methods with these rules:
// notifications run inline on the read loop, in wire order (text sync
// depends on it, and they are quick); requests are released to run
// concurrently once every earlier message has been applied; a panic or a
// decoding error answers the one request with an error and never ends the
// session.
func (s *Server) handler() jsonrpc2.Handler {
	dispatch := protocol.ServerHandler(s, jsonrpc2.MethodNotFoundHandler)
	inner := func(ctx context.Context, req *jsonrpc2.Request) (any, error) {
		if req.IsCall() {
			jsonrpc2.Async(ctx)
		}
		if req.Method() == protocol.MethodTextDocumentCodeLens {
			return s.codeLensResponse(req.Params()) // answered pre-encoded
		}
		if req.Params() == nil && !lspMethods[req.Method()] {
			// The library decodes the params of a method it does not know
			// before calling Request, and fails on absent ones (which
			// JSON-RPC allows): answer "method not found", not "invalid
			// params".
			return s.Request(ctx, req.Method(), nil)
		}
		return dispatch(ctx, req)
	}
	withCancel := protocol.CancelHandler(inner)
	return func(ctx context.Context, req *jsonrpc2.Request) (result any, err error) {
		method := req.Method()
		call := req.IsCall()
		defer func() {
			if r := recover(); r != nil {
				s.log.Error("handler panicked", "method", method, "panic", r, "stack", string(debug.Stack()))
				result, err = nil, jsonrpc2.Errorf(jsonrpc2.InternalError, "memlens: internal error in %s: %v", method, r)
			}
			if !call && err != nil {
				s.log.Warn("notification failed", "method", method, "error", err)
				result, err = nil, nil
			}
		}()
		if call && !s.initialized() && method != protocol.MethodInitialize && method != protocol.MethodShutdown {
			return nil, jsonrpc2.NewError(jsonrpc2.ServerNotInitialized, "server not initialized")
		}
		result, err = withCancel(ctx, req)
		if err != nil && errors.Is(err, jsonrpc2.ErrParse) {
			err = jsonrpc2.Errorf(jsonrpc2.InvalidParams, "invalid params for %s: %v", method, err)
		}
		return result, err
	}
}

// lspMethods is the set of LSP methods a client may send, which the
// library dispatches itself.
var lspMethods = func() map[string]bool {
	m := map[string]bool{}
	for _, mi := range protocol.Methods {
		if mi.Direction != protocol.DirectionServerToClient {
			m[mi.Method] = true
		}
	}
	return m
}()

// Request answers methods outside the LSP surface.
func (s *Server) Request(ctx context.Context, method string, params any) (any, error) {
	return nil, jsonrpc2.Errorf(jsonrpc2.MethodNotFound, "method not found: %s", method)
}
