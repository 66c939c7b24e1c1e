package runner

import (
	"errors"
	"fmt"
	"go/ast"
	"go/importer"
	"go/parser"
	"go/token"
	"go/types"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strconv"
	"strings"

	"golang.org/x/tools/go/ssa"
)

// The call graph that finds entries is built one package at a time: a
// package's own files (a test variant: the package with its _test.go files;
// or an external test package) are type-checked against the export data of
// its imports, built as SSA, and reduced to a pkgGraph, whose nodes are the
// package's functions and closures and whose edges name their callees by a
// key that does not depend on the program they were built in
// (example.com/m/lib.Join, example.com/m/lib.Upper.Apply). Graphs of several
// packages are then joined by key (see reachIndex), and each one can be
// cached on its own: it depends on the package's files and its imports'
// export data only.
//
// What counts as a call, in two tiers. Certain: a static call, and any
// reference to a function as a value. Possible: an interface method call,
// and what a conversion to an interface implies. Entries found through
// certain calls are preferred: Class Hierarchy Analysis over a large
// module (gonum's matrices and distributions all implement the same few
// interfaces) makes almost every test "reach" almost every method, and the
// package with the fewest such tests is then seldom one that runs the
// function. In detail, conservatively (the bodies of packages outside the
// module are not loaded, so what they call back is not seen):
//   - a static call, and any reference to a function as a value (passed to
//     sort.Slice, t.Run or an http handler, stored in a struct): the
//     function that takes the value counts as calling it;
//   - an interface method call: every method of that name of the module's
//     types whose method set has all the interface's methods (Class
//     Hierarchy Analysis);
//   - a value converted to an interface: every method of its type (fmt may
//     call its String method), and likewise the methods of the type
//     arguments of a call to a generic function whose body is not loaded.

// pkgGraph is the call graph of one package's own functions.
type pkgGraph struct {
	// ID is go/packages' ID ("example.com/m/lib [example.com/m/lib.test]"),
	// Path the package path functions are keyed by (".../lib",
	// ".../lib_test"), Dir the package's directory.
	ID, Path, Dir string
	// Main says the package is a main package: its main and init are
	// entries when no test reaches a target.
	Main  bool
	Funcs []graphFunc
	// Types are the package's named types that have methods, for
	// interface calls.
	Types []graphType
}

// graphFunc is a function or closure of the package.
type graphFunc struct {
	Key string
	// File and Line are where the function (or function literal) starts,
	// for matching targets by position.
	File string
	Line int
	// Name is the function's name, for test entries.
	Name string
	// Test says the function is a Test, Benchmark, Example or Fuzz
	// function of a _test.go file.
	Test bool
	// Calls are the keys of the functions it calls or references: the
	// certain edges.
	Calls []string
	// Implied are the keys of methods it may call without naming them:
	// those of the types it converts to interfaces, or instantiates a
	// generic function of another module with.
	Implied []string
	// Invokes are its interface method calls.
	Invokes []graphInvoke
}

// graphInvoke is a call of method Method (its types.Func.Id) through an
// interface whose method set is Iface (sorted Ids, joined with ";").
type graphInvoke struct {
	Method, Iface string
}

// graphType is a named type with methods: by method Id, the method's key.
type graphType struct {
	Methods map[string]string
}

// errExportGone says export data the listing named is no longer in the go
// command's cache.
var errExportGone = errors.New("export data removed from the build cache")

// graphFormat changes whenever pkgGraph's meaning does: it is part of the
// cache keys.
const graphFormat = "memlens-graph-4"

