package server

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/textproto"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// testClient is a small LSP client with hand-written framing, as an editor
// would be: it sends requests and notifications, answers the server's
// requests (progress create, refreshes) with null, and records everything
// the server sends.
type testClient struct {
	t      testing.TB
	w      io.WriteCloser
	wmu    sync.Mutex
	nextID int64

	mu      sync.Mutex
	cond    *sync.Cond
	pending map[int64]chan message
	events  []message // notifications and server requests, in arrival order
	closed  bool
	// answers gives the result of a server request by method (see
	// answer); requests without one are answered with null.
	answers map[string]func(params json.RawMessage) any
}

// answer makes the client answer the server's requests of method with
// what f returns for their params (an editor's user answering a question);
// an *rpcError is sent as the answer's error.
func (c *testClient) answer(method string, f func(params json.RawMessage) any) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.answers == nil {
		c.answers = map[string]func(json.RawMessage) any{}
	}
	c.answers[method] = f
}

type message struct {
	// received is when the frame was read, before decoding it.
	received time.Time
	// raw is the frame's body as sent.
	raw []byte

	ID     json.RawMessage `json:"id,omitempty"`
	Method string          `json:"method,omitempty"`
	Params json.RawMessage `json:"params,omitempty"`
	Result json.RawMessage `json:"result,omitempty"`
	Error  *rpcError       `json:"error,omitempty"`
}

type rpcError struct {
	Code    int    `json:"code"`
	Message string `json:"message"`
}

func (e *rpcError) Error() string { return fmt.Sprintf("rpc error %d: %s", e.Code, e.Message) }

func newTestClient(t testing.TB, r io.Reader, w io.WriteCloser) *testClient {
	c := &testClient{t: t, w: w, pending: map[int64]chan message{}}
	c.cond = sync.NewCond(&c.mu)
	go c.readLoop(r)
	return c
}

// newInProcessClient serves a Server over a net.Pipe.
func newInProcessClient(t testing.TB) (*testClient, *Server) {
	cs, ss := net.Pipe()
	s := newServer(context.Background(), nil)
	s.start(ss)
	c := newTestClient(t, cs, cs)
	t.Cleanup(func() {
		cs.Close()
		s.stop()
	})
	return c, s
}

func (c *testClient) readLoop(r io.Reader) {
	br := bufio.NewReader(r)
	tp := textproto.NewReader(br)
	defer func() {
		c.mu.Lock()
		c.closed = true
		for id, ch := range c.pending {
			close(ch)
			delete(c.pending, id)
		}
		c.cond.Broadcast()
		c.mu.Unlock()
	}()
	for {
		hdr, err := tp.ReadMIMEHeader()
		if err != nil {
			return
		}
		n, err := strconv.Atoi(hdr.Get("Content-Length"))
		if err != nil {
			return
		}
		body := make([]byte, n)
		if _, err := io.ReadFull(br, body); err != nil {
			return
		}
		m := message{received: time.Now(), raw: body}
		if err := json.Unmarshal(body, &m); err != nil {
			c.t.Errorf("server sent bad JSON: %v: %s", err, body)
			return
		}
		switch {
		case m.Method != "" && len(m.ID) > 0: // a server request
			c.record(m)
			c.mu.Lock()
			f := c.answers[m.Method]
			c.mu.Unlock()
			// Answer from another goroutine: writing here could deadlock
			// against a server that is writing to us.
			go func() {
				var result any
				if f != nil {
					result = f(m.Params)
				}
				if e, ok := result.(*rpcError); ok {
					c.send(map[string]any{"jsonrpc": "2.0", "id": m.ID, "error": e})
					return
				}
				c.send(map[string]any{"jsonrpc": "2.0", "id": m.ID, "result": result})
			}()
		case m.Method != "":
			c.record(m)
		default:
			id, _ := strconv.ParseInt(string(m.ID), 10, 64)
			c.mu.Lock()
			ch := c.pending[id]
			delete(c.pending, id)
			if ch == nil {
				// an answer to a malformed message (id null) or unknown id
				c.events = append(c.events, m)
				c.cond.Broadcast()
			}
			c.mu.Unlock()
			if ch != nil {
				ch <- m
			}
		}
	}
}

