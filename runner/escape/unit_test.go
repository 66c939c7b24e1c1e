package escape

import (
	"slices"
	"strings"
	"testing"

	"github.com/memlens/memlens/profile"
)

func TestGCFlags(t *testing.T) {
	pkg := Package{ImportPath: "example.com/m/p", Dir: "/src/m/p", CmdLine: true}
	dep := Package{ImportPath: "example.com/m/q", Dir: "/src/m/q"}
	for _, tc := range []struct {
		name  string
		flags []string
		pkgs  []Package
		dir   string
		want  []string // appended to flags
	}{
		{"none", nil, []Package{pkg}, "/tmp/j", []string{"-gcflags=example.com/m/p=-json=0,/tmp/j"}},
		{"space in dir", nil, []Package{pkg}, "/tmp/a b", []string{"-gcflags=example.com/m/p='-json=0,/tmp/a b'"}},
		{"no pattern: command-line packages only", []string{"-gcflags=-N -l"}, []Package{pkg, dep}, "/j",
			[]string{"-gcflags=example.com/m/p=-N -l -json=0,/j", "-gcflags=example.com/m/q=-json=0,/j"}},
		{"all", []string{"-gcflags", "all=-N -l"}, []Package{dep}, "/j", []string{"-gcflags=example.com/m/q=-N -l -json=0,/j"}},
		{"the last match wins", []string{"-gcflags=all=-N", "--gcflags=example.com/m/...=-l"}, []Package{pkg}, "/j",
			[]string{"-gcflags=example.com/m/p=-l -json=0,/j"}},
		{"no match", []string{"-gcflags=example.com/other=-l"}, []Package{pkg}, "/j", []string{"-gcflags=example.com/m/p=-json=0,/j"}},
		{"relative pattern", []string{"-gcflags=./...=-l"}, []Package{pkg}, "/j", []string{"-gcflags=example.com/m/p=-l -json=0,/j"}},
		// go matches an external test package by the path of the package
		// it tests (p_test matches nothing): one flag for both.
		{"external test package", []string{"-gcflags=example.com/m/p=-l"}, []Package{{ImportPath: "example.com/m/p_test", Dir: "/src/m/p"}}, "/j",
			[]string{"-gcflags=example.com/m/p=-l -json=0,/j"}},
		{"a package and its external test package", nil, []Package{pkg, {ImportPath: "example.com/m/p_test", Dir: "/src/m/p", CmdLine: true}}, "/j",
			[]string{"-gcflags=example.com/m/p=-json=0,/j"}},
		{"the user's -json is replaced", []string{"-gcflags=all=-json=0,/x -m"}, []Package{pkg}, "/j", []string{"-gcflags=example.com/m/p=-m -json=0,/j"}},
		{"quoted", []string{`-gcflags=all='-d=a b'`}, []Package{pkg}, "/j", []string{"-gcflags=example.com/m/p='-d=a b' -json=0,/j"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := GCFlags(tc.flags, tc.pkgs, "/src/m", tc.dir)
			if err != nil {
				t.Fatal(err)
			}
			want := append(append([]string(nil), tc.flags...), tc.want...)
			if !slices.Equal(got, want) {
				t.Errorf("got  %q\nwant %q", got, want)
			}
		})
	}
	if _, err := GCFlags([]string{`-gcflags=all='-d=x`}, []Package{pkg}, "/", "/j"); err == nil {
		t.Error("an unterminated quote is not an error")
	}
}