// buildPkgGraph type-checks lp's files against its imports' export data,
// builds the package as SSA and returns its graph. A package that does not
// type-check (or whose imports have no export data, because they do not
// compile) has no graph: an error.
func buildPkgGraph(lp *modPkg, overlay map[string][]byte) (*pkgGraph, error) {
	fset := token.NewFileSet()
	var files []*ast.File
	for _, name := range lp.Files {
		src, err := readSource(name, overlay)
		if err != nil {
			return nil, err
		}
		f, err := parser.ParseFile(fset, name, src, parser.SkipObjectResolution)
		if err != nil {
			return nil, err
		}
		files = append(files, f)
	}
	if len(files) == 0 {
		return nil, fmt.Errorf("%s: no Go files", lp.ID)
	}
	gone := false
	lookup := func(path string) (io.ReadCloser, error) {
		export, ok := lp.Exports[path]
		if !ok {
			return nil, fmt.Errorf("%s does not import %s", lp.ID, path)
		}
		if export == "" {
			return nil, fmt.Errorf("no export data for %s", path)
		}
		f, err := os.Open(export)
		if errors.Is(err, fs.ErrNotExist) {
			gone = true
		}
		return f, err
	}
	tc := &types.Config{
		Importer: importer.ForCompiler(fset, "gc", lookup),
		Sizes:    types.SizesFor("gc", goarch()),
		Error:    func(error) {}, // the first error is returned
	}
	if lp.GoVersion != "" {
		tc.GoVersion = "go" + lp.GoVersion
	}
	pkg := types.NewPackage(lp.Path, lp.Name)
	info := &types.Info{
		Types:        map[ast.Expr]types.TypeAndValue{},
		Defs:         map[*ast.Ident]types.Object{},
		Uses:         map[*ast.Ident]types.Object{},
		Implicits:    map[ast.Node]types.Object{},
		Instances:    map[*ast.Ident]types.Instance{},
		Scopes:       map[ast.Node]*types.Scope{},
		Selections:   map[*ast.SelectorExpr]*types.Selection{},
		FileVersions: map[*ast.File]string{},
	}
	if err := types.NewChecker(tc, fset, pkg, info).Files(files); err != nil {
		if gone {
			return nil, fmt.Errorf("%s: %w", lp.ID, errExportGone)
		}
		return nil, fmt.Errorf("%s: %v", lp.ID, err)
	}
	prog := ssa.NewProgram(fset, ssa.InstantiateGenerics)
	for _, imp := range pkg.Imports() {
		prog.CreatePackage(imp, nil, nil, true)
	}
	sp := prog.CreatePackage(pkg, files, info, false)
	sp.Build()

	g := &pkgGraph{ID: lp.ID, Path: lp.Path, Dir: lp.Dir, Main: lp.Name == "main"}
	x := &graphExtractor{prog: prog, pkg: sp, fset: fset, g: g, index: map[string]int{}}
	x.extract()
	return g, nil
}

// graphExtractor reduces one package's SSA to a pkgGraph.
type graphExtractor struct {
	prog  *ssa.Program
	pkg   *ssa.Package
	fset  *token.FileSet
	g     *pkgGraph
	index map[string]int // key → index in g.Funcs
	queue []*ssa.Function
}

// edgeSet is what one body calls.
type edgeSet struct {
	calls   map[string]bool
	implied map[string]bool
	invokes map[graphInvoke]bool
}

func newEdgeSet() edgeSet {
	return edgeSet{calls: map[string]bool{}, implied: map[string]bool{}, invokes: map[graphInvoke]bool{}}
}

