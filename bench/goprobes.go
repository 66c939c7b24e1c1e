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
	"sort"
	"strings"
	"time"

	"github.com/memlens/memlens/instrument"
)

// Goals of the probe-cost figures (issue 12): counts only, every function
// of CPU-bound code instrumented, against the plain run. 3× beats go test's
// -covermode=atomic; the stretch is its count mode's ~1.5× (whose counters
// are not exact when goroutines run the same code).
const (
	goalProbes        = 3.0
	goalProbesStretch = 1.5
)

// The opt-in probe-cost figure on a large real suite: gonum's mat package,
// all of its functions (issue 12 measured 18× before the counter rows).
const (
	gonumModule  = "gonum.org/v1/gonum@v0.17.0"
	gonumPackage = "./mat"
)

// goProbes measures the probe cost on testdata/go/cpubound (matrix
// multiply, sieve, hashing, sorting and recursion loops), a copy with
// every function marked //memlens:profile.
func goProbes(ctx context.Context, e *env) ([]row, error) {
	mod := filepath.Join(e.tmp, "probes")
	src := filepath.Join(e.root, "testdata", "go")
	if err := copyFiles(filepath.Join(src, "go.mod"), mod); err != nil {
		return nil, err
	}
	files, _ := filepath.Glob(filepath.Join(src, "cpubound", "*.go"))
	for _, f := range files {
		if err := copyFiles(f, filepath.Join(mod, "cpubound")); err != nil {
			return nil, err
		}
	}
	return probeRows(ctx, e, mod, "./cpubound", "testdata/go/cpubound", e.reps)
}

// goProbesGonum is goProbes on gonum's mat package and its own tests (about
// 30 s of CPU plain, 600+ functions, a billion calls), copied from the module
// cache. Opt-in (-only gonum): each side runs for a minute or more here.
func goProbesGonum(ctx context.Context, e *env) ([]row, error) {
	mod, err := copyModule(ctx, gonumModule, filepath.Join(e.tmp, "gonum"))
	if err != nil {
		return nil, err
	}
	return probeRows(ctx, e, mod, gonumPackage, gonumModule+" "+strings.TrimPrefix(gonumPackage, "./"), min(e.reps, 3))
}

// probeRows marks every function of pkg's files (in module mod), then
// runs pkg's tests plain, with go test's count and atomic coverage
// counters, and through memlens --counts-only, interleaved.
func probeRows(ctx context.Context, e *env, mod, pkg, name string, reps int) ([]row, error) {
	nfuncs, err := markAll(ctx, mod, pkg)
	if err != nil {
		return nil, err
	}
	tests, err := listTests(ctx, mod, pkg)
	if err != nil {
		return nil, err
	}
	alt := strings.Join(tests, "|")
	run := "^(" + alt + ")$"
	cover := func(mode string) command {
		return command{dir: mod, args: []string{"go", "test", "-count=1", "-run", run, "-covermode=" + mode, "-coverprofile", filepath.Join(e.tmp, "cover-"+mode+".out"), pkg}}
	}
	plain := command{dir: mod, args: []string{"go", "test", "-count=1", "-run", run, pkg}}
	count, atomic := cover("count"), cover("atomic")
	memlens := command{dir: mod, args: []string{e.memlens, "profile", "--quiet", "--counts-only", "--test", alt, pkg}}
	// The whole runs include go test's link, which memlens skips when its
	// cached program is current: the programs alone are compared too, the
	// plain test binary against memlens's running stage.
	bin := filepath.Join(e.tmp, "plain-"+filepath.Base(pkg)+".test")
	if _, err := commandOutput(ctx, mod, "go", "test", "-c", "-o", bin, pkg); err != nil {
		return nil, err
	}
	plainBin := command{dir: filepath.Join(mod, pkg), args: []string{bin, "-test.count=1", "-test.run", run}}
	logf("  %s, %d functions: %d× (plain, cover count, cover atomic, memlens --counts-only, the plain test binary)", name, nfuncs, reps)
	ts, err := sideBySide(ctx, reps, plain, count, atomic, memlens, plainBin)
	if err != nil {
		return nil, err
	}
	workload := fmt.Sprintf("%s, all %d functions, its %d tests", name, nfuncs, len(tests))
	cpu := func(i int) time.Duration { return median(cpus(ts[i])) }
	cpuNote := fmt.Sprintf("; CPU time (user+system, median): plain %s, cover count %s (%s), cover atomic %s (%s), memlens %s (%s)",
		seconds(cpu(0)), seconds(cpu(1)), ratio(float64(cpu(1)), float64(cpu(0))), seconds(cpu(2)), ratio(float64(cpu(2)), float64(cpu(0))),
		seconds(cpu(3)), ratio(float64(cpu(3)), float64(cpu(0))))
	// On a shared machine wall times swing with the load; a goal is met
	// when both the wall and the CPU time ratios meet it.
	within := func(goal float64) bool {
		return median(walls(ts[3])) <= time.Duration(goal*float64(median(walls(ts[0])))) && cpu(3) <= time.Duration(goal*float64(cpu(0)))
	}
	r := compareRow("Go counts only, every function", workload, goalProbes, ts[0], ts[3],
		fmt.Sprintf("every function of the package's files marked //memlens:profile; `%s` against `%s`; met when the CPU time ratio meets the goal too", showRun(memlens, alt), showRun(plain, run)))
	r.met = within(goalProbes)
	stretch := "met"
	if !within(goalProbesStretch) {
		stretch = "missed"
	}
	r.detail += cpuNote + fmt.Sprintf("; stretch goal ≤ %.1f× (cover's count mode): %s", goalProbesStretch, stretch)
	alone := programAloneRow(workload, ts[4], ts[3], showRun(plainBin, run))
	ref := func(figure string, i int, c command) row {
		x := compareRow(figure, workload, 0, ts[0], ts[i], fmt.Sprintf("`%s` against `%s`", showRun(c, run), showRun(plain, run)))
		x.goal, x.reference = "—", true
		return x
	}
	return []row{
		r,
		alone,
		ref("go test -covermode=count (reference, not memlens)", 1, count),
		ref("go test -covermode=atomic (reference, not memlens)", 2, atomic),
	}, nil
}

