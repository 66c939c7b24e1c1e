package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"github.com/google/pprof/profile"
)

// The real suite: golang.org/x/text/unicode/norm's tests (about 2.5 s of
// tests, a large share of them in the package's own code), with one small
// function profiled: Form.Transform, a few percent of the suite's CPU time.
const (
	suiteModule  = "golang.org/x/text@v0.31.0"
	suitePackage = "./unicode/norm"
	suiteFunc    = "Form.Transform"
	suiteSymbol  = "golang.org/x/text/unicode/norm.Form.Transform" // as pprof names it
)

// goSuite measures exact and counts-only profiling of a small function of a
// real test suite against the plain suite, on a copy of the module (the
// module cache is read-only and must stay untouched).
func goSuite(ctx context.Context, e *env) ([]row, error) {
	mod, err := copyModule(ctx, suiteModule, filepath.Join(e.tmp, "suite"))
	if err != nil {
		return nil, err
	}
	tests, err := listTests(ctx, mod, suitePackage)
	if err != nil {
		return nil, err
	}
	alt := strings.Join(tests, "|")
	share, err := cpuShare(ctx, e, mod, alt)
	if err != nil {
		return nil, err
	}
	plain := command{dir: mod, args: []string{"go", "test", "-count=1", "-run", "^(" + alt + ")$", suitePackage}}
	exact := command{dir: mod, args: []string{e.memlens, "profile", "--quiet", "--test", alt, suitePackage, suiteFunc}}
	counts := command{dir: mod, args: []string{e.memlens, "profile", "--quiet", "--counts-only", "--test", alt, suitePackage, suiteFunc}}
	logf("  %s %s: %d× (plain, memlens, counts-only)", suiteModule, suitePackage, e.reps)
	ts, err := sideBySide(ctx, e.reps, plain, exact, counts)
	if err != nil {
		return nil, err
	}
	workload := fmt.Sprintf("%s in x/text/unicode/norm tests", suiteFunc)
	how := fmt.Sprintf("%d tests of %s %s; %s takes %.1f%% of the plain suite's CPU samples (cum); `memlens profile --test <all %d> %s %s` against `go test -count=1 -run <all> %s`",
		len(tests), suiteModule, suitePackage, suiteFunc, share*100, len(tests), suitePackage, suiteFunc, suitePackage)
	return []row{
		compareRow("Go, profiled function ≤ 10% of the work", workload, goalSmallShare, ts[0], ts[1], how),
		compareRow("Go counts only", workload, goalCountsOnly, ts[0], ts[2], "the same with --counts-only"),
	}, nil
}

// copyModule copies a module from the module cache (downloading it through
// the module proxy when missing) into dst, writable.
func copyModule(ctx context.Context, modVersion, dst string) (string, error) {
	cmd := exec.CommandContext(ctx, "go", "mod", "download", "-json", modVersion)
	cmd.Dir = os.TempDir() // outside any module
	out, err := cmd.Output()
	if err != nil {
		return "", fmt.Errorf("go mod download %s: %v %s", modVersion, err, exitStderr(err))
	}
	var info struct{ Dir, Error string }
	if err := json.Unmarshal(out, &info); err != nil {
		return "", fmt.Errorf("go mod download %s: %v", modVersion, err)
	}
	if info.Error != "" || info.Dir == "" {
		return "", fmt.Errorf("go mod download %s: %s", modVersion, info.Error)
	}
	err = filepath.WalkDir(info.Dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(info.Dir, p)
		target := filepath.Join(dst, rel)
		if d.IsDir() {
			return os.MkdirAll(target, 0o755)
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(target, b, 0o644)
	})
	return dst, err
}

// listTests lists the tests, examples and fuzz targets (seed corpus) of a
// package: what a plain `go test` runs.
func listTests(ctx context.Context, dir, pkg string) ([]string, error) {
	cmd := exec.CommandContext(ctx, "go", "test", "-list", ".", pkg)
	cmd.Dir = dir
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("go test -list: %v %s", err, exitStderr(err))
	}
	tests := parseTestList(out)
	if len(tests) == 0 {
		return nil, fmt.Errorf("go test -list found no tests in %s", pkg)
	}
	return tests, nil
}

// parseTestList keeps the Test, Example and Fuzz names of `go test -list`
// output (benchmarks are not run by a plain go test; the "ok" line goes).
func parseTestList(out []byte) []string {
	var names []string
	for _, line := range strings.Split(string(out), "\n") {
		line = strings.TrimSpace(line)
		for _, prefix := range []string{"Test", "Example", "Fuzz"} {
			if strings.HasPrefix(line, prefix) && !strings.ContainsAny(line, " \t") {
				names = append(names, line)
				break
			}
		}
	}
	return names
}

// cpuShare runs the plain suite once with a CPU profile and returns the
// share of samples with the profiled function on the stack, to show that it
// is a small part of the work.
func cpuShare(ctx context.Context, e *env, mod, alt string) (float64, error) {
	prof := filepath.Join(e.tmp, "suite.cpu")
	c := command{dir: mod, args: []string{"go", "test", "-count=1", "-run", "^(" + alt + ")$",
		"-cpuprofile", prof, "-o", filepath.Join(e.tmp, "suite.test"), suitePackage}}
	if _, err := runTimed(ctx, c); err != nil {
		return 0, err
	}
	f, err := os.Open(prof)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	p, err := profile.Parse(f)
	if err != nil {
		return 0, fmt.Errorf("%s: %v", prof, err)
	}
	return functionShare(p, suiteSymbol), nil
}

// functionShare is the fraction of the first sample value (CPU samples)
// whose stack includes fn, each sample counted once however often fn
// appears on it.
func functionShare(p *profile.Profile, fn string) float64 {
	var total, with int64
	for _, s := range p.Sample {
		if len(s.Value) == 0 {
			continue
		}
		total += s.Value[0]
	stack:
		for _, loc := range s.Location {
			for _, l := range loc.Line {
				if l.Function != nil && l.Function.Name == fn {
					with += s.Value[0]
					break stack
				}
			}
		}
	}
	if total == 0 {
		return 0
	}
	return float64(with) / float64(total)
}

// exitStderr is the stderr an exec.ExitError carries, trimmed.
func exitStderr(err error) string {
	if ee, ok := err.(*exec.ExitError); ok {
		return string(bytes.TrimSpace(ee.Stderr))
	}
	return ""
}