func TestMap(t *testing.T) {
	// The instrumenter's shape: text inserted at a statement, then a
	// directive naming the original line and column of the next byte.
	src := "package p\n" +
		"func F() {PROBE; \n" +
		"//line /a/p.go:2:11\n" +
		"\n" +
		"\tPROBE; \n" +
		"//line /a/p.go:3:2\n" +
		"x := 1\n" +
		"\ty := &x\n" +
		"//line /b/other.y:40\n" + // a generated file's own directive: not followed
		"z := y\n"
	m := NewMap(map[string][]byte{"/a/p.go": []byte(src)})
	for _, tc := range []struct{ in, want Pos }{
		{Pos{"/a/p.go", 1, 1}, Pos{"/a/p.go", 1, 1}},
		{Pos{"/a/p.go", 2, 6}, Pos{"/a/p.go", 2, 6}}, // before any directive
		{Pos{"/a/p.go", 7, 1}, Pos{"/a/p.go", 3, 2}}, // first line: column shifted
		{Pos{"/a/p.go", 7, 6}, Pos{"/a/p.go", 3, 7}},
		{Pos{"/a/p.go", 8, 7}, Pos{"/a/p.go", 4, 7}}, // later lines keep columns
		{Pos{"/a/p.go", 10, 1}, Pos{"/a/p.go", 6, 1}},
		{Pos{"/other.go", 7, 3}, Pos{"/other.go", 7, 3}}, // not compiled through the overlay
	} {
		if got := m.Pos(tc.in); got != tc.want {
			t.Errorf("Pos(%v) = %v, want %v", tc.in, got, tc.want)
		}
	}
	if got := (*Map)(nil).Pos(Pos{"/a", 3, 4}); got != (Pos{"/a", 3, 4}) {
		t.Errorf("nil map moved %v", got)
	}
}

func TestParse(t *testing.T) {
	head := `{"version":0,"package":"p","goos":"linux","goarch":"amd64","gc_version":"go1.26","file":"/a/p.go"}` + "\n"
	diag := `{"range":{"start":{"line":5,"character":9},"end":{"line":5,"character":9}},"severity":3,"code":"escape","source":"go compiler","message":"x escapes to heap","relatedInformation":[` +
		`{"location":{"uri":"file:///a/q%20r.go","range":{"start":{"line":9,"character":2},"end":{"line":9,"character":2}}},"message":"inlineLoc"},` +
		`{"location":{"uri":"file:///a/p.go","range":{"start":{"line":5,"character":9},"end":{"line":5,"character":9}}},"message":"escflow:    flow: {heap} ← \u0026{storage for x}:"},` +
		`{"location":{"uri":"file:///a/p.go","range":{"start":{"line":5,"character":9},"end":{"line":5,"character":9}}},"message":"escflow:      from f(g(x), (y)) (call parameter)"},` +
		`{"location":{"uri":"file:///a/q%20r.go","range":{"start":{"line":9,"character":2},"end":{"line":9,"character":2}}},"message":"inlineLoc"}]}` + "\n"
	empty := `{"range":{"start":{"line":5,"character":9},"end":{"line":5,"character":9}},"severity":3,"code":"escape","source":"go compiler","message":""}` + "\n"
	other := `{"range":{"start":{"line":6,"character":1},"end":{"line":6,"character":1}},"severity":3,"code":"isInBounds","source":"go compiler","message":""}` + "\n"
	file, rs, err := Parse([]byte(head + diag + empty + other))
	if err != nil {
		t.Fatal(err)
	}
	if file != "/a/p.go" {
		t.Errorf("file %q", file)
	}
	if len(rs) != 1 {
		t.Fatalf("%d reports, want 1: %+v", len(rs), rs)
	}
	r := rs[0]
	if r.Pos != (Pos{"/a/p.go", 5, 9}) || r.Code != "escape" || r.Message != "x escapes to heap" {
		t.Errorf("report %+v", r)
	}
	if len(r.Inline) != 1 || r.Inline[0] != (Pos{"/a/q r.go", 9, 2}) {
		t.Errorf("inline chain %v (the one after the explanation's line belongs to it)", r.Inline)
	}
	if len(r.Flows) != 1 || r.Flows[0].Dst != "{heap}" || r.Flows[0].Src != "&{storage for x}" ||
		len(r.Flows[0].Notes) != 1 || r.Flows[0].Notes[0].Where != "f(g(x), (y))" || r.Flows[0].Notes[0].Why != "call parameter" {
		t.Errorf("flows %+v", r.Flows)
	}
	for _, bad := range []string{"", "not json\n", `{"version":1,"file":"/a"}` + "\n", head + "{broken\n"} {
		if _, _, err := Parse([]byte(bad)); err == nil {
			t.Errorf("Parse(%q) gave no error", bad)
		}
	}
}

