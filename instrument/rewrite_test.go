package instrument

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"go/ast"
	"go/importer"
	"go/parser"
	"go/printer"
	"go/scanner"
	"go/token"
	"go/types"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
)

type posTok struct {
	tok token.Token
	lit string
	pos token.Position
}

// scanTokens lists src's tokens (no semicolons) with their positions,
// adjusted by line directives or not.
func scanTokens(t testing.TB, path string, src []byte, adjusted bool) []posTok {
	t.Helper()
	fset := token.NewFileSet()
	f := fset.AddFile(path, -1, len(src))
	var s scanner.Scanner
	var errs scanner.ErrorList
	s.Init(f, src, func(pos token.Position, msg string) { errs.Add(pos, msg) }, 0)
	var out []posTok
	for {
		p, tok, lit := s.Scan()
		if tok == token.EOF {
			break
		}
		if tok == token.SEMICOLON {
			continue
		}
		pos := fset.PositionFor(p, adjusted)
		pos.Offset = 0 // compare file, line and column
		out = append(out, posTok{tok, lit, pos})
	}
	if errs.Len() > 0 {
		t.Fatalf("scan: %v", errs.Err())
	}
	return out
}

// insertedTok says whether a token may come from a probe.
func insertedTok(pt posTok) bool {
	switch pt.tok {
	case token.IDENT:
		return strings.HasPrefix(pt.lit, "memlens")
	case token.VAR, token.DEFER, token.DEFINE, token.LPAREN, token.RPAREN, token.AND, token.COMMA,
		token.LBRACE, token.RBRACE, token.LAND, token.NEQ, token.INT:
		return true
	}
	return false
}

// checkPositions verifies the rewriting invariant: the instrumented file
// parses, and every token of the original is in it, in order, at the same
// file, line and column once line directives apply; the other tokens are
// the probes'.
func checkPositions(t testing.TB, path string, orig, inst []byte) {
	t.Helper()
	if _, err := parser.ParseFile(token.NewFileSet(), path, inst, parser.SkipObjectResolution); err != nil {
		t.Fatalf("instrumented file does not parse: %v\n%s", err, inst)
	}
	want := scanTokens(t, path, orig, false)
	got := scanTokens(t, path, inst, true)
	j := 0
	for _, w := range want {
		for j < len(got) && (got[j].tok != w.tok || got[j].lit != w.lit || got[j].pos != w.pos) {
			if !insertedTok(got[j]) {
				t.Fatalf("unexpected token %v %q at %v before %v %q at %v", got[j].tok, got[j].lit, got[j].pos, w.tok, w.lit, w.pos)
			}
			j++
		}
		if j == len(got) {
			t.Fatalf("token %v %q at %v lost or moved\n%s", w.tok, w.lit, w.pos, inst)
		}
		j++
	}
	for ; j < len(got); j++ {
		if !insertedTok(got[j]) {
			t.Fatalf("unexpected trailing token %v %q at %v", got[j].tok, got[j].lit, got[j].pos)
		}
	}
}

var (
	directiveRE = regexp.MustCompile(`\n//line [^\n]*\n`)
	slotRE      = regexp.MustCompile(`(memlens(?:Line|Cond)\(memlensFr), \d+\)`)
	enterRE     = regexp.MustCompile(`(memlens(?:Enter|Lit)(?:St)?)\(\d+`)
)

// compact removes the line directives, leaving the inserted code inline,
// and writes slots as S and target ids as ID.
func compact(b []byte) string {
	s := directiveRE.ReplaceAllString(string(b), "")
	s = slotRE.ReplaceAllString(s, "$1, S)")
	return enterRE.ReplaceAllString(s, "$1(ID")
}

