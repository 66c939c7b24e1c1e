package escape

import (
	"bytes"
	"sort"
	"strconv"
	"strings"
)

// Map takes the compiler's physical positions back to the user's files.
// The zero Map maps every position to itself.
type Map struct {
	files map[string][]segment
}

// segment says that physical line phys of a compiled file is line orig of
// the user's, and that its first byte is at column col (later lines keep
// their columns), as a //line directive on the line before says.
type segment struct{ phys, orig, col int }

// NewMap returns the map for the files the compiler got through the
// overlay: compiled maps each user's path to the bytes compiled for it.
// Only directives naming the file itself are followed — those the
// instrumenter inserts after each probe, on a line of their own — so a
// generated file's own directives (to a .y or .tmpl file) are not.
// A file without such directives (an editor buffer) maps to itself.
func NewMap(compiled map[string][]byte) *Map {
	m := &Map{files: map[string][]segment{}}
	for path, src := range compiled {
		var segs []segment
		phys := 0
		for line := range bytes.Lines(src) {
			phys++
			rest, ok := bytes.CutPrefix(line, []byte("//line "))
			if !ok {
				continue
			}
			if orig, col, ok := directive(strings.TrimRight(string(rest), "\r\n"), path); ok {
				segs = append(segs, segment{phys + 1, orig, col})
			}
		}
		if len(segs) > 0 {
			m.files[path] = segs
		}
	}
	return m
}

// directive parses "PATH:LINE:COL" or "PATH:LINE" naming path.
func directive(s, path string) (line, col int, ok bool) {
	rest, ok := strings.CutPrefix(s, path+":")
	if !ok {
		return 0, 0, false
	}
	l, c, hasCol := strings.Cut(rest, ":")
	line, err := strconv.Atoi(l)
	if err != nil || line < 1 {
		return 0, 0, false
	}
	col = 1
	if hasCol {
		if col, err = strconv.Atoi(c); err != nil || col < 1 {
			return 0, 0, false
		}
	}
	return line, col, true
}

// Pos returns the user's position for a physical position of a compiled
// file.
func (m *Map) Pos(p Pos) Pos {
	if m == nil {
		return p
	}
	segs := m.files[p.File]
	i := sort.Search(len(segs), func(i int) bool { return segs[i].phys > p.Line }) - 1
	if i < 0 {
		return p
	}
	s := segs[i]
	q := Pos{File: p.File, Line: s.orig + p.Line - s.phys, Column: p.Column}
	if p.Line == s.phys && p.Column > 0 {
		q.Column = s.col + p.Column - 1
	}
	return q
}
