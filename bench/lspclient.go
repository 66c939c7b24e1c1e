package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/url"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"time"
)

// lspClient drives a real `memlens serve` over its stdin and stdout, as an
// editor does: Content-Length framed JSON-RPC, answers to the server's own
// requests (refresh, progress creation, configuration).
type lspClient struct {
	cmd *exec.Cmd
	in  io.WriteCloser

	writeMu sync.Mutex
	mu      sync.Mutex
	nextID  int
	pending map[int]chan rpcMessage
	// events receives every request and notification from the server, by
	// method name, for figures that wait for one (the hint refresh).
	events chan rpcMessage
	done   chan struct{} // closed when the server's output ends
	err    error         // why it ended
}

// rpcMessage is any JSON-RPC 2.0 message.
type rpcMessage struct {
	JSONRPC string           `json:"jsonrpc"`
	ID      *json.RawMessage `json:"id,omitempty"`
	Method  string           `json:"method,omitempty"`
	Params  json.RawMessage  `json:"params,omitempty"`
	Result  json.RawMessage  `json:"result,omitempty"`
	Error   *rpcError        `json:"error,omitempty"`
}

type rpcError struct {
	Code    int    `json:"code"`
	Message string `json:"message"`
}

func (e *rpcError) Error() string { return fmt.Sprintf("%s (code %d)", e.Message, e.Code) }

// startServer starts `memlens serve`, logging to logFile.
func startServer(ctx context.Context, memlens, dir, logFile string) (*lspClient, error) {
	cmd := exec.CommandContext(ctx, memlens, "serve", "-log", logFile)
	cmd.Dir = dir
	cmd.Stderr = os.Stderr
	in, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	c := &lspClient{cmd: cmd, in: in, pending: map[int]chan rpcMessage{}, events: make(chan rpcMessage, 1024), done: make(chan struct{})}
	go c.read(bufio.NewReader(out))
	return c, nil
}

// read dispatches the server's messages until its output ends.
func (c *lspClient) read(r *bufio.Reader) {
	defer close(c.done)
	for {
		body, err := readFrame(r)
		if err != nil {
			c.err = err
			return
		}
		var m rpcMessage
		if err := json.Unmarshal(body, &m); err != nil {
			c.err = fmt.Errorf("bad message from the server: %v: %.200s", err, body)
			return
		}
		switch {
		case m.Method != "" && m.ID != nil: // a request from the server
			c.reply(m)
			c.event(m)
		case m.Method != "": // a notification
			c.event(m)
		case m.ID != nil: // a response
			id, err := strconv.Atoi(string(*m.ID))
			if err != nil {
				continue
			}
			c.mu.Lock()
			ch := c.pending[id]
			delete(c.pending, id)
			c.mu.Unlock()
			if ch != nil {
				ch <- m
			}
		}
	}
}

// event queues a server message for waitFor; when nobody drains the queue
// the oldest messages are of no interest and are dropped.
func (c *lspClient) event(m rpcMessage) {
	select {
	case c.events <- m:
	default:
	}
}

// reply answers a request from the server as a plain editor would.
func (c *lspClient) reply(m rpcMessage) {
	var result any
	if m.Method == "workspace/configuration" {
		var p struct{ Items []json.RawMessage }
		json.Unmarshal(m.Params, &p)
		result = make([]any, len(p.Items))
	}
	c.send(map[string]any{"jsonrpc": "2.0", "id": m.ID, "result": result})
}

func (c *lspClient) send(v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	c.writeMu.Lock()
	defer c.writeMu.Unlock()
	_, err = fmt.Fprintf(c.in, "Content-Length: %d\r\n\r\n%s", len(b), b)
	return err
}