// rewriteCases are files whose functions are all instrumented. want are
// fragments of the compact output.
var rewriteCases = []struct {
	name string
	src  string
	want []string
}{
	{"else-if", `package p

func f(x int) int {
	if x < 0 {
		return -1
	} else if y := x * 2; y > 10 {
		return 1
	} else if x == 3 {
		return 3
	} else {
		return 0
	}
}

func g(a, b bool) int {
	if a { return 1 } else if b { return 2 }
	if a {
	} else if b {
	}; return 3
}
`, []string{
		"} else {memlensLine(memlensFr, S); if y := x * 2; y > 10 {",
		"} else {memlensLine(memlensFr, S); if x == 3 {",
		"return 0\n\t}}}\n}",
		"if a { return 1 } else if b { return 2 }\n",
		"} else {memlensLine(memlensFr, S); if b {\n\t}};",
	}},
	{"loops", `package p

import "iter"

func f(n int, seq iter.Seq[int], ch chan int) (s int) {
	for i := 0; i < n || s > 100 && n > 0; i++ {
		s += i
	}
	for i := 0; i < n &&
		s < 1000; i++ {
	}
	for s < 10 { s++ }
	for {
		if s > 20 {
			break
		}
		s++
	}
	for ;; { break }
	for range 3 {
	}
	for i := range n { s += i }
	for v := range seq {
		s += v
	}
	for range ch {
	}
	type T struct{ a int }
	for x := (T{}); x == (T{}); x.a++ {
	}
	for i := 0; i < 3; func() { i++ }() {
	}
	// Conditions of a named boolean type.
	more := flag(n > 0)
	for more {
		more = false
	}
	for j := 0; flag(j < n) || more; j++ {
	}
	return
}

type flag bool

// A condition whose type is a type parameter's.
func cond[B ~bool](b B) {
	for b {
		b = false
	}
}

func forever() int {
	for {
	}
}
`, []string{
		"for i := 0; memlensCond(memlensFr, S) != 0 && i < n || s > 100 && n > 0; i++ {",
		"memlensCond(memlensFr, S) != 0 && s < 10 { s++ }",
		"for {memlensLine(memlensFr, S); ",
		"for ;; {memlensLine(memlensFr, S);  break }",
		"memlensLine(memlensFr, S); for range 3 {memlensLine(memlensFr, S); \n\t}",
		"for memlensCond(memlensFr, S) != 0 && more {",
		"for j := 0; memlensCond(memlensFr, S) != 0 && flag(j < n) || more; j++ {",
		"for memlensCond(memlensFr, S) != 0 && b {",
		"for i := 0; memlensCond(memlensFr, S) != 0 && i < 3; func() {var memlensSt memlensState; memlensFr := memlensLitSt(ID, &memlensSt); defer memlensLeave(memlensFr);  memlensLine(memlensFr, S); i++ }() {",
		"func forever() int {var memlensSt memlensState; memlensFr := memlensEnterSt(ID, &memlensSt); defer memlensLeave(memlensFr); \n\tfor {memlensLine(memlensFr, S); \n\t}\n}",
	}},
	{"labels", `package p

func f(xs [][]int, ch chan int) (n int) {
outer:
	for _, row := range xs {
	inner:
		for _, v := range row {
			switch {
			case v < 0:
				continue outer
			case v == 0:
				break inner
			}
			n += v
		}
	}
sel:
	select {
	case <-ch:
		break sel
	default:
	}
	i := 0
again:
	i++
	if i < 3 {
		goto again
	}
	goto end
end:
	return
}
`, []string{
		"memlensLine(memlensFr, S); outer:\n\tfor _, row := range xs {memlensLine(memlensFr, S); ",
		"\tmemlensLine(memlensFr, S); inner:\n\t\tfor _, v := range row {memlensLine(memlensFr, S); ",
		"memlensLine(memlensFr, S); sel:\n\tselect {",
		"again:\n\tmemlensLine(memlensFr, S); i++",
		"end:\n\tmemlensLine(memlensFr, S); return\n}",
	}},
	{"switches", `package p

import "fmt"

func f(x any, ch chan int) (s string) {
	switch v := x.(type) {
	case int, int64:
		s = "int"
	case string:
	case nil: s = "nil"
	default:
		s = fmt.Sprint(v)
	}
	switch y := 2; y {
	case 1:
		fallthrough
	case 2:
	}
	select {
	case ch <- func() int { return 1 }():
	case v, ok := <-ch:
		_, _ = v, ok
	}
	select {}
}
`, []string{
		"case int, int64:memlensLine(memlensFr, S); ",
		"case string:memlensLine(memlensFr, S); \n",
		"case nil:memlensLine(memlensFr, S);  s = \"nil\"",
		"case ch <- func() int {var memlensSt memlensState; memlensFr := memlensLitSt(ID, &memlensSt); defer memlensLeave(memlensFr);  memlensLine(memlensFr, S); return 1 }():memlensLine(memlensFr, S); ",
		"memlensLine(memlensFr, S); select {}",
	}},
	{"closures", `package p

import "sync"

func f(n int) int {
	var wg sync.WaitGroup
	total := 0
	var mu sync.Mutex
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func(k int) {
			defer wg.Done()
			g := func() int { return k * 2 }
			mu.Lock(); total += g(); mu.Unlock()
		}(i)
	}
	defer func() {
		if r := recover(); r != nil {
			panic(r)
		}
	}()
	(func() {})()
	wg.Wait()
	return total
}
`, []string{
		"go func(k int) {var memlensSt memlensState; memlensFr := memlensLitSt(ID, &memlensSt); defer memlensLeave(memlensFr); ",
		"g := func() int {var memlensSt memlensState; memlensFr := memlensLitSt(ID, &memlensSt); defer memlensLeave(memlensFr);  memlensLine(memlensFr, S); return k * 2 }",
		"memlensLine(memlensFr, S); mu.Lock(); total += g(); mu.Unlock()",
		"memlensLine(memlensFr, S); (func() {var memlensSt memlensState; memlensFr := memlensLitSt(ID, &memlensSt); defer memlensLeave(memlensFr); })()",
	}},
	{"decls-and-generics", `//go:build !plan9

package p

type List[K comparable, V any] struct{ m map[K]V }

func (l *List[K, V]) Put(k K, v V) { l.m[k] = v }

func Keys[K comparable, V any](m map[K]V) (ks []K) {
	const c = 1
	type pair struct{ k K }
	var (
		a = c
		b = a + 1
	)
	_ = b
	for k := range m {
		ks = append(ks, pair{k}.k)
	}
	return
}

func init() {}

func init() {
	var x = "héllo"; _ = x
}

func empty() {
}
`, []string{
		"func (l *List[K, V]) Put(k K, v V) {var memlensSt memlensState; memlensFr := memlensEnterSt(ID, &memlensSt); defer memlensLeave(memlensFr);  l.m[k] = v }",
		"const c = 1\n\ttype pair struct{ k K }\n\tmemlensLine(memlensFr, S); var (",
		"func init() {var memlensSt memlensState; memlensFr := memlensEnterSt(ID, &memlensSt); defer memlensLeave(memlensFr); }",
		"var x = \"héllo\"; _ = x",
	}},
	{"package-names", `package p

// The runtime file's imports must not clash with these.
var os, time, runtime = 1, 2, 3

func sync() int { return os + time + runtime }

type atomic struct{}
type strconv = int
type syscall int
type unsafe struct{}
`, nil},
	{"terminating", `package p

func a(x int) int {
	switch {
	case x > 0:
		return 1
	default:
		panic("no")
	}
}

func b(ch chan int) int {
	select {
	case v := <-ch:
		return v
	}
}

func c(x bool) int {
	if x {
		return 1
	} else if !x {
		return 2
	} else {
		return 3
	}
}

func d() int {
L:
	for {
		break L
	}
	return 0
}
`, nil},
}

