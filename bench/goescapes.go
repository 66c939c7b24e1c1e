package main

import (
	"context"
	"encoding/json"
	"fmt"
	"go/parser"
	"go/token"
	"os"
	"os/exec"
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
// build cache. The ratio is of CPU time (see cpuRow).
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
	sameDir := filepath.Join(work, "json-same")
	var warm [2][]buildTiming
	for rep := range e.reps + 1 { // the first pair fills the cache, untimed
		why, err := withWhy("why.test", sameDir)
		if err != nil {
			return nil, err
		}
		ts, err := timePair(ctx, rep, plain("plain.test"), why)
		if err != nil {
			return nil, err
		}
		if rep > 0 {
			warm[0], warm[1] = append(warm[0], ts[0]), append(warm[1], ts[1])
		}
	}
	readMS, nReports, err := timeReading(sameDir, path, inst)
	if err != nil {
		return nil, err
	}
	rows = append(rows, cpuRow(figure, c.name+", nothing changed", warm,
		how("the same DIR each time, as memlens names it by the content compiled")+
			fmt.Sprintf("; then reading, mapping and attaching the %d escape reports takes %s in memlens", nReports, millis(readMS))))

	// The profiled file edited before each pair of builds: the package
	// is compiled again (a new DIR, as memlens names it), and linked.
	logf("  %s: edited, %d× (plain, with diagnostics)", c.name, e.reps)
	var edited [2][]buildTiming
	for rep := 1; rep <= e.reps; rep++ {
		why, err := withWhy("why.test", filepath.Join(work, fmt.Sprintf("json-edit-%d", rep)))
		if err != nil {
			return rows, err
		}
		// Each side builds content of its own, new to go's cache.
		if err := setEdit(2 * rep); err != nil {
			return rows, err
		}
		a, err := timeBuild(ctx, plain("plain.test"))
		if err != nil {
			return rows, err
		}
		if err := setEdit(2*rep + 1); err != nil {
			return rows, err
		}
		b, err := timeBuild(ctx, why)
		if err != nil {
			return rows, err
		}
		edited[0], edited[1] = append(edited[0], a), append(edited[1], b)
	}
	rows = append(rows, cpuRow(figure, c.name+", the profiled file edited", edited,
		how("a function added to the instrumented file before each build, so both compile the package and the test main and link; a DIR per content, as memlens names it")))
	if err := setEdit(0); err != nil {
		return rows, err
	}

	// An empty build cache: everything is compiled, the standard library
	// included.
	if c.coldReps > 0 {
		logf("  %s: cold, %d× (plain, with diagnostics)", c.name, c.coldReps)
		var cold [2][]buildTiming
		for rep := range c.coldReps {
			why, err := withWhy("why.test", filepath.Join(work, fmt.Sprintf("json-cold-%d", rep)))
			if err != nil {
				return rows, err
			}
			p, w := plain("plain.test"), why
			p.env = []string{"GOCACHE=" + filepath.Join(work, fmt.Sprintf("gocache-%d-plain", rep))}
			w.env = []string{"GOCACHE=" + filepath.Join(work, fmt.Sprintf("gocache-%d-why", rep))}
			ts, err := timePair(ctx, rep, p, w)
			os.RemoveAll(filepath.Join(work, fmt.Sprintf("gocache-%d-plain", rep)))
			os.RemoveAll(filepath.Join(work, fmt.Sprintf("gocache-%d-why", rep)))
			if err != nil {
				return rows, err
			}
			cold[0], cold[1] = append(cold[0], ts[0]), append(cold[1], ts[1])
		}
		rows = append(rows, cpuRow(figure, c.name+", empty build cache", cold,
			how(fmt.Sprintf("GOCACHE an empty directory for each build, %d× each", c.coldReps))))
	}
	return rows, nil
}

// buildTiming is one build: its wall time and the CPU time of the go
// command and every process it waited for (compile, link).
type buildTiming struct{ wall, cpu time.Duration }

// timeBuild runs a build and measures it.
func timeBuild(ctx context.Context, c command) (buildTiming, error) {
	cmd := exec.CommandContext(ctx, c.args[0], c.args[1:]...)
	cmd.Dir = c.dir
	cmd.Env = append(os.Environ(), c.env...)
	start := time.Now()
	out, err := cmd.CombinedOutput()
	t := buildTiming{wall: time.Since(start)}
	if err != nil {
		return t, fmt.Errorf("%s: %v\n%s", c, err, out)
	}
	// The rusage wait4 returns covers the children the go command waited for.
	t.cpu = cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime()
	return t, nil
}

// timePair times both builds, the plain one first on even reps.
func timePair(ctx context.Context, rep int, plain, why command) ([2]buildTiming, error) {
	var ts [2]buildTiming
	for _, i := range [][]int{{0, 1}, {1, 0}}[rep%2] {
		t, err := timeBuild(ctx, []command{plain, why}[i])
		if err != nil {
			return ts, err
		}
		ts[i] = t
	}
	return ts, nil
}

// cpuRow compares the builds' CPU time (medians): on a machine shared
// with other work the wall time of a build varies by tens of percent from
// one run to the next, while the CPU the compiler and linker spend is what
// the flag changes. The wall times are in the detail.
func cpuRow(figure, workload string, ts [2][]buildTiming, how string) row {
	med := func(bs []buildTiming, f func(buildTiming) time.Duration) time.Duration {
		var ds []time.Duration
		for _, b := range bs {
			ds = append(ds, f(b))
		}
		return median(ds)
	}
	cpu := func(b buildTiming) time.Duration { return b.cpu }
	wall := func(b buildTiming) time.Duration { return b.wall }
	a, m := med(ts[0], cpu), med(ts[1], cpu)
	return row{
		figure:   figure,
		workload: workload,
		anchor:   seconds(a) + " CPU",
		memlens:  seconds(m) + " CPU",
		ratio:    ratio(float64(m), float64(a)),
		goal:     fmt.Sprintf("≤ %.1f×", goalWhyBuild),
		met:      a > 0 && float64(m) <= goalWhyBuild*float64(a),
		detail: fmt.Sprintf("%s; CPU time (user+system of go and the tools it ran), medians of %d; wall time medians: plain %s, with diagnostics %s",
			how, len(ts[0]), seconds(med(ts[0], wall)), seconds(med(ts[1], wall))),
	}
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
