package server

import (
	"errors"
	"go/parser"
	"go/scanner"
	"go/token"
	"strings"

	"github.com/memlens/memlens/instrument"
)

// function is a function or method found in a source file. Lines are
// 1-based, as in profile.Function.
type function struct {
	// Name is the canonical name the runner takes: "Build", "Grid.Add",
	// "(*Grid).Add", "baseExtr.parseList", "outer.<locals>.inner".
	Name string
	// StartLine is the first line of the function (Python: its first
	// decorator); DefLine is the line with func/def, where the lens goes.
	StartLine, DefLine, EndLine int
}

// findFunctions lists the functions of a Go or Python source text, in
// source order. Unparsable Go yields the functions parsed before the error.
func findFunctions(lang, src string) []function {
	switch lang {
	case "go":
		return findGoFunctions(src)
	case "python":
		return findPythonFunctions(src)
	}
	return nil
}

// functionAt returns the innermost function whose lines hold 1-based line n.
func functionAt(funcs []function, n int) (function, bool) {
	var best function
	found := false
	for _, f := range funcs {
		if f.StartLine <= n && n <= f.EndLine {
			if !found || f.StartLine >= best.StartLine {
				best, found = f, true
			}
		}
	}
	return best, found
}

func functionNamed(funcs []function, name string) (function, bool) {
	for _, f := range funcs {
		if f.Name == name {
			return f, true
		}
	}
	return function{}, false
}

// findGoFunctions lists Go functions with the instrumenter's finder, so that
// the names the server offers are the names the runner resolves.
func findGoFunctions(src string) []function {
	funcs, _ := parseGoFunctions(src, 0)
	return funcs
}

// parseGoFunctions parses src, numbering lines from firstLine+1. complete
// is false when a raw string or block comment runs past the end of src.
func parseGoFunctions(src string, firstLine int) (funcs []function, complete bool) {
	fset := token.NewFileSet()
	file, err := parser.ParseFile(fset, "", src, parser.SkipObjectResolution)
	var errs scanner.ErrorList
	if errors.As(err, &errs) {
		for _, e := range errs {
			if strings.HasSuffix(e.Msg, "literal not terminated") || e.Msg == "comment not terminated" {
				return nil, false
			}
		}
	}
	if file == nil || file.Name == nil {
		return nil, true
	}
	found := instrument.FindFuncs(fset, file, "")
	funcs = make([]function, len(found))
	for i, f := range found {
		funcs[i] = function{Name: f.Name, StartLine: firstLine + f.StartLine, DefLine: firstLine + f.StartLine, EndLine: firstLine + f.EndLine}
	}
	return funcs, true
}

// goChunks maps the text of a chunk of a Go file (see findGoFunctionsCached)
// to its functions, with lines counted from the chunk's first line.
type goChunks map[string][]function

// findGoFunctionsCached is findGoFunctions for a file being edited: it
// splits the file before every line that starts with "func" and parses only
// the chunks not in cache, because parsing a large file on every keystroke
// costs more than the latency goal of a request. It returns the cache of the
// new text. A raw string or comment that spans chunks makes it parse the
// whole file instead.
func findGoFunctionsCached(src string, cache goChunks) ([]function, goChunks) {
	next := goChunks{}
	var funcs []function
	first, line := 0, 0 // the chunk's first byte and 0-based line
	for first < len(src) {
		end, lines := nextGoChunk(src, first)
		text := src[first:end]
		chunk, ok := cache[text]
		if !ok {
			chunk, ok = next[text]
		}
		if !ok {
			parsed := text
			if first > 0 {
				parsed = "package p;" + text // on the chunk's first line: lines stay
			}
			var complete bool
			if chunk, complete = parseGoFunctions(parsed, 0); !complete {
				return findGoFunctions(src), nil
			}
		}
		next[text] = chunk
		for _, f := range chunk {
			f.StartLine += line
			f.DefLine += line
			f.EndLine += line
			funcs = append(funcs, f)
		}
		first, line = end, line+lines
	}
	return funcs, next
}

// nextGoChunk returns the end of the chunk starting at byte first of src
// (the start of the next line that begins with "func", or the end of src)
// and the number of lines in it.
func nextGoChunk(src string, first int) (end, lines int) {
	i := first
	for {
		nl := strings.IndexByte(src[i:], '\n')
		if nl < 0 {
			return len(src), lines + 1
		}
		i += nl + 1
		lines++
		if rest := src[i:]; strings.HasPrefix(rest, "func ") || strings.HasPrefix(rest, "func(") {
			return i, lines
		}
	}
}

