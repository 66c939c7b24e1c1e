package server

import (
	"strings"
	"testing"

	"go.lsp.dev/protocol"
	"go.lsp.dev/uri"
)

func partial(l1, c1, l2, c2 int, text string) protocol.TextDocumentContentChangeEvent {
	return &protocol.TextDocumentContentChangePartial{
		Range: protocol.Range{
			Start: protocol.Position{Line: uint32(l1), Character: uint32(c1)},
			End:   protocol.Position{Line: uint32(l2), Character: uint32(c2)},
		},
		Text: text,
	}
}

func TestDocumentApplyUTF16(t *testing.T) {
	d := newDocument(uri.File("/x.go"), "/x.go", "a𝄞b\nline two\n", 1)
	// 𝄞 is two UTF-16 units: column 3 is just before b.
	if _, err := d.apply(partial(0, 3, 0, 4, "c")); err != nil {
		t.Fatal(err)
	}
	if d.line(0) != "a𝄞c" {
		t.Errorf("line 0 = %q", d.line(0))
	}
	if end := d.lineEnd(0); end.Character != 4 {
		t.Errorf("end of line 0 at %d, want 4 UTF-16 units", end.Character)
	}
	// Out-of-range positions clamp instead of failing.
	if _, err := d.apply(partial(9, 99, 12, 0, "!")); err != nil {
		t.Fatal(err)
	}
	if !strings.HasSuffix(d.text, "!") {
		t.Errorf("text = %q", d.text)
	}
	if _, err := d.apply(partial(1, 3, 0, 0, "x")); err == nil {
		t.Error("a reversed range was accepted")
	}
}
