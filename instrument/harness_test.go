package instrument

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"go/parser"
	"go/token"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// The tests build real programs: one temporary module for the whole test
// binary (so the build cache is shared), one package directory per program.

var (
	modOnce sync.Once
	modDir  string
	modErr  error
	pkgSeq  atomic.Int64
)

func TestMain(m *testing.M) {
	code := m.Run()
	if modDir != "" {
		os.RemoveAll(modDir)
	}
	os.Exit(code)
}

func testModule(t testing.TB) string {
	t.Helper()
	modOnce.Do(func() {
		modDir, modErr = os.MkdirTemp("", "memlens-instrument-test-")
		if modErr == nil {
			modErr = os.WriteFile(filepath.Join(modDir, "go.mod"), []byte("module memlenstest\n\ngo 1.26\n"), 0o644)
		}
	})
	if modErr != nil {
		t.Fatal(modErr)
	}
	return modDir
}

func goEnv() []string {
	return append(os.Environ(), "GOWORK=off", "GOTOOLCHAIN=local", "GOFLAGS=-buildvcs=false")
}

// prog is a package of the test module, instrumented.
type prog struct {
	t       testing.TB
	dir     string            // package directory
	pkg     string            // import path
	orig    map[string][]byte // path -> original source
	inst    []*Instrumented   // one per Go package name in dir (p, p_test)
	overlay string            // overlay JSON file
}

// testdataSources reads testdata/instrument/<name>/*.go.
func testdataSources(t testing.TB, name string) map[string]string {
	t.Helper()
	paths, err := filepath.Glob(filepath.Join("..", "testdata", "instrument", name, "*.go"))
	if err != nil || len(paths) == 0 {
		t.Fatalf("no testdata for %s: %v", name, err)
	}
	srcs := map[string]string{}
	for _, p := range paths {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		srcs[filepath.Base(p)] = string(b)
	}
	return srcs
}

// isMarked selects the //memlens:profile functions.
func isMarked(fn Func) bool { return fn.Marked }

// newProg writes srcs into a fresh package directory and instruments the
// functions sel picks.
func newProg(t testing.TB, srcs map[string]string, opt Options, sel func(Func) bool) *prog {
	t.Helper()
	return newProgIn(t, filepath.Join(testModule(t), fmt.Sprintf("p%d", pkgSeq.Add(1))), srcs, opt, sel)
}

