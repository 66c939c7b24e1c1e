package runner

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/memlens/memlens/instrument"
	"github.com/memlens/memlens/profile"
)

// build is the fourth stage: go test -c (a test entry) or go build (a main
// package) of the entry's package with the overlay (which holds the
// targets' instrumented files, wherever their packages are), into r.bin,
// asking the compiler for its escape analysis of the instrumented packages
// (see escapes.go). The program is built at a stable cached path (see
// buildOutput) so that go can skip an unchanged link, then linked into the
// run's temporary directory. A build that fails stops the run with the
// compiler's errors at the user's positions.
func (r *goRun) build(ctx context.Context) error {
	overlayFile, err := r.ov.write()
	if err != nil {
		return err
	}
	r.bin = filepath.Join(r.tmp, "prog")
	args := []string{"build"}
	if r.entry.Kind == entryTest {
		r.bin = filepath.Join(r.tmp, "prog.test")
		args = []string{"test", "-c"}
	}
	flags := mergeLDFlags(r.req.BuildFlags, instrument.LDFlags)
	out, release := buildOutput(r.entry.Pkg.Dir, args, flags, r.ov.replace)
	defer release()
	flags = r.escapeFlags(flags, out)
	if out == "" {
		out = r.bin
	}
	args = append(args, "-o", out, "-overlay", overlayFile)
	args = append(args, flags...)
	args = append(args, ".")
	r.req.Progress(Progress{Stage: StageBuilding, Message: fmt.Sprintf("building %s for %s", r.entry.Pkg.ImportPath, r.entry.Describe)})
	env := append(os.Environ(), r.req.Env...)
	// A cached program built from what is there now needs no go command
	// (see buildcheck.go); otherwise the inputs are listed while go builds.
	var key string
	var inputs chan []string
	if out != r.bin {
		key, _ = buildKey(r.entry.Pkg.Dir, r.tmp, args, env, r.ov.replace)
		if key != "" && upToDate(out, key) {
			r.readEscapes()
			return linkOrCopy(out, r.bin)
		}
		forgetInputs(out)
		if key != "" {
			inputs = make(chan []string, 1)
			go func() {
				files, _ := listInputs(ctx, r.entry.Pkg.Dir, overlayFile, flags, env)
				inputs <- files
			}()
		}
	}
	start := time.Now()
	cmd := exec.Command("go", args...)
	cmd.Dir = r.entry.Pkg.Dir
	cmd.Env = env
	bo := runProcess(ctx, cmd, time.Until(r.deadline), nil)
	if inputs != nil {
		if files := <-inputs; files != nil && bo.Err == nil && bo.Status == profile.StatusOK {
			recordInputs(out, key, files, start)
		}
	}
	switch {
	case bo.Err != nil:
		return fmt.Errorf("go build: %v", bo.Err)
	case bo.Status == profile.StatusTimeout || bo.Status == profile.StatusCanceled:
		r.res.ExitCode = -1
		r.res.Output = string(bo.Output)
		return r.stop(bo.Status, fmt.Sprintf("%s while building %s", bo.Status, r.entry.Pkg.ImportPath))
	case bo.Status != profile.StatusOK:
		r.res.ExitCode = bo.ExitCode
		r.res.Output = string(bo.Output)
		r.res.Errors = parseBuildErrors(bo.Output, r.entry.Pkg.Dir, r.tmp)
		for i, e := range r.res.Errors {
			for orig, repl := range r.ov.replace {
				if e.File == repl {
					r.res.Errors[i].File = orig // an editor buffer (no line directive): the user's file
				}
			}
		}
		return r.stop(profile.StatusBuildFailed, "build failed: "+buildFailureLine(r.res.Errors, bo.Output))
	}
	if _, err := os.Stat(out); err != nil {
		// go test -c of a package without test files succeeds and
		// writes nothing; the entry search never picks one.
		return fmt.Errorf("go %s built no program for %s: %v", args[0], r.entry.Pkg.ImportPath, err)
	}
	r.readEscapes()
	if out != r.bin {
		return linkOrCopy(out, r.bin)
	}
	return nil
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