// findPythonFunctions scans Python source by indentation: every def and
// async def, with its qualified name (Class.method, outer.<locals>.inner),
// its decorators and its last line. Strings, comments and bracketed
// continuation lines are skipped so that they cannot open or close a block.
func findPythonFunctions(src string) []function {
	type scope struct {
		indent int
		name   string
		isFunc bool
		index  int // into funcs, for functions
	}
	var (
		funcs      []function
		stack      []scope
		decorStart = 0 // first decorator line of the coming def, 0 if none
	)
	closeScopes := func(indent, lastLine int) {
		for len(stack) > 0 && stack[len(stack)-1].indent >= indent {
			top := stack[len(stack)-1]
			stack = stack[:len(stack)-1]
			if top.isFunc && lastLine > funcs[top.index].EndLine {
				funcs[top.index].EndLine = lastLine
			}
		}
	}
	lastCode := 0 // last line holding code
	for _, ll := range pythonLogicalLines(src) {
		indent, text := ll.indent, ll.text
		closeScopes(indent, lastCode)
		if strings.HasPrefix(text, "@") {
			if decorStart == 0 {
				decorStart = ll.first
			}
			lastCode = ll.last
			continue
		}
		kw := ""
		rest := text
		if r, ok := strings.CutPrefix(rest, "async "); ok {
			rest = strings.TrimLeft(r, " \t")
		}
		switch {
		case strings.HasPrefix(rest, "def ") || strings.HasPrefix(rest, "def\t"):
			kw, rest = "def", strings.TrimLeft(rest[4:], " \t")
		case strings.HasPrefix(rest, "class ") || strings.HasPrefix(rest, "class\t"):
			kw, rest = "class", strings.TrimLeft(rest[6:], " \t")
		}
		if kw == "" {
			decorStart = 0
			lastCode = ll.last
			continue
		}
		name := pythonIdent(rest)
		prefix := ""
		if len(stack) > 0 {
			parent := stack[len(stack)-1]
			prefix = parent.name + "."
			if parent.isFunc {
				prefix = parent.name + ".<locals>."
			}
		}
		qual := prefix + name
		start := ll.first
		if decorStart != 0 {
			start = decorStart
		}
		decorStart = 0
		sc := scope{indent: indent, name: qual, isFunc: kw == "def"}
		if kw == "def" {
			sc.index = len(funcs)
			funcs = append(funcs, function{Name: qual, StartLine: start, DefLine: ll.first, EndLine: ll.last})
		}
		stack = append(stack, sc)
		lastCode = ll.last
	}
	closeScopes(-1, lastCode)
	return funcs
}

func pythonIdent(s string) string {
	end := 0
	for end < len(s) && (s[end] == '_' || s[end] >= 0x80 ||
		('a' <= s[end] && s[end] <= 'z') || ('A' <= s[end] && s[end] <= 'Z') || ('0' <= s[end] && s[end] <= '9')) {
		end++
	}
	return s[:end]
}

// pythonLine is one logical line of Python: physical lines first..last
// (1-based) joined by brackets, backslashes or triple-quoted strings.
type pythonLine struct {
	first, last int
	indent      int
	text        string // the first physical line, indentation removed
}

// pythonLogicalLines splits source into logical lines, skipping blank and
// comment-only lines.
func pythonLogicalLines(src string) []pythonLine {
	phys := strings.Split(src, "\n")
	var out []pythonLine
	depth := 0     // open brackets
	inString := "" // open triple quote
	var cur *pythonLine
	for i, raw := range phys {
		line := strings.TrimRight(raw, "\r")
		if cur == nil {
			trimmed := strings.TrimLeft(line, " \t")
			if trimmed == "" || strings.HasPrefix(trimmed, "#") {
				continue
			}
			out = append(out, pythonLine{first: i + 1, last: i + 1, indent: indentWidth(line), text: trimmed})
			cur = &out[len(out)-1]
		}
		cur.last = i + 1
		continued := false
		for j := 0; j < len(line); j++ {
			c := line[j]
			if inString != "" {
				if c == '\\' {
					j++
					continued = j == len(line) // a backslash before the line end: the string goes on
				} else if strings.HasPrefix(line[j:], inString) {
					j += len(inString) - 1
					inString = ""
				}
				continue
			}
			switch c {
			case '#':
				j = len(line)
			case '(', '[', '{':
				depth++
			case ')', ']', '}':
				if depth > 0 {
					depth--
				}
			case '\\':
				if j == len(line)-1 {
					continued = true
				}
				j++
			case '"', '\'':
				q := string(c)
				if strings.HasPrefix(line[j:], q+q+q) {
					inString = q + q + q
					j += 2
					continue
				}
				// A one-line string, up to its closing quote; it goes on
				// past a backslash that ends the line.
				inString = q
			}
		}
		if len(inString) == 1 && !continued {
			inString = "" // a one-line string left open: a syntax error, not a string on the next line
		}
		if depth == 0 && inString == "" && !continued {
			cur = nil
		}
	}
	return out
}

func indentWidth(line string) int {
	w := 0
	for _, c := range line {
		switch c {
		case ' ':
			w++
		case '\t':
			w += 8 - w%8
		default:
			return w
		}
	}
	return w
}
