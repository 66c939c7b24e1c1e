package runner

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"go/ast"
	"go/parser"
	"go/scanner"
	"go/token"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strings"

	"github.com/memlens/memlens/instrument"
	"github.com/memlens/memlens/profile"
)

// resolve is the first stage: list the target's packages, parse their
// files and find the functions to profile. A named function in a file that
// does not parse is a build failure at the file's own positions.
func (r *goRun) resolve(ctx context.Context) error {
	r.req.Progress(Progress{Stage: StageBuilding, Message: "resolving " + r.req.Target})
	pkgs, targets, err := resolveGo(ctx, r.req, r.editor, r.listOverlay)
	if err != nil {
		var pe *parseError
		if errors.As(err, &pe) {
			r.res.Errors = pe.errs
			return r.stop(profile.StatusBuildFailed, "build failed: "+buildFailureLine(pe.errs, nil))
		}
		return err
	}
	r.pkgs, r.targets = pkgs, targets
	return nil
}

// parseError is returned by resolveGo when a requested function is not
// found and some file of the package does not parse.
type parseError struct{ errs []profile.Error }

func (e *parseError) Error() string { return buildFailureLine(e.errs, nil) }

// resolveGo lists the target's packages, parses their files and finds the
// functions to profile.
func resolveGo(ctx context.Context, req Request, editor map[string][]byte, listOverlay string) ([]*listedPackage, []target, error) {
	listed, err := listPackages(ctx, req.Dir, req.Target, listOverlay, req.BuildFlags)
	if err != nil {
		return nil, nil, err
	}
	fset := token.NewFileSet()
	var pkgs []*listedPackage
	var syntaxErrs []profile.Error
	for _, gp := range listed {
		if gp.Dir == "" {
			continue
		}
		files, err := parsePackage(fset, gp, editor)
		if err != nil {
			return nil, nil, err
		}
		lp := &listedPackage{goPackage: gp, Files: files}
		for _, f := range files {
			if f.AST == nil {
				syntaxErrs = append(syntaxErrs, errorsFromInstrument(f.Err)...)
				continue
			}
			lp.Funcs = append(lp.Funcs, instrument.FindFuncs(fset, f.AST, f.Path)...)
		}
		pkgs = append(pkgs, lp)
	}
	targets, err := findTargets(pkgs, req.Funcs)
	if err != nil && len(syntaxErrs) > 0 {
		return nil, nil, &parseError{syntaxErrs}
	}
	if err == nil {
		err = inModuleCache(ctx, req.Dir, targets)
	}
	if err == nil {
		err = runtimeDependency(ctx, req.Dir, targets)
	}
	return pkgs, targets, err
}

// runtimeDependency is the error for targets in a standard package that
// the probe runtime imports, directly or not (os, strconv, sync, time,
// errors, io...): the runtime is compiled into the instrumented package,
// so the build would fail with an import cycle ("package strconv: import
// cycle not allowed") that does not say why.
func runtimeDependency(ctx context.Context, dir string, targets []target) error {
	var deps []string
	for _, t := range targets {
		if !t.Pkg.Standard {
			continue
		}
		if deps == nil {
			cmd := exec.CommandContext(ctx, "go", append([]string{"list", "-deps"}, instrument.RuntimeImports()...)...)
			cmd.Dir = dir
			out, err := cmd.Output()
			if err != nil {
				return nil // the build will say
			}
			deps = strings.Fields(string(out))
		}
		if slices.Contains(deps, t.Pkg.ImportPath) {
			return fmt.Errorf("memlens cannot profile %s.%s: the probe runtime compiled into the package depends on %s (it imports %s), so instrumenting it would be an import cycle",
				t.Pkg.ImportPath, displayName(t.Func), t.Pkg.ImportPath, strings.Join(instrument.RuntimeImports(), ", "))
		}
	}
	return nil
}

