package main

import (
	"context"
	"encoding/json"
	"fmt"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/memlens/memlens/instrument"
	"github.com/memlens/memlens/profile"
	"github.com/memlens/memlens/runner/escape"
)

// goalWhyBuild: asking the compiler for its escape analysis may make the
// instrumented build at most 10% slower (issue 11).
const goalWhyBuild = 1.1

// whyCase is a package whose instrumented test binary is built with and
// without the compiler's diagnostics.
type whyCase struct {
	name     string // for the table
	dir      string // package directory
	pkgPath  string
	file     string // the target's file, relative to dir
	fn       string // the target
	coldReps int    // timed cold builds of each side (0: none)
}

// goEscapes measures what the compiler's escape-analysis diagnostics
// (-gcflags=PKG=-json=0,DIR, which memlens adds to every Go build) cost
// the build memlens runs: go test -c of the package with the target
// instrumented through the overlay, the same command with and without the
// flag, side by side, in three situations: nothing changed since the last
// build (the compile is in go's cache: memlens names DIR by the content
// compiled so that the flag stays the same), the profiled file edited
// (the package is compiled again, and the program linked), and an empty
// build cache.
func goEscapes(ctx context.Context, e *env) ([]row, error) {
	mod, err := copyModule(ctx, suiteModule, filepath.Join(e.tmp, "why-suite"))
	if err != nil {
		return nil, err
	}
	cases := []whyCase{
		{"shapes.Build (testdata/go)", filepath.Join(e.root, "testdata", "go", "shapes"), "example.com/memlens/testdata/shapes", "shapes.go", "Build", min(e.reps, 2)},
		{"Form.Transform (x/text/unicode/norm)", filepath.Join(mod, "unicode", "norm"), "golang.org/x/text/unicode/norm", "transform.go", "Form.Transform", 0},
	}
	var rows []row
	for _, c := range cases {
		rs, err := whyRows(ctx, e, c)
		rows = append(rows, rs...)
		if err != nil {
			return rows, fmt.Errorf("%s: %w", c.name, err)
		}
	}
	return rows, nil
}

