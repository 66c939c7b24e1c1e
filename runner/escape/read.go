// Package escape reads the Go compiler's escape-analysis diagnostics and
// turns them into memlens's "why on the heap" explanations
// (profile.Escape), attached to the profiled lines they explain.
//
// # Where the diagnostics come from
//
// The runner's build passes -gcflags=PKG=-json=0,DIR for each instrumented
// package (GCFlags): the compiler then writes, for each source file that has
// diagnostics, DIR/<escaped package path>/<file>.json — a header line naming
// the file, then one LSP-shaped diagnostic a line (cmd/compile/internal/logopt).
// gopls reads the same files for its "compiler optimization details". The
// codes kept here are escape analysis's: "escape" and "escapes" (a value put
// on the heap, with the data flow that forces it) and "leak" (a parameter
// whose value or content outlives the call).
//
// # Positions
//
// The JSON holds 1-based lines and 1-based byte columns, although its shape
// is LSP's. They are physical positions in the file the compiler compiled,
// //line directives not applied, under the file's own name: with -overlay,
// the name of the file replaced (the user's), not of the replacement. A file
// that went through the overlay instrumented is longer than the user's, so
// its positions are mapped back through the directives the instrumenter put
// in (Map, MapFile); other files' positions are the user's already.
//
// # Inlining and generics
//
// Code inlined into a function is reported at the call site, with the
// positions inside the inlined callee as a chain (Report.Inline). A generic
// function is analysed once per shape: the same report comes once per shape
// (make([]Point[go.shape.int], ...), make([]Point[go.shape.string], ...)),
// and its dictionary wrapper, which inlines the shaped body, adds copies at
// the function's name. Attach folds those into one explanation per position,
// naming the shapes (make([]Point[int|string], ...)).
package escape

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"strings"
)

// Pos is a position in a source file: 1-based line, 1-based byte column.
type Pos struct {
	File   string
	Line   int
	Column int
}

func (p Pos) String() string { return fmt.Sprintf("%s:%d:%d", p.File, p.Line, p.Column) }

// Report is one escape-analysis diagnostic as the compiler wrote it:
// positions are physical positions in the files compiled.
type Report struct {
	Pos
	// Code is "escape" or "escapes" (a value on the heap) or "leak" (a
	// parameter that outlives the call).
	Code string
	// Message is the compiler's: "i escapes to heap", "parameter g leaks
	// to {heap} with derefs=1".
	Message string
	// Inline is the chain of positions inside inlined calls, from the
	// callee called at Pos to the innermost, when the reported code was
	// inlined into the function compiled; empty otherwise.
	Inline []Pos
	// Flows is the data flow that forces the escape, from the value to
	// where it is kept.
	Flows []Flow
}

// Flow is one step of an escape's data flow: the value of Src (with & for
// its address, * for what it points to) flows into Dst, for the reasons in
// Notes.
type Flow struct {
	Dst, Src string
	Notes    []Note
}

// Note is one reason in a flow: Where is the expression or statement (as
// the compiler prints it), Why the kind of flow ("call parameter",
// "assign", "return", ...).
type Note struct {
	Where, Why string
	Pos        Pos
}

// header is the first line of each file the compiler writes.
type header struct {
	Version int    `json:"version"`
	Package string `json:"package"`
	File    string `json:"file"`
}

type position struct {
	Line      int `json:"line"`
	Character int `json:"character"`
}

type location struct {
	URI   string `json:"uri"`
	Range struct {
		Start position `json:"start"`
	} `json:"range"`
}

type diagnostic struct {
	Range struct {
		Start position `json:"start"`
	} `json:"range"`
	Code    string `json:"code"`
	Message string `json:"message"`
	Related []struct {
		Location location `json:"location"`
		Message  string   `json:"message"`
	} `json:"relatedInformation"`
}