func instrumentSource(t testing.TB, path, src string, opt Options) (*Instrumented, []Func) {
	t.Helper()
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, path, src, parser.ParseComments)
	if err != nil {
		t.Fatal(err)
	}
	funcs := FindFuncs(fset, f, path)
	in, err := Instrument(Package{Name: f.Name.Name, Dir: filepath.Dir(path), Files: map[string][]byte{path: []byte(src)}, Targets: funcs}, opt)
	if err != nil {
		t.Fatal(err)
	}
	return in, funcs
}

func TestRewrite(t *testing.T) {
	t.Parallel()
	var progs []*prog
	for _, tc := range rewriteCases {
		t.Run(tc.name, func(t *testing.T) {
			const path = "/src/p/p.go"
			in, _ := instrumentSource(t, path, tc.src, Options{RSS: true})
			out := in.Files[path]
			checkPositions(t, path, []byte(tc.src), out)
			c := compact(out)
			for _, w := range tc.want {
				if !strings.Contains(c, w) {
					t.Errorf("output lacks %q:\n%s", w, c)
				}
			}
		})
		progs = append(progs, newProg(t, map[string]string{"p.go": tc.src}, Options{RSS: true, Allocs: true}, func(Func) bool { return true }))
	}
	// Every case must also compile and pass go test's vet checks.
	t.Run("build+vet", func(t *testing.T) {
		replace := map[string]string{}
		var pkgs []string
		for _, p := range progs {
			b, err := os.ReadFile(p.overlay)
			if err != nil {
				t.Fatal(err)
			}
			var o struct{ Replace map[string]string }
			if err := json.Unmarshal(b, &o); err != nil {
				t.Fatal(err)
			}
			for k, v := range o.Replace {
				replace[k] = v
			}
			pkgs = append(pkgs, "./"+filepath.Base(p.dir))
		}
		js, _ := json.Marshal(map[string]any{"Replace": replace})
		overlay := filepath.Join(t.TempDir(), "overlay.json")
		if err := os.WriteFile(overlay, js, 0o644); err != nil {
			t.Fatal(err)
		}
		if out, err := gocmd(t, append([]string{"build", "-overlay", overlay}, pkgs...)...); err != nil {
			t.Fatalf("go build: %v\n%s", err, out)
		}
		vet := []string{"vet", "-overlay", overlay, "-atomic", "-bool", "-buildtags", "-directive", "-errorsas", "-ifaceassert", "-nilfunc", "-printf", "-stringintconv", "-tests"}
		if out, err := gocmd(t, append(vet, pkgs...)...); err != nil {
			t.Fatalf("go vet: %v\n%s", err, out)
		}
	})
}