func (c *testClient) record(m message) {
	c.mu.Lock()
	c.events = append(c.events, m)
	c.cond.Broadcast()
	c.mu.Unlock()
}

func (c *testClient) send(v any) {
	body, err := json.Marshal(v)
	if err != nil {
		c.t.Fatalf("marshal: %v", err)
	}
	c.sendRaw(body)
}

func (c *testClient) sendRaw(body []byte) {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	fmt.Fprintf(c.w, "Content-Length: %d\r\n\r\n", len(body))
	c.w.Write(body)
}

// call sends a request and waits for its answer.
func (c *testClient) call(method string, params any) (json.RawMessage, error) {
	raw, _, err := c.timedCall(method, params)
	return raw, err
}

// timedCall is call that also returns the time from sending the request to
// reading the answer's frame, the client's decoding left out.
func (c *testClient) timedCall(method string, params any) (json.RawMessage, time.Duration, error) {
	c.mu.Lock()
	c.nextID++
	id := c.nextID
	ch := make(chan message, 1)
	c.pending[id] = ch
	c.mu.Unlock()
	body, err := json.Marshal(map[string]any{"jsonrpc": "2.0", "id": id, "method": method, "params": params})
	if err != nil {
		c.t.Fatalf("marshal: %v", err)
	}
	sent := time.Now()
	c.sendRaw(body)
	select {
	case m, ok := <-ch:
		if !ok {
			return nil, 0, fmt.Errorf("%s: connection closed", method)
		}
		if m.Error != nil {
			return nil, 0, m.Error
		}
		return m.Result, m.received.Sub(sent), nil
	case <-time.After(60 * time.Second):
		return nil, 0, fmt.Errorf("%s: no answer within 60s", method)
	}
}

// mustCall is call that fails the test on error and decodes the result.
func (c *testClient) mustCall(method string, params, result any) {
	c.t.Helper()
	raw, err := c.call(method, params)
	if err != nil {
		c.t.Fatalf("%s: %v", method, err)
	}
	if result != nil {
		if err := json.Unmarshal(raw, result); err != nil {
			c.t.Fatalf("%s: decode %s: %v", method, raw, err)
		}
	}
}

func (c *testClient) notify(method string, params any) {
	c.send(map[string]any{"jsonrpc": "2.0", "method": method, "params": params})
}

// mark is the index of the next event, to wait for events after it.
func (c *testClient) mark() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.events)
}

// waitEvent waits for an event at index >= from that satisfies pred.
func (c *testClient) waitEvent(from int, timeout time.Duration, what string, pred func(message) bool) message {
	c.t.Helper()
	deadline := time.Now().Add(timeout)
	timer := time.AfterFunc(timeout, func() {
		c.mu.Lock()
		c.cond.Broadcast()
		c.mu.Unlock()
	})
	defer timer.Stop()
	c.mu.Lock()
	defer c.mu.Unlock()
	for {
		for i := from; i < len(c.events); i++ {
			if pred(c.events[i]) {
				return c.events[i]
			}
		}
		if c.closed || time.Now().After(deadline) {
			var seen []string
			for _, e := range c.events[from:] {
				seen = append(seen, e.Method+" "+string(e.Params))
			}
			c.t.Fatalf("no %s within %v; events since mark:\n%s", what, timeout, strings.Join(seen, "\n"))
		}
		c.cond.Wait()
	}
}

// eventsSince returns the events at index >= from with the given method.
func (c *testClient) eventsSince(from int, method string) []message {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []message
	for _, e := range c.events[from:] {
		if e.Method == method {
			out = append(out, e)
		}
	}
	return out
}

func isMethod(method string) func(message) bool {
	return func(m message) bool { return m.Method == method }
}

