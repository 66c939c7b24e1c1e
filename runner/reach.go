package runner

import (
	"context"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"golang.org/x/mod/modfile"
)

// reachIndex joins package graphs (see callgraph.go) by function key and
// answers which functions reach the targets.
type reachIndex struct {
	graphs []*pkgGraph
	// funcs are every graph's functions; pkg[i] is the graph of funcs[i].
	funcs []*graphFunc
	pkg   []int
	// callers[i] are the functions that call funcs[i] for certain (static
	// calls, function values); possible[i] those that may (interface
	// calls, conversions to interfaces).
	callers, possible [][]int32
}

func newReachIndex(graphs []*pkgGraph) *reachIndex {
	ix := &reachIndex{graphs: graphs}
	byKey := map[string][]int32{}
	for gi, g := range graphs {
		for fi := range g.Funcs {
			f := &g.Funcs[fi]
			byKey[f.Key] = append(byKey[f.Key], int32(len(ix.funcs)))
			ix.funcs = append(ix.funcs, f)
			ix.pkg = append(ix.pkg, gi)
		}
	}
	// Class Hierarchy Analysis for interface calls: the module's types by
	// method Id, and memoized answers per (method, interface).
	type typeMethods struct {
		methods map[string]string
	}
	var allTypes []typeMethods
	byMethod := map[string][]int{}
	for _, g := range graphs {
		for _, t := range g.Types {
			for id := range t.Methods {
				byMethod[id] = append(byMethod[id], len(allTypes))
			}
			allTypes = append(allTypes, typeMethods{t.Methods})
		}
	}
	implMemo := map[graphInvoke][]int32{}
	implementations := func(inv graphInvoke) []int32 {
		if r, ok := implMemo[inv]; ok {
			return r
		}
		var out []int32
		ids := strings.Split(inv.Iface, ";")
		for _, ti := range byMethod[inv.Method] {
			t := allTypes[ti]
			all := true
			for _, id := range ids {
				if _, ok := t.methods[id]; !ok && id != "" {
					all = false
					break
				}
			}
			if all {
				out = append(out, byKey[t.methods[inv.Method]]...)
			}
		}
		implMemo[inv] = out
		return out
	}
	ix.callers = make([][]int32, len(ix.funcs))
	ix.possible = make([][]int32, len(ix.funcs))
	for i, f := range ix.funcs {
		for _, k := range f.Calls {
			for _, callee := range byKey[k] {
				ix.callers[callee] = append(ix.callers[callee], int32(i))
			}
		}
		for _, k := range f.Implied {
			for _, callee := range byKey[k] {
				ix.possible[callee] = append(ix.possible[callee], int32(i))
			}
		}
		for _, inv := range f.Invokes {
			for _, callee := range implementations(inv) {
				ix.possible[callee] = append(ix.possible[callee], int32(i))
			}
		}
	}
	return ix
}

// reaching marks the functions from which some target can be reached (the
// targets themselves and closures inside them included): through certain
// calls only, or also through possible ones.
func (ix *reachIndex) reaching(targets []target, possibly bool) []bool {
	reached := make([]bool, len(ix.funcs))
	var stack []int32
	for i, f := range ix.funcs {
		if isTargetPos(f.File, f.Line, targets) {
			reached[i] = true
			stack = append(stack, int32(i))
		}
	}
	for len(stack) > 0 {
		i := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		for _, c := range ix.callers[i] {
			if !reached[c] {
				reached[c] = true
				stack = append(stack, c)
			}
		}
		if possibly {
			for _, c := range ix.possible[i] {
				if !reached[c] {
					reached[c] = true
					stack = append(stack, c)
				}
			}
		}
	}
	return reached
}

// isTargetPos says a function starting at file:line is one of the targets
// or inside one (a closure).
func isTargetPos(file string, line int, targets []target) bool {
	for _, t := range targets {
		if file == filepath.Clean(t.Func.File) && line >= t.Func.StartLine && line <= t.Func.EndLine {
			return true
		}
	}
	return false
}

