package escape

import (
	"fmt"
	"go/scanner"
	"go/token"
	"path/filepath"
	"regexp"
	"slices"
	"strings"

	"github.com/memlens/memlens/profile"
)

// Explanation is a report in the user's terms, ready to attach to a line.
type Explanation struct {
	// At is where the compiler reports it, mapped to the user's file: the
	// value's position, or for code inlined into the function compiled,
	// the call site.
	At Pos
	// Inline is the report's inlining chain, mapped (see Report.Inline).
	Inline []Pos
	// Message is in -m's words (see Report.message).
	Message string
	// Flow is the condensed data flow (see condense).
	Flow []string
}

// probeRE matches the names the instrumenter inserts (memlensFr,
// memlensLine, ...): user code may not declare such names, so a report
// that mentions one is about a probe.
var probeRE = regexp.MustCompile(`(^|[^\w.])memlens[A-Z]`)

// Explain maps the reports to the user's positions and condenses them.
// Reports that explain no heap allocation (a parameter leaking only to a
// result, say) and reports about the probes are dropped.
func Explain(reports []Report, m *Map) []Explanation {
	var out []Explanation
	for _, r := range reports {
		msg, ok := r.message()
		if !ok || probeRE.MatchString(msg) {
			continue
		}
		e := Explanation{At: m.Pos(r.Pos), Message: msg, Flow: condense(r.Flows)}
		for _, p := range r.Inline {
			e.Inline = append(e.Inline, m.Pos(p))
		}
		out = append(out, e)
	}
	return out
}

// Attach puts the explanations on the lines of the functions they fall
// in, as profile.Line.Escapes, sorted by column, replacing what the lines
// had. Code of the function seen through an inlined call (a generic
// function's dictionary wrapper, a function literal called where it is
// declared) shows on its own line; a callee from elsewhere inlined into the
// function shows on the calling line, with Escape.Inlined naming it. The
// reports of a generic function's shapes are folded into one
// (make([]Point[int|string], 0, n) escapes to heap).
func Attach(fns []profile.Function, exps []Explanation) {
	for fi := range fns {
		fn := &fns[fi]
		file := filepath.Clean(fn.File)
		in := func(p Pos) bool {
			return filepath.Clean(p.File) == file && p.Line >= fn.StartLine && p.Line <= fn.EndLine
		}
		type key struct {
			line, col int
			msg       string
		}
		groups := map[key][]profile.Escape{}
		var order []key
		for _, e := range exps {
			if !in(e.At) {
				continue
			}
			at := e.At
			var inlined string
			if len(e.Inline) > 0 {
				inner := e.Inline[len(e.Inline)-1]
				if in(inner) {
					at = inner
				} else if l, ok := fn.Line(at.Line); ok {
					inlined = inlinedLabel(l.Content, at.Column, inner)
				}
			}
			msg, flow := e.Message, e.Flow
			if l, ok := fn.Line(at.Line); ok {
				if inlined == "" {
					msg = sourceSubject(msg, l.Content, at.Column)
				} else {
					msg = tempRE.ReplaceAllStringFunc(msg, func(string) string { return "…" })
				}
				if len(flow) == 0 && msg == "func literal escapes to heap" && goStmtAt(l.Content, at.Column) {
					flow = []string{"started as a goroutine"}
				}
			}
			k := key{at.Line, at.Column, shapeRE.ReplaceAllString(msg, "go.shape")}
			if _, ok := groups[k]; !ok {
				order = append(order, k)
			}
			groups[k] = append(groups[k], profile.Escape{Column: at.Column, Message: msg, Flow: flow, Inlined: inlined})
		}
		for i := range fn.Lines {
			fn.Lines[i].Escapes = nil
		}
		for _, k := range order {
			l, ok := fn.Line(k.line)
			if !ok {
				continue
			}
			l.Escapes = append(l.Escapes, foldShapes(groups[k]))
		}
		for i := range fn.Lines {
			slices.SortStableFunc(fn.Lines[i].Escapes, func(a, b profile.Escape) int {
				if a.Column != b.Column {
					return a.Column - b.Column
				}
				return strings.Compare(a.Message, b.Message)
			})
		}
	}
}

// shapeRE matches a generic shape type as the compiler prints it inside a
// type argument list: go.shape.int, go.shape.*uint8, go.shape.interface {},
// go.shape.struct { X int }.
var shapeRE = regexp.MustCompile(`go\.shape\.(?:interface \{[^{}]*\}|struct \{[^{}]*\}|[^,\]\)\s]+)`)

// foldShapes merges the reports of one position that differ only in the
// shapes of a generic function: each shape slot lists the shapes seen,
// without the go.shape. prefix (int|string).
func foldShapes(es []profile.Escape) profile.Escape {
	e := es[0]
	e.Message = foldText(es, func(e profile.Escape) string { return e.Message })
	for i := range e.Flow {
		e.Flow[i] = foldText(es, func(e profile.Escape) string {
			if i < len(e.Flow) {
				return e.Flow[i]
			}
			return ""
		})
	}
	for _, x := range es {
		if e.Inlined == "" {
			e.Inlined = x.Inlined
		}
	}
	return e
}

