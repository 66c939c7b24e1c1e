package server

import "sort"

// lineTracker follows some lines of one snapshot of a file through later
// edits, so that results stay on the lines they were measured for: the
// lines of a profiled function, or the lines a build error points at. Only
// those lines are kept, so that an edit costs the size of what is tracked,
// not of the file.
type lineTracker struct {
	lines []int    // the tracked snapshot lines, 0-based, ascending
	pos   []int    // where lines[i] is now, -1 once its text changed or it was deleted
	text  []string // the snapshot's text of lines[i]
}

// trackLines starts tracking the given 0-based lines of snapshot (any order;
// lines past its end are never found).
func trackLines(snapshot *document, lines []int) *lineTracker {
	sorted := append([]int(nil), lines...)
	sort.Ints(sorted)
	t := &lineTracker{}
	for i, n := range sorted {
		if n < 0 || n >= snapshot.lineCount() || (i > 0 && n == sorted[i-1]) {
			continue
		}
		t.lines = append(t.lines, n)
		t.pos = append(t.pos, n)
		t.text = append(t.text, snapshot.line(n))
	}
	return t
}

// lineRange lists the 0-based lines from..to, inclusive.
func lineRange(from, to int) []int {
	out := make([]int, 0, max(to-from+1, 0))
	for n := from; n <= to; n++ {
		out = append(out, n)
	}
	return out
}

// current returns where snapshot line n (0-based) is now.
func (t *lineTracker) current(n int) (int, bool) {
	i := sort.SearchInts(t.lines, n)
	if i == len(t.lines) || t.lines[i] != n || t.pos[i] < 0 {
		return 0, false
	}
	return t.pos[i], true
}

// update moves the tracked lines across one edit of d (already applied):
// lines above stay, lines below shift, lines inside the edited range are
// kept only if their text is still intact where they landed.
func (t *lineTracker) update(e lineEdit, d *document) {
	delta := e.added - (e.end - e.start)
	for i, p := range t.pos {
		switch {
		case p < 0 || p < e.start:
			continue
		case p > e.end:
			t.pos[i] = p + delta
			continue
		case p == e.start && e.atLineStart:
			p += e.added
		case p == e.start:
			// stays
		case p == e.end:
			p = e.start + e.added
		default:
			t.pos[i] = -1
			continue
		}
		if d.line(p) != t.text[i] {
			p = -1
			// A line replaced together with text inserted before it
			// (whole-document sync) may have moved down intact.
			if alt := e.start + e.added; e.start == e.end && t.pos[i] == e.start && alt != e.start && d.line(alt) == t.text[i] {
				p = alt
			}
		}
		t.pos[i] = p
	}
}

// verify drops the tracked lines whose text differs in d, a buffer that may
// not be the text tracked (a file opened after its run, a Python run of the
// saved file while the buffer has edits).
func (t *lineTracker) verify(d *document) {
	for i, p := range t.pos {
		if p >= 0 && d.line(p) != t.text[i] {
			t.pos[i] = -1
		}
	}
}