func TestLayout(t *testing.T) {
	const path = "/src/p/p.go"
	src := `package p

func a(n int) int { return n }

func b(xs []int) (s int) {
	for _, x := range xs {
		s += x
	}

	return
}
`
	in, funcs := instrumentSource(t, path, src, Options{})
	want := []FuncLayout{
		{Func: funcs[0], ID: 0, Lines: []LineSlot{{3, 0}}},
		{Func: funcs[1], ID: 1, Lines: []LineSlot{{5, 1}, {6, 2}, {7, 3}, {10, 4}}},
	}
	if fmt.Sprint(in.Funcs) != fmt.Sprint(want) {
		t.Errorf("layout\n%v\nwant\n%v", in.Funcs, want)
	}
	if in.RuntimePath != "/src/p/zz_memlens_rt0.go" {
		t.Errorf("runtime path %s", in.RuntimePath)
	}
	// Counts only: a without loops releases its row at its return, b
	// (a loop) by defer.
	if c := compact(in.Files[path]); strings.Contains(c, "memlensSt") ||
		!strings.Contains(c, "func a(n int) int {memlensFr := memlensEnter(ID);  ; memlensRelease(memlensFr); return n }") ||
		!strings.Contains(c, "func b(xs []int) (s int) {memlensFr := memlensEnter(ID); defer memlensLeave(memlensFr); ") {
		t.Errorf("counts-only probes keep RSS state, or exits differ:\n%s", c)
	}
	// A duplicate target shares the first one's layout.
	in2, err := Instrument(Package{Dir: "/src/p", Files: map[string][]byte{path: []byte(src)}, Targets: []Func{funcs[1], funcs[1]}}, Options{})
	if err != nil || len(in2.Funcs) != 2 || fmt.Sprint(in2.Funcs[0]) != fmt.Sprint(in2.Funcs[1]) {
		t.Errorf("duplicate target: %v %v", in2, err)
	}
	xt, err := Instrument(Package{Index: 3, Name: "p_test", Dir: "/src/p", Files: map[string][]byte{path: []byte(strings.Replace(src, "package p", "package p_test", 1))}, Targets: funcs[:1]}, Options{})
	if err != nil || xt.RuntimePath != "/src/p/zz_memlens_rt3_test.go" || !strings.Contains(string(xt.RuntimeFile), "package p_test\n") {
		t.Errorf("external test package: %v", err)
	}
}

