package runner

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"sort"
	"strings"

	"github.com/memlens/memlens/instrument"
)

// How a Go function gets run: the entry, in this order.
//
//  1. Flags: Request.Run (a main package, with Args), Request.Test or
//     Request.Bench (found in Request.In, else in the targets' packages,
//     else in the one package of the module that has it), Args alone (the
//     targets' main package, else the one main package that reaches them).
//     The server turns the `entries` setting into these.
//  2. Targets that are tests, benchmarks, examples or fuzz functions
//     themselves: just them.
//  3. The tests of the targets' own package that reach them (a static call
//     graph, see callgraph.go); a target in a main package that none
//     reaches: the program.
//  4. The tests of the other packages of the module (and of the go.work
//     workspace) that reach them: the package whose tests reach the most
//     targets, then the one with the fewest reaching tests, all of its
//     reaching tests in one run.
//  5. The one main package of the module that reaches them, as a program
//     without arguments.
//  6. For parameterless functions, a call from a generated test file that
//     exists only in the build overlay.
//
// init functions are left out of this search: every entry containing their
// package runs them. Named alone, they run through an empty generated test.
//
// Where 4 and 5 offer more than one entry (or only a main package, which
// may never end by itself), Request.ChooseEntry is asked when set; without
// it the first is taken, except that several main packages are an error.

// chooseEntry is the second stage: it decides which test binary or program
// runs the targets and names it in the result.
func (r *goRun) chooseEntry(ctx context.Context) error {
	entry, err := r.findEntry(ctx)
	if err != nil {
		return err
	}
	r.entry = entry
	r.res.Entry = entry.Describe
	own := false
	for _, p := range r.ownPackages() {
		own = own || p.Dir == entry.Pkg.Dir
	}
	if !own {
		r.res.EntryVia = entry.option().Label()
	}
	return nil
}

// entryKind says which program runs the targets.
type entryKind int

const (
	entryTest entryKind = iota // a test binary of the package
	entryMain                  // the main package itself
)

// entryPkg is the package that is built and run.
type entryPkg struct {
	Dir, ImportPath, Name string
	// HasTests says the package has _test.go files: go test -c builds a
	// test binary only then.
	HasTests bool
}

func entryPkgOf(p *listedPackage) *entryPkg {
	return &entryPkg{Dir: p.Dir, ImportPath: p.ImportPath, Name: p.Name, HasTests: len(p.TestGoFiles)+len(p.XTestGoFiles) > 0}
}

// goEntry is how the targets get run.
type goEntry struct {
	Kind entryKind
	Pkg  *entryPkg
	// Args are the test binary's flags (entryTest) or the program's
	// arguments (entryMain).
	Args []string
	// Tests are the tests and benchmarks run (entryTest).
	Tests []string
	// Describe is Result.Entry: the equivalent command and why it was chosen.
	Describe string
	// Files are extra overlay files (the generated entry test), by path.
	Files map[string][]byte
}

// EntryKind says what an EntryOption runs.
type EntryKind string

const (
	// EntryTests runs tests (and benchmarks, once) of a package.
	EntryTests EntryKind = "tests"
	// EntryMain runs a main package as a program.
	EntryMain EntryKind = "main"
)

// EntryOption is one way to run the requested functions, as offered to
// Request.ChooseEntry.
type EntryOption struct {
	Kind EntryKind
	// Package is the import path of the package built and run, Dir its
	// directory.
	Package, Dir string
	// Tests are the tests and benchmarks that reach the functions
	// (EntryTests).
	Tests []string
	// Reaches names the functions it reaches.
	Reaches []string
	// Describe is the equivalent go command.
	Describe string
}

// Label is a short name for a menu: "app.TestRun", "app: TestA, TestB",
// "run cmd/tool".
func (o EntryOption) Label() string {
	short := o.Package[strings.LastIndex(o.Package, "/")+1:]
	if o.Kind == EntryMain {
		return "run " + shortPath(o.Package)
	}
	if len(o.Tests) == 1 {
		return short + "." + o.Tests[0]
	}
	if len(o.Tests) <= 3 {
		return short + ": " + strings.Join(o.Tests, ", ")
	}
	return fmt.Sprintf("%s: %d tests", short, len(o.Tests))
}