// inModuleCache is the error for targets whose files are in the module
// cache: go build refuses an overlay that replaces them ("Files beneath
// GOMODCACHE must not be replaced"), which would otherwise surface as a
// build failure naming none of the user's code.
func inModuleCache(ctx context.Context, dir string, targets []target) error {
	for _, t := range targets {
		if !strings.Contains(t.Pkg.Dir, "@") { // module cache directories are path@version
			continue
		}
		cmd := exec.CommandContext(ctx, "go", "env", "GOMODCACHE")
		cmd.Dir = dir
		out, err := cmd.Output()
		cache := filepath.Clean(strings.TrimSpace(string(out)))
		if err != nil || cache == "." {
			return nil // the build will say
		}
		if rel, err := filepath.Rel(cache, t.Pkg.Dir); err == nil && rel != ".." && !strings.HasPrefix(rel, ".."+string(filepath.Separator)) {
			return fmt.Errorf("%s (%s) is in the module cache, whose files go build does not let memlens replace with instrumented copies; "+
				"profile a copy of the module: go mod vendor, or a replace directive to a directory of its source", t.Pkg.ImportPath, t.Pkg.Dir)
		}
	}
	return nil
}

// errorsFromInstrument turns a parse error of a target file into positioned
// errors.
func errorsFromInstrument(err error) []profile.Error {
	var list scanner.ErrorList
	if errors.As(err, &list) {
		var out []profile.Error
		// The first errors matter; later ones cascade (gc stops at 10).
		for _, e := range list[:min(len(list), 10)] {
			out = append(out, profile.Error{File: e.Pos.Filename, Line: e.Pos.Line, Column: e.Pos.Column, Message: e.Msg})
		}
		return out
	}
	var se *scanner.Error
	if errors.As(err, &se) {
		return []profile.Error{{File: se.Pos.Filename, Line: se.Pos.Line, Column: se.Pos.Column, Message: se.Msg}}
	}
	return nil
}

func oneLineErr(err error) string { return firstLine(err.Error(), "error") }

// goPackage is what `go list -json` says about a package, as far as the
// runner needs it.
type goPackage struct {
	Dir          string
	ImportPath   string
	Name         string
	GoFiles      []string
	CgoFiles     []string
	TestGoFiles  []string
	XTestGoFiles []string
	Standard     bool
	Module       *struct{ Path, Dir, GoMod string }
	Error        *struct{ Err string }
}

// listPackages resolves target (a directory or a package pattern, relative
// to dir) with go list. A directory is listed from inside itself, so that a
// directory inside another module (testdata/go) resolves in that module.
// A Go file stands for the package of its directory that it belongs to (go
// list of a file would make a package of that file alone, without its
// package's other files and tests).
func listPackages(ctx context.Context, dir, target, overlayFile string, buildFlags []string) ([]goPackage, error) {
	abs := target
	if !filepath.IsAbs(abs) {
		abs = filepath.Join(dir, target)
	}
	if st, err := os.Stat(abs); err == nil && st.Mode().IsRegular() && strings.HasSuffix(abs, ".go") {
		if pkgs, err := listPackagesIn(ctx, filepath.Dir(abs), ".", overlayFile, buildFlags); err == nil && len(pkgs) == 1 && pkgs[0].has(filepath.Base(abs)) {
			return pkgs, nil
		}
	}
	return listPackagesIn(ctx, dir, target, overlayFile, buildFlags)
}

// has says the package's files include name (a base name).
func (p goPackage) has(name string) bool {
	for _, files := range [][]string{p.GoFiles, p.CgoFiles, p.TestGoFiles, p.XTestGoFiles} {
		if slices.Contains(files, name) {
			return true
		}
	}
	return false
}

