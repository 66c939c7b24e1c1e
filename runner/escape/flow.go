package escape

import (
	"regexp"
	"strings"
)

// maxSteps bounds a condensed flow: a reader wants the first steps (what
// happens to the value) and the last (where it ends up).
const maxSteps = 5

// Message returns the report's message in the words of go build
// -gcflags=-m, which Go programmers know: "x escapes to heap", "moved to
// heap: x" (a variable, whose address escapes), "leaking param: p" (derefs=0),
// "leaking param content: p" (what p points to). ok is false for reports
// that explain no heap allocation (a parameter leaking only to a result).
func (r Report) message() (msg string, ok bool) {
	if r.Code == "leak" {
		m := leakRE.FindStringSubmatch(r.Message)
		if m == nil || m[2] != "{heap}" {
			return "", false
		}
		if m[3] == "0" {
			return "leaking param: " + m[1], true
		}
		return "leaking param content: " + m[1], true
	}
	subject, ok := strings.CutSuffix(r.Message, " escapes to heap")
	if !ok {
		return r.Message, strings.HasPrefix(r.Message, "moved to heap")
	}
	// A variable whose address flows away moves to the heap: the first
	// flow starts from &name, where an allocation starts from
	// &{storage for expr}.
	if len(r.Flows) > 0 && r.Flows[0].Src == "&"+subject {
		return "moved to heap: " + subject, true
	}
	return r.Message, true
}

var leakRE = regexp.MustCompile(`^parameter (.+) leaks to (.+) with derefs=(-?\d+)$`)

// condense turns the flows into short readable steps, from the value to
// where it is kept: "passed to fmt.Sprintf's ... argument", "stored in
// keep", "captured by a closure", "returned". Steps that only move the
// value between the compiler's temporaries (spill, dot, indirection, an
// inlined call's result) are left out.
func condense(flows []Flow) []string {
	var steps []string
	add := func(s string) {
		if s != "" && (len(steps) == 0 || steps[len(steps)-1] != s) {
			steps = append(steps, s)
		}
	}
	variadic := false
	for _, f := range flows {
		for _, n := range f.Notes {
			switch n.Why {
			case "call parameter":
				callee, args := splitCall(n.Where)
				switch {
				case callee == "":
				case tempRE.MatchString(callee):
					// A call through a temporary: an interface's method
					// (.autotmp_5.Match) or a function value.
					if i := strings.LastIndex(callee, "."); i > 0 && !tempRE.MatchString(callee[i:]) {
						add("passed to method " + callee[i+1:])
					} else {
						add("passed to a function value")
					}
				case callee == "append":
					if len(args) > 0 && args[0] != "" && !tempRE.MatchString(args[0]) {
						add("appended to " + args[0])
					} else {
						add("appended to a slice")
					}
				case variadic:
					add("passed to " + callee + "'s ... argument")
				default:
					add("passed to " + callee)
				}
				variadic = false
			case "slice-literal-element":
				if n.Where == "... argument" {
					variadic = true
				} else {
					add("stored in a slice literal")
				}
			case "return":
				add("returned")
			case "assign", "assign-pair":
				// Into a variable of this function: the next flow says
				// what happens to it. Into the heap (a package variable,
				// a field through a pointer): where it is kept.
				if f.Dst == "{heap}" {
					if lhs := assignee(n.Where); lhs != "" {
						add("stored in " + lhs)
					}
				}
			case "interface-converted":
				add("converted to an interface")
			case "captured by a closure":
				add("captured by a closure")
			case "struct literal element":
				add("stored in a " + n.Where)
			case "array literal element":
				add("stored in an array literal")
			case "map literal key", "map literal value", "key of map put", "value of map put":
				add("stored in a map")
			case "send":
				add("sent on a channel")
			case "address-of":
				// &x written out; an implicit one (x.M() with a pointer
				// receiver) is told by the call that follows.
				if strings.HasPrefix(n.Where, "&") {
					add("its address taken (" + n.Where + ")")
				}
			case "copied slice":
				add("copied into a slice")
			case "appended slice...", "appendee slice":
				add("appended")
			case "too large for stack", "too aligned for stack":
				add(n.Why)
			}
		}
	}
	if len(flows) > 0 {
		root := flows[len(flows)-1].Dst
		switch {
		case isResult(root):
			add("returned")
		case strings.HasPrefix(root, "{storage for "):
			// Kept by something else on the heap: a closure, a struct.
			if len(steps) == 0 {
				add("kept by " + strings.TrimSuffix(strings.TrimPrefix(root, "{storage for "), "}"))
			}
			steps[len(steps)-1] += ", which is on the heap"
		}
	}
	if len(steps) > maxSteps {
		steps = append(append(steps[:maxSteps-2:maxSteps-2], "…"), steps[len(steps)-1])
	}
	return steps
}

// isResult reports whether a flow's destination is a result parameter of
// the function compiled: ~r0, ~r1 (unnamed results).
func isResult(loc string) bool {
	return strings.HasPrefix(loc, "~r") || strings.HasPrefix(loc, "~R")
}

// splitCall splits "fmt.Sprintf(\"%s\", ... argument...)" into the callee
// "fmt.Sprintf" and its top-level arguments. The callee may itself hold
// parentheses: "(*T).m(x)".
func splitCall(s string) (callee string, args []string) {
	if !strings.HasSuffix(s, ")") {
		return "", nil
	}
	depth := 0
	inStr := false
	open := -1
	for i := len(s) - 1; i >= 0 && open < 0; i-- {
		c := s[i]
		switch {
		case c == '"' && (i == 0 || s[i-1] != '\\'):
			inStr = !inStr
		case inStr:
		case c == ')' || c == ']' || c == '}':
			depth++
		case c == '(' || c == '[' || c == '{':
			depth--
			if depth == 0 {
				open = i
			}
		}
	}
	if open <= 0 {
		return "", nil
	}
	return s[:open], splitArgs(s[open+1 : len(s)-1])
}

// splitArgs splits a printed argument list at its top-level commas.
func splitArgs(s string) []string {
	var out []string
	depth, start := 0, 0
	inStr := false
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '"' && (i == 0 || s[i-1] != '\\'):
			inStr = !inStr
		case inStr:
		case c == '(' || c == '[' || c == '{':
			depth++
		case c == ')' || c == ']' || c == '}':
			depth--
		case c == ',' && depth == 0:
			out = append(out, strings.TrimSpace(s[start:i]))
			start = i + 1
		}
	}
	if strings.TrimSpace(s) != "" {
		out = append(out, strings.TrimSpace(s[start:]))
	}
	return out
}

// assignee returns the left-hand side of "x.f = ..." or "x := ...", if it
// is a single one and not a temporary of the compiler.
func assignee(stmt string) string {
	lhs, _, ok := strings.Cut(stmt, " = ")
	if !ok {
		if lhs, _, ok = strings.Cut(stmt, " := "); !ok {
			return ""
		}
	}
	if strings.Contains(lhs, ",") || isTemp(lhs) {
		return ""
	}
	return lhs
}

// isTemp reports whether a name is one of the compiler's: ~r0, ~p0,
// .autotmp_3.
func isTemp(name string) bool {
	return strings.HasPrefix(name, "~") || strings.HasPrefix(name, ".")
}
