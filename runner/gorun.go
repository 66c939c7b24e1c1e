package runner

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"time"

	"github.com/memlens/memlens/instrument"
	"github.com/memlens/memlens/profile"
)

// run is the fifth stage: it runs the built program (a test binary runs
// in its package directory, as go test does) with $MEMLENS_DIR pointing at
// the run's data directory, and classifies how it ended. On a timeout or a
// cancel the probe runtime is asked to dump its allocation records before
// the process tree is killed.
func (r *goRun) run(ctx context.Context) error {
	r.data = filepath.Join(r.tmp, "data")
	if err := os.Mkdir(r.data, 0o755); err != nil {
		return err
	}
	cmd := exec.Command(r.bin, r.entry.Args...)
	cmd.Dir = r.req.Dir
	cmd.Stdin = r.req.Stdin
	if r.entry.Kind == entryTest {
		cmd.Args = append([]string{r.bin, "-test.count=1"}, r.entry.Args...)
		cmd.Dir = r.entry.Pkg.Dir // as go test does
	}
	cmd.Env = append(append(os.Environ(), r.req.Env...), instrument.EnvDir+"="+r.data)
	r.req.Progress(Progress{Stage: StageRunning, Message: "running " + r.entry.Describe})
	var beforeKill func()
	if r.instrumentOptions().Allocs {
		indexes := r.indexes()
		beforeKill = func() { requestDump(r.data, indexes) }
	}
	o := runProcessStopping(ctx, cmd, time.Until(r.deadline), r.req.Output, beforeKill)
	r.ended = time.Now()
	if o.Err != nil {
		return fmt.Errorf("run %s: %v", r.entry.Describe, o.Err)
	}
	r.res.Output = string(o.Output)
	r.res.PeakRSSBytes = o.PeakRSS
	r.res.Status, r.res.ExitCode = o.Status, o.ExitCode
	classifyGoRun(r.res, o, r.req.Timeout, pkgDirs(r.pkgs))
	return nil
}

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
	// recoveredRE is what the runtime adds to a panic a deferred call
	// recovered and panicked again: " [recovered]", and since Go 1.23
	// " [recovered, repanicked]" (a test's panic, which testing re-raises).
	recoveredRE = regexp.MustCompile(` \[recovered(, [a-z]+)?\]$`)
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
			res.Message = recoveredRE.ReplaceAllString(m, "")
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
