package runner

import (
	"bytes"
	"context"
	"fmt"
	"go/ast"
	"go/build"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
)

// namedTestEntry is step 1 for Request.Test and Request.Bench: the test
// binary of Request.In, else of the targets' package that declares the
// tests, else of the one package of the module that does.
func (r *goRun) namedTestEntry(ctx context.Context) (*goEntry, error) {
	req := r.req
	var names []string
	for _, s := range []string{req.Test, req.Bench} {
		for _, n := range strings.Split(s, "|") {
			if n = strings.TrimSpace(n); n != "" {
				names = append(names, n)
			}
		}
	}
	var pkg *entryPkg
	own := true
	switch {
	case req.In != "":
		p, err := r.onePackage(ctx, req.In)
		if err != nil {
			return nil, err
		}
		pkg = entryPkgOf(p)
		own = false
		for _, o := range r.ownPackages() {
			own = own || o.Dir == p.Dir
		}
		if err := undeclaredTests(p, testFuncNames(p, r.editor), names); err != nil {
			return nil, err
		}
	default:
		for _, p := range r.ownPackages() {
			if declaresAny(p, names) {
				declared := map[string]bool{}
				for _, fn := range p.Funcs {
					if fn.TestKind != "" {
						declared[fn.Name] = true
					}
				}
				if err := undeclaredTests(p, declared, names); err != nil {
					return nil, err
				}
				pkg = entryPkgOf(p)
				break
			}
		}
		if pkg == nil {
			r.req.Progress(Progress{Stage: StageBuilding, Message: "looking in the module for " + strings.Join(names, ", ")})
			found, err := r.findTestPackages(ctx, names)
			if err != nil {
				return nil, err
			}
			switch len(found) {
			case 0:
				return nil, fmt.Errorf("%w: no package of the module has a test %s", ErrNoEntry, strings.Join(names, " or "))
			case 1:
				pkg, own = found[0], false
			default:
				var list []string
				for _, p := range found {
					list = append(list, p.ImportPath)
				}
				return nil, fmt.Errorf("%w: %s is in several packages (%s); pick one with --in PKG (in the editor: \"in\" in the entries setting)", ErrNoEntry, strings.Join(names, ", "), strings.Join(list, ", "))
			}
		}
	}
	if !pkg.HasTests {
		return nil, fmt.Errorf("%w: %s has no test files, so no test binary: name the package with the test with --in PKG", ErrNoEntry, pkg.ImportPath)
	}
	e := &goEntry{Kind: entryTest, Pkg: pkg, Tests: names}
	switch {
	case req.Test != "" && req.Bench != "":
		run, bench := "^("+req.Test+")$", "^("+req.Bench+")$"
		e.Args = []string{"-test.run", run, "-test.bench", bench, "-test.benchtime", "1x"}
		e.Describe = "go test -run " + run + " -bench " + bench + " -benchtime 1x"
	case req.Test != "":
		re := "^(" + req.Test + ")$"
		e.Args = []string{"-test.run", re}
		e.Describe = "go test -run " + re
	default:
		re := "^(" + req.Bench + ")$"
		e.Args = []string{"-test.run", "^$", "-test.bench", re, "-test.benchtime", "1x"}
		e.Describe = "go test -bench " + re + " -benchtime 1x -run ^$"
	}
	if !own {
		e.Describe += " " + pkg.ImportPath
	}
	return e, nil
}

// testFuncNames are the top-level functions of p's test files (the
// editor's buffers first). No test files, or one that does not parse, give
// nil: nothing is judged missing (the caller, or the build, says why).
func testFuncNames(p *listedPackage, editor map[string][]byte) map[string]bool {
	if len(p.TestGoFiles)+len(p.XTestGoFiles) == 0 {
		return nil
	}
	declared := map[string]bool{}
	for _, name := range append(append([]string(nil), p.TestGoFiles...), p.XTestGoFiles...) {
		path := filepath.Join(p.Dir, name)
		src, err := readSource(path, editor)
		if err != nil {
			return nil
		}
		f, err := parser.ParseFile(token.NewFileSet(), path, src, parser.SkipObjectResolution)
		if err != nil {
			return nil
		}
		for _, d := range f.Decls {
			if fd, ok := d.(*ast.FuncDecl); ok && fd.Recv == nil {
				declared[fd.Name.Name] = true
			}
		}
	}
	return declared
}

