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

func TestLineTracker(t *testing.T) {
	const src = "zero\none\ntwo\nthree\nfour\n"
	tests := []struct {
		name   string
		change protocol.TextDocumentContentChangeEvent
		want   []int // current line of snapshot lines 0..4
	}{
		{"insert two lines above", partial(1, 0, 1, 0, "new\nnew\n"), []int{0, 3, 4, 5, 6}},
		{"edit inside a line", partial(2, 1, 2, 2, "W"), []int{0, 1, -1, 3, 4}},
		{"append at the end of a line", partial(2, 3, 2, 3, " // note"), []int{0, 1, -1, 3, 4}},
		{"split after the end of a line", partial(2, 3, 2, 3, "\nmore"), []int{0, 1, 2, 4, 5}},
		{"delete whole lines", partial(1, 0, 3, 0, ""), []int{0, -1, -1, 1, 2}},
		{"join two lines", partial(1, 3, 2, 0, ""), []int{0, -1, -1, 2, 3}},
		{"whole document", &protocol.TextDocumentContentChangeWholeDocument{Text: "zero\none\n"}, []int{0, 1, -1, -1, -1}},
		{"whole document, a line inserted", &protocol.TextDocumentContentChangeWholeDocument{Text: "zero\nnew\none\ntwo\nthree\nfour\n"}, []int{0, 2, 3, 4, 5}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := newDocument(uri.File("/x.go"), "/x.go", src, 1)
			tr := newLineTracker(src)
			e, err := d.apply(tt.change)
			if err != nil {
				t.Fatal(err)
			}
			tr.update(e, d)
			if got := tr.pos[:5]; !equalInts(got, tt.want) {
				t.Errorf("positions %v, want %v (text now %q)", got, tt.want, d.text)
			}
		})
	}
}

func equalInts(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
