package profile

import (
	"fmt"
	"io"
	"path/filepath"
	"strings"
)

// WhereAllocated says where a Go line's allocations happen when the
// compiler explains none of them: inside the callee that allocated most
// ("inside fmt.Sprintf: 3.2 KiB of the line's 4.0 KiB"), else on the line
// itself, by the runtime function Line.Runtime names, with what it
// allocates (a channel, append growing a slice). Empty for a line that
// allocated nothing.
func WhereAllocated(l Line) string {
	if l.AllocBytes <= 0 {
		return ""
	}
	if len(l.Callees) > 0 {
		c := l.Callees[0]
		name := c.Name[strings.LastIndex(c.Name, "/")+1:] // shapes.NewGrid, as pprof shows it
		if c.AllocBytes >= l.AllocBytes {
			return fmt.Sprintf("allocated inside %s", name)
		}
		return fmt.Sprintf("allocated inside %s: %s of the line's %s", name, Bytes(c.AllocBytes), Bytes(l.AllocBytes))
	}
	if l.Runtime == "" {
		return "allocated by the runtime on this line (append, make, a map or channel operation, a conversion or concatenation)"
	}
	s := "allocated by the runtime on this line, in " + l.Runtime
	if what := runtimeAllocates(strings.TrimPrefix(l.Runtime, "runtime.")); what != "" {
		s += ": " + what
	}
	return s
}

// runtimeAllocates says what a runtime function called from a line
// allocates, for the functions a line calls to allocate; "" for others.
func runtimeAllocates(fn string) string {
	switch {
	case fn == "growslice":
		return "append outgrew the slice's capacity"
	case strings.HasPrefix(fn, "makeslice"):
		return "make of a slice whose size is known only at run time or too large for the stack"
	case fn == "makechan":
		return "a channel, which is always on the heap"
	case fn == "chansend1", fn == "chanrecv1", fn == "chanrecv2", fn == "selectgo", fn == "acquireSudog":
		return "the record of a goroutine blocked on a channel (a sudog), made when the runtime had none to reuse"
	case strings.HasPrefix(fn, "makemap"), strings.HasPrefix(fn, "mapassign"):
		return "a map, or a map that grew"
	case strings.HasPrefix(fn, "concatstring"), strings.HasPrefix(fn, "concatbyte"):
		return "a string concatenation"
	case fn == "slicebytetostring", fn == "stringtoslicebyte", fn == "stringtoslicerune", fn == "slicerunetostring", fn == "intstring":
		return "a string conversion"
	case strings.HasPrefix(fn, "convT"):
		return "a value converted to an interface"
	case fn == "newobject":
		return "a value the compiler put on the heap"
	case fn == "newproc", fn == "newproc1", fn == "malg":
		return "a new goroutine"
	case fn == "deferproc", fn == "newdefer":
		return "a defer record"
	}
	return ""
}

// WriteWhy prints, under the tables of WriteTable, why each Go line that
// allocated did so: the compiler's escape analysis of the line (one
// footnote per value, at its column), or where the allocation happened
// when the compiler names no value of the line. Lines that allocated
// nothing are left out. Python results have no such explanation: a note
// says so.
func WriteWhy(w io.Writer, r *Result) error {
	var b strings.Builder
	b.WriteString("\nWhy on the heap (the compiler's escape analysis):\n")
	switch {
	case r.Language != "go":
		b.WriteString("  only Go lines are explained\n")
	case !r.EscapeAnalysis && r.EscapeAnalysisError != "":
		b.WriteString("  the compiler's escape analysis was not read for this run: " + r.EscapeAnalysisError + "\n")
	case !r.EscapeAnalysis:
		b.WriteString("  the compiler's escape analysis was not read for this run\n")
	}
	if r.Language == "go" {
		for _, f := range r.Functions {
			writeWhyFunction(&b, r, f)
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func writeWhyFunction(b *strings.Builder, r *Result, f Function) {
	fmt.Fprintf(b, "\n%s (%s:%d)\n", f.Name, filepath.Base(f.File), f.StartLine)
	any := false
	for _, l := range f.Lines {
		if l.AllocBytes <= 0 {
			continue
		}
		any = true
		lead := fmt.Sprintf("%6d %11s   ", l.Line, Bytes(l.AllocBytes))
		pad := strings.Repeat(" ", len(lead))
		first := true
		put := func(s string) {
			if first {
				b.WriteString(lead + s + "\n")
				first = false
				return
			}
			b.WriteString(pad + s + "\n")
		}
		for _, e := range l.Escapes {
			put(fmt.Sprintf("col %-3d %s", e.Column, e.Sentence()))
		}
		switch {
		case len(l.Escapes) == 0 && r.EscapeAnalysis:
			put("no value of this line escapes; " + WhereAllocated(l))
		case len(l.Escapes) == 0:
			put(WhereAllocated(l))
		case len(l.Callees) > 0 && !allInlined(l.Escapes):
			// (Escapes inside an inlined callee already say it.)
			put("and " + WhereAllocated(l))
		}
	}
	if !any {
		b.WriteString("  no line allocated\n")
	}
}

func allInlined(es []Escape) bool {
	for _, e := range es {
		if e.Inlined == "" {
			return false
		}
	}
	return true
}
