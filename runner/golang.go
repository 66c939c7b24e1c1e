package runner

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"go/scanner"
	"go/token"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/memlens/memlens/instrument"
	"github.com/memlens/memlens/profile"
)

// profileGo profiles Go functions: it resolves the package, picks an entry
// (see chooseEntry), instruments the files holding the targets into a
// temporary overlay, builds with go test -c or go build, runs the binary
// through runProcess and reads back the probe runtime's counters and
// allocation records.
func profileGo(ctx context.Context, req Request) (*profile.Result, error) {
	start := time.Now()
	deadline := start.Add(req.Timeout)
	res := &profile.Result{Language: "go", Target: req.Target, StartedAt: start, Functions: []profile.Function{}}

	tmp, err := os.MkdirTemp("", "memlens-go-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(tmp)
	ov := newOverlay(tmp)
	editor := map[string][]byte{}
	for path, src := range req.Overlay {
		abs, err := filepath.Abs(path)
		if err != nil {
			return nil, err
		}
		editor[abs] = src
		if err := ov.add(abs, src); err != nil {
			return nil, err
		}
	}
	var listOverlay string
	if len(editor) > 0 {
		if listOverlay, err = ov.write(); err != nil {
			return nil, err
		}
	}

	req.Progress(Progress{Stage: StageBuilding, Message: "resolving " + req.Target})
	pkgs, targets, err := resolveGo(ctx, req, editor, listOverlay)
	if err != nil {
		var pe *parseError
		if errors.As(err, &pe) {
			// The named function sits in a file that does not parse: that
			// is a build failure at the file's own positions.
			res.Status = profile.StatusBuildFailed
			res.Errors = pe.errs
			res.Message = "build failed: " + buildFailureLine(pe.errs, nil)
			return finish(res, start), nil
		}
		return nil, err
	}
	home := targets[0].Pkg
	reach := func(ctx context.Context, home *listedPackage, ts []target) ([]string, error) {
		if parseFailed(home.Files) {
			return nil, nil
		}
		return testsReaching(ctx, home, ts, editor, req.BuildFlags)
	}
	entry, err := chooseEntry(ctx, req, home, targets, reach)
	if err != nil {
		return nil, err
	}
	res.Entry = entry.Describe

	// Instrument each package holding targets.
	opt := instrument.Options{Allocs: !req.CountsOnly, RSS: !req.CountsOnly, RSSInterval: rssInterval(req.RSSInterval)}
	type instrumented struct {
		index   int
		pkgPath string // import path; an external test package's ends in _test
		out     *instrument.Instrumented
	}
	var done []instrumented
	// One instrument.Package per Go package: a directory's external test
	// package (name_test) is a package of its own.
	type pkgKey struct {
		p    *listedPackage
		name string
	}
	byPkg := map[pkgKey][]instrument.Func{}
	var order []pkgKey
	for _, t := range targets {
		k := pkgKey{t.Pkg, t.Func.Package}
		if _, ok := byPkg[k]; !ok {
			order = append(order, k)
		}
		byPkg[k] = append(byPkg[k], t.Func)
	}
	for i, k := range order {
		ip := instrument.Package{Index: i, Name: k.name, Dir: k.p.Dir, Files: map[string][]byte{}, Targets: byPkg[k]}
		for _, fn := range byPkg[k] {
			for _, f := range k.p.Files {
				if f.Path == fn.File {
					ip.Files[f.Path] = f.Src
				}
			}
		}
		out, err := instrument.Instrument(ip, opt)
		if err != nil {
			// A target file that does not parse or type-check: report it as
			// the compiler would, at its original position.
			res.Status = profile.StatusBuildFailed
			res.Errors = errorsFromInstrument(err)
			res.Message = "build failed: " + oneLineErr(err)
			return finish(res, start), nil
		}
		for path, src := range out.Files {
			if err := ov.add(path, src); err != nil {
				return nil, err
			}
		}
		if err := ov.add(out.RuntimePath, out.RuntimeFile); err != nil {
			return nil, err
		}
		pkgPath := k.p.ImportPath
		if strings.HasSuffix(k.name, "_test") {
			pkgPath += "_test"
		}
		done = append(done, instrumented{i, pkgPath, out})
	}
	for path, src := range entry.Files {
		if err := ov.add(path, src); err != nil {
			return nil, err
		}
	}
	overlayFile, err := ov.write()
	if err != nil {
		return nil, err
	}

	// Build.
	bin := filepath.Join(tmp, "prog")
	args := []string{"build"}
	if entry.Kind == entryTest {
		bin = filepath.Join(tmp, "prog.test")
		args = []string{"test", "-c"}
	}
	flags := mergeLDFlags(req.BuildFlags, instrument.LDFlags)
	out, release := buildOutput(home.Dir, args, flags, slices.Sorted(maps.Keys(ov.replace)))
	defer release()
	if out == "" {
		out = bin
	}
	args = append(args, "-o", out, "-overlay", overlayFile)
	args = append(args, flags...)
	args = append(args, ".")
	req.Progress(Progress{Stage: StageBuilding, Message: fmt.Sprintf("building %s for %s", home.ImportPath, entry.Describe)})
	build := exec.Command("go", args...)
	build.Dir = home.Dir
	build.Env = append(os.Environ(), req.Env...)
	bo := runProcess(ctx, build, time.Until(deadline), nil)
	if bo.Err == nil && bo.Status == profile.StatusOK && out != bin {
		if err := linkOrCopy(out, bin); err != nil {
			return nil, err
		}
	}
	release()
	switch {
	case bo.Err != nil:
		return nil, fmt.Errorf("go build: %v", bo.Err)
	case bo.Status == profile.StatusTimeout || bo.Status == profile.StatusCanceled:
		res.Status, res.ExitCode, res.Partial = bo.Status, -1, true
		res.Message = fmt.Sprintf("%s while building %s", bo.Status, home.ImportPath)
		res.Output = string(bo.Output)
		return finish(res, start), nil
	case bo.Status != profile.StatusOK:
		res.Status, res.ExitCode, res.Partial = profile.StatusBuildFailed, bo.ExitCode, true
		res.Output = string(bo.Output)
		res.Errors = parseBuildErrors(bo.Output, home.Dir, tmp)
		for i, e := range res.Errors {
			for orig, repl := range ov.replace {
				if e.File == repl {
					res.Errors[i].File = orig // an editor buffer (no line directive): the user's file
				}
			}
		}
		res.Message = "build failed: " + buildFailureLine(res.Errors, bo.Output)
		return finish(res, start), nil
	}

	// Run.
	data := filepath.Join(tmp, "data")
	if err := os.Mkdir(data, 0o755); err != nil {
		return nil, err
	}
	run := exec.Command(bin, entry.Args...)
	run.Dir = req.Dir
	if entry.Kind == entryTest {
		run.Args = append([]string{bin, "-test.count=1"}, entry.Args...)
		run.Dir = home.Dir // as go test does
	}
	run.Env = append(append(os.Environ(), req.Env...), instrument.EnvDir+"="+data)
	req.Progress(Progress{Stage: StageRunning, Message: "running " + entry.Describe})
	var indexes []int
	for _, d := range done {
		indexes = append(indexes, d.index)
	}
	var beforeKill func()
	if opt.Allocs {
		beforeKill = func() { requestDump(data, indexes) }
	}
	ro := runProcessStopping(ctx, run, time.Until(deadline), req.Output, beforeKill)
	ended := time.Now()
	if ro.Err != nil {
		return nil, fmt.Errorf("run %s: %v", entry.Describe, ro.Err)
	}
	res.Output = string(ro.Output)
	res.PeakRSSBytes = ro.PeakRSS
	res.Status, res.ExitCode = ro.Status, ro.ExitCode
	classifyGoRun(res, ro, req.Timeout, pkgDirs(pkgs))
	if opt.Allocs {
		noteStaleAllocs(res, data, indexes, ended)
	}

	// Collect.
	req.Progress(Progress{Stage: StageCollecting, Message: "collecting the profile"})
	var samples []allocSample
	for _, d := range done {
		fns, recs, err := collect(data, d.index, d.out, d.pkgPath, editor)
		if err != nil {
			return nil, err
		}
		res.Functions = append(res.Functions, fns...)
		samples = append(samples, recs...)
	}
	if req.PprofFile != "" {
		if err := writePprof(req.PprofFile, samples); err != nil {
			return nil, err
		}
	}
	return finish(res, start), nil
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
	return pkgs, targets, err
}

// rssInterval maps Request.RSSInterval to the probes' setting: 0 is the
// default, negative is every line (the probes' 0).
func rssInterval(d time.Duration) time.Duration {
	switch {
	case d == 0:
		return DefaultRSSInterval
	case d < 0:
		return 0
	}
	return d
}

func finish(res *profile.Result, start time.Time) *profile.Result {
	res.DurationMS = time.Since(start).Milliseconds()
	res.Partial = res.Status != profile.StatusOK
	return res
}

// overlay is a go build -overlay file under construction: replacement
// files live in dir, named by their order.
type overlay struct {
	dir     string
	replace map[string]string
}

func newOverlay(dir string) *overlay {
	return &overlay{dir: dir, replace: map[string]string{}}
}

func (o *overlay) add(path string, src []byte) error {
	name := filepath.Join(o.dir, fmt.Sprintf("%d_%s", len(o.replace), filepath.Base(path)))
	if old, ok := o.replace[path]; ok {
		name = old
	}
	if err := os.WriteFile(name, src, 0o644); err != nil {
		return err
	}
	o.replace[path] = name
	return nil
}

func (o *overlay) write() (string, error) {
	b, err := json.Marshal(struct{ Replace map[string]string }{o.replace})
	if err != nil {
		return "", err
	}
	path := filepath.Join(o.dir, "overlay.json")
	return path, os.WriteFile(path, b, 0o644)
}

// mergeLDFlags returns the build flags with extra appended to -ldflags
// (the user's or a new one).
func mergeLDFlags(flags []string, extra string) []string {
	out := append([]string(nil), flags...)
	if extra == "" {
		return out
	}
	for i := 0; i < len(out); i++ {
		f := out[i]
		switch {
		case strings.HasPrefix(f, "-ldflags=") || strings.HasPrefix(f, "--ldflags="):
			k, v, _ := strings.Cut(f, "=")
			out[i] = k + "=" + strings.TrimSpace(v+" "+extra)
			return out
		case (f == "-ldflags" || f == "--ldflags") && i+1 < len(out):
			out[i+1] = strings.TrimSpace(out[i+1] + " " + extra)
			return out
		}
	}
	return append(out, "-ldflags="+extra)
}

var buildErrRE = regexp.MustCompile(`^(\S+?\.go):(\d+)(?::(\d+))?: (.*)$`)

// parseBuildErrors extracts file:line:col errors from go build's output.
// Positions are the original files' thanks to the line directives; a
// relative path is relative to the package directory.
func parseBuildErrors(out []byte, pkgDir, tmp string) []profile.Error {
	var errs []profile.Error
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		m := buildErrRE.FindStringSubmatch(strings.TrimSpace(sc.Text()))
		if m == nil {
			continue
		}
		file := m[1]
		if !filepath.IsAbs(file) {
			file = filepath.Join(pkgDir, file)
		}
		line, _ := strconv.Atoi(m[2])
		col, _ := strconv.Atoi(m[3])
		errs = append(errs, profile.Error{File: file, Line: line, Column: col, Message: m[4]})
	}
	return errs
}