// undeclaredTests is the error (ErrNoEntry) for the names that p's
// declared test functions lack: a typo, or a test renamed since it was
// chosen, would otherwise run nothing and leave a table of empty lines. A
// subtest (TestX/case) is checked by its test; a pattern (regexp
// metacharacters), which go test takes, is not checked; nil declared
// checks nothing.
func undeclaredTests(p *listedPackage, declared map[string]bool, names []string) error {
	if declared == nil {
		return nil
	}
	var missing []string
	for _, n := range names {
		n, _, _ = strings.Cut(n, "/")
		if !declared[n] && !strings.ContainsAny(n, `.*+?()[]{}^$\`) {
			missing = append(missing, n)
		}
	}
	if len(missing) == 0 {
		return nil
	}
	return fmt.Errorf("%w: %s has no test, benchmark or example named %s", ErrNoEntry, p.ImportPath, strings.Join(missing, ", "))
}

// declaresAny says one of p's test files declares a test, benchmark,
// example or fuzz function with one of the names.
func declaresAny(p *listedPackage, names []string) bool {
	for _, fn := range p.Funcs {
		if fn.TestKind != "" {
			for _, n := range names {
				if fn.Name == n {
					return true
				}
			}
		}
	}
	return false
}

// onePackage lists spec (a directory, relative to Request.Dir, or an
// import path, resolved in the targets' module) as one package. What names
// no package is ErrNoEntry: spec names the entry (--run, --in, a choice
// remembered in the editor whose package has gone).
func (r *goRun) onePackage(ctx context.Context, spec string) (*listedPackage, error) {
	dir := r.req.Dir
	abs := spec
	if !filepath.IsAbs(abs) {
		abs = filepath.Join(r.req.Dir, spec)
	}
	if st, err := os.Stat(abs); err != nil || !st.IsDir() {
		if filepath.IsAbs(spec) || build.IsLocalImport(spec) {
			return nil, fmt.Errorf("%w: %s: no such directory (%s)", ErrNoEntry, spec, abs)
		}
		if len(r.targets) > 0 {
			dir = r.targets[0].Pkg.Dir // an import path, of the targets' module
		}
	}
	listed, err := listPackages(ctx, dir, spec, r.listOverlay, r.req.BuildFlags)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrNoEntry, err)
	}
	var found []goPackage
	for _, p := range listed {
		if p.Dir != "" {
			found = append(found, p)
		}
	}
	if len(found) != 1 {
		return nil, fmt.Errorf("%w: %s names %d packages, want one", ErrNoEntry, spec, len(found))
	}
	return &listedPackage{goPackage: found[0]}, nil
}

// findTestPackages finds the packages of the module (or workspace) of the
// targets, and of Request.Dir's when that is another (the targets in a
// dependency replaced by a local directory), whose test files declare a
// function with one of the names: a
// scan of the _test.go files (the editor's buffers included) for
// "func NAME(", confirmed by parsing, then go list of the directories
// found (which drops files excluded by build constraints).
func (r *goRun) findTestPackages(ctx context.Context, names []string) ([]*entryPkg, error) {
	roots, _, err := moduleRoots(r.targets[0].Pkg.Dir)
	if err != nil {
		return nil, err
	}
	if m := r.targets[0].Pkg.Module; m != nil && requiresModule(r.req.Dir, m.Path) {
		if work, _, err := moduleRoots(r.req.Dir); err == nil && !slices.Contains(roots, work[0]) {
			roots = append(roots, work[0])
		}
	}
	dirs := map[string][]string{} // directory → files declaring a name
	for _, root := range roots {
		walkModule(root, func(path string) {
			if !strings.HasSuffix(path, "_test.go") {
				return
			}
			src, err := readSource(path, r.editor)
			if err != nil || !mentionsFunc(src, names) {
				return
			}
			if declaresFunc(path, src, names) {
				dirs[filepath.Dir(path)] = append(dirs[filepath.Dir(path)], path)
			}
		})
	}
	// Unsaved test files that exist only in the editor.
	for path, src := range r.editor {
		if _, err := os.Stat(path); err == nil || !strings.HasSuffix(path, "_test.go") {
			continue
		}
		if mentionsFunc(src, names) && declaresFunc(path, src, names) {
			dirs[filepath.Dir(path)] = append(dirs[filepath.Dir(path)], path)
		}
	}
	var out []*entryPkg
	sorted := make([]string, 0, len(dirs))
	for d := range dirs {
		sorted = append(sorted, d)
	}
	sort.Strings(sorted)
	for _, d := range sorted {
		p, err := r.onePackage(ctx, d)
		if err != nil {
			continue
		}
		in := map[string]bool{}
		for _, f := range append(append([]string(nil), p.TestGoFiles...), p.XTestGoFiles...) {
			in[filepath.Join(p.Dir, f)] = true
		}
		for _, f := range dirs[d] {
			if in[f] {
				out = append(out, entryPkgOf(p))
				break
			}
		}
	}
	return out, nil
}

func mentionsFunc(src []byte, names []string) bool {
	for _, n := range names {
		if bytes.Contains(src, []byte("func "+n+"(")) {
			return true
		}
	}
	return false
}

// declaresFunc says the file declares a top-level function (not a method)
// with one of the names.
func declaresFunc(path string, src []byte, names []string) bool {
	f, err := parser.ParseFile(token.NewFileSet(), path, src, parser.SkipObjectResolution)
	if err != nil {
		return false
	}
	for _, d := range f.Decls {
		if fd, ok := d.(*ast.FuncDecl); ok && fd.Recv == nil {
			for _, n := range names {
				if fd.Name.Name == n {
					return true
				}
			}
		}
	}
	return false
}

// walkModule calls visit with every Go file of the packages under root as
// go list ./... finds them: no testdata, vendor, _ or . directories, no
// nested modules.
func walkModule(root string, visit func(path string)) {
	walkModuleTree(root, func(path string, d fs.DirEntry) {
		if !d.IsDir() && strings.HasSuffix(path, ".go") {
			visit(path)
		}
	})
}

// walkModuleTree calls visit with every directory and file under root that
// go list ./... looks at.
func walkModuleTree(root string, visit func(path string, d fs.DirEntry)) {
	filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return nil // an unreadable directory: go list skips it too
		}
		if d.IsDir() && path != root {
			name := d.Name()
			if name == "testdata" || name == "vendor" || strings.HasPrefix(name, ".") || strings.HasPrefix(name, "_") {
				return filepath.SkipDir
			}
			if _, err := os.Stat(filepath.Join(path, "go.mod")); err == nil {
				return filepath.SkipDir // a nested module
			}
		}
		visit(path, d)
		return nil
	})
}