func (x *graphExtractor) extract() {
	// The package's own functions: package-level functions, methods of
	// its named types, and (below) their closures and local instances.
	var roots []*ssa.Function
	for _, m := range x.pkg.Members {
		switch m := m.(type) {
		case *ssa.Function:
			roots = append(roots, m)
		case *ssa.Type:
			named, ok := m.Type().(*types.Named)
			if !ok {
				continue
			}
			methods := map[string]string{}
			for _, t := range []types.Type{named, types.NewPointer(named)} {
				ms := x.prog.MethodSets.MethodSet(t)
				for i := range ms.Len() {
					sel := ms.At(i)
					obj := sel.Obj().(*types.Func)
					methods[obj.Id()] = objKey(obj)
				}
			}
			for i := range named.NumMethods() {
				if fn := x.prog.FuncValue(named.Method(i)); fn != nil {
					roots = append(roots, fn)
				}
			}
			if len(methods) > 0 && !types.IsInterface(named) {
				x.g.Types = append(x.g.Types, graphType{Methods: methods})
			}
		}
	}
	sort.Slice(roots, func(i, j int) bool { return roots[i].Pos() < roots[j].Pos() })
	x.queue = roots
	for len(x.queue) > 0 {
		fn := x.queue[0]
		x.queue = x.queue[1:]
		x.addFunc(fn)
	}
	sort.Slice(x.g.Types, func(i, j int) bool { return fmt.Sprint(x.g.Types[i].Methods) < fmt.Sprint(x.g.Types[j].Methods) })
}

// addFunc adds fn, a function of the package with a body or a closure,
// and queues the package's functions it calls that are not added yet.
func (x *graphExtractor) addFunc(fn *ssa.Function) {
	if o := fn.Origin(); o != nil {
		fn = o
	}
	key := funcKey(fn)
	if _, done := x.index[key]; done || key == "" {
		return
	}
	pos := x.fset.PositionFor(fn.Pos(), false)
	if filepath.Dir(pos.Filename) != filepath.Clean(x.g.Dir) {
		// A file of cgo's output, in the build cache: its //line
		// directives give the user's file and line, where targets are.
		pos = x.fset.PositionFor(fn.Pos(), true)
	}
	gf := graphFunc{Key: key, File: filepath.Clean(pos.Filename), Line: pos.Line, Name: fn.Name()}
	if fn.Parent() == nil && fn.Signature.Recv() == nil && strings.HasSuffix(gf.File, "_test.go") && isTestEntryName(fn.Name()) {
		gf.Test = true
	}
	x.index[key] = len(x.g.Funcs)
	es := newEdgeSet()
	x.bodyOf(fn, es, map[*ssa.Function]bool{fn: true})
	gf.Calls = sortedKeys(es.calls)
	for k := range es.calls {
		delete(es.implied, k)
	}
	gf.Implied = sortedKeys(es.implied)
	for inv := range es.invokes {
		gf.Invokes = append(gf.Invokes, inv)
	}
	sort.Slice(gf.Invokes, func(i, j int) bool {
		a, b := gf.Invokes[i], gf.Invokes[j]
		return a.Method < b.Method || a.Method == b.Method && a.Iface < b.Iface
	})
	x.g.Funcs = append(x.g.Funcs, gf)
	x.queue = append(x.queue, fn.AnonFuncs...)
}

// bodyOf adds what fn's body calls to es. Synthetic callees (wrappers,
// bound method closures, thunks) are looked through: their callees count.
// A local instance of a generic function counts as a call of the generic
// function, and its body (built for the type arguments) as the caller's:
// it may call methods of the type arguments that the generic body calls
// through its type parameters.
func (x *graphExtractor) bodyOf(fn *ssa.Function, es edgeSet, seen map[*ssa.Function]bool) {
	callee := func(g *ssa.Function) {
		if g == nil {
			return
		}
		if k := funcKey(g); k != "" {
			es.calls[k] = true
		}
		if x.isOwn(g) {
			x.queue = append(x.queue, g)
		}
		switch {
		case len(g.Blocks) > 0 && g.Parent() == nil && (g.Synthetic != "" || g.Origin() != nil) && !seen[g]:
			seen[g] = true
			x.bodyOf(g, es, seen)
		case len(g.Blocks) == 0:
			// A function whose body is not loaded; if generic and
			// instantiated with the module's types, it may call their
			// methods.
			for _, t := range g.TypeArgs() {
				x.methodsOf(t, es)
			}
		}
	}
	for _, b := range fn.Blocks {
		for _, instr := range b.Instrs {
			if call, ok := instr.(ssa.CallInstruction); ok {
				common := call.Common()
				if common.IsInvoke() {
					if iface, ok := common.Value.Type().Underlying().(*types.Interface); ok {
						es.invokes[graphInvoke{Method: common.Method.Id(), Iface: ifaceKey(iface)}] = true
					}
				}
			}
			if mi, ok := instr.(*ssa.MakeInterface); ok {
				x.methodsOf(mi.X.Type(), es)
			}
			var ops [16]*ssa.Value
			for _, op := range instr.Operands(ops[:0]) {
				if op == nil || *op == nil {
					continue
				}
				if f, ok := (*op).(*ssa.Function); ok {
					callee(f)
				}
			}
		}
	}
}