// ReadDir reads every diagnostics file under dir (the -json destination)
// and returns the escape analysis's reports, in file order, and the source
// files the compiler wrote diagnostics for (of any kind: every compiled
// file with a function has some). A file that is not the compiler's JSON
// is skipped and named in the error, which is returned with the reports of
// the other files.
func ReadDir(dir string) (reports []Report, files []string, err error) {
	var bad []string
	err = filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() || !strings.HasSuffix(path, ".json") {
			return nil
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		file, rs, err := Parse(data)
		if err != nil {
			bad = append(bad, fmt.Sprintf("%s: %v", path, err))
			return nil
		}
		files = append(files, file)
		reports = append(reports, rs...)
		return nil
	})
	if err == nil && len(bad) > 0 {
		err = fmt.Errorf("compiler diagnostics not understood: %s", strings.Join(bad, "; "))
	}
	return reports, files, err
}

// Parse reads one file the compiler wrote and returns the source file it
// is about and its escape-analysis reports. Entries without a message (the
// compiler adds one after each explained escape) are dropped.
func Parse(data []byte) (file string, reports []Report, err error) {
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(nil, 16<<20) // an explanation can be long
	var h header
	for n := 1; sc.Scan(); n++ {
		line := sc.Bytes()
		if n == 1 {
			if err := json.Unmarshal(line, &h); err != nil || h.File == "" {
				return "", nil, fmt.Errorf("line 1: not a compiler diagnostics header")
			}
			if h.Version != 0 {
				return "", nil, fmt.Errorf("version %d, want 0", h.Version)
			}
			continue
		}
		if len(bytes.TrimSpace(line)) == 0 {
			continue
		}
		var d diagnostic
		if err := json.Unmarshal(line, &d); err != nil {
			return "", nil, fmt.Errorf("line %d: %v", n, err)
		}
		switch d.Code {
		case "escape", "escapes", "leak":
		default:
			continue
		}
		if d.Message == "" {
			continue
		}
		r := Report{Pos: Pos{h.File, d.Range.Start.Line, d.Range.Start.Character}, Code: d.Code, Message: d.Message}
		// The related entries: first the inlining chain of the report
		// itself, then the explanation's lines, each possibly followed by
		// its own inlining chain (skipped).
		explaining := false
		for _, ri := range d.Related {
			p := Pos{filePath(ri.Location.URI), ri.Location.Range.Start.Line, ri.Location.Range.Start.Character}
			msg, isFlow := strings.CutPrefix(ri.Message, "escflow:")
			switch {
			case !isFlow && ri.Message == "inlineLoc":
				if !explaining {
					r.Inline = append(r.Inline, p)
				}
			case isFlow:
				explaining = true
				msg = strings.TrimSpace(msg)
				if f, ok := parseFlowHeader(msg); ok {
					r.Flows = append(r.Flows, f)
				} else if nt, ok := parseNote(msg); ok && len(r.Flows) > 0 {
					nt.Pos = p
					last := &r.Flows[len(r.Flows)-1]
					last.Notes = append(last.Notes, nt)
				}
			}
		}
		reports = append(reports, r)
	}
	if err := sc.Err(); err != nil {
		return "", nil, err
	}
	if h.File == "" {
		return "", nil, fmt.Errorf("empty")
	}
	return h.File, reports, nil
}

// parseFlowHeader parses "flow: DST ← SRC:".
func parseFlowHeader(s string) (Flow, bool) {
	s, ok := strings.CutPrefix(s, "flow: ")
	if !ok {
		return Flow{}, false
	}
	s = strings.TrimSuffix(s, ":")
	dst, src, ok := strings.Cut(s, " ← ")
	if !ok {
		return Flow{}, false
	}
	return Flow{Dst: dst, Src: src}, true
}

// parseNote parses "from WHERE (WHY)"; WHERE may hold parentheses, WHY
// does not.
func parseNote(s string) (Note, bool) {
	s, ok := strings.CutPrefix(s, "from ")
	if !ok || !strings.HasSuffix(s, ")") {
		return Note{}, false
	}
	i := strings.LastIndex(s, " (")
	if i < 0 {
		return Note{}, false
	}
	return Note{Where: s[:i], Why: s[i+2 : len(s)-1]}, true
}

// filePath turns the compiler's file URI into a path.
func filePath(uri string) string {
	u, err := url.Parse(uri)
	if err != nil || u.Scheme != "file" {
		return uri
	}
	return u.Path
}