// programAloneRow compares memlens's running stage (its instrumented test
// binary, from start to exit) with the plain test binary run directly.
func programAloneRow(workload string, plainBin, memlens []timing, how string) row {
	running := make([]timing, len(memlens))
	for i, t := range memlens {
		running[i] = timing{wall: phaseDurations(t)["running"]}
	}
	r := compareRow("Go counts only, every function: the test program alone", workload, goalProbes, plainBin, running,
		fmt.Sprintf("memlens's running stage (its instrumented test binary from start to exit, in the runs above) against `%s` (built once by go test -c)", how))
	stretch := "missed"
	if median(walls(running)) <= time.Duration(goalProbesStretch*float64(median(walls(plainBin)))) {
		stretch = "met"
	}
	r.detail += fmt.Sprintf("; stretch goal ≤ %.1f×: %s", goalProbesStretch, stretch)
	return r
}

// showRun shows a command with its long test alternation shortened.
func showRun(c command, alt string) string {
	s := c.String()
	if len(alt) > 40 {
		s = strings.ReplaceAll(s, alt, "<all>")
	}
	return s
}

// markAll marks every function with a body in pkg's files (those the go
// command builds, not tests) //memlens:profile, in place, and returns how
// many it marked.
func markAll(ctx context.Context, mod, pkg string) (int, error) {
	cmd := exec.CommandContext(ctx, "go", "list", "-json", pkg)
	cmd.Dir = mod
	out, err := cmd.Output()
	if err != nil {
		return 0, fmt.Errorf("go list %s: %v %s", pkg, err, exitStderr(err))
	}
	var p struct {
		Dir     string
		GoFiles []string
	}
	if err := json.Unmarshal(out, &p); err != nil {
		return 0, err
	}
	n := 0
	for _, name := range p.GoFiles {
		path := filepath.Join(p.Dir, name)
		src, err := os.ReadFile(path)
		if err != nil {
			return 0, err
		}
		fset := token.NewFileSet()
		f, err := parser.ParseFile(fset, path, src, parser.ParseComments|parser.SkipObjectResolution)
		if err != nil {
			return 0, err
		}
		var at []int
		for _, fn := range instrument.FindFuncs(fset, f, path) {
			line := fset.File(f.Pos()).LineStart(fn.StartLine)
			if !fn.Marked {
				at = append(at, fset.Position(line).Offset)
			}
		}
		sort.Sort(sort.Reverse(sort.IntSlice(at)))
		for _, off := range at {
			src = append(src[:off], append([]byte(instrument.MarkDirective+"\n"), src[off:]...)...)
		}
		if err := os.WriteFile(path, src, 0o644); err != nil {
			return 0, err
		}
		n += len(at)
	}
	return n, nil
}

// copyFiles copies file into directory dir.
func copyFiles(file, dir string) error {
	b, err := os.ReadFile(file)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dir, filepath.Base(file)), b, 0o644)
}