func TestInstrumentErrors(t *testing.T) {
	const path = "/src/p/p.go"
	good := "package p\n\nfunc f() {}\n"
	fn := Func{Name: "f", File: path, StartLine: 3, EndLine: 3}
	for _, tc := range []struct {
		name string
		p    Package
		want string
	}{
		{"syntax", Package{Files: map[string][]byte{path: []byte("package p\n\nfunc f() {\n\tx := \n}\n")}, Targets: []Func{fn}}, "/src/p/p.go:5:1: expected operand"},
		{"missing source", Package{Files: map[string][]byte{}, Targets: []Func{fn}}, "no source given"},
		{"stale line", Package{Files: map[string][]byte{path: []byte(good)}, Targets: []Func{{Name: "f", File: path, StartLine: 2}}}, "not found"},
		{"renamed", Package{Files: map[string][]byte{path: []byte(good)}, Targets: []Func{{Name: "g", File: path, StartLine: 3}}}, "not found"},
		{"other package", Package{Name: "q", Files: map[string][]byte{path: []byte(good)}, Targets: []Func{fn}}, "is package p, not q"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Instrument(tc.p, Options{})
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %v, want %q", err, tc.want)
			}
			if tc.name == "syntax" {
				var el scanner.ErrorList
				if !errors.As(err, &el) {
					t.Errorf("error does not wrap the parser's: %T", err)
				}
			}
		})
	}
}

// fuzzSeeds are the testdata programs, the rewrite cases and a few
// standard library files; every one of them must load.
func fuzzSeeds(t testing.TB) [][]byte {
	var seeds [][]byte
	for _, c := range rewriteCases {
		seeds = append(seeds, []byte(c.src))
	}
	paths, _ := filepath.Glob(filepath.Join("..", "testdata", "instrument", "*", "*.go"))
	if len(paths) == 0 {
		t.Fatal("no testdata/instrument programs to seed the fuzzer with")
	}
	goroot, err := exec.Command("go", "env", "GOROOT").Output()
	if err != nil {
		t.Fatalf("go env GOROOT: %v", err)
	}
	src := filepath.Join(strings.TrimSpace(string(goroot)), "src")
	for _, p := range []string{"fmt/print.go", "sort/sort.go", "strconv/quote.go", "text/template/exec.go", "go/parser/parser.go", "encoding/json/decode.go", "net/http/server.go", "runtime/select.go", "iter/iter.go", "regexp/syntax/parse.go"} {
		paths = append(paths, filepath.Join(src, p))
	}
	for _, p := range paths {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatalf("seed %s: %v", p, err)
		}
		seeds = append(seeds, b)
	}
	return seeds
}

// typeCheckPackages are the packages a fuzzed file may import and still be
// type-checked: the runtime's imports and a few the seeds use. Importing
// others makes the type check fail at once, so that each package's export
// data is located once per process (go list), not per input.
func typeCheckPackages() []string {
	pkgs := []string{"errors", "fmt", "iter", "sort", "strings"}
	for _, src := range []string{rtTemplate, rtTimeline} {
		f, err := parser.ParseFile(token.NewFileSet(), "rt.go", src, parser.ImportsOnly)
		if err != nil {
			panic(err)
		}
		for _, imp := range f.Imports {
			pkgs = append(pkgs, strings.Trim(imp.Path.Value, `"`))
		}
	}
	return pkgs
}

// stdImporter imports typeCheckPackages from export data, for go/types;
// one per test process, used under its lock.
var (
	stdImporterMu sync.Mutex
	stdImporter   = sync.OnceValue(func() types.Importer {
		exports := map[string]string{}
		cmd := exec.Command("go", append([]string{"list", "-export", "-f", "{{.ImportPath}} {{.Export}}"}, typeCheckPackages()...)...)
		cmd.Env = goEnv()
		out, err := cmd.Output()
		if err != nil {
			panic(fmt.Sprintf("go list -export: %v", err))
		}
		for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
			if path, file, ok := strings.Cut(line, " "); ok && file != "" {
				exports[path] = file
			}
		}
		return importer.ForCompiler(token.NewFileSet(), "gc", func(path string) (io.ReadCloser, error) {
			if file, ok := exports[path]; ok {
				return os.Open(file)
			}
			return nil, fmt.Errorf("%s: not among the packages fuzzed files may import", path)
		})
	})
)

// typeCheck type-checks files as one package at language version goVersion
// ("" for the toolchain's) and returns the errors.
func typeCheck(fset *token.FileSet, goVersion string, files ...*ast.File) []error {
	stdImporterMu.Lock()
	defer stdImporterMu.Unlock()
	var errs []error
	conf := types.Config{Importer: stdImporter(), GoVersion: goVersion, Error: func(err error) { errs = append(errs, err) }}
	conf.Check(files[0].Name.Name, fset, files, nil)
	return errs
}