// reachingTests are the tests of one package (its directory: internal and
// external tests run in one test binary) that reach some target.
type reachingTests struct {
	Dir, ImportPath string
	Names           []string
	// Reached are the targets reached (indexes into the targets).
	Reached []int
}

// reachingMain is a main package that reaches targets.
type reachingMain struct {
	Graph *pkgGraph
	// Reached are the targets reached (indexes into the targets).
	Reached []int
}

// reachers lists, per package directory, the tests that reach any target,
// and the main packages from whose main (or package initialisation) some
// target can be reached: those that do through certain calls when there
// are any (keep filters the tests), else those that possibly do. Reached
// counts what they possibly reach either way.
func (ix *reachIndex) reachers(targets []target, keep func(rt reachingTests) bool) (tests []reachingTests, mains []reachingMain) {
	certain := make([][]bool, len(targets))
	possible := make([][]bool, len(targets))
	for ti := range targets {
		certain[ti] = ix.reaching(targets[ti:ti+1], false)
		possible[ti] = ix.reaching(targets[ti:ti+1], true)
	}
	for _, by := range [][][]bool{certain, possible} {
		tests, mains = ix.reachersBy(targets, by, possible, keep)
		if len(tests) > 0 || len(mains) > 0 {
			return tests, mains
		}
	}
	return nil, nil
}

// reachersBy lists the entries that reach a target by the walks in by
// (one per target), with what they reach by those in all.
func (ix *reachIndex) reachersBy(targets []target, by, all [][]bool, keep func(rt reachingTests) bool) (tests []reachingTests, mains []reachingMain) {
	byDir := map[string]*reachingTests{}
	mainAt := map[string]int{}
	for i, f := range ix.funcs {
		g := ix.graphs[ix.pkg[i]]
		isMain := g.Main && (f.Key == g.Path+".main" || f.Key == g.Path+".init")
		if !f.Test && !isMain {
			continue
		}
		var hit []int
		entry := false
		for ti := range targets {
			entry = entry || by[ti][i]
			if all[ti][i] {
				hit = append(hit, ti)
			}
		}
		if !entry {
			continue
		}
		if f.Test {
			rt := byDir[g.Dir]
			if rt == nil {
				rt = &reachingTests{Dir: g.Dir, ImportPath: strings.TrimSuffix(g.Path, "_test")}
				byDir[g.Dir] = rt
			}
			rt.Names = append(rt.Names, f.Name)
			rt.Reached = mergeInts(rt.Reached, hit)
			continue
		}
		mi, ok := mainAt[g.Dir]
		if !ok {
			mi = len(mains)
			mainAt[g.Dir] = mi
			mains = append(mains, reachingMain{Graph: g})
		}
		mains[mi].Reached = mergeInts(mains[mi].Reached, hit)
	}
	for _, rt := range byDir {
		sort.Strings(rt.Names)
		rt.Names = dedup(rt.Names)
		if keep == nil || keep(*rt) {
			tests = append(tests, *rt)
		}
	}
	sort.Slice(tests, func(i, j int) bool { return tests[i].ImportPath < tests[j].ImportPath })
	sort.Slice(mains, func(i, j int) bool { return mains[i].Graph.Path < mains[j].Graph.Path })
	return tests, mains
}