func whyRows(ctx context.Context, e *env, c whyCase) ([]row, error) {
	work := filepath.Join(e.tmp, "why-"+c.fn)
	if err := os.MkdirAll(work, 0o755); err != nil {
		return nil, err
	}
	path := filepath.Join(c.dir, c.file)
	src, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, path, src, parser.ParseComments)
	if err != nil {
		return nil, err
	}
	var targets []instrument.Func
	for _, fn := range instrument.FindFuncs(fset, f, path) {
		if fn.Name == c.fn {
			targets = append(targets, fn)
		}
	}
	if len(targets) != 1 {
		return nil, fmt.Errorf("%s not found in %s", c.fn, path)
	}
	inst, err := instrument.Instrument(instrument.Package{Dir: c.dir, Files: map[string][]byte{path: src}, Targets: targets},
		instrument.Options{Allocs: true, RSS: true, RSSInterval: time.Millisecond})
	if err != nil {
		return nil, err
	}
	// The overlay: the instrumented file (rewritten per edit) and the
	// probe runtime.
	instFile := filepath.Join(work, "0_"+filepath.Base(path))
	rtFile := filepath.Join(work, "1_runtime.go")
	ovFile := filepath.Join(work, "overlay.json")
	if err := os.WriteFile(rtFile, inst.RuntimeFile, 0o644); err != nil {
		return nil, err
	}
	ov, _ := json.Marshal(struct{ Replace map[string]string }{map[string]string{path: instFile, inst.RuntimePath: rtFile}})
	if err := os.WriteFile(ovFile, ov, 0o644); err != nil {
		return nil, err
	}
	setEdit := func(n int) error {
		b := inst.Files[path]
		if n > 0 {
			// A change of code, not of a comment: the package's object
			// changes, so go compiles the test main again and links.
			b = append(append([]byte(nil), b...), fmt.Sprintf("\nfunc benchEdit() int { return %d }\n", n)...)
		}
		return os.WriteFile(instFile, b, 0o644)
	}
	if err := setEdit(0); err != nil {
		return nil, err
	}
	base := []string{"go", "test", "-c", "-overlay", ovFile, "-ldflags=" + instrument.LDFlags}
	plain := func(out string) command {
		return command{dir: c.dir, args: append(append([]string(nil), base...), "-o", filepath.Join(work, out), ".")}
	}
	withWhy := func(out, jsonDir string) (command, error) {
		flags, err := escape.GCFlags(nil, []escape.Package{{ImportPath: c.pkgPath, Dir: c.dir, CmdLine: true}}, c.dir, jsonDir)
		if err != nil {
			return command{}, err
		}
		args := append(append(append([]string(nil), base...), "-o", filepath.Join(work, out)), flags...)
		return command{dir: c.dir, args: append(args, ".")}, nil
	}
	figure := "Go build with the escape analysis asked for"
	how := func(what string) string {
		return fmt.Sprintf("`go test -c -overlay … -ldflags=%s` of %s with %s instrumented, against the same with `-gcflags=%s=-json=0,DIR` (%s)",
			instrument.LDFlags, c.pkgPath, c.fn, c.pkgPath, what)
	}
	var rows []row

	// Nothing changed: both compiles come from go's cache.
	logf("  %s: warm, %d× (plain, with diagnostics)", c.name, e.reps)
	why, err := withWhy("why.test", filepath.Join(work, "json-same"))
	if err != nil {
		return nil, err
	}
	ts, err := sideBySide(ctx, e.reps, plain("plain.test"), why)
	if err != nil {
		return nil, err
	}
	readMS, nReports, err := timeReading(filepath.Join(work, "json-same"), path, inst)
	if err != nil {
		return nil, err
	}
	rows = append(rows, compareRow(figure, c.name+", nothing changed", goalWhyBuild, ts[0], ts[1],
		how("the same DIR each time, as memlens names it by the content compiled")+
			fmt.Sprintf("; then reading, mapping and attaching the %d escape reports takes %s in memlens", nReports, millis(readMS))))

	// The profiled file edited before each pair of builds: the package
	// is compiled again (a new DIR, as memlens names it), and linked.
	logf("  %s: edited, %d× (plain, with diagnostics)", c.name, e.reps)
	var edited [2][]timing
	for rep := 1; rep <= e.reps; rep++ {
		if err := setEdit(rep); err != nil {
			return rows, err
		}
		why, err := withWhy("why.test", filepath.Join(work, fmt.Sprintf("json-edit-%d", rep)))
		if err != nil {
			return rows, err
		}
		for _, i := range [][]int{{0, 1}, {1, 0}}[rep%2] { // alternate which goes first
			t, err := runTimed(ctx, []command{plain("plain.test"), why}[i])
			if err != nil {
				return rows, err
			}
			edited[i] = append(edited[i], t)
		}
	}
	rows = append(rows, compareRow(figure, c.name+", the profiled file edited", goalWhyBuild, edited[0], edited[1],
		how("a function added to the instrumented file before each pair, so both compile the package and the test main and link; a DIR per content, as memlens names it")))
	if err := setEdit(0); err != nil {
		return rows, err
	}

	// An empty build cache: everything is compiled, the standard library
	// included.
	if c.coldReps > 0 {
		logf("  %s: cold, %d× (plain, with diagnostics)", c.name, c.coldReps)
		var cold [2][]timing
		for rep := range c.coldReps {
			why, err := withWhy("why.test", filepath.Join(work, fmt.Sprintf("json-cold-%d", rep)))
			if err != nil {
				return rows, err
			}
			for i, cmd := range []command{plain("plain.test"), why} {
				cache := filepath.Join(work, fmt.Sprintf("gocache-%d-%d", rep, i))
				cmd.env = []string{"GOCACHE=" + cache}
				t, err := runTimed(ctx, cmd)
				os.RemoveAll(cache)
				if err != nil {
					return rows, err
				}
				cold[i] = append(cold[i], t)
			}
		}
		rows = append(rows, compareRow(figure, c.name+", empty build cache", goalWhyBuild, cold[0], cold[1],
			how(fmt.Sprintf("GOCACHE an empty directory for each build, %d× each", c.coldReps))))
	}
	return rows, nil
}

// timeReading times what memlens does with the diagnostics after a build:
// read them, map them through the instrumented file's directives and
// attach them to the target's lines.
func timeReading(dir, path string, inst *instrument.Instrumented) (time.Duration, int, error) {
	src, err := os.ReadFile(path)
	if err != nil {
		return 0, 0, err
	}
	text := strings.Split(string(src), "\n")
	fn := inst.Funcs[0].Func
	pf := profile.Function{Name: fn.Name, File: path, StartLine: fn.StartLine, EndLine: fn.EndLine}
	for n := fn.StartLine; n <= fn.EndLine; n++ {
		pf.Lines = append(pf.Lines, profile.Line{Line: n, Content: text[n-1]})
	}
	start := time.Now()
	reports, _, err := escape.ReadDir(dir)
	if err != nil {
		return 0, 0, err
	}
	escape.Attach([]profile.Function{pf}, escape.Explain(reports, escape.NewMap(inst.Files)))
	return time.Since(start), len(reports), nil
}