func buildFailureLine(errs []profile.Error, out []byte) string {
	if len(errs) > 0 {
		e := errs[0]
		s := fmt.Sprintf("%s:%d", e.File, e.Line)
		if e.Column > 0 {
			s += fmt.Sprintf(":%d", e.Column)
		}
		return s + ": " + e.Message
	}
	for _, l := range strings.Split(string(out), "\n") {
		if l = strings.TrimSpace(l); l != "" && !strings.HasPrefix(l, "#") {
			return l
		}
	}
	return "go build failed"
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

func pkgDirs(pkgs []*listedPackage) []string {
	var dirs []string
	for _, p := range pkgs {
		dirs = append(dirs, p.Dir)
	}
	return dirs
}

var (
	panicLineRE = regexp.MustCompile(`(?m)^(panic: .*|fatal error: .*)$`)
	frameFileRE = regexp.MustCompile(`^\t(\S+\.go):(\d+)`)
)

// classifyGoRun refines runProcess's status with Go's conventions: exit
// code 2 with "panic:" is an unrecovered panic, whose origin (the first
// frame in the user's code) goes into Errors. It sets a one-line Message.
func classifyGoRun(res *profile.Result, o procOutcome, timeout time.Duration, userDirs []string) {
	out := string(o.Output)
	switch o.Status {
	case profile.StatusOK:
		return
	case profile.StatusTimeout:
		res.Message = fmt.Sprintf("timed out: the run exceeded %s (build included); the process tree was killed", timeout)
	case profile.StatusCanceled:
		res.Message = "canceled; the process tree was killed"
	case profile.StatusKilled:
		res.Message = fmt.Sprintf("killed by signal %d (%v)", int(o.Signal), o.Signal)
	case profile.StatusExit:
		if m := panicLineRE.FindString(out); m != "" && o.ExitCode == 2 {
			res.Status = profile.StatusPanic
			res.Message = strings.TrimSuffix(m, " [recovered]")
			if e, ok := panicOrigin(out, userDirs); ok {
				e.Message = res.Message
				res.Errors = append(res.Errors, e)
				res.Message += fmt.Sprintf(" (at %s:%d)", filepath.Base(e.File), e.Line)
			}
			return
		}
		res.Message = fmt.Sprintf("exit status %d", o.ExitCode)
		if fail := regexp.MustCompile(`(?m)^\s*--- FAIL: (\S+)`).FindAllStringSubmatch(out, -1); len(fail) > 0 {
			var names []string
			for _, f := range fail {
				names = append(names, f[1])
			}
			res.Message = fmt.Sprintf("tests failed: %s (exit status %d)", strings.Join(names, ", "), o.ExitCode)
		}
	}
}

// panicOrigin finds the innermost frame of the panicking goroutine that is
// in the user's code (a package directory), else outside GOROOT.
func panicOrigin(out string, userDirs []string) (profile.Error, bool) {
	i := strings.Index(out, "\ngoroutine ")
	if i < 0 {
		return profile.Error{}, false
	}
	goroot := filepath.Clean(runtime.GOROOT()) + string(filepath.Separator)
	var fallback *profile.Error
	for _, l := range strings.Split(out[i+1:], "\n") {
		if l == "" {
			break // end of the first goroutine's trace
		}
		m := frameFileRE.FindStringSubmatch(l)
		if m == nil {
			continue
		}
		line, _ := strconv.Atoi(m[2])
		e := profile.Error{File: m[1], Line: line}
		for _, d := range userDirs {
			if filepath.Dir(m[1]) == filepath.Clean(d) {
				return e, true
			}
		}
		if fallback == nil && !strings.HasPrefix(m[1], goroot) {
			fallback = &e
		}
	}
	if fallback != nil {
		return *fallback, true
	}
	return profile.Error{}, false
}
