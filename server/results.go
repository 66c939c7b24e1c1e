package server

import (
	"path/filepath"
	"time"

	"github.com/memlens/memlens/profile"
)

// runKey names a profiled function: the file it lives in and its name.
type runKey struct {
	path string
	name string
}

// run is one finished profile of one function, as the editor shows it.
type run struct {
	// id numbers the runs of a session in the order they were stored.
	id     uint64
	key    runKey
	result *profile.Result
	// fn is the function's profile in result; nil when the run measured
	// nothing for it (a build failure).
	fn *profile.Function
	// tracker maps the function's lines in the file the run saw to the
	// lines of the buffer now.
	tracker *lineTracker
	// errorLines does the same for the lines of result.Errors, by file;
	// errors in a file missing here are shown where reported.
	errorLines map[string]*lineTracker
	// funcText is the function's source as run, to show the lens as stale
	// once it changes.
	funcText string
	finished time.Time
	// shares are the percentages of the function's heaviest lines, shown
	// in their hints ("▲ 41%").
	shares lineShares
}

// errorFiles lists the files that r's errors point at.
func (r *run) errorFiles() []string {
	var out []string
	for _, e := range r.result.Errors {
		if e.File != "" {
			out = append(out, filepath.Clean(e.File))
		}
	}
	return out
}

// runEntry keeps the latest run of a function and the one before, for the
// change shown in the hover.
type runEntry struct {
	cur, prev *run
}

// storeRunLocked records r as the latest run of its function.
func (s *Server) storeRunLocked(r *run) {
	e := s.runs[r.key]
	if e == nil {
		e = &runEntry{}
		s.runs[r.key] = e
	}
	if e.cur != nil && e.cur.fn != nil {
		e.prev = e.cur
	}
	s.lastRun++
	r.id = s.lastRun
	r.shares = shares(r.result, r.fn)
	e.cur = r
	s.generation++
}

// runsInLocked lists the latest runs of functions of path.
func (s *Server) runsInLocked(path string) []*runEntry {
	var out []*runEntry
	for k, e := range s.runs {
		if k.path == path && e.cur != nil {
			out = append(out, e)
		}
	}
	return out
}

// profiledLine is one profiled line as it sits in the buffer now.
type profiledLine struct {
	entry *runEntry
	line  *profile.Line
	at    int // 0-based line in the buffer
}

// profiledLinesLocked returns the lines of path that ran in a stored
// profile, or allocated (a continuation line of a multi-line statement,
// see profile.Line.Allocated), and still stand where they were measured,
// within [from, to] (0-based, inclusive).
func (s *Server) profiledLinesLocked(path string, from, to int) []profiledLine {
	var out []profiledLine
	for _, e := range s.runsInLocked(path) {
		fn := e.cur.fn
		if fn == nil {
			continue
		}
		for i := range fn.Lines {
			l := &fn.Lines[i]
			if !l.Shown() {
				continue
			}
			at, ok := e.cur.tracker.current(l.Line - 1)
			if !ok || at < from || at > to {
				continue
			}
			out = append(out, profiledLine{entry: e, line: l, at: at})
		}
	}
	return out
}

// previousLine finds, in the run before, the line now at buffer line at.
func previousLine(prev *run, at int) (*profile.Line, bool) {
	if prev == nil || prev.fn == nil {
		return nil, false
	}
	for i := range prev.fn.Lines {
		l := &prev.fn.Lines[i]
		if p, ok := prev.tracker.current(l.Line - 1); ok && p == at {
			return l, true
		}
	}
	return nil, false
}

// staleLocked reports whether the function of r changed since it ran (or
// is gone).
func (s *Server) staleLocked(r *run, d *document) bool {
	f, ok := d.function(r.key.name)
	if !ok {
		return true
	}
	return d.textOf(f) != r.funcText
}

// pickFunction finds the profile of name in res: by name, in the file path
// first (a Go package's init functions share their name across its files,
// and the run profiles them all), else the only one.
func pickFunction(res *profile.Result, name, path string) *profile.Function {
	if res == nil {
		return nil
	}
	for i := range res.Functions {
		if f := &res.Functions[i]; f.Name == name && filepath.Clean(f.File) == filepath.Clean(path) {
			return f
		}
	}
	if f, ok := res.Function(name); ok {
		return f
	}
	if len(res.Functions) == 1 {
		return &res.Functions[0]
	}
	return nil
}