// shortPath is the last two elements of an import path: cmd/tool.
func shortPath(p string) string {
	parts := strings.Split(p, "/")
	if len(parts) > 2 {
		parts = parts[len(parts)-2:]
	}
	return strings.Join(parts, "/")
}

// Apply makes req run this option without searching again (Run or Test
// with In).
func (o EntryOption) Apply(req *Request) {
	switch o.Kind {
	case EntryMain:
		req.Run = o.Dir
		req.HasArgs = true
		req.Test, req.Bench, req.In = "", "", ""
	case EntryTests:
		var run, bench []string
		for _, t := range o.Tests {
			if strings.HasPrefix(t, "Benchmark") {
				bench = append(bench, t)
			} else {
				run = append(run, t)
			}
		}
		req.Test, req.Bench = strings.Join(run, "|"), strings.Join(bench, "|")
		req.In = o.Dir
		req.Run, req.Args, req.HasArgs = "", nil, false
	}
}

// entryTestName is the generated test that calls a parameterless target.
const entryTestName = "TestMemlensEntry"

// entryFileName is the generated test file; it exists only in the overlay.
const entryFileName = "zz_memlens_entry_test.go"

// findEntry applies the order above.
func (r *goRun) findEntry(ctx context.Context) (*goEntry, error) {
	req := r.req
	if req.Run != "" {
		p, err := r.onePackage(ctx, req.Run)
		if err != nil {
			return nil, err
		}
		if p.Name != "main" {
			return nil, fmt.Errorf("%w: --run %s: %s is not a main package", ErrNoEntry, req.Run, p.ImportPath)
		}
		return mainEntry(entryPkgOf(p), req.Args, ""), nil
	}
	if req.Test != "" || req.Bench != "" {
		return r.namedTestEntry(ctx)
	}
	if req.HasArgs {
		for _, t := range r.targets {
			if t.Pkg.Name == "main" {
				return mainEntry(entryPkgOf(t.Pkg), req.Args, ""), nil
			}
		}
		return r.searchEntry(ctx, true)
	}

	var tests, plain []target
	for _, t := range r.targets {
		switch {
		case isInitFunc(t.Func): // run by any entry of its package
		case t.Func.TestKind != "":
			tests = append(tests, t)
		default:
			plain = append(plain, t)
		}
	}
	if len(plain) == 0 && len(tests) > 0 {
		p := tests[0].Pkg
		var names []string
		for _, t := range tests {
			if t.Pkg.Dir != p.Dir {
				return nil, fmt.Errorf("%w: the tests named are in several packages (%s, %s): a test binary runs one package's", ErrNoEntry, p.ImportPath, t.Pkg.ImportPath)
			}
			names = append(names, t.Func.Name)
		}
		return testEntry(entryPkgOf(p), names, ""), nil
	}
	return r.searchEntry(ctx, false)
}