func listPackagesIn(ctx context.Context, dir, target, overlayFile string, buildFlags []string) ([]goPackage, error) {
	runDir, pattern := dir, target
	abs := target
	if !filepath.IsAbs(abs) {
		abs = filepath.Join(dir, target)
	}
	if st, err := os.Stat(abs); err == nil && st.IsDir() {
		runDir, pattern = abs, "."
	} else if strings.HasSuffix(target, "/...") {
		if st, err := os.Stat(strings.TrimSuffix(abs, "/...")); err == nil && st.IsDir() {
			runDir, pattern = strings.TrimSuffix(abs, "/..."), "./..."
		}
	}
	args := []string{"list", "-e", "-json"}
	if overlayFile != "" {
		args = append(args, "-overlay", overlayFile)
	}
	args = append(args, buildFlags...)
	args = append(args, pattern)
	cmd := exec.CommandContext(ctx, "go", args...)
	cmd.Dir = runDir
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("go list %s: %s", target, firstLine(stderr.String(), err.Error()))
	}
	var pkgs []goPackage
	dec := json.NewDecoder(bytes.NewReader(out))
	for {
		var p goPackage
		if err := dec.Decode(&p); err == io.EOF {
			break
		} else if err != nil {
			return nil, fmt.Errorf("go list %s: %v", target, err)
		}
		pkgs = append(pkgs, p)
	}
	if len(pkgs) == 0 {
		return nil, fmt.Errorf("no Go package matches %s", target)
	}
	// A package go list could not even locate has no directory: nothing to
	// profile. One with a syntax error still lists its files; the compiler
	// will report the error.
	if len(pkgs) == 1 && pkgs[0].Dir == "" && pkgs[0].Error != nil {
		return nil, fmt.Errorf("%s: %s", target, pkgs[0].Error.Err)
	}
	return pkgs, nil
}

// sourceFile is one parsed file of a package.
type sourceFile struct {
	Path  string
	Src   []byte
	AST   *ast.File // nil when the file does not parse
	Err   error     // why it does not parse
	Test  bool      // a _test.go file
	XTest bool      // in the external test package (pkg_test)
}

// readSource returns the editor buffer for path when there is one, else the
// file on disk.
func readSource(path string, overlay map[string][]byte) ([]byte, error) {
	if src, ok := overlay[path]; ok {
		return src, nil
	}
	return os.ReadFile(path)
}

// parsePackage parses every Go file of p (tests included). A file that does
// not parse is kept without an AST: the compiler reports its error later.
func parsePackage(fset *token.FileSet, p goPackage, overlay map[string][]byte) ([]sourceFile, error) {
	var files []sourceFile
	add := func(names []string, test, xtest bool) error {
		for _, n := range names {
			path := filepath.Join(p.Dir, n)
			src, err := readSource(path, overlay)
			if err != nil {
				return err
			}
			f, err := parser.ParseFile(fset, path, src, parser.ParseComments|parser.SkipObjectResolution)
			if err != nil {
				f = nil
			}
			files = append(files, sourceFile{Path: path, Src: src, AST: f, Err: err, Test: test, XTest: xtest})
		}
		return nil
	}
	if err := add(p.GoFiles, false, false); err != nil {
		return nil, err
	}
	if err := add(p.CgoFiles, false, false); err != nil {
		return nil, err
	}
	if err := add(p.TestGoFiles, true, false); err != nil {
		return nil, err
	}
	if err := add(p.XTestGoFiles, true, true); err != nil {
		return nil, err
	}
	return files, nil
}

// parseFailed reports whether some file of the package does not parse.
func parseFailed(files []sourceFile) bool {
	for _, f := range files {
		if f.AST == nil {
			return true
		}
	}
	return false
}

// listedPackage is a package with its parsed files and the functions found
// in them.
type listedPackage struct {
	goPackage
	Files []sourceFile
	// Funcs are every function of the package's files, tests included
	// (Func.Package tells the external test package's apart).
	Funcs []instrument.Func
}

// target is one function to profile.
type target struct {
	Pkg  *listedPackage
	Func instrument.Func
}

// displayName is the name a user writes: Build, Grid.Len, (*Grid).Add
// (instrument.Func.Name already is).
func displayName(fn instrument.Func) string { return fn.Name }

