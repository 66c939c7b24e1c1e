package server

import (
	"testing"

	"go.lsp.dev/protocol"
	"go.lsp.dev/uri"
)

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
			tr := trackLines(d, lineRange(0, 4))
			e, err := d.apply(tt.change)
			if err != nil {
				t.Fatal(err)
			}
			tr.update(e, d)
			if got := tr.pos; !equalInts(got, tt.want) {
				t.Errorf("positions %v, want %v (text now %q)", got, tt.want, d.text)
			}
		})
	}
}

func TestLineTrackerSparse(t *testing.T) {
	d := newDocument(uri.File("/x.go"), "/x.go", "zero\none\ntwo\nthree\n", 1)
	tr := trackLines(d, []int{3, 1, 1, 99})
	if _, err := d.apply(partial(0, 0, 0, 0, "new\n")); err != nil {
		t.Fatal(err)
	}
	tr.update(lineEdit{start: 0, end: 0, added: 1, atLineStart: true}, d)
	for _, tt := range []struct {
		line, want int
		ok         bool
	}{{1, 2, true}, {3, 4, true}, {0, 0, false}, {2, 0, false}, {99, 0, false}} {
		if got, ok := tr.current(tt.line); got != tt.want || ok != tt.ok {
			t.Errorf("current(%d) = %d, %v; want %d, %v", tt.line, got, ok, tt.want, tt.ok)
		}
	}
	d.setText("zero\nONE\ntwo\nthree\n")
	tr.verify(d)
	if _, ok := tr.current(1); ok {
		t.Error("a line whose text changed is still tracked after verify")
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