// searchEntry finds the tests or program that reach the targets, steps 3
// to 6 (only 5, main packages, when mainOnly).
func (r *goRun) searchEntry(ctx context.Context, mainOnly bool) (*goEntry, error) {
	var plain, tests, inits []target
	for _, t := range r.targets {
		switch {
		case isInitFunc(t.Func):
			inits = append(inits, t)
		case t.Func.TestKind == "":
			plain = append(plain, t)
		default:
			tests = append(tests, t)
		}
	}
	if len(plain) == 0 && len(inits) > 0 {
		return r.initEntry(inits, mainOnly)
	}
	// Other targets' entry runs the init functions too: it contains
	// their package.
	names := targetNames(plain)
	own := r.ownPackages()
	parseOK := true
	for _, p := range own {
		if parseFailed(p.Files) {
			parseOK = false // the build will report the compiler's errors
		}
	}

	// 3: the targets' own tests; their main package.
	hasTests := false
	for _, p := range own {
		hasTests = hasTests || len(p.TestGoFiles)+len(p.XTestGoFiles) > 0
	}
	if !mainOnly && parseOK && hasTests {
		r.req.Progress(Progress{Stage: StageBuilding, Message: "looking for the tests of " + ownPaths(own) + " that reach " + names})
		found, err := r.store.ownReachers(ctx, own, plain, r.editor, r.req.BuildFlags)
		if err != nil {
			return nil, err
		}
		if best := bestTests(found, own, plain); best != nil {
			// Tests named as targets run too.
			for _, t := range tests {
				if t.Pkg.Dir == best.Dir {
					best.Names = append(best.Names, t.Func.Name)
				}
			}
			sort.Strings(best.Names)
			best.Names = dedup(best.Names)
			reached := reachedNames(plain, best.Reached)
			r.noteUnreached(plain, reached)
			return testEntry(ownEntryPkg(own, best.Dir), best.Names, "tests that reach "+strings.Join(reached, ", ")), nil
		}
	}
	for _, p := range own {
		if p.Name == "main" {
			e := mainEntry(entryPkgOf(p), nil, "")
			o := e.option()
			o.Reaches = []string{names}
			if err := r.confirm(ctx, []EntryOption{o}); err != nil {
				return nil, err
			}
			return e, nil
		}
	}

	// 4 and 5: the module's other packages.
	var found []reachingTests
	var mains []reachingMain
	searchFailed := ""
	if parseOK {
		r.req.Progress(Progress{Stage: StageBuilding, Message: "looking in the module for tests and programs that reach " + names})
		var err error
		found, mains, err = r.store.moduleReachers(ctx, own, plain, r.req.Dir, r.editor, r.req.BuildFlags)
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		if err != nil {
			// Not in a module (GOPATH, a lone directory), or go list
			// failed: what remains is a generated call.
			searchFailed = " (the module search failed: " + oneLineErr(err) + ")"
		}
	}
	if mainOnly {
		found = nil
	}
	options := rankedOptions(found, mains, plain)
	if len(options) > 0 {
		choice := 0
		if r.req.ChooseEntry != nil && (len(options) > 1 || options[0].Kind == EntryMain) {
			var err error
			if choice, err = r.req.ChooseEntry(ctx, options); err != nil {
				return nil, err
			}
			if choice < 0 || choice >= len(options) {
				return nil, fmt.Errorf("no entry chosen for %s", names)
			}
		} else if r.req.ChooseEntry == nil && len(found) == 0 && len(mains) > 1 {
			var list []string
			for _, o := range options {
				list = append(list, o.Package)
			}
			return nil, fmt.Errorf("%w: no test reaches %s, and several main packages do (%s); pick one with --run PKG",
				ErrNoEntry, names, strings.Join(list, ", "))
		}
		o := options[choice]
		r.noteUnreached(plain, o.Reaches)
		e := optionEntry(o, strings.Join(o.Reaches, ", "))
		if e.Kind == entryMain && r.req.HasArgs {
			e = mainEntry(e.Pkg, r.req.Args, "a main package that reaches "+strings.Join(o.Reaches, ", "))
		}
		return e, nil
	}
	if mainOnly {
		return nil, fmt.Errorf("%w: program arguments given, but no main package reaches %s; name one with --run PKG", ErrNoEntry, names)
	}

	// 6: a generated test calling parameterless targets.
	home := plain[0].Pkg
	var calls []string
	for _, t := range plain {
		fn := t.Func
		if fn.Recv != "" || fn.Generic || fn.NumParams != 0 || t.Pkg != home || isXTestFunc(home, fn) {
			return nil, fmt.Errorf("%w: no test or program of the module reaches %s and it cannot be called without arguments%s; "+
				"run it with --test NAME, --bench NAME (found in any package of the module), or --run PKG -- ARGS for a main package",
				ErrNoEntry, displayName(fn), searchFailed)
		}
		calls = append(calls, "\t"+fn.Name+"()\n")
	}
	return generatedTestEntry(home, "calls the profiled functions, which no test reaches",
		"{\n"+strings.Join(calls, "")+"}", "a generated test calls "+names), nil
}

