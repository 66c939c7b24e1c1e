package instrument

import (
	"go/ast"
	"go/token"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Func is a function declaration found in a Go file.
type Func struct {
	// Name is "Build", "Grid.Add" (value receiver), "(*Grid).Add" (pointer
	// receiver); a generic receiver's type parameters are dropped:
	// "(*List).Push".
	Name string
	// Recv is the receiver's base type name, "" for plain functions.
	Recv string
	// Package is the Go package name of the file ("profile", "profile_test").
	Package string
	// File is the absolute path of the file.
	File string
	// StartLine is the line of the func keyword, EndLine the line of the
	// closing brace.
	StartLine int
	EndLine   int
	// Marked says the doc comment holds a //memlens:profile line.
	Marked bool
	// NumParams is the number of parameters (a, b int counts 2).
	NumParams int
	// Generic says the function or its receiver type has type parameters.
	Generic bool
	// TestKind is "Test", "Benchmark", "Fuzz" or "Example" when the file is a
	// _test.go file and go test would run the function as such; else "".
	TestKind string
}

// MarkDirective marks a function for profiling in its doc comment.
const MarkDirective = "//memlens:profile"

// FindFuncs lists the function declarations (with bodies) of a parsed file, in
// source order. Lines are the file's own, not those of //line directives.
func FindFuncs(fset *token.FileSet, f *ast.File, filename string) []Func {
	var out []Func
	isTestFile := strings.HasSuffix(filename, "_test.go")
	for _, d := range f.Decls {
		fd, ok := d.(*ast.FuncDecl)
		if !ok || fd.Body == nil {
			continue
		}
		fn := Func{
			Package:   f.Name.Name,
			File:      filename,
			StartLine: fset.PositionFor(fd.Pos(), false).Line,
			EndLine:   fset.PositionFor(fd.Body.Rbrace, false).Line,
			Marked:    marked(fd.Doc),
			NumParams: countFields(fd.Type.Params),
			Generic:   fd.Type.TypeParams.NumFields() > 0,
		}
		name := fd.Name.Name
		fn.Name = name
		if fd.Recv != nil && len(fd.Recv.List) == 1 {
			base, ptr, generic := recvType(fd.Recv.List[0].Type)
			fn.Recv = base
			fn.Generic = fn.Generic || generic
			if ptr {
				fn.Name = "(*" + base + ")." + name
			} else {
				fn.Name = base + "." + name
			}
		}
		if isTestFile && fd.Recv == nil && !fn.Generic {
			fn.TestKind = testKind(fd)
		}
		out = append(out, fn)
	}
	return out
}

func marked(doc *ast.CommentGroup) bool {
	if doc == nil {
		return false
	}
	for _, c := range doc.List {
		t := strings.TrimRight(c.Text, " \t")
		if t == MarkDirective || strings.HasPrefix(t, MarkDirective+" ") {
			return true
		}
	}
	return false
}

func countFields(fl *ast.FieldList) int {
	if fl == nil {
		return 0
	}
	n := 0
	for _, f := range fl.List {
		if len(f.Names) == 0 {
			n++
		} else {
			n += len(f.Names)
		}
	}
	return n
}

// recvType returns the receiver's base type name, whether it is a pointer and
// whether the type has type parameters.
func recvType(e ast.Expr) (base string, ptr, generic bool) {
	for {
		switch t := e.(type) {
		case *ast.ParenExpr:
			e = t.X
		case *ast.StarExpr:
			ptr = true
			e = t.X
		case *ast.IndexExpr:
			generic = true
			e = t.X
		case *ast.IndexListExpr:
			generic = true
			e = t.X
		case *ast.Ident:
			return t.Name, ptr, generic
		default:
			return "", ptr, generic
		}
	}
}

// testKind applies go test's rules (cmd/go/internal/load: isTest, isTestFunc,
// go/doc.Examples) to a function of a _test.go file.
func testKind(fd *ast.FuncDecl) string {
	name := fd.Name.Name
	switch {
	case name == "TestMain":
		if isTestFunc(fd, "T") {
			return "Test"
		}
		return ""
	case isTestName(name, "Test"):
		if isTestFunc(fd, "T") {
			return "Test"
		}
	case isTestName(name, "Benchmark"):
		if isTestFunc(fd, "B") {
			return "Benchmark"
		}
	case isTestName(name, "Fuzz"):
		if isTestFunc(fd, "F") {
			return "Fuzz"
		}
	case isTestName(name, "Example"):
		if fd.Type.Params.NumFields() == 0 && fd.Type.Results.NumFields() == 0 {
			return "Example"
		}
	}
	return ""
}

func isTestName(name, prefix string) bool {
	if !strings.HasPrefix(name, prefix) {
		return false
	}
	if len(name) == len(prefix) {
		return true
	}
	r, _ := utf8.DecodeRuneInString(name[len(prefix):])
	return !unicode.IsLower(r)
}

func isTestFunc(fd *ast.FuncDecl, arg string) bool {
	t := fd.Type
	if t.Results.NumFields() > 0 || t.Params == nil || len(t.Params.List) != 1 || len(t.Params.List[0].Names) > 1 {
		return false
	}
	ptr, ok := t.Params.List[0].Type.(*ast.StarExpr)
	if !ok {
		return false
	}
	switch x := ptr.X.(type) {
	case *ast.Ident:
		return x.Name == arg
	case *ast.SelectorExpr:
		return x.Sel.Name == arg
	}
	return false
}

// Matches reports whether a user-written name names fn. "Build" names a plain
// function; "Grid.Add", "(*Grid).Add" and "*Grid.Add" all name method Add of
// Grid whatever its receiver's pointer-ness; type parameters in the name
// ("(*List[T]).Push") are ignored. A package qualifier is accepted when it is
// fn's package name, or the last element of an import path:
// "profile.Build", "github.com/memlens/memlens/profile.Build",
// "profile.(*Grid).Add".
func (fn Func) Matches(name string) bool {
	name = strings.TrimSpace(name)
	if i := strings.LastIndex(name, "/"); i >= 0 {
		name = name[i+1:]
	}
	var b strings.Builder
	depth := 0
	for _, r := range name {
		switch {
		case r == '[':
			depth++
		case r == ']':
			depth--
		case depth > 0, r == '(', r == ')', r == '*', unicode.IsSpace(r):
		default:
			b.WriteRune(r)
		}
	}
	parts := strings.Split(b.String(), ".")
	for _, p := range parts {
		if p == "" {
			return false
		}
	}
	base := fn.Name
	if fn.Recv != "" {
		base = fn.Name[strings.LastIndex(fn.Name, ".")+1:]
	}
	pkgOK := func(p string) bool { return p == fn.Package && p != "" }
	switch len(parts) {
	case 1:
		return fn.Recv == "" && parts[0] == base
	case 2:
		if fn.Recv != "" {
			return parts[0] == fn.Recv && parts[1] == base
		}
		return pkgOK(parts[0]) && parts[1] == base
	case 3:
		return fn.Recv != "" && pkgOK(parts[0]) && parts[1] == fn.Recv && parts[2] == base
	}
	return false
}