// typeCheckInstrumented type-checks the instrumented file at path with the
// runtime file, as the package the build compiles; with api, against the
// runtime's declarations the probes use only (runtimeAPI), which is much
// faster for the fuzzer.
func typeCheckInstrumented(t testing.TB, path string, in *Instrumented, goVersion string, api bool) {
	t.Helper()
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, path, in.Files[path], parser.SkipObjectResolution)
	if err != nil {
		t.Fatalf("instrumented file: %v", err)
	}
	rt, err := parser.ParseFile(fset, in.RuntimePath, in.RuntimeFile, parser.SkipObjectResolution)
	if err != nil {
		t.Fatalf("runtime file: %v", err)
	}
	if api {
		stub := runtimeAPI(t, fset, f, rt)
		if rt, err = parser.ParseFile(fset, "api.go", stub, parser.SkipObjectResolution); err != nil {
			t.Fatalf("runtime API: %v\n%s", err, stub)
		}
	}
	var errs []error
	for _, err := range typeCheck(fset, goVersion, f, rt) {
		// The API keeps all of the runtime's imports.
		if te, ok := err.(types.Error); ok && api && te.Fset.Position(te.Pos).Filename == "api.go" && strings.Contains(te.Msg, " imported ") && strings.HasSuffix(te.Msg, " not used") {
			continue
		}
		errs = append(errs, err)
	}
	if len(errs) > 0 {
		t.Fatalf("the instrumented package does not type-check: %v\n%s", errors.Join(errs...), in.Files[path])
	}
}

// runtimeAPI returns the source of the runtime's declarations that the
// probes in f use, with the types they need and without function bodies.
func runtimeAPI(t testing.TB, fset *token.FileSet, f, rt *ast.File) []byte {
	t.Helper()
	decls := map[string]ast.Decl{}
	for _, d := range rt.Decls {
		switch d := d.(type) {
		case *ast.FuncDecl:
			if d.Recv == nil {
				decls[d.Name.Name] = d
			}
		case *ast.GenDecl:
			for _, spec := range d.Specs {
				if ts, ok := spec.(*ast.TypeSpec); ok {
					decls[ts.Name.Name] = &ast.GenDecl{Tok: token.TYPE, Specs: []ast.Spec{ts}}
				}
			}
		}
	}
	var out bytes.Buffer
	fmt.Fprintf(&out, "package %s\n\n", rt.Name.Name)
	for _, imp := range rt.Imports {
		fmt.Fprintf(&out, "import %s %s\n", imp.Name.Name, imp.Path.Value)
	}
	done := map[string]bool{}
	var need func(n ast.Node)
	need = func(n ast.Node) {
		ast.Inspect(n, func(n ast.Node) bool {
			id, ok := n.(*ast.Ident)
			if !ok || done[id.Name] || decls[id.Name] == nil {
				return true
			}
			done[id.Name] = true
			d := decls[id.Name]
			if fd, ok := d.(*ast.FuncDecl); ok {
				d = &ast.FuncDecl{Doc: nil, Name: fd.Name, Type: fd.Type}
			}
			out.WriteString("\n")
			if err := printer.Fprint(&out, fset, d); err != nil {
				t.Fatal(err)
			}
			out.WriteString("\n")
			need(d)
			return true
		})
	}
	need(f)
	return out.Bytes()
}

// TestRuntimeLanguageVersion: the probes and the runtime compile at Go 1.12
// (the go.mod of many a module still says 1.12 or 1.16).
func TestRuntimeLanguageVersion(t *testing.T) {
	const path = "/src/p/p.go"
	src := rewriteCases[1].src // loops, without range over int and func
	src = src[:strings.Index(src, "\tfor range 3 {")] + "\treturn\n}\n"
	src = strings.Replace(src, "import \"iter\"\n", "", 1)
	src = strings.Replace(src, "seq iter.Seq[int], ", "", 1)
	for _, opt := range []Options{{}, {RSS: true, Allocs: true}} {
		in, _ := instrumentSource(t, path, src, opt)
		typeCheckInstrumented(t, path, in, "go1.12", false)
	}
}