// newProgIn is newProg in a given package directory of the test module.
func newProgIn(t testing.TB, dir string, srcs map[string]string, opt Options, sel func(Func) bool) *prog {
	t.Helper()
	p := &prog{t: t, dir: dir, pkg: "memlenstest/" + filepath.Base(dir), orig: map[string][]byte{}}
	if err := os.MkdirAll(p.dir, 0o755); err != nil {
		t.Fatal(err)
	}
	// One Package per directory and package name (p, p_test), indexed in
	// that order. A source name may hold a subdirectory ("lib/lib.go").
	byPkg := map[string]*Package{}
	var keys []string
	for base, src := range srcs {
		path := filepath.Join(p.dir, filepath.FromSlash(base))
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(src), 0o644); err != nil {
			t.Fatal(err)
		}
		p.orig[path] = []byte(src)
		fset := token.NewFileSet()
		f, err := parser.ParseFile(fset, path, src, parser.ParseComments)
		if err != nil {
			t.Fatal(err)
		}
		for _, fn := range FindFuncs(fset, f, path) {
			if !sel(fn) {
				continue
			}
			key := filepath.Dir(path) + " " + f.Name.Name
			pk := byPkg[key]
			if pk == nil {
				pk = &Package{Name: f.Name.Name, Dir: filepath.Dir(path), Files: map[string][]byte{}}
				byPkg[key] = pk
				keys = append(keys, key)
			}
			pk.Files[path] = []byte(src)
			pk.Targets = append(pk.Targets, fn)
		}
	}
	sort.Strings(keys)
	replace := map[string]string{}
	odir := t.TempDir()
	for i, key := range keys {
		pk := byPkg[key]
		pk.Index = i
		sort.Slice(pk.Targets, func(a, b int) bool {
			if pk.Targets[a].File != pk.Targets[b].File {
				return pk.Targets[a].File < pk.Targets[b].File
			}
			return pk.Targets[a].StartLine < pk.Targets[b].StartLine
		})
		in, err := Instrument(*pk, opt)
		if err != nil {
			t.Fatal(err)
		}
		p.inst = append(p.inst, in)
		write := func(target string, b []byte) {
			o := filepath.Join(odir, fmt.Sprintf("%d-%s", len(replace), filepath.Base(target)))
			if err := os.WriteFile(o, b, 0o644); err != nil {
				t.Fatal(err)
			}
			replace[target] = o
		}
		for path, b := range in.Files {
			write(path, b)
		}
		write(in.RuntimePath, in.RuntimeFile)
	}
	js, _ := json.Marshal(map[string]any{"Replace": replace})
	p.overlay = filepath.Join(odir, "overlay.json")
	if err := os.WriteFile(p.overlay, js, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// gocmd runs the go command in the module and returns its combined output.
func gocmd(t testing.TB, args ...string) (string, error) {
	t.Helper()
	cmd := exec.Command("go", args...)
	cmd.Dir = testModule(t)
	cmd.Env = goEnv()
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// build compiles the instrumented package (a main package) and returns the
// binary's path.
func (p *prog) build(flags ...string) string {
	p.t.Helper()
	bin := filepath.Join(p.t.TempDir(), "prog")
	args := append([]string{"build", "-overlay", p.overlay, "-ldflags=" + LDFlags, "-o", bin}, flags...)
	if out, err := gocmd(p.t, append(args, "./"+filepath.Base(p.dir))...); err != nil {
		p.t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// buildPlain compiles the package without instrumentation.
func (p *prog) buildPlain() string {
	p.t.Helper()
	bin := filepath.Join(p.t.TempDir(), "plain")
	if out, err := gocmd(p.t, "build", "-o", bin, "./"+filepath.Base(p.dir)); err != nil {
		p.t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

type runResult struct {
	stdout, stderr string
	code           int
}

// run executes bin with MEMLENS_DIR=dir ("" leaves it unset).
func run(t testing.TB, bin, dir string, args ...string) runResult {
	t.Helper()
	cmd := exec.Command(bin, args...)
	cmd.Env = os.Environ()
	if dir != "" {
		cmd.Env = append(cmd.Env, EnvDir+"="+dir)
	}
	var so, se bytes.Buffer
	cmd.Stdout, cmd.Stderr = &so, &se
	err := cmd.Run()
	code := 0
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return runResult{so.String(), se.String(), code}
}

// counts reads package index's counters and maps them to file:line.
func (p *prog) counts(dir string, index int) (map[string]map[int]uint64, *Counters) {
	p.t.Helper()
	c, err := ReadCounters(dir, index)
	if err != nil {
		p.t.Fatal(err)
	}
	m := map[string]map[int]uint64{}
	for _, fl := range p.inst[index].Funcs {
		if m[fl.Func.File] == nil {
			m[fl.Func.File] = map[int]uint64{}
		}
		for _, ls := range fl.Lines {
			m[fl.Func.File][ls.Line] = c.Count[ls.Slot]
		}
	}
	return m, c
}

var wantRE = regexp.MustCompile(`// @(\d+)\s*$`)

// checkAnnotated compares the counters with the "// @N" annotations: every
// probed line of a target must carry one and every annotation must be probed.
func (p *prog) checkAnnotated(dir string) {
	p.t.Helper()
	for i := range p.inst {
		got, c := p.counts(dir, i)
		for _, fl := range p.inst[i].Funcs {
			if fl.Func.Marked && c.Calls[fl.ID] != got[fl.Func.File][fl.Func.StartLine] && fl.Func.StartLine != fl.Func.EndLine {
				p.t.Errorf("%s: calls %d, func line %d", fl.Func.Name, c.Calls[fl.ID], got[fl.Func.File][fl.Func.StartLine])
			}
		}
		for path, src := range p.orig {
			for n, line := range strings.Split(string(src), "\n") {
				ln := n + 1
				m := wantRE.FindStringSubmatch(line)
				v, probed := got[path][ln]
				switch {
				case m == nil && probed:
					p.t.Errorf("%s:%d: probed (count %d) but not annotated: %s", filepath.Base(path), ln, v, strings.TrimSpace(line))
				case m != nil && !probed:
					if _, ok := got[path]; ok {
						p.t.Errorf("%s:%d: annotated but not probed: %s", filepath.Base(path), ln, strings.TrimSpace(line))
					}
				case m != nil:
					want, _ := strconv.ParseUint(m[1], 10, 64)
					if v != want {
						p.t.Errorf("%s:%d: count %d, want %d: %s", filepath.Base(path), ln, v, want, strings.TrimSpace(line))
					}
				}
			}
		}
	}
}

// waitFor polls cond until it holds or the timeout passes.
func waitFor(timeout time.Duration, cond func() bool) bool {
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		if cond() {
			return true
		}
		time.Sleep(20 * time.Millisecond)
	}
	return cond()
}
