package server

import (
	"context"
	"encoding/json"
	"net"
	"strings"
	"testing"
	"time"

	"go.lsp.dev/jsonrpc2"
	"go.lsp.dev/protocol"
)

// TestLibraryEndsSessionOnBadInput records why rpc.go wraps the library:
// served as documented, a connection dies on a malformed frame and on a
// notification whose params do not decode.
func TestLibraryEndsSessionOnBadInput(t *testing.T) {
	for name, frame := range map[string]string{
		"malformed JSON":       "{\"jsonrpc\":",
		"notification, params": `{"jsonrpc":"2.0","method":"textDocument/didOpen","params":42}`,
	} {
		t.Run(name, func(t *testing.T) {
			cs, ss := net.Pipe()
			defer cs.Close()
			_, conn, _ := protocol.NewServer(context.Background(), protocol.UnimplementedServer{}, jsonrpc2.NewStream(ss))
			go func() { // drain whatever the server answers
				buf := make([]byte, 4096)
				for {
					if _, err := cs.Read(buf); err != nil {
						return
					}
				}
			}()
			writeFrame(cs, frame)
			select {
			case <-conn.Done():
			case <-time.After(5 * time.Second):
				t.Fatal("the library kept the session: the wrapper in rpc.go may be unnecessary now")
			}
		})
	}
}

func writeFrame(c net.Conn, body string) {
	c.Write([]byte("Content-Length: " + itoa(len(body)) + "\r\n\r\n" + body))
}

func itoa(n int) string {
	var b strings.Builder
	if n == 0 {
		return "0"
	}
	var digits []byte
	for ; n > 0; n /= 10 {
		digits = append([]byte{byte('0' + n%10)}, digits...)
	}
	b.Write(digits)
	return b.String()
}

// FuzzServerMessages throws arbitrary message bodies (and bad headers) at
// the server: every one is answered or ignored, and a valid request after
// the garbage still gets its answer.
func FuzzServerMessages(f *testing.F) {
	seeds := []string{
		`{"jsonrpc":`,
		`[]`,
		`[{"jsonrpc":"2.0","id":1,"method":"shutdown"}]`,
		`{"jsonrpc":"2.0","id":1}`,
		`{"jsonrpc":"1.0","id":1,"method":"initialize"}`,
		`{"jsonrpc":"2.0","id":{"a":1},"method":"textDocument/hover","params":{}}`,
		`{"jsonrpc":"2.0","id":5,"method":"textDocument/hover","params":{"textDocument":{"uri":"file:///x.go"},"position":{"line":-1,"character":"a"}}}`,
		`{"jsonrpc":"2.0","method":"textDocument/didChange","params":{"textDocument":{"uri":"file:///x.go","version":2},"contentChanges":[{"range":{"start":{"line":5,"character":0},"end":{"line":0,"character":0}},"text":"x"}]}}`,
		`{"jsonrpc":"2.0","method":"textDocument/didOpen","params":{"textDocument":{"uri":"http://x","languageId":"go","version":1,"text":"package x\nfunc F(){}\n"}}}`,
		`{"jsonrpc":"2.0","id":6,"method":"workspace/executeCommand","params":{"command":"memlens.profileAtCursor","arguments":[{"uri":"file:///x.py","position":{"line":99,"character":0}}]}}`,
		`{"jsonrpc":"2.0","id":7,"method":"workspace/executeCommand","params":{"command":"memlens.clear","arguments":[null]}}`,
		`{"jsonrpc":"2.0","method":"workspace/didChangeConfiguration","params":{"settings":{"memlens":{"timeout":"soon","hints":["nope"]}}}}`,
		`{"jsonrpc":"2.0","method":"$/cancelRequest","params":{"id":true}}`,
		`{"jsonrpc":"2.0","method":"window/workDoneProgress/cancel","params":{"token":null}}`,
		`{"jsonrpc":"2.0","id":8,"method":"textDocument/codeLens","params":{"textDocument":{"uri":"file:///dev/null"}}}`,
		"\x00\xff\xfe",
		`{"jsonrpc":"2.0","id":9,"method":"initialize","params":{"capabilities":{}}}`,
		`{"jsonrpc":"2.0","id":10,"method":"exit"}`,
	}
	for _, s := range seeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, body string) {
		c, _ := newInProcessClient(t)
		c.initialize("/tmp", true, nil)
		mark := c.mark()
		if body != "" {
			c.sendRaw([]byte(body))
		}
		// A header the framer rejects, then a good request.
		c.wmu.Lock()
		c.w.Write([]byte("Content-Length: x\r\n\r\n"))
		c.wmu.Unlock()
		c.mustCall("textDocument/codeLens", map[string]any{"textDocument": map[string]any{"uri": "file:///no/such/file.go"}}, nil)
		// The answers that came before it, in order: an answer to a message
		// whose id is unknown has id null and a parse error (-32700) or an
		// invalid request (-32600); the bad header got a parse error.
		header := false
		for _, m := range c.eventsSince(mark, "") {
			var resp map[string]json.RawMessage
			if err := json.Unmarshal(m.raw, &resp); err != nil || string(resp["jsonrpc"]) != `"2.0"` {
				t.Errorf("answer %s is not JSON-RPC 2.0", m.raw)
				continue
			}
			if id, ok := resp["id"]; !ok {
				t.Errorf("answer without an id: %s", m.raw)
			} else if string(id) == "null" {
				if m.Error == nil || (m.Error.Code != -32700 && m.Error.Code != -32600) {
					t.Errorf("answer with id null that is no parse or request error: %s", m.raw)
				}
				if m.Error != nil && m.Error.Code == -32700 && m.Error.Message == "invalid message header" {
					header = true
				}
			}
		}
		if !header {
			t.Errorf("no parse error answered the bad header")
		}
	})
}