// FuzzInstrument: whatever parses instruments into a file that parses and
// keeps every original token's file, line and column; whatever type-checks
// (alone, as a package) instruments into a package that type-checks, in
// every mode.
func FuzzInstrument(f *testing.F) {
	for _, s := range fuzzSeeds(f) {
		f.Add(s)
	}
	// Import every package a type check may need now, outside the fuzzed
	// function: an import's first time runs code its later ones do not,
	// which would make inputs look interesting for nothing (and then fail
	// to minimize).
	for _, pkg := range typeCheckPackages() {
		if _, err := stdImporter().Import(pkg); err != nil {
			f.Fatal(err)
		}
	}
	f.Fuzz(fuzzInstrument)
}

func fuzzInstrument(t *testing.T, src []byte) {
	const path = "/fuzz/x.go"
	fset := token.NewFileSet()
	file, err := parser.ParseFile(fset, path, src, parser.ParseComments|parser.SkipObjectResolution)
	if err != nil {
		return
	}
	// The scanner must agree with the parser on the original (a file
	// that parses can still hold a scanner error the parser skipped).
	var s scanner.Scanner
	bad := false
	s.Init(fset.AddFile("x", -1, len(src)), src, func(token.Position, string) { bad = true }, 0)
	for {
		if _, tok, _ := s.Scan(); tok == token.EOF {
			break
		}
	}
	funcs := FindFuncs(fset, file, path)
	if bad || len(funcs) == 0 || strings.Contains(string(src), "//line") || strings.Contains(string(src), "/*line") {
		return
	}
	in, err := Instrument(Package{Dir: "/fuzz", Files: map[string][]byte{path: src}, Targets: funcs}, Options{RSS: true, Allocs: true})
	if errors.Is(err, errHidesPredeclared) {
		return // func int() {}: refused with a clear error, see TestHidesPredeclared
	}
	if err != nil {
		t.Fatalf("Instrument: %v", err)
	}
	checkPositions(t, path, src, in.Files[path])
	if _, err := parser.ParseFile(token.NewFileSet(), "rt.go", in.RuntimeFile, 0); err != nil {
		t.Fatalf("runtime file: %v", err)
	}
	// Counts only has probes of its own (releases instead of a defer in
	// loop-free bodies).
	counts, err := Instrument(Package{Dir: "/fuzz", Files: map[string][]byte{path: src}, Targets: funcs}, Options{})
	if err != nil {
		t.Fatalf("Instrument, counts only: %v", err)
	}
	checkPositions(t, path, src, counts.Files[path])
	// Names starting with memlens are the probes' (see the package doc).
	if bytes.Contains(src, []byte("memlens")) || len(typeCheck(fset, "", file)) > 0 {
		return
	}
	typeCheckInstrumented(t, path, in, "", true)
	typeCheckInstrumented(t, path, counts, "", true)
}

// TestHidesPredeclared: a package that declares a predeclared name the
// probe runtime uses is refused with an error that says which and where
// (the build would fail inside the runtime file); one the runtime does not
// use instruments and type-checks.
func TestHidesPredeclared(t *testing.T) {
	const path = "/src/p/p.go"
	for _, tc := range []struct{ name, src, hidden string }{
		{"func int", "package p\n\nfunc int() {}\n", "int"},
		{"var true", "package p\n\nvar true = false\n\nfunc f() bool { return true }\n", "true"},
		{"type uint64", "package p\n\ntype uint64 struct{}\n\nfunc f() {}\n", "uint64"},
		{"unused by the runtime", "package p\n\nfunc complex() int { return 1 }\n", ""},
		{"a method named int", "package p\n\ntype T struct{}\n\nfunc (T) int() int { return 1 }\n", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fset := token.NewFileSet()
			f, err := parser.ParseFile(fset, path, tc.src, parser.ParseComments)
			if err != nil {
				t.Fatal(err)
			}
			in, err := Instrument(Package{Name: "p", Dir: "/src/p", Files: map[string][]byte{path: []byte(tc.src)}, Targets: FindFuncs(fset, f, path)}, Options{})
			if tc.hidden != "" {
				want := path + " declares " + tc.hidden + " at package level"
				if !errors.Is(err, errHidesPredeclared) || !strings.Contains(err.Error(), want) {
					t.Fatalf("error %v, want %q", err, want)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			typeCheckInstrumented(t, path, in, "", true)
		})
	}
}
