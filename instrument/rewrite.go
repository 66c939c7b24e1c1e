package instrument

import (
	"errors"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"go/types"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Package is one Go package to instrument in a run.
type Package struct {
	Index   int               // unique per package in a run (0,1,...): names its data files
	Name    string            // Go package name (for the runtime file's package clause); "" = taken from the files
	Dir     string            // absolute package directory
	Files   map[string][]byte // absolute path -> original source of every file holding a target
	Targets []Func            // functions to instrument (from FindFuncs)
}

// Options choose what the probes measure.
type Options struct {
	// Allocs samples every allocation (MemProfileRate=1) while a target runs
	// and dumps the records that pass through a target.
	Allocs bool
	// RSS reads the resident set size in line probes.
	RSS bool
	// RSSInterval is the least time between two RSS reads (0: every probe).
	RSSInterval time.Duration
	// Timeline, when positive, samples the process's RSS, heap and running
	// line at this interval into $MEMLENS_DIR/timeline-<pid> (see
	// ReadTimeline and the package documentation). It needs RSS: the
	// running line is kept by the RSS part of the probes.
	Timeline time.Duration
}

// Instrumented is what the runner puts in the overlay.
type Instrumented struct {
	Files       map[string][]byte // absolute path -> instrumented source
	RuntimeFile []byte            // Go source of the probe runtime for this package
	// RuntimePath is where RuntimeFile goes in the overlay: Dir joined with
	// RuntimeFileName(Index), or its _test.go variant for an external test
	// package.
	RuntimePath string
	Funcs       []FuncLayout // one per target, in Targets order
}

// FuncLayout says where a target's figures are in Counters.
type FuncLayout struct {
	Func Func
	ID   int // index into Counters.Calls
	// Lines are the lines holding a probe (the func line, statements, loop
	// headers, case clauses), ascending, each once.
	Lines []LineSlot
}

// LineSlot maps a source line to its index in Counters.Count, MemMax and IncSum.
type LineSlot struct {
	Line int
	Slot int
}

// Instrument rewrites the files holding p's targets and generates the probe
// runtime. It fails on unparsable input (the error carries the parser's
// positions), on a target missing from its file, and on files of another
// package.
func Instrument(p Package, opt Options) (*Instrumented, error) {
	fset := token.NewFileSet()
	type fileWork struct {
		path string
		src  []byte
		tf   *token.File
		ast  *ast.File
		w    *walker
	}
	files := map[string]*fileWork{}
	var paths []string
	for _, t := range p.Targets {
		if _, ok := files[t.File]; ok {
			continue
		}
		src, ok := p.Files[t.File]
		if !ok {
			return nil, fmt.Errorf("instrument: target %s: no source given for %s", t.Name, t.File)
		}
		if strings.Contains(t.File, "*/") || strings.ContainsAny(t.File, "\n\r") {
			return nil, fmt.Errorf("instrument: %q: file names holding */ or newlines cannot be used in line directives", t.File)
		}
		f, err := parser.ParseFile(fset, t.File, src, parser.SkipObjectResolution)
		if err != nil {
			return nil, fmt.Errorf("instrument: cannot parse %s: %w", t.File, err)
		}
		if p.Name == "" {
			p.Name = f.Name.Name
		}
		if f.Name.Name != p.Name {
			return nil, fmt.Errorf("instrument: %s is package %s, not %s", t.File, f.Name.Name, p.Name)
		}
		fw := &fileWork{path: t.File, src: src, tf: fset.File(f.Pos()), ast: f}
		fw.w = &walker{fset: fset, tf: fw.tf, opt: opt}
		files[t.File] = fw
		paths = append(paths, t.File)
	}
	if p.Name == "" {
		return nil, fmt.Errorf("instrument: package name unknown (no targets, no Name)")
	}
	if opt.Timeline > 0 && (!opt.RSS || p.Index > maxTimelinePackage) {
		return nil, fmt.Errorf("instrument: a timeline needs RSS and at most %d packages", maxTimelinePackage+1)
	}

	// Find each target's declaration and collect its probes.
	type key struct {
		file string
		line int
	}
	seen := map[key]int{} // -> index in out.Funcs
	out := &Instrumented{Files: map[string][]byte{}, RuntimePath: runtimePath(p)}
	var ranges []targetRange
	var nlines []int
	slots := 0
	for _, t := range p.Targets {
		k := key{t.File, t.StartLine}
		if i, ok := seen[k]; ok {
			fl := out.Funcs[i]
			fl.Func = t
			out.Funcs = append(out.Funcs, fl)
			continue
		}
		fw := files[t.File]
		var decl *ast.FuncDecl
		for _, d := range fw.ast.Decls {
			if fd, ok := d.(*ast.FuncDecl); ok && fd.Body != nil && fw.w.line(fd.Pos()) == t.StartLine {
				decl = fd
				break
			}
		}
		if decl == nil || !sameFunc(fset, fw.ast, t, decl) {
			return nil, fmt.Errorf("instrument: %s:%d: function %s not found (stale position?)", t.File, t.StartLine, t.Name)
		}
		id := len(seen)
		seen[k] = len(out.Funcs)
		lines := fw.w.funcDecl(decl, id)
		fl := FuncLayout{Func: t, ID: id}
		for i, l := range lines {
			fl.Lines = append(fl.Lines, LineSlot{Line: l, Slot: slots})
			fw.w.slot[slotKey{id, l}] = i + 1 // word 0 of a row counts calls
			slots++
		}
		nlines = append(nlines, len(lines))
		out.Funcs = append(out.Funcs, fl)
		ranges = append(ranges, targetRange{t.File, t.StartLine, fw.w.line(decl.Body.Rbrace)})
	}
	for _, path := range paths {
		fw := files[path]
		out.Files[path] = fw.w.render(path, fw.src)
	}
	out.RuntimeFile = genRuntime(p.Name, out.RuntimePath, p.Index, nlines, opt, ranges)
	for _, path := range paths {
		if err := hidesPredeclared(path, files[path].ast, out.RuntimeFile); err != nil {
			return nil, err
		}
	}
	return out, nil
}

func sameFunc(fset *token.FileSet, f *ast.File, t Func, fd *ast.FuncDecl) bool {
	for _, fn := range FindFuncs(fset, f, t.File) {
		if fn.StartLine == t.StartLine {
			return fn.Name == t.Name
		}
	}
	return false
}

type probeKind int

const (
	kEnter     probeKind = iota // target entry: frame, call count, func line
	kLit                        // function literal entry: its own frame
	kLine                       // count a line
	kCondOpen                   // memlensCond(...) != 0 && before a loop condition
	kElseOpen                   // else if -> else { probe; if ...
	kElseClose                  // } after the else-if chain
	kRelease                    // hand the frame's row back (a return, or the end of a body)
)

// probe is one insertion into the original source.
type probe struct {
	off, prio, seq int
	kind           probeKind
	fn, line       int  // target id and credited line (kEnter, kLine, kCondOpen, kElseOpen)
	noDefer        bool // kEnter, kLit: the body's kRelease probes give the row back (see exits)
}

type slotKey struct{ fn, line int }

// walker collects the probes of one file's targets.
type walker struct {
	fset   *token.FileSet
	tf     *token.File
	opt    Options
	probes []probe
	slot   map[slotKey]int

	// per target
	fn    int
	lines map[int]bool
	// last is, for a statement list, the line credited by the probe that runs
	// just before the list is entered (0 = none): a statement on that line
	// gets no probe of its own, so a line counts once per pass.
	last         map[*ast.BlockStmt]int
	switchBodies map[*ast.BlockStmt]bool
}

func (w *walker) line(p token.Pos) int { return w.tf.PositionFor(p, false).Line }
func (w *walker) off(p token.Pos) int  { return w.tf.Offset(p) }

func (w *walker) add(off, prio int, kind probeKind, line int) {
	if line > 0 {
		w.lines[line] = true
	}
	w.probes = append(w.probes, probe{off: off, prio: prio, seq: len(w.probes), kind: kind, fn: w.fn, line: line})
}

// funcDecl collects the probes of one target and returns its probed lines in
// ascending order.
func (w *walker) funcDecl(fd *ast.FuncDecl, id int) []int {
	if w.slot == nil {
		w.slot = map[slotKey]int{}
	}
	w.fn = id
	w.lines = map[int]bool{}
	w.last = map[*ast.BlockStmt]int{}
	w.switchBodies = map[*ast.BlockStmt]bool{}
	fl := w.line(fd.Pos())
	w.add(w.off(fd.Body.Lbrace)+1, 0, kEnter, fl)
	w.exits(fd.Type, fd.Body)
	w.last[fd.Body] = fl
	ast.Inspect(fd.Body, w.visit)
	var lines []int
	for l := range w.lines {
		lines = append(lines, l)
	}
	sort.Ints(lines)
	return lines
}

func (w *walker) visit(n ast.Node) bool {
	switch n := n.(type) {
	case *ast.FuncLit:
		w.add(w.off(n.Body.Lbrace)+1, 0, kLit, 0)
		w.exits(n.Type, n.Body)
		w.last[n.Body] = 0
	case *ast.BlockStmt:
		if !w.switchBodies[n] {
			w.list(n.List, w.last[n])
		}
	case *ast.CaseClause:
		l := w.line(n.Pos())
		w.add(w.off(n.Colon)+1, 1, kLine, l)
		w.list(n.Body, l)
	case *ast.CommClause:
		l := w.line(n.Pos())
		w.add(w.off(n.Colon)+1, 1, kLine, l)
		w.list(n.Body, l)
	case *ast.IfStmt:
		l := w.line(n.Pos())
		w.last[n.Body] = l
		switch e := n.Else.(type) {
		case *ast.BlockStmt:
			w.last[e] = l
		case *ast.IfStmt:
			// The else-if line counts each evaluation of its condition (and
			// init): else if c {...} becomes else { probe; if c {...} }.
			if el := w.line(e.Pos()); el != l {
				w.add(w.off(e.Pos()), 1, kElseOpen, el)
				w.add(w.off(e.End()), 3, kElseClose, 0)
			}
		}
	case *ast.ForStmt:
		l := w.line(n.Pos())
		w.last[n.Body] = l
		if n.Cond != nil {
			// Evaluated once per iteration plus the final check: k+1. No
			// parentheses needed: the probe is the leftmost operand and
			// true, so memlensCond() != 0 && t1 || t2 is (true && t1) || t2.
			// The comparison's result is an untyped bool, so the condition
			// may have any boolean type (type flag bool; for more {...}):
			// a typed bool && flag does not compile.
			w.add(w.off(n.Cond.Pos()), 2, kCondOpen, l)
		} else {
			// No condition to wrap (and a condition would spoil the
			// terminating statement): count iterations at body start.
			w.add(w.off(n.Body.Lbrace)+1, 1, kLine, l)
		}
	case *ast.RangeStmt:
		// One probe before the loop (see list) and one per iteration: k+1.
		l := w.line(n.Pos())
		w.last[n.Body] = l
		w.add(w.off(n.Body.Lbrace)+1, 1, kLine, l)
	case *ast.SwitchStmt:
		w.switchBodies[n.Body] = true
	case *ast.TypeSwitchStmt:
		w.switchBodies[n.Body] = true
	case *ast.SelectStmt:
		w.switchBodies[n.Body] = true
	}
	return true
}

// exits decides how the frame just entered (the last probe added, kEnter
// or kLit) gives its row back. A deferred memlensLeave does it on every way
// out, panics and runtime.Goexit included, but costs about 8 ns a call:
// much of what counting costs in a small function called millions of times
// (an accessor, a recursive leaf; Fib instrumented runs ~2.5x faster
// without it).
// So when only counts are measured, a body without loops or goto (whose
// calls are short, so the defer would weigh most) and without defer
// statements (which pay for defers anyway, and may recover a panic, which
// would then keep the row on every call) releases the row itself:
// before each of its own return statements (after the return line's probe:
// nothing of the call's own counts after that) and at the closing brace of
// a body without results, which may fall off its end. A call that leaves by
// a panic or Goexit then keeps its row; the counts stay exact (no one else
// writes a claimed row), and once a function's rows and the pool are all so
// kept, its calls share the atomic row.
func (w *walker) exits(ft *ast.FuncType, body *ast.BlockStmt) {
	if w.opt.RSS || w.opt.Allocs || w.opt.Timeline > 0 {
		return
	}
	var returns []*ast.ReturnStmt
	loops := false // or goto, or defer
	ast.Inspect(body, func(n ast.Node) bool {
		switch n := n.(type) {
		case *ast.FuncLit:
			return false // its own frame
		case *ast.ReturnStmt:
			returns = append(returns, n)
		case *ast.ForStmt, *ast.RangeStmt, *ast.DeferStmt:
			loops = true
		case *ast.BranchStmt:
			loops = loops || n.Tok == token.GOTO
		}
		return true
	})
	if loops {
		return
	}
	w.probes[len(w.probes)-1].noDefer = true
	for _, r := range returns {
		w.add(w.off(r.Pos()), 5, kRelease, 0)
	}
	if ft.Results == nil || len(ft.Results.List) == 0 {
		// After everything else at that offset (an else-if chain's
		// closing brace), so it runs on every path that reaches the end.
		w.add(w.off(body.Rbrace), 6, kRelease, 0)
	}
}

// list puts a probe before each statement of a block or clause body that
// starts a new line.
func (w *walker) list(stmts []ast.Stmt, last int) {
	for _, s := range stmts {
		inner := s
		for {
			l, ok := inner.(*ast.LabeledStmt)
			if !ok {
				break
			}
			inner = l.Stmt
		}
		l := w.line(inner.Pos())
		// After the labels by default, so a goto lands on the probe; before
		// them for statements that break/continue may name, which a probe
		// between label and statement would disconnect.
		at := inner.Pos()
		switch x := inner.(type) {
		case *ast.EmptyStmt:
			continue
		case *ast.DeclStmt:
			if g, ok := x.Decl.(*ast.GenDecl); ok && g.Tok != token.VAR {
				continue // const and type declarations do not run
			}
		case *ast.BlockStmt:
			w.last[x] = last
			continue
		case *ast.ForStmt:
			last = l // counted by its condition or body probe
			continue
		case *ast.RangeStmt, *ast.SwitchStmt, *ast.TypeSwitchStmt, *ast.SelectStmt:
			at = s.Pos()
		}
		if l != last {
			w.add(w.off(at), 2, kLine, l)
		}
		last = l
	}
}

// render applies the probes to src: each group of insertions at an offset is
// followed by a //line directive, on a line of its own, giving the original
// position of the next byte, so everything after keeps its file, line and
// column. A /*line*/ comment on the same physical line would keep the lines
// but not the columns: the compiler stores physical columns in 8 bits
// (cmd/internal/src colMax = 255), and probes make lines long. The inserted
// text never ends in a token after which a newline adds a semicolon, except
// the } closing an else-if chain, which ends a statement anyway.
func (w *walker) render(path string, src []byte) []byte {
	ps := w.probes
	sort.Slice(ps, func(i, j int) bool {
		if ps[i].off != ps[j].off {
			return ps[i].off < ps[j].off
		}
		if ps[i].prio != ps[j].prio {
			return ps[i].prio < ps[j].prio
		}
		return ps[i].seq < ps[j].seq
	})
	// With RSS or allocations measured, a call keeps state on its stack.
	st := w.opt.RSS || w.opt.Allocs
	var b strings.Builder
	b.Grow(len(src) + len(ps)*64)
	prev := 0
	for i := 0; i < len(ps); {
		off := ps[i].off
		b.Write(src[prev:off])
		if off > 0 && isIdentByte(src[off-1]) {
			b.WriteByte(' ') // for(x) must not become formemlensCond(...)
		}
		for ; i < len(ps) && ps[i].off == off; i++ {
			p := ps[i]
			slot := strconv.Itoa(w.slot[slotKey{p.fn, p.line}])
			switch p.kind {
			case kEnter, kLit:
				fn := "memlensEnter"
				if p.kind == kLit {
					fn = "memlensLit"
				}
				if st {
					b.WriteString("var memlensSt memlensState; memlensFr := " + fn + "St(" + strconv.Itoa(p.fn) + ", &memlensSt); ")
				} else {
					b.WriteString("memlensFr := " + fn + "(" + strconv.Itoa(p.fn) + "); ")
				}
				if !p.noDefer {
					b.WriteString("defer memlensLeave(memlensFr); ")
				}
			case kRelease:
				// ; ends a statement the brace would have ended: { x() }.
				b.WriteString("; memlensRelease(memlensFr); ")
			case kLine:
				b.WriteString("memlensLine(memlensFr, " + slot + "); ")
			case kCondOpen:
				b.WriteString("memlensCond(memlensFr, " + slot + ") != 0 && ")
			case kElseOpen:
				b.WriteString("{memlensLine(memlensFr, " + slot + "); ")
			case kElseClose:
				b.WriteString("}")
			}
		}
		pos := w.tf.PositionFor(w.tf.Pos(off), false)
		fmt.Fprintf(&b, "\n//line %s:%d:%d\n", path, pos.Line, pos.Column)
		prev = off
	}
	b.Write(src[prev:])
	return []byte(b.String())
}

func isIdentByte(c byte) bool {
	return c == '_' || '0' <= c && c <= '9' || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || c >= 0x80
}

// errHidesPredeclared: the package declares a name of Go's universe (int,
// len, true...) that the probe runtime, compiled into the package, uses.
var errHidesPredeclared = errors.New("hides a predeclared identifier the probe runtime uses")

// hidesPredeclared reports a package-level declaration of f that hides a
// predeclared identifier the runtime file uses: the build would fail in the
// runtime file with errors that make no sense to the user (func int() makes
// "int (function) is not a type" of every int there).
func hidesPredeclared(path string, f *ast.File, runtime []byte) error {
	var declared []string
	for _, d := range f.Decls {
		switch d := d.(type) {
		case *ast.FuncDecl:
			if d.Recv == nil {
				declared = append(declared, d.Name.Name)
			}
		case *ast.GenDecl:
			for _, spec := range d.Specs {
				switch spec := spec.(type) {
				case *ast.TypeSpec:
					declared = append(declared, spec.Name.Name)
				case *ast.ValueSpec:
					for _, n := range spec.Names {
						declared = append(declared, n.Name)
					}
				}
			}
		}
	}
	var hidden []string
	for _, name := range declared {
		if types.Universe.Lookup(name) != nil {
			hidden = append(hidden, name)
		}
	}
	if len(hidden) == 0 {
		return nil
	}
	rt, err := parser.ParseFile(token.NewFileSet(), "", runtime, parser.SkipObjectResolution)
	if err != nil {
		return fmt.Errorf("instrument: generated runtime: %v", err)
	}
	used := map[string]bool{}
	ast.Inspect(rt, func(n ast.Node) bool {
		if id, ok := n.(*ast.Ident); ok {
			used[id.Name] = true
		}
		return true
	})
	for _, name := range hidden {
		if used[name] {
			return fmt.Errorf("instrument: %s declares %s at package level, which %w (rename it to profile this package)", path, name, errHidesPredeclared)
		}
	}
	return nil
}
