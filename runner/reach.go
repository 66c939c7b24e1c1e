package runner

import (
	"context"
	"go/token"
	"go/types"
	"path/filepath"
	"strings"

	"golang.org/x/tools/go/packages"
	"golang.org/x/tools/go/ssa"
	"golang.org/x/tools/go/ssa/ssautil"
)

// reachFunc names the Test, Benchmark, Example and Fuzz functions of a
// package that can reach any of the targets.
type reachFunc func(ctx context.Context, home *listedPackage, targets []target) ([]string, error)

// testsReaching answers reachFunc with a static call graph over the
// package's test variant (its files, internal and external tests), built
// from go/ssa. Dependencies are loaded from export data, so their bodies are
// unknown; to stay conservative, a function whose value is taken (passed to
// t.Run, an http handler, sort.Slice) counts as called, and a type converted
// to an interface has all its methods called.
//
// A package that does not type-check (a syntax error in some file) reaches
// nothing here; the build then reports the compiler's error.
func testsReaching(ctx context.Context, home *listedPackage, targets []target, overlay map[string][]byte, buildFlags []string) ([]string, error) {
	cfg := &packages.Config{
		Context: ctx,
		Mode: packages.NeedName | packages.NeedFiles | packages.NeedSyntax | packages.NeedTypes |
			packages.NeedTypesInfo | packages.NeedImports,
		Dir:        home.Dir,
		Tests:      true,
		Overlay:    overlay,
		BuildFlags: buildFlags,
	}
	pkgs, err := packages.Load(cfg, ".")
	if err != nil {
		return nil, err
	}
	var testPkgs []*packages.Package
	for _, p := range pkgs {
		if len(p.Errors) > 0 || p.TypesInfo == nil {
			return nil, nil
		}
		if strings.HasSuffix(p.ID, ".test]") {
			testPkgs = append(testPkgs, p)
		}
	}
	if len(testPkgs) == 0 {
		return nil, nil
	}
	prog, ssaPkgs := ssautil.Packages(testPkgs, ssa.InstantiateGenerics)
	prog.Build()

	g := newReachGraph(prog, ssaPkgs)
	var names []string
	for _, sp := range ssaPkgs {
		if sp == nil {
			continue
		}
		for _, m := range sp.Members {
			fn, ok := m.(*ssa.Function)
			if !ok || !isTestEntryName(fn.Name()) || !inTestFile(prog.Fset, fn) {
				continue
			}
			if g.reaches(fn, func(f *ssa.Function) bool { return isTarget(prog.Fset, f, targets) }) {
				names = append(names, fn.Name())
			}
		}
	}
	return names, nil
}

func isTestEntryName(name string) bool {
	for _, prefix := range []string{"Test", "Benchmark", "Example", "Fuzz"} {
		if rest, ok := strings.CutPrefix(name, prefix); ok {
			if rest == "" || prefix == "Example" {
				return name != "TestMain"
			}
			r := rest[0]
			return !(r >= 'a' && r <= 'z') && name != "TestMain"
		}
	}
	return false
}

func inTestFile(fset *token.FileSet, fn *ssa.Function) bool {
	return strings.HasSuffix(fset.Position(fn.Pos()).Filename, "_test.go")
}

// isTarget reports whether fn is (an instance of, or a closure inside) one
// of the targets, by source position.
func isTarget(fset *token.FileSet, fn *ssa.Function, targets []target) bool {
	if o := fn.Origin(); o != nil {
		fn = o
	}
	pos := fset.Position(fn.Pos())
	if !pos.IsValid() {
		return false
	}
	file := filepath.Clean(pos.Filename)
	for _, t := range targets {
		if file == filepath.Clean(t.Func.File) && pos.Line >= t.Func.StartLine && pos.Line <= t.Func.EndLine {
			return true
		}
	}
	return false
}

// reachGraph walks the SSA of the loaded packages.
type reachGraph struct {
	prog *ssa.Program
	// methodsByName holds the loaded packages' methods, for interface calls.
	methodsByName map[string][]*ssa.Function
}

func newReachGraph(prog *ssa.Program, pkgs []*ssa.Package) *reachGraph {
	g := &reachGraph{prog: prog, methodsByName: map[string][]*ssa.Function{}}
	for _, p := range pkgs {
		if p == nil {
			continue
		}
		for _, m := range p.Members {
			t, ok := m.(*ssa.Type)
			if !ok {
				continue
			}
			for _, typ := range []types.Type{t.Type(), types.NewPointer(t.Type())} {
				ms := prog.MethodSets.MethodSet(typ)
				for i := 0; i < ms.Len(); i++ {
					if fn := prog.MethodValue(ms.At(i)); fn != nil {
						g.methodsByName[fn.Name()] = append(g.methodsByName[fn.Name()], fn)
					}
				}
			}
		}
	}
	return g
}

// reaches walks from root and reports whether it meets a function for
// which hit is true.
func (g *reachGraph) reaches(root *ssa.Function, hit func(*ssa.Function) bool) bool {
	seen := map[*ssa.Function]bool{}
	stack := []*ssa.Function{root}
	push := func(f *ssa.Function) {
		if f != nil && !seen[f] {
			seen[f] = true
			stack = append(stack, f)
		}
	}
	seen[root] = true
	for len(stack) > 0 {
		fn := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		if hit(fn) {
			return true
		}
		for _, anon := range fn.AnonFuncs {
			push(anon)
		}
		for _, b := range fn.Blocks {
			for _, instr := range b.Instrs {
				if call, ok := instr.(ssa.CallInstruction); ok {
					common := call.Common()
					if common.IsInvoke() {
						for _, m := range g.methodsByName[common.Method.Name()] {
							push(m)
						}
					} else if callee := common.StaticCallee(); callee != nil {
						push(callee)
					}
				}
				if mi, ok := instr.(*ssa.MakeInterface); ok {
					g.pushMethods(mi.X.Type(), push)
				}
				var ops [16]*ssa.Value
				for _, op := range instr.Operands(ops[:0]) {
					if op == nil || *op == nil {
						continue
					}
					if f, ok := (*op).(*ssa.Function); ok {
						push(f)
					}
				}
			}
		}
	}
	return false
}

func (g *reachGraph) pushMethods(t types.Type, push func(*ssa.Function)) {
	ms := g.prog.MethodSets.MethodSet(t)
	for i := 0; i < ms.Len(); i++ {
		push(g.prog.MethodValue(ms.At(i)))
	}
}