// isOwn says g is (an instance of) a declared function of the package
// being extracted, or a closure in one.
func (x *graphExtractor) isOwn(g *ssa.Function) bool {
	if o := g.Origin(); o != nil {
		g = o
	}
	for g.Parent() != nil {
		g = g.Parent()
	}
	return g.Pkg == x.pkg && g.Synthetic == ""
}

// methodsOf adds every method of t (of *t too, for a named type) as
// implied calls.
func (x *graphExtractor) methodsOf(t types.Type, es edgeSet) {
	ms := x.prog.MethodSets.MethodSet(t)
	for i := range ms.Len() {
		if obj, ok := ms.At(i).Obj().(*types.Func); ok {
			es.implied[objKey(obj)] = true
		}
	}
	if _, isPtr := t.(*types.Pointer); !isPtr {
		if _, named := types.Unalias(t).(*types.Named); named {
			ms := x.prog.MethodSets.MethodSet(types.NewPointer(t))
			for i := range ms.Len() {
				if obj, ok := ms.At(i).Obj().(*types.Func); ok {
					es.implied[objKey(obj)] = true
				}
			}
		}
	}
}

// funcKey names fn independently of the program it was built in.
func funcKey(fn *ssa.Function) string {
	if o := fn.Origin(); o != nil {
		fn = o
	}
	if p := fn.Parent(); p != nil {
		for i, a := range p.AnonFuncs {
			if a == fn {
				return funcKey(p) + "$" + strconv.Itoa(i+1)
			}
		}
		return funcKey(p) + "$" + fn.Name()
	}
	if obj, ok := fn.Object().(*types.Func); ok && obj != nil {
		if strings.HasPrefix(fn.Name(), "init#") {
			return obj.Pkg().Path() + "." + fn.Name()
		}
		return objKey(obj)
	}
	if fn.Pkg != nil && fn.Synthetic == "package initializer" {
		return fn.Pkg.Pkg.Path() + ".init"
	}
	return ""
}

// objKey names a declared function or method: path.Name, path.Type.Name.
func objKey(obj *types.Func) string {
	obj = obj.Origin()
	path := ""
	if obj.Pkg() != nil {
		path = obj.Pkg().Path()
	}
	sig, _ := obj.Type().(*types.Signature)
	if sig != nil && sig.Recv() != nil {
		t := sig.Recv().Type()
		if p, ok := t.(*types.Pointer); ok {
			t = p.Elem()
		}
		switch t := types.Unalias(t).(type) {
		case *types.Named:
			return path + "." + t.Obj().Name() + "." + obj.Name()
		case *types.Interface:
			return "" // an interface's abstract method: resolved by invokes
		}
	}
	return path + "." + obj.Name()
}

// ifaceKey is an interface's method set: its methods' Ids, sorted.
func ifaceKey(iface *types.Interface) string {
	ids := make([]string, iface.NumMethods())
	for i := range ids {
		ids[i] = iface.Method(i).Id()
	}
	sort.Strings(ids)
	return strings.Join(ids, ";")
}

func sortedKeys(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		if k != "" {
			out = append(out, k)
		}
	}
	sort.Strings(out)
	return out
}

// goarch is the architecture go builds for.
func goarch() string {
	if a := os.Getenv("GOARCH"); a != "" {
		return a
	}
	return runtime.GOARCH
}
