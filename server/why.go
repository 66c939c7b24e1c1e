package server

import (
	"fmt"
	"strings"

	"github.com/memlens/memlens/profile"
)

// whyDetails is the hover's "why on the heap" section for a Go line: the
// compiler's escape analysis of the values of the line, each at its column
// with the flow that forces it, or, when the compiler names none, where
// the line's bytes were allocated (the callee that allocated most, or the
// runtime growing something on the line). Empty for Python, and for a line
// with nothing to explain.
func whyDetails(res *profile.Result, l *profile.Line) string {
	if res.Language != "go" || len(l.Escapes) == 0 && l.AllocBytes <= 0 {
		return ""
	}
	var b strings.Builder
	b.WriteString("\n**why on the heap**\n")
	for _, e := range l.Escapes {
		fmt.Fprintf(&b, "- col %d · %s", e.Column, codeSubject(e.Message))
		if e.Inlined != "" {
			fmt.Fprintf(&b, " in %s, inlined here", e.Inlined)
		}
		if len(e.Flow) > 0 {
			b.WriteString(": " + strings.Join(e.Flow, ", "))
		}
		b.WriteString("\n")
	}
	if len(l.Escapes) == 0 {
		where := profile.WhereAllocated(*l)
		if res.EscapeAnalysis {
			where = "no value of this line escapes; " + where
		}
		fmt.Fprintf(&b, "- %s\n", where)
	}
	return b.String()
}

// codeSubject puts the code in a compiler message in a code span:
// "`make([]int, n)` escapes to heap", "moved to heap: `x`".
func codeSubject(msg string) string {
	if s, ok := strings.CutSuffix(msg, " escapes to heap"); ok {
		return codeSpan(s) + " escapes to heap"
	}
	for _, p := range []string{"moved to heap: ", "leaking param content: ", "leaking param: "} {
		if s, ok := strings.CutPrefix(msg, p); ok {
			return p + codeSpan(s)
		}
	}
	return msg
}

// codeSpan is s as markdown inline code, whatever backticks s holds.
func codeSpan(s string) string {
	fence := "`"
	for strings.Contains(s, fence) {
		fence += "`"
	}
	if len(fence) > 1 || strings.HasPrefix(s, "`") || strings.HasSuffix(s, "`") {
		return fence + " " + s + " " + fence
	}
	return fence + s + fence
}