// condense on flows as the compiler writes them (copied from real output).
func TestCondense(t *testing.T) {
	f := func(dst, src string, notes ...string) Flow {
		fl := Flow{Dst: dst, Src: src}
		for _, n := range notes {
			nt, ok := parseNote(n)
			if !ok {
				t.Fatalf("note %q", n)
			}
			fl.Notes = append(fl.Notes, nt)
		}
		return fl
	}
	for _, tc := range []struct {
		name  string
		flows []Flow
		want  string
	}{
		{"variadic", []Flow{
			f("{storage for ... argument}", "&{storage for i}", "from i (spill)", "from ... argument (slice-literal-element)"),
			f("{heap}", "{storage for ... argument}", "from ... argument (spill)", `from fmt.Sprintf("%s-%d", ... argument...) (call parameter)`),
		}, "passed to fmt.Sprintf's ... argument"},
		{"returned", []Flow{
			f("~r0", "&{storage for &Grid{...}}", "from &Grid{...} (spill)", "from return &Grid{...} (return)"),
		}, "returned"},
		{"result root without a return note", []Flow{
			f("~r0", "&{storage for ([]byte)(\"null\")}", "from ([]byte)(\"null\") (spill)", `from ~r0, ~r1 = ([]byte)("null"), nil (assign-pair)`),
		}, "returned"},
		{"stored through a pointer", []Flow{
			f("{heap}", "&{storage for append(g.Cells, s)}", "from append(g.Cells, s) (spill)", "from g.Cells = append(g.Cells, s) (assign)"),
		}, "stored in g.Cells"},
		{"local assignments are not steps", []Flow{
			f("p", "&{storage for &T{...}}", "from &T{...} (spill)", "from p := &T{...} (assign)"),
			f("{heap}", "p", "from p (interface-converted)", "from append(keep, p) (call parameter)"),
		}, "converted to an interface, appended to keep"},
		{"closure", []Flow{
			f("{storage for func literal}", "&n", "from n (captured by a closure)", "from n (reference)"),
		}, "captured by a closure, which is on the heap"},
		{"struct element", []Flow{
			f("{storage for &Grid{...}}", "&{storage for make(map[string][]int)}", "from make(map[string][]int) (spill)", "from Grid{...} (struct literal element)"),
		}, "stored in a Grid{...}, which is on the heap"},
		{"method value call", []Flow{
			f("{heap}", "&{storage for (*decodeState).arrayInterface(d)}", "from (*decodeState).arrayInterface(d) (spill)", "from val = (*decodeState).arrayInterface(d) (assign)"),
		}, "stored in val"},
		{"panic", []Flow{
			f("{heap}", "&{storage for &reflect.ValueError{...}}", "from &reflect.ValueError{...} (spill)", "from &reflect.ValueError{...} (interface-converted)", "from panic(&reflect.ValueError{...}) (call parameter)"),
		}, "converted to an interface, passed to panic"},
		{"too large", []Flow{
			f("{heap}", "&{storage for make([]byte, 1048576)}", "from make([]byte, 1048576) (too large for stack)"),
		}, "too large for stack"},
		{"implicit address", []Flow{
			f("{heap}", "&wg", "from wg (address-of)", "from (*sync.WaitGroup).Add(wg, 1) (call parameter)"),
		}, "passed to (*sync.WaitGroup).Add"},
		{"long chains keep their ends", []Flow{
			f("a", "&{storage for x}", "from x (interface-converted)", "from f(x) (call parameter)"),
			f("b", "a", "from a (captured by a closure)", "from g(a) (call parameter)"),
			f("{heap}", "b", "from ch <- b (send)", "from h(b) (call parameter)"),
		}, "converted to an interface, passed to f, captured by a closure, …, passed to h"},
		{"an interface's method", []Flow{
			f("{heap}", "&{storage for ... argument}", "from ... argument (spill)", "from .autotmp_5.Match(... argument...) (call parameter)"),
		}, "passed to method Match"},
		{"a function value", []Flow{
			f("{heap}", "x", "from ~p0(x) (call parameter)"),
		}, "passed to a function value"},
		{"append into a temporary", []Flow{
			f("{heap}", "x", "from append(.autotmp_3, x) (call parameter)"),
		}, "appended to a slice"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := strings.Join(condense(tc.flows), ", "); got != tc.want {
				t.Errorf("got  %q\nwant %q", got, tc.want)
			}
		})
	}
}

