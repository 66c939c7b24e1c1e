package server

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"unicode/utf16"
	"unicode/utf8"

	"go.lsp.dev/protocol"
	"go.lsp.dev/uri"
)

// document is an open editor buffer. Positions are LSP positions: 0-based
// lines, characters in UTF-16 code units.
type document struct {
	uri     uri.URI
	path    string
	lang    string // "go", "python" or ""
	version int32
	text    string
	lines   []int          // byte offset of the start of each line
	funcs   []function     // cache of findFunctions(lang, text); nil when stale
	byName  map[string]int // index into funcs by name
	lenses  *lensCache     // the last code lens answer; nil when stale
	chunks  goChunks       // Go: the functions of the text's chunks, kept across edits
}

// function returns the function called name.
func (d *document) function(name string) (function, bool) {
	d.functions()
	i, ok := d.byName[name]
	if !ok {
		return function{}, false
	}
	return d.funcs[i], true
}

// functions lists the document's functions, parsed once per version.
func (d *document) functions() []function {
	if d.funcs == nil {
		if d.lang == "go" {
			d.funcs, d.chunks = findGoFunctionsCached(d.text, d.chunks)
		} else {
			d.funcs = findFunctions(d.lang, d.text)
		}
		if d.funcs == nil {
			d.funcs = []function{}
		}
		d.byName = make(map[string]int, len(d.funcs))
		for i, f := range d.funcs {
			if _, dup := d.byName[f.Name]; !dup {
				d.byName[f.Name] = i
			}
		}
	}
	return d.funcs
}

// textOf is the source of f's lines, to tell whether f changed.
func (d *document) textOf(f function) string {
	if f.StartLine < 1 || f.EndLine > len(d.lines) || f.StartLine > f.EndLine {
		return ""
	}
	end := len(d.text)
	if f.EndLine < len(d.lines) {
		end = d.lines[f.EndLine]
	}
	return strings.TrimRight(d.text[d.lines[f.StartLine-1]:end], "\r\n")
}

func newDocument(u uri.URI, path, text string, version int32) *document {
	d := &document{uri: u, path: path, lang: languageOf(path), version: version}
	d.setText(text)
	return d
}

func languageOf(path string) string {
	switch filepath.Ext(path) {
	case ".go":
		return "go"
	case ".py", ".pyw":
		return "python"
	}
	return ""
}

func (d *document) setText(text string) {
	d.text = text
	d.funcs = nil
	d.lenses = nil
	d.lines = lineStarts(text)
}

func lineStarts(text string) []int {
	starts := make([]int, 1, strings.Count(text, "\n")+1)
	for i := 0; i < len(text); i++ {
		if text[i] == '\n' {
			starts = append(starts, i+1)
		}
	}
	return starts
}

// lineCount is the number of lines (a final line without newline counts).
func (d *document) lineCount() int { return len(d.lines) }

// line returns the text of 0-based line n without its line ending.
func (d *document) line(n int) string {
	if n < 0 || n >= len(d.lines) {
		return ""
	}
	end := len(d.text)
	if n+1 < len(d.lines) {
		end = d.lines[n+1]
	}
	return strings.TrimRight(d.text[d.lines[n]:end], "\r\n")
}

// offset converts an LSP position to a byte offset, clamping positions past
// the end of a line or of the document (clients do send them).
func (d *document) offset(p protocol.Position) int {
	n := int(p.Line)
	if n >= len(d.lines) {
		return len(d.text)
	}
	start := d.lines[n]
	lineText := d.line(n)
	return start + utf16ToByte(lineText, int(p.Character))
}

// utf16ToByte returns the byte offset in s of UTF-16 column col (clamped).
func utf16ToByte(s string, col int) int {
	units := 0
	for i, r := range s {
		if units >= col {
			return i
		}
		if r >= 0x10000 {
			units += 2
		} else {
			units++
		}
	}
	return len(s)
}

// utf16Len is the length of s in UTF-16 code units.
func utf16Len(s string) int {
	n := 0
	for len(s) > 0 {
		r, size := utf8.DecodeRuneInString(s)
		s = s[size:]
		n += len(utf16.Encode([]rune{r}))
	}
	return n
}

// lineEnd is the position at the end of 0-based line n.
func (d *document) lineEnd(n int) protocol.Position {
	return protocol.Position{Line: uint32(n), Character: uint32(utf16Len(d.line(n)))}
}

// lineEdit describes how one change moved lines: old lines [start, end] were
// replaced by text holding `added` newlines.
type lineEdit struct {
	start, end  int  // 0-based lines of the replaced range
	added       int  // newlines in the inserted text
	atLineStart bool // an insertion (empty range) at column 0
}

// apply applies one content change and reports the line edit it made.
func (d *document) apply(change protocol.TextDocumentContentChangeEvent) (lineEdit, error) {
	switch c := change.(type) {
	case *protocol.TextDocumentContentChangePartial:
		r := c.Range
		if r.End.Line < r.Start.Line || (r.End.Line == r.Start.Line && r.End.Character < r.Start.Character) {
			return lineEdit{}, fmt.Errorf("change range %d:%d-%d:%d is reversed", r.Start.Line, r.Start.Character, r.End.Line, r.End.Character)
		}
		from, to := d.offset(r.Start), d.offset(r.End)
		last := d.lineCount() - 1
		e := lineEdit{
			start:       min(int(r.Start.Line), last),
			end:         min(int(r.End.Line), last),
			added:       strings.Count(c.Text, "\n"),
			atLineStart: r.Start == r.End && r.Start.Character == 0,
		}
		d.setText(d.text[:from] + c.Text + d.text[to:])
		return e, nil
	case *protocol.TextDocumentContentChangeWholeDocument:
		// Describe the new text as one edit between the lines the two
		// versions share at the start and at the end.
		oldLines := strings.Split(d.text, "\n")
		newLines := strings.Split(c.Text, "\n")
		short := min(len(oldLines), len(newLines)) - 1
		prefix := 0
		for prefix < short && oldLines[prefix] == newLines[prefix] {
			prefix++
		}
		suffix := 0
		for prefix+suffix < short && oldLines[len(oldLines)-1-suffix] == newLines[len(newLines)-1-suffix] {
			suffix++
		}
		d.setText(c.Text)
		return lineEdit{start: prefix, end: len(oldLines) - 1 - suffix, added: len(newLines) - 1 - suffix - prefix}, nil
	}
	return lineEdit{}, fmt.Errorf("unknown content change %T", change)
}

// readDocument loads a file that is not open in the editor.
func readDocument(path string) (*document, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	return newDocument(uri.File(path), path, string(b), 0), nil
}

// relativeTo returns path relative to dir with forward slashes, or path.
func relativeTo(dir, path string) string {
	rel, err := filepath.Rel(dir, path)
	if err != nil || strings.HasPrefix(rel, "..") {
		return filepath.ToSlash(path)
	}
	return filepath.ToSlash(rel)
}