func mergeInts(a, b []int) []int {
	seen := map[int]bool{}
	for _, x := range a {
		seen[x] = true
	}
	for _, x := range b {
		if !seen[x] {
			a = append(a, x)
			seen[x] = true
		}
	}
	sort.Ints(a)
	return a
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

// ownReachers lists the tests of the targets' own packages that reach
// them: a search over those packages' graphs only (the common case, kept
// fast).
func (s *graphStore) ownReachers(ctx context.Context, own []*listedPackage, targets []target, overlay map[string][]byte, buildFlags []string) ([]reachingTests, error) {
	var dirs []string
	isOwn := map[string]bool{}
	for _, p := range own {
		dirs = append(dirs, p.Dir)
		isOwn[p.Dir] = true
	}
	graphs, err := s.graphsFor(ctx, own[0].Dir, dirs, overlay, buildFlags, func(pkgs []*modPkg) []*modPkg {
		var out []*modPkg
		for _, p := range graphable(pkgs) {
			if isOwn[p.Dir] {
				out = append(out, p)
			}
		}
		return out
	})
	if err != nil {
		return nil, err
	}
	tests, _ := newReachIndex(graphs).reachers(targets, nil)
	return tests, nil
}

// moduleReachers lists the tests of the other packages of the module (or
// workspace) that reach the targets, and the main packages that do: a
// search over the graphs of the packages that import the targets'. When
// the targets are in a module that workDir's is not (a dependency replaced
// by a local directory: replace example.com/lib => ../lib), the packages
// of workDir's module that import them are searched too.
func (s *graphStore) moduleReachers(ctx context.Context, own []*listedPackage, targets []target, workDir string, overlay map[string][]byte, buildFlags []string) ([]reachingTests, []reachingMain, error) {
	paths := map[string]bool{}
	isOwn := map[string]bool{}
	for _, p := range own {
		paths[p.ImportPath] = true
		isOwn[p.Dir] = true
	}
	graphs, err := s.graphsFor(ctx, own[0].Dir, nil, overlay, buildFlags, func(pkgs []*modPkg) []*modPkg {
		return importers(pkgs, paths)
	})
	if err != nil {
		return nil, nil, err
	}
	if own[0].Module != nil && requiresModule(workDir, own[0].Module.Path) {
		// The graphs join by key: workDir's packages call the targets by
		// the keys the targets' own graphs (above) have.
		more, err := s.graphsFor(ctx, workDir, nil, overlay, buildFlags, func(pkgs []*modPkg) []*modPkg {
			return depImporters(pkgs, paths)
		})
		if err == nil {
			graphs = append(graphs, more...)
		}
		if !hasGraphIn(graphs, isOwn) {
			// A vendored package is in no module's listing: list it
			// itself, for the targets' nodes.
			var dirs []string
			for _, p := range own {
				dirs = append(dirs, p.Dir)
			}
			mine, err := s.graphsFor(ctx, workDir, dirs, overlay, buildFlags, func(pkgs []*modPkg) []*modPkg {
				var out []*modPkg
				for _, p := range graphable(pkgs) {
					if isOwn[p.Dir] {
						out = append(out, p)
					}
				}
				return out
			})
			if err == nil {
				graphs = append(graphs, mine...)
			}
		}
	}
	tests, mains := newReachIndex(graphs).reachers(targets, func(rt reachingTests) bool { return !isOwn[rt.Dir] })
	return tests, mains, nil
}

// hasGraphIn says one of graphs is of a directory in dirs.
func hasGraphIn(graphs []*pkgGraph, dirs map[string]bool) bool {
	for _, g := range graphs {
		if dirs[g.Dir] {
			return true
		}
	}
	return false
}

// requiresModule says the main module of dir (not a workspace, whose
// modules the listing already covers) requires module modPath.
func requiresModule(dir, modPath string) bool {
	roots, _, err := moduleRoots(dir)
	if dir == "" || err != nil || len(roots) != 1 {
		return false
	}
	gomod := filepath.Join(roots[0], "go.mod")
	data, err := os.ReadFile(gomod)
	if err != nil {
		return false
	}
	f, err := modfile.ParseLax(gomod, data, nil)
	if err != nil || f.Module == nil || f.Module.Mod.Path == modPath {
		return false
	}
	for _, r := range f.Require {
		if r.Mod.Path == modPath {
			return true
		}
	}
	return false
}