// initialize runs the handshake with full capabilities (or none).
func (c *testClient) initialize(rootDir string, capable bool, options any) map[string]any {
	c.t.Helper()
	return c.initializeFolders([]string{rootDir}, capable, options)
}

// initializeFolders is initialize with several workspace folders; the first
// is also the root.
func (c *testClient) initializeFolders(dirs []string, capable bool, options any) map[string]any {
	c.t.Helper()
	caps := map[string]any{}
	if capable {
		caps = map[string]any{
			"window":    map[string]any{"workDoneProgress": true},
			"workspace": map[string]any{"inlayHint": map[string]any{"refreshSupport": true}, "codeLens": map[string]any{"refreshSupport": true}},
		}
	}
	var folders []any
	for _, dir := range dirs {
		folders = append(folders, map[string]any{"uri": fileURI(dir), "name": filepath.Base(dir)})
	}
	params := map[string]any{
		"processId":        nil,
		"rootUri":          fileURI(dirs[0]),
		"capabilities":     caps,
		"workspaceFolders": folders,
	}
	if options != nil {
		params["initializationOptions"] = options
	}
	var res map[string]any
	c.mustCall("initialize", params, &res)
	c.notify("initialized", map[string]any{})
	return res
}

func fileURI(path string) string { return "file://" + path }

// Request helpers returning decoded results.

type lens struct {
	Range   rng `json:"range"`
	Command struct {
		Title     string            `json:"title"`
		Command   string            `json:"command"`
		Arguments []json.RawMessage `json:"arguments"`
	} `json:"command"`
}

type pos struct {
	Line      int `json:"line"`
	Character int `json:"character"`
}

type rng struct {
	Start pos `json:"start"`
	End   pos `json:"end"`
}

type hint struct {
	Position    pos    `json:"position"`
	Label       string `json:"label"`
	PaddingLeft bool   `json:"paddingLeft"`
	Tooltip     struct {
		Kind  string `json:"kind"`
		Value string `json:"value"`
	} `json:"tooltip"`
}

func (c *testClient) codeLenses(uri string) []lens {
	c.t.Helper()
	var out []lens
	c.mustCall("textDocument/codeLens", map[string]any{"textDocument": map[string]any{"uri": uri}}, &out)
	return out
}

func (c *testClient) inlayHints(uri string, from, to int) []hint {
	c.t.Helper()
	var out []hint
	c.mustCall("textDocument/inlayHint", map[string]any{
		"textDocument": map[string]any{"uri": uri},
		"range":        rng{Start: pos{Line: from}, End: pos{Line: to}},
	}, &out)
	return out
}

// hover returns the hover's markdown, "" for none.
func (c *testClient) hover(uri string, line, char int) string {
	c.t.Helper()
	var out *struct {
		Contents struct {
			Value string `json:"value"`
		} `json:"contents"`
	}
	c.mustCall("textDocument/hover", map[string]any{
		"textDocument": map[string]any{"uri": uri},
		"position":     pos{Line: line, Character: char},
	}, &out)
	if out == nil {
		return ""
	}
	return out.Contents.Value
}

func (c *testClient) didOpen(uri, lang, text string) {
	c.notify("textDocument/didOpen", map[string]any{"textDocument": map[string]any{
		"uri": uri, "languageId": lang, "version": 1, "text": text,
	}})
}

func (c *testClient) didChange(uri string, version int, r rng, text string) {
	c.notify("textDocument/didChange", map[string]any{
		"textDocument":   map[string]any{"uri": uri, "version": version},
		"contentChanges": []any{map[string]any{"range": r, "text": text}},
	})
}

// lensTitles returns the lens titles by 0-based line.
func lensTitles(ls []lens) map[int][]string {
	out := map[int][]string{}
	for _, l := range ls {
		out[l.Range.Start.Line] = append(out[l.Range.Start.Line], l.Command.Title)
	}
	return out
}
