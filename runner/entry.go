package runner

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"

	"github.com/memlens/memlens/instrument"
)

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
	Module       *struct{ Path, Dir, GoMod string }
	Error        *struct{ Err string }
}

// listPackages resolves target (a directory or a package pattern, relative
// to dir) with go list. A directory is listed from inside itself, so that a
// directory inside another module (testdata/go) resolves in that module.
func listPackages(ctx context.Context, dir, target, overlayFile string, buildFlags []string) ([]goPackage, error) {
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
		found := false
		for _, p := range pkgs {
			for _, fn := range p.Funcs {
				if fn.Matches(name) {
					addTarget(p, fn)
					found = true
				}
			}
		}
		if !found {
			return nil, noSuchFunc(pkgs, name)
		}
	}
	return targets, nil
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

// entryKind says which program runs the targets.
type entryKind int

const (
	entryTest entryKind = iota // a test binary of the package
	entryMain                  // the main package itself
)

// goEntry is how the targets get run.
type goEntry struct {
	Kind entryKind
	// Args are the test binary's flags (entryTest) or the program's
	// arguments (entryMain).
	Args []string
	// Describe is Result.Entry: the equivalent command and why it was chosen.
	Describe string
	// Files are extra overlay files (the generated entry test), by path.
	Files map[string][]byte
}

// entryTestName is the generated test that calls a parameterless target.
const entryTestName = "TestMemlensEntry"

// entryFileName is the generated test file; it exists only in the overlay.
const entryFileName = "zz_memlens_entry_test.go"

// chooseEntry applies the order: explicit flags; targets that are
// tests themselves; a main package; the tests that reach the targets; a
// generated test calling parameterless targets.
func chooseEntry(ctx context.Context, req Request, home *listedPackage, targets []target, reach reachFunc) (*goEntry, error) {
	switch {
	case req.Test != "":
		re := "^(" + req.Test + ")$"
		return &goEntry{Kind: entryTest, Args: []string{"-test.run", re}, Describe: "go test -run " + re}, nil
	case req.Bench != "":
		re := "^(" + req.Bench + ")$"
		return &goEntry{Kind: entryTest, Args: []string{"-test.run", "^$", "-test.bench", re, "-test.benchtime", "1x"},
			Describe: "go test -bench " + re + " -benchtime 1x -run ^$"}, nil
	case req.HasArgs:
		if home.Name != "main" {
			return nil, fmt.Errorf("%w: program arguments given but %s is not a main package; use --test NAME or --bench NAME", ErrNoEntry, home.ImportPath)
		}
		return mainEntry(home, req.Args), nil
	}

	var tests, benches, plain []target
	for _, t := range targets {
		switch t.Func.TestKind {
		case "Test", "Fuzz", "Example":
			tests = append(tests, t)
		case "Benchmark":
			benches = append(benches, t)
		default:
			plain = append(plain, t)
		}
	}
	if len(plain) == 0 {
		var runNames, benchNames []string
		for _, t := range tests {
			runNames = append(runNames, t.Func.Name)
		}
		for _, t := range benches {
			benchNames = append(benchNames, t.Func.Name)
		}
		e := &goEntry{Kind: entryTest}
		runRE := "^$"
		if len(runNames) > 0 {
			runRE = alternation(runNames)
		}
		e.Args = []string{"-test.run", runRE}
		e.Describe = "go test -run " + runRE
		if len(benchNames) > 0 {
			benchRE := alternation(benchNames)
			e.Args = append(e.Args, "-test.bench", benchRE, "-test.benchtime", "1x")
			e.Describe += " -bench " + benchRE + " -benchtime 1x"
		}
		return e, nil
	}

	if home.Name == "main" {
		return mainEntry(home, nil), nil
	}

	names := make([]string, len(plain))
	for i, t := range plain {
		names[i] = displayName(t.Func)
	}
	reaching, err := reach(ctx, home, plain)
	if err != nil {
		return nil, err
	}
	for _, t := range tests {
		reaching = append(reaching, t.Func.Name)
	}
	if len(reaching) > 0 {
		sort.Strings(reaching)
		reaching = dedup(reaching)
		var runNames, benchNames []string
		for _, n := range reaching {
			if strings.HasPrefix(n, "Benchmark") {
				benchNames = append(benchNames, n)
			} else {
				runNames = append(runNames, n)
			}
		}
		e := &goEntry{Kind: entryTest}
		runRE := "^$"
		if len(runNames) > 0 {
			runRE = alternation(runNames)
		}
		e.Args = []string{"-test.run", runRE}
		e.Describe = "go test -run " + runRE
		if len(benchNames) > 0 {
			benchRE := alternation(benchNames)
			e.Args = append(e.Args, "-test.bench", benchRE, "-test.benchtime", "1x")
			e.Describe += " -bench " + benchRE + " -benchtime 1x"
		}
		e.Describe += " (tests that reach " + strings.Join(names, ", ") + ")"
		return e, nil
	}

	// Last resort: call parameterless targets from a generated test.
	var calls []string
	for _, t := range plain {
		fn := t.Func
		if fn.Recv != "" || fn.Generic || fn.NumParams != 0 || t.Pkg != home || isXTestFunc(home, fn) {
			return nil, fmt.Errorf("%w: no test of %s reaches %s and it cannot be called without arguments; "+
				"run it with --test NAME, --bench NAME, or -- ARGS for a main package", ErrNoEntry, home.ImportPath, displayName(fn))
		}
		calls = append(calls, "\t"+fn.Name+"()\n")
	}
	src := "package " + home.Name + "\n\nimport \"testing\"\n\n" +
		"// Generated by memlens: calls the profiled functions, which no test reaches.\n" +
		"func " + entryTestName + "(t *testing.T) {\n" + strings.Join(calls, "") + "}\n"
	re := "^" + entryTestName + "$"
	return &goEntry{
		Kind:     entryTest,
		Args:     []string{"-test.run", re},
		Describe: "go test -run " + re + " (a generated test calls " + strings.Join(names, ", ") + ")",
		Files:    map[string][]byte{filepath.Join(home.Dir, entryFileName): []byte(src)},
	}, nil
}

func isXTestFunc(p *listedPackage, fn instrument.Func) bool {
	for _, f := range p.Files {
		if f.Path == fn.File {
			return f.XTest
		}
	}
	return false
}

func mainEntry(p *listedPackage, args []string) *goEntry {
	d := "go run " + p.ImportPath
	if len(args) > 0 {
		d += " " + strings.Join(args, " ")
	}
	return &goEntry{Kind: entryMain, Args: args, Describe: d}
}

// alternation is an anchored regexp matching exactly the names.
func alternation(names []string) string {
	return "^(" + strings.Join(names, "|") + ")$"
}

func firstLine(s, fallback string) string {
	s = strings.TrimSpace(s)
	if s == "" {
		return fallback
	}
	l, _, _ := strings.Cut(s, "\n")
	return l
}