// findTargets picks the functions to profile: those named, or the marked
// ones when none is named. A name that matches nothing is an error that
// lists the closest names the packages do have.
func findTargets(pkgs []*listedPackage, names []string) ([]target, error) {
	var targets []target
	seen := map[string]bool{}
	addTarget := func(p *listedPackage, fn instrument.Func) {
		key := fmt.Sprintf("%s:%d", fn.File, fn.StartLine)
		if !seen[key] {
			seen[key] = true
			targets = append(targets, target{Pkg: p, Func: fn})
		}
	}
	if len(names) == 0 {
		for _, p := range pkgs {
			for _, fn := range p.Funcs {
				if fn.Marked {
					addTarget(p, fn)
				}
			}
		}
		if len(targets) == 0 {
			return nil, errors.New("no function named and none marked //memlens:profile: name one, e.g. memlens profile ./pkg Build")
		}
		return targets, nil
	}
	for _, name := range names {
		var found []target
		dirs := map[string]bool{}
		for _, p := range pkgs {
			for _, fn := range p.Funcs {
				if matchesIn(p, fn, name) {
					found = append(found, target{p, fn})
					dirs[p.Dir] = true
				}
			}
		}
		if len(found) == 0 {
			return nil, noSuchFunc(pkgs, name)
		}
		if len(dirs) > 1 {
			return nil, ambiguousFunc(name, found)
		}
		for _, t := range found {
			addTarget(t.Pkg, t.Func)
		}
	}
	return targets, nil
}

// matchesIn reports whether name names fn of package p: as
// instrument.Func.Matches has it, or qualified by p's whole import path,
// as ambiguousFunc lists them, whose last element need not be the package
// name (github.com/pelletier/go-toml/v2.Unmarshal, gopkg.in/yaml.v3.Unmarshal,
// github.com/mattn/go-runewidth.StringWidth).
func matchesIn(p *listedPackage, fn instrument.Func, name string) bool {
	qual := p.ImportPath
	if strings.HasSuffix(fn.Package, "_test") {
		qual += "_test"
	}
	if rest, ok := strings.CutPrefix(strings.TrimSpace(name), qual+"."); ok && qual != "" {
		name = fn.Package + "." + rest
	}
	return fn.Matches(name)
}

// ambiguousFunc is the error for a name that matches functions of several
// packages (of a pattern such as ./...): it lists them with their packages.
func ambiguousFunc(name string, found []target) error {
	var list []string
	for _, t := range found {
		path := t.Pkg.ImportPath
		if strings.HasSuffix(t.Func.Package, "_test") {
			path += "_test"
		}
		list = append(list, fmt.Sprintf("%s.%s (%s:%d)", path, displayName(t.Func), filepath.Base(t.Func.File), t.Func.StartLine))
	}
	return fmt.Errorf("%s is in several packages: %s; qualify it with its package name (pkg.%s) or give its package as the target",
		name, strings.Join(list, ", "), strings.TrimLeft(name, "(*"))
}

// noSuchFunc is the error for a name that matches nothing, with the most
// similar names first.
func noSuchFunc(pkgs []*listedPackage, name string) error {
	var all []string
	for _, p := range pkgs {
		for _, fn := range p.Funcs {
			all = append(all, displayName(fn))
		}
	}
	if len(all) == 0 {
		return fmt.Errorf("no function %s: the package has no functions", name)
	}
	want := strings.ToLower(strings.TrimLeft(name, "(*"))
	sort.SliceStable(all, func(i, j int) bool {
		return editDistance(want, strings.ToLower(all[i])) < editDistance(want, strings.ToLower(all[j]))
	})
	all = dedup(all)
	if len(all) > 8 {
		all = all[:8]
	}
	return fmt.Errorf("no function %s in the package; similar: %s", name, strings.Join(all, ", "))
}

func dedup(xs []string) []string {
	seen := map[string]bool{}
	out := xs[:0]
	for _, x := range xs {
		if !seen[x] {
			seen[x] = true
			out = append(out, x)
		}
	}
	return out
}

// editDistance is the Levenshtein distance, with a bonus for containment so
// that "build" ranks "Build" and "BuildAll" first.
func editDistance(a, b string) int {
	if strings.Contains(b, a) || strings.Contains(a, b) {
		return abs(len(a) - len(b))
	}
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)] + 1
}

func abs(n int) int {
	if n < 0 {
		return -n
	}
	return n
}