// call sends a request and waits for its answer.
func (c *lspClient) call(ctx context.Context, method string, params any) (json.RawMessage, error) {
	c.mu.Lock()
	c.nextID++
	id := c.nextID
	ch := make(chan rpcMessage, 1)
	c.pending[id] = ch
	c.mu.Unlock()
	if err := c.send(map[string]any{"jsonrpc": "2.0", "id": id, "method": method, "params": params}); err != nil {
		return nil, err
	}
	select {
	case m := <-ch:
		if m.Error != nil {
			return nil, fmt.Errorf("%s: %w", method, m.Error)
		}
		return m.Result, nil
	case <-c.done:
		return nil, fmt.Errorf("%s: server gone: %v", method, c.err)
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

func (c *lspClient) notify(method string, params any) error {
	return c.send(map[string]any{"jsonrpc": "2.0", "method": method, "params": params})
}

// drain forgets the server messages received so far.
func (c *lspClient) drain() {
	for {
		select {
		case <-c.events:
		default:
			return
		}
	}
}

// waitFor waits for a server message with the given method. An error
// message shown by the server (window/showMessage of type Error) ends the
// wait: a profile failed.
func (c *lspClient) waitFor(ctx context.Context, method string, timeout time.Duration) (rpcMessage, error) {
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	for {
		select {
		case m := <-c.events:
			if m.Method == method {
				return m, nil
			}
			if m.Method == "window/showMessage" {
				var p struct {
					Type    int
					Message string
				}
				json.Unmarshal(m.Params, &p)
				if p.Type == 1 {
					return m, fmt.Errorf("server: %s", p.Message)
				}
			}
		case <-deadline.C:
			return rpcMessage{}, fmt.Errorf("no %s within %s", method, timeout)
		case <-c.done:
			return rpcMessage{}, fmt.Errorf("server gone while waiting for %s: %v", method, c.err)
		case <-ctx.Done():
			return rpcMessage{}, ctx.Err()
		}
	}
}

// close shuts the session down as an editor does, then makes sure the
// process is gone.
func (c *lspClient) close(ctx context.Context) {
	sctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if _, err := c.call(sctx, "shutdown", nil); err == nil {
		c.notify("exit", nil)
	}
	c.in.Close()
	exited := make(chan struct{})
	go func() { c.cmd.Wait(); close(exited) }()
	select {
	case <-exited:
	case <-time.After(5 * time.Second):
		c.cmd.Process.Kill()
		<-exited
	}
}

// readFrame reads one Content-Length framed message body.
func readFrame(r *bufio.Reader) ([]byte, error) {
	length := -1
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			return nil, err
		}
		line = strings.TrimRight(line, "\r\n")
		if line == "" {
			break
		}
		if v, ok := strings.CutPrefix(line, "Content-Length:"); ok {
			n, err := strconv.Atoi(strings.TrimSpace(v))
			if err != nil || n < 0 {
				return nil, fmt.Errorf("bad header %q", line)
			}
			length = n
		}
	}
	if length < 0 {
		return nil, fmt.Errorf("message without Content-Length")
	}
	body := make([]byte, length)
	_, err := io.ReadFull(r, body)
	return body, err
}

// initialize opens the session with the capabilities of a modern editor:
// inlay hints and code lenses with refresh, work-done progress.
func (c *lspClient) initialize(ctx context.Context, root string) error {
	rootURI := fileURI(root)
	_, err := c.call(ctx, "initialize", map[string]any{
		"processId": os.Getpid(),
		"rootUri":   rootURI,
		"capabilities": map[string]any{
			"workspace": map[string]any{
				"inlayHint":     map[string]any{"refreshSupport": true},
				"codeLens":      map[string]any{"refreshSupport": true},
				"configuration": true,
			},
			"textDocument": map[string]any{
				"inlayHint": map[string]any{},
				"codeLens":  map[string]any{},
				"hover":     map[string]any{"contentFormat": []string{"markdown", "plaintext"}},
			},
			"window": map[string]any{"workDoneProgress": true},
		},
		"workspaceFolders": []map[string]any{{"uri": rootURI, "name": "bench"}},
	})
	if err != nil {
		return err
	}
	return c.notify("initialized", map[string]any{})
}

func (c *lspClient) didOpen(uri, lang, text string) error {
	return c.notify("textDocument/didOpen", map[string]any{
		"textDocument": map[string]any{"uri": uri, "languageId": lang, "version": 1, "text": text},
	})
}

// profileFunction clicks the "Profile memory" lens of a function and waits
// until the server asks for the hints to be redrawn.
func (c *lspClient) profileFunction(ctx context.Context, uri, fn string) error {
	c.drain()
	if _, err := c.call(ctx, "workspace/executeCommand", map[string]any{
		"command":   "memlens.profile",
		"arguments": []any{map[string]any{"uri": uri, "function": fn}},
	}); err != nil {
		return err
	}
	_, err := c.waitFor(ctx, "workspace/inlayHint/refresh", 2*time.Minute)
	return err
}

// fileURI is the file:// URI of an absolute path.
func fileURI(path string) string { return (&url.URL{Scheme: "file", Path: path}).String() }