// generatedTestEntry runs home's test binary with one test of its own, in
// a file that exists only in the overlay (a package without tests has no
// other): TestMemlensEntry with body, documented by what.
func generatedTestEntry(home *listedPackage, what, body, why string) *goEntry {
	src := "package " + home.Name + "\n\nimport \"testing\"\n\n" +
		"// Generated by memlens: " + what + ".\n" +
		"func " + entryTestName + "(t *testing.T) " + body + "\n"
	re := "^" + entryTestName + "$"
	pkg := entryPkgOf(home)
	pkg.HasTests = true
	return &goEntry{
		Kind:     entryTest,
		Pkg:      pkg,
		Args:     []string{"-test.run", re},
		Describe: "go test -run " + re + " (" + why + ")",
		Files:    map[string][]byte{filepath.Join(home.Dir, entryFileName): []byte(src)},
	}
}

// isInitFunc says fn is a package's init function: the program runs it
// while initializing the package, before main or any test, so no call
// graph reaches it, and no code may call it.
func isInitFunc(fn instrument.Func) bool {
	return fn.Name == "init" && fn.Recv == "" && fn.NumParams == 0 && !fn.Generic
}

// initEntry runs init functions: any program containing their package
// runs them, so the package's test binary with a generated empty test
// (a package without tests has no other) and nothing else.
func (r *goRun) initEntry(inits []target, mainOnly bool) (*goEntry, error) {
	home := inits[0].Pkg
	for _, t := range inits {
		if t.Pkg.Dir != home.Dir {
			return nil, fmt.Errorf("%w: init functions of several packages (%s, %s): name a program that contains them with --run PKG",
				ErrNoEntry, home.ImportPath, t.Pkg.ImportPath)
		}
	}
	if mainOnly {
		if home.Name == "main" {
			return mainEntry(entryPkgOf(home), r.req.Args, ""), nil
		}
		return nil, fmt.Errorf("%w: program arguments given for init, which every program importing %s runs; name one with --run PKG",
			ErrNoEntry, home.ImportPath)
	}
	return generatedTestEntry(home, "initializing the package runs its init functions; nothing else is needed",
		"{}", "an empty generated test: initializing the package runs init"), nil
}

// reachedNames are the names of the targets at the indexes.
func reachedNames(targets []target, indexes []int) []string {
	var out []string
	for _, i := range indexes {
		out = append(out, displayName(targets[i].Func))
	}
	return dedup(out)
}

// noteUnreached says which targets the entry does not reach (functions of
// several packages that no one program runs): they will show no calls.
func (r *goRun) noteUnreached(targets []target, reached []string) {
	var missed []string
	for _, t := range targets {
		if n := displayName(t.Func); !slices.Contains(reached, n) {
			missed = append(missed, n)
		}
	}
	if len(missed) > 0 {
		r.req.Progress(Progress{Stage: StageBuilding, Message: "not reached by this entry: " + strings.Join(dedup(missed), ", ") +
			" (profile them on their own to find theirs)"})
	}
}

// confirm asks Request.ChooseEntry, when set, to approve a single option
// (a main package: it may never end by itself).
func (r *goRun) confirm(ctx context.Context, options []EntryOption) error {
	if r.req.ChooseEntry == nil {
		return nil
	}
	choice, err := r.req.ChooseEntry(ctx, options)
	if err != nil {
		return err
	}
	if choice < 0 || choice >= len(options) {
		return errors.New("no entry chosen")
	}
	return nil
}

// ownPackages are the packages holding the targets, in order.
func (r *goRun) ownPackages() []*listedPackage {
	var out []*listedPackage
	seen := map[*listedPackage]bool{}
	for _, t := range r.targets {
		if !seen[t.Pkg] {
			seen[t.Pkg] = true
			out = append(out, t.Pkg)
		}
	}
	return out
}

func ownPaths(own []*listedPackage) string {
	var paths []string
	for _, p := range own {
		paths = append(paths, p.ImportPath)
	}
	return strings.Join(paths, ", ")
}

func ownEntryPkg(own []*listedPackage, dir string) *entryPkg {
	for _, p := range own {
		if p.Dir == dir {
			return entryPkgOf(p)
		}
	}
	return &entryPkg{Dir: dir, HasTests: true}
}