// foldText renders text(es[0]) with each shape replaced by the shapes the
// reports have in that place.
func foldText(es []profile.Escape, text func(profile.Escape) string) string {
	first := text(es[0])
	slots := make([][]string, len(shapeRE.FindAllString(first, -1)))
	for _, e := range es {
		t := text(e)
		if shapeRE.ReplaceAllString(t, "go.shape") != shapeRE.ReplaceAllString(first, "go.shape") {
			continue
		}
		for i, s := range shapeRE.FindAllString(t, -1) {
			s = strings.TrimPrefix(s, "go.shape.")
			if i < len(slots) && !slices.Contains(slots[i], s) {
				slots[i] = append(slots[i], s)
			}
		}
	}
	i := 0
	return shapeRE.ReplaceAllStringFunc(first, func(string) string {
		s := strings.Join(slots[i], "|")
		i++
		return s
	})
}

// goStmtAt reports whether the function literal at col is started by a
// go statement: the compiler gives its escape no flow, the go keyword
// before it is the reason.
func goStmtAt(content string, col int) bool {
	if col < 1 || col > len(content) {
		return false
	}
	before := strings.TrimRight(content[:col-1], " \t")
	return strings.HasSuffix(before, "go") && (len(before) == 2 || !isIdentByte(before[len(before)-3]))
}

// continuesOperand reports whether tok, after prev at the top level,
// still belongs to one operand: &x, x.f, f(...), a[...], T{...}.
func continuesOperand(prev, tok token.Token) bool {
	switch tok {
	case token.AND, token.MUL:
		return prev == token.ILLEGAL
	case token.IDENT:
		return prev == token.ILLEGAL || prev == token.PERIOD || prev == token.AND || prev == token.MUL
	case token.STRING, token.INT, token.FLOAT, token.CHAR:
		return prev == token.ILLEGAL
	case token.PERIOD:
		return prev == token.IDENT || prev == token.RPAREN || prev == token.RBRACK || prev == token.RBRACE
	case token.LBRACK:
		return prev == token.IDENT || prev == token.RPAREN || prev == token.RBRACK || prev == token.RBRACE
	case token.LPAREN:
		return prev == token.IDENT || prev == token.RPAREN || prev == token.RBRACK || prev == token.ILLEGAL
	case token.LBRACE:
		return prev == token.IDENT || prev == token.RBRACK
	}
	return false
}

// calleeAt returns the function called at a call site, as written in the
// line: the compiler puts a call's position at its opening parenthesis,
// so it is the selector expression before column col ("NewGrid", "g.Add",
// "strings.ToUpper").
func calleeAt(content string, col int) string {
	i := col - 1
	if i <= 0 || i >= len(content) || content[i] != '(' {
		return ""
	}
	j := i
	for j > 0 && (isIdentByte(content[j-1]) || content[j-1] == '.') {
		j--
	}
	return strings.TrimLeft(content[j:i], ".")
}

func isIdentByte(c byte) bool {
	return c == '_' || '0' <= c && c <= '9' || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || c >= 0x80
}

// inlinedLabel names the inlined callee a value escapes in: "NewGrid
// (shapes.go:29)", or just the position when the call is not found.
func inlinedLabel(content string, col int, inner Pos) string {
	where := fmt.Sprintf("%s:%d", filepath.Base(inner.File), inner.Line)
	if name := calleeAt(content, col); name != "" {
		return name + " (" + where + ")"
	}
	return where
}

// tempRE matches the compiler's own names in a printed expression: an
// inlined call's results (~r0, ~R0), temporaries, generic dictionaries.
var tempRE = regexp.MustCompile(`~[rRpb]\d+|\.autotmp_\d+|&?\.dict\.[\w.]+(\[[^\]]*\])?`)

// sourceSubject rewrites a message whose subject the compiler printed
// with its own names ("append(keep, ~r0, ~r0) escapes to heap",
// "Points[int](&.dict.Points[int], n) escapes to heap") with the
// expression as written at col in the line.
func sourceSubject(msg, content string, col int) string {
	subject, ok := strings.CutSuffix(msg, " escapes to heap")
	if !ok || !tempRE.MatchString(subject) {
		return msg
	}
	if x := exprAt(content, col); x != "" {
		return x + " escapes to heap"
	}
	return msg
}

// exprAt returns the operand expression that starts at column col of a
// line: a selector chain with its calls, indexes and composite literals
// ("Points(n, 1.5)", "&Grid{N: n}"). A position at a call's parenthesis,
// where the compiler puts calls, takes the callee before it.
func exprAt(content string, col int) string {
	start := col - 1
	if start < 0 || start >= len(content) {
		return ""
	}
	if content[start] == '(' {
		if name := calleeAt(content, col); name != "" {
			start -= len(name)
		}
	}
	src := []byte(content[start:])
	var s scanner.Scanner
	fset := token.NewFileSet()
	s.Init(fset.AddFile("", -1, len(src)), src, nil, 0)
	depth, end := 0, 0
	prev := token.ILLEGAL // nothing yet
scan:
	for {
		pos, tok, lit := s.Scan()
		if tok == token.EOF || tok == token.SEMICOLON && lit == "\n" {
			break
		}
		if depth == 0 && !continuesOperand(prev, tok) {
			break
		}
		switch tok {
		case token.LPAREN, token.LBRACK, token.LBRACE:
			depth++
		case token.RPAREN, token.RBRACK, token.RBRACE:
			if depth--; depth < 0 {
				break scan
			}
		}
		off := fset.Position(pos).Offset
		end = off + len(tok.String())
		if lit != "" {
			end = off + len(lit)
		}
		if depth == 0 {
			prev = tok
		}
	}
	if depth != 0 {
		return ""
	}
	return strings.TrimSpace(string(src[:end]))
}