func TestMessage(t *testing.T) {
	for _, tc := range []struct {
		r    Report
		want string
		ok   bool
	}{
		{Report{Code: "escape", Message: "i escapes to heap"}, "i escapes to heap", true},
		{Report{Code: "escapes", Message: "wg escapes to heap", Flows: []Flow{{Dst: "{heap}", Src: "&wg"}}}, "moved to heap: wg", true},
		{Report{Code: "leak", Message: "parameter s leaks to {heap} with derefs=0"}, "leaking param: s", true},
		{Report{Code: "leak", Message: "parameter g leaks to {heap} with derefs=1"}, "leaking param content: g", true},
		{Report{Code: "leak", Message: "parameter v leaks to ~r0 with derefs=2"}, "", false},
		{Report{Code: "escape", Message: "something else"}, "", false},
	} {
		got, ok := tc.r.message()
		if ok != tc.ok || ok && got != tc.want {
			t.Errorf("message(%q) = %q, %v; want %q, %v", tc.r.Message, got, ok, tc.want, tc.ok)
		}
	}
}

func TestExprAt(t *testing.T) {
	for _, tc := range []struct {
		line string
		col  int
		want string
	}{
		{"\tkeep = append(keep, Points(n, 1.5), Points(n, \"s\"))", 9, `append(keep, Points(n, 1.5), Points(n, "s"))`},
		{"\tkeep = append(keep, Points(n, 1.5), Points(n, \"s\"))", 28, "Points(n, 1.5)"}, // a call's parenthesis
		{"\tg := &Grid{N: n, Cells: nil}.Cells[0] + 1", 7, "&Grid{N: n, Cells: nil}.Cells[0]"},
		{"\treturn f(\")(\")", 9, `f(")(")`},
		{"\tx := (a + b)", 7, "(a + b)"},
		{"\tx := f(a", 7, ""}, // unbalanced
		{"short", 40, ""},
	} {
		if got := exprAt(tc.line, tc.col); got != tc.want {
			t.Errorf("exprAt(%q, %d) = %q, want %q", tc.line, tc.col, got, tc.want)
		}
	}
}

func TestFoldShapes(t *testing.T) {
	exps := []Explanation{
		{At: Pos{"/p.go", 3, 5}, Message: "make([]Point[go.shape.float64], 0, n) escapes to heap", Flow: []string{"returned"}},
		{At: Pos{"/p.go", 3, 5}, Message: "make([]Point[go.shape.interface {}], 0, n) escapes to heap", Flow: []string{"returned"}},
		{At: Pos{"/p.go", 1, 6}, Inline: []Pos{{"/p.go", 3, 5}}, Message: "make([]Point[go.shape.float64], 0, n) escapes to heap", Flow: []string{"returned"}},
		{At: Pos{"/p.go", 3, 5}, Message: "m[go.shape.string,go.shape.*uint8] escapes to heap"},
		{At: Pos{"/p.go", 3, 5}, Message: "m[go.shape.int,go.shape.*uint8] escapes to heap"},
	}
	fns := []profile.Function{{Name: "F", File: "/p.go", StartLine: 1, EndLine: 4,
		Lines: []profile.Line{{Line: 1}, {Line: 2}, {Line: 3}, {Line: 4}}}}
	Attach(fns, exps)
	got := escapesOf(fns)
	want := []string{
		"F 3:5 m[string|int,*uint8] escapes to heap",
		"F 3:5 make([]Point[float64|interface {}], 0, n) escapes to heap: returned",
	}
	if !slices.Equal(got, want) {
		t.Errorf("got  %q\nwant %q", got, want)
	}
}