// bestTests picks, of the packages whose tests reach targets, the one
// reaching the most targets, then the targets' own package, then the one
// with the fewest reaching tests.
func bestTests(found []reachingTests, own []*listedPackage, targets []target) *reachingTests {
	if len(found) == 0 {
		return nil
	}
	isOwn := map[string]bool{}
	for _, p := range own {
		isOwn[p.Dir] = true
	}
	sorted := append([]reachingTests(nil), found...)
	sort.SliceStable(sorted, func(i, j int) bool { return lessTests(sorted[i], sorted[j], isOwn) })
	best := sorted[0]
	best.Names = append([]string(nil), best.Names...)
	return &best
}

func lessTests(a, b reachingTests, isOwn map[string]bool) bool {
	if len(a.Reached) != len(b.Reached) {
		return len(a.Reached) > len(b.Reached)
	}
	if isOwn[a.Dir] != isOwn[b.Dir] {
		return isOwn[a.Dir]
	}
	if len(a.Names) != len(b.Names) {
		return len(a.Names) < len(b.Names)
	}
	return a.ImportPath < b.ImportPath
}

// rankedOptions orders the other packages' reaching tests (see bestTests)
// and then the main packages that reach the targets.
func rankedOptions(found []reachingTests, mains []reachingMain, targets []target) []EntryOption {
	sorted := append([]reachingTests(nil), found...)
	sort.SliceStable(sorted, func(i, j int) bool { return lessTests(sorted[i], sorted[j], nil) })
	var out []EntryOption
	for _, rt := range sorted {
		o := EntryOption{Kind: EntryTests, Package: rt.ImportPath, Dir: rt.Dir, Tests: rt.Names, Reaches: reachedNames(targets, rt.Reached)}
		o.Describe = testEntry(&entryPkg{Dir: rt.Dir, ImportPath: rt.ImportPath}, rt.Names, "").Describe + " " + rt.ImportPath
		out = append(out, o)
	}
	for _, m := range mains {
		out = append(out, EntryOption{Kind: EntryMain, Package: m.Graph.Path, Dir: m.Graph.Dir, Reaches: reachedNames(targets, m.Reached),
			Describe: "go run " + m.Graph.Path})
	}
	return out
}

// optionEntry is the entry of an option found by the search.
func optionEntry(o EntryOption, names string) *goEntry {
	pkg := &entryPkg{Dir: o.Dir, ImportPath: o.Package, HasTests: o.Kind == EntryTests}
	if o.Kind == EntryMain {
		pkg.Name = "main"
		return mainEntry(pkg, nil, "a main package that reaches "+names)
	}
	e := testEntry(pkg, o.Tests, "")
	e.Describe += " " + o.Package + " (tests of another package that reach " + names + ")"
	return e
}

// option is the EntryOption of an entry.
func (e *goEntry) option() EntryOption {
	o := EntryOption{Kind: EntryTests, Package: e.Pkg.ImportPath, Dir: e.Pkg.Dir, Tests: e.Tests, Describe: e.Describe}
	if e.Kind == entryMain {
		o.Kind = EntryMain
	}
	return o
}

// testEntry runs the named tests and benchmarks (once) of pkg; why, when
// set, is added to the description in parentheses.
func testEntry(pkg *entryPkg, names []string, why string) *goEntry {
	var runNames, benchNames []string
	for _, n := range names {
		if strings.HasPrefix(n, "Benchmark") {
			benchNames = append(benchNames, n)
		} else {
			runNames = append(runNames, n)
		}
	}
	e := &goEntry{Kind: entryTest, Pkg: pkg, Tests: names}
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
	if why != "" {
		e.Describe += " (" + why + ")"
	}
	return e
}

func targetNames(ts []target) string {
	var names []string
	for _, t := range ts {
		names = append(names, displayName(t.Func))
	}
	return strings.Join(dedup(names), ", ")
}

func isXTestFunc(p *listedPackage, fn instrument.Func) bool {
	for _, f := range p.Files {
		if f.Path == fn.File {
			return f.XTest
		}
	}
	return false
}

// mainEntry runs pkg as a program with args; why, when set, is added to
// the description in parentheses.
func mainEntry(p *entryPkg, args []string, why string) *goEntry {
	d := "go run " + p.ImportPath
	if len(args) > 0 {
		d += " " + strings.Join(args, " ")
	}
	if why != "" {
		d += " (" + why + ")"
	}
	return &goEntry{Kind: entryMain, Pkg: p, Args: args, Describe: d}
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
