package runner

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/memlens/memlens/instrument"
)

// fidelityModules are real modules nobody here wrote, pinned. CI fetches
// them with `go mod download` (see .ci/run); once in the module cache the
// test runs offline.
var fidelityModules = []struct {
	path, version string
	pkgs          []string
}{
	{"github.com/google/uuid", "v1.6.0", []string{"."}},
	// cmp's own suite, fully instrumented, took 7.5 min when every line
	// probe read the RSS; with the 1 ms RSS interval about half a minute.
	{"github.com/google/go-cmp", "v0.7.0", []string{"./cmp", "./cmp/cmpopts"}},
	{"golang.org/x/text", "v0.31.0", []string{"./transform"}},
}

// Every function of each module's packages (internal test files included)
// is instrumented, and the modules' own test suites run through the
// overlay: the same tests must pass and fail as without instrumentation,
// and the probes must have counted calls.
func TestFidelityOnRealModules(t *testing.T) {
	for _, m := range fidelityModules {
		t.Run(m.path, func(t *testing.T) {
			// The module cache may not be overlaid: work on a copy.
			dir := copyTree(t, moduleDir(t, m.path+"@"+m.version))
			began := time.Now()
			plain := goTestResults(t, dir, nil, m.pkgs)
			plainTook := time.Since(began)
			tmp := t.TempDir()
			ov := newOverlay(tmp)
			data := filepath.Join(tmp, "data")
			if err := os.Mkdir(data, 0o755); err != nil {
				t.Fatal(err)
			}
			var listed []goPackage
			for _, p := range m.pkgs {
				ps, err := listPackages(t.Context(), dir, p, "", nil)
				if err != nil {
					t.Fatal(err)
				}
				listed = append(listed, ps...)
			}
			nfuncs := 0
			for i, gp := range listed {
				ip := instrumentWholePackage(t, i, gp)
				nfuncs += len(ip.Targets)
				out, err := instrument.Instrument(ip, fidelityOptions)
				if err != nil {
					t.Fatalf("instrument %s: %v", gp.ImportPath, err)
				}
				for path, src := range out.Files {
					if err := ov.add(path, src); err != nil {
						t.Fatal(err)
					}
				}
				if err := ov.add(filepath.Join(gp.Dir, instrument.RuntimeFileName(i)), out.RuntimeFile); err != nil {
					t.Fatal(err)
				}
			}
			ovFile, err := ov.write()
			if err != nil {
				t.Fatal(err)
			}
			flags := append([]string{"-overlay", ovFile}, mergeLDFlags(nil, instrument.LDFlags)...)
			began = time.Now()
			got := goTestResults(t, dir, append(flags, "-env:"+instrument.EnvDir+"="+data), m.pkgs)
			instrumentedTook := time.Since(began)
			if len(plain) == 0 {
				t.Fatal("no test ran without instrumentation")
			}
			diffs, flaky := changedOutcomes(t, dir, append(flags, "-env:"+instrument.EnvDir+"="+data), plain, got)
			if len(flaky) > 0 {
				t.Logf("%d tests changed outcome once but not when run again instrumented (timing-dependent tests):\n%s", len(flaky), strings.Join(flaky, "\n"))
			}
			if len(diffs) > 0 {
				t.Errorf("%d of %d tests changed outcome under instrumentation:\n%s", len(diffs), len(plain), strings.Join(diffs, "\n"))
			}
			var calls uint64
			for i := range listed {
				c, err := instrument.ReadCounters(data, i)
				if err != nil {
					t.Fatalf("counters of %s: %v", listed[i].ImportPath, err)
				}
				for _, n := range c.Calls {
					calls += n
				}
			}
			if calls == 0 {
				t.Error("the instrumented tests counted no calls")
			}
			// Builds included; a record of the cost, not an assertion.
			t.Logf("%d packages, %d functions instrumented, %d tests, %d calls counted; go test took %s plain, %s instrumented",
				len(listed), nfuncs, len(plain), calls, plainTook.Round(time.Millisecond), instrumentedTook.Round(time.Millisecond))
		})
	}
}

// moduleDir returns the module's directory in the module cache,
// downloading it if needed.
func moduleDir(t *testing.T, modVersion string) string {
	t.Helper()
	cmd := exec.Command("go", "mod", "download", "-json", modVersion)
	cmd.Dir = t.TempDir()
	out, err := cmd.Output()
	var info struct{ Dir, Error string }
	if jerr := json.Unmarshal(out, &info); err != nil || jerr != nil || info.Dir == "" {
		t.Fatalf("go mod download %s: %v %s (run `go mod download %s` with network once)", modVersion, err, info.Error, modVersion)
	}
	return info.Dir
}

// copyTree copies a directory tree into a temporary directory, writable.
func copyTree(t *testing.T, src string) string {
	t.Helper()
	dst := filepath.Join(t.TempDir(), filepath.Base(src))
	err := filepath.WalkDir(src, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, path)
		to := filepath.Join(dst, rel)
		if d.IsDir() {
			return os.MkdirAll(to, 0o755)
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		return os.WriteFile(to, b, 0o644)
	})
	if err != nil {
		t.Fatal(err)
	}
	return dst
}

// instrumentWholePackage targets every function of the package's own and
// internal test files. External test files (package x_test) are a package
// of their own and are left as they are.
func instrumentWholePackage(t *testing.T, index int, gp goPackage) instrument.Package {
	t.Helper()
	ip := instrument.Package{Index: index, Name: gp.Name, Dir: gp.Dir, Files: map[string][]byte{}}
	fset := token.NewFileSet()
	for _, name := range append(append([]string{}, gp.GoFiles...), gp.TestGoFiles...) {
		path := filepath.Join(gp.Dir, name)
		src, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		f, err := parser.ParseFile(fset, path, src, parser.ParseComments|parser.SkipObjectResolution)
		if err != nil {
			t.Fatal(err)
		}
		fns := instrument.FindFuncs(fset, f, path)
		if len(fns) > 0 {
			ip.Files[path] = src
			ip.Targets = append(ip.Targets, fns...)
		}
	}
	return ip
}

// flakyReruns is how often a test that changed outcome under
// instrumentation runs again, instrumented, before the change counts as
// the instrumentation's doing.
const flakyReruns = 3

func countOf(xs []string, x string) int {
	n := 0
	for _, y := range xs {
		if y == x {
			n++
		}
	}
	return n
}

// changedOutcomes compares the plain and the instrumented outcomes of each
// test. A test whose outcome changed runs again flakyReruns times,
// instrumented: if it then gives its plain outcome at least once, its
// outcome varies from run to run, so it is timing-dependent (google/uuid's
// TestVersion6 is, upstream issue 199; on a loaded machine it also fails in
// some reruns) and listed in flaky; a test the instrumentation breaks fails
// every rerun and is in diffs. A package's own line changes
// with its tests, so it counts only when none of its tests explains it.
func changedOutcomes(t *testing.T, dir string, flags []string, plain, got map[string]string) (diffs, flaky []string) {
	t.Helper()
	var pkgLines []string
	explained := map[string]bool{} // packages with a flaky test
	for name, action := range plain {
		if got[name] == action {
			continue
		}
		pkg, test, _ := strings.Cut(name, " ")
		line := name + ": " + action + " -> " + got[name]
		if test == "" {
			pkgLines = append(pkgLines, line)
			continue
		}
		var run []string
		for _, part := range strings.Split(test, "/") {
			run = append(run, "^"+regexp.QuoteMeta(part)+"$")
		}
		again := goTestRuns(t, dir, append(flags, "-count="+strconv.Itoa(flakyReruns), "-run="+strings.Join(run, "/")), []string{pkg})[name]
		if same := countOf(again, action); same > 0 {
			flaky = append(flaky, fmt.Sprintf("%s (then %s in %d of %d reruns)", line, action, same, len(again)))
			explained[pkg] = true
			continue
		}
		diffs = append(diffs, line+" (reruns: "+strings.Join(again, ", ")+")")
	}
	for _, line := range pkgLines {
		pkg, _, _ := strings.Cut(line, " ")
		if !explained[pkg] || len(diffs) > 0 {
			diffs = append(diffs, line)
		}
	}
	sort.Strings(diffs)
	sort.Strings(flaky)
	return diffs, flaky
}

// goTestResults runs go test -json on pkgs in dir and returns each test's
// final action (pass, fail, skip). Flags starting with "-env:" are
// environment variables for the run. A failing suite is not an error: the
// comparison is the point.
func goTestResults(t *testing.T, dir string, flags, pkgs []string) map[string]string {
	t.Helper()
	results := map[string]string{}
	for name, actions := range goTestRuns(t, dir, append([]string{"-count=1"}, flags...), pkgs) {
		results[name] = actions[len(actions)-1]
	}
	return results
}

// goTestRuns is goTestResults with every outcome of each test, in order
// (several with -count=N).
func goTestRuns(t *testing.T, dir string, flags, pkgs []string) map[string][]string {
	t.Helper()
	args := []string{"test", "-json"}
	var env []string
	for _, f := range flags {
		if e, ok := strings.CutPrefix(f, "-env:"); ok {
			env = append(env, e)
		} else {
			args = append(args, f)
		}
	}
	cmd := exec.Command("go", append(args, pkgs...)...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), env...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, _ := cmd.Output()
	results := map[string][]string{}
	sc := bufio.NewScanner(bytes.NewReader(out))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		var ev struct {
			Action, Package, Test string
			Elapsed               float64
		}
		if json.Unmarshal(sc.Bytes(), &ev) != nil {
			continue
		}
		switch ev.Action {
		case "pass", "fail", "skip":
			key := ev.Package + " " + ev.Test
			results[key] = append(results[key], ev.Action)
			if ev.Test == "" {
				t.Logf("%s: %s in %.1fs (test binary)", ev.Package, ev.Action, ev.Elapsed)
			}
		}
	}
	if len(results) == 0 {
		t.Fatalf("go test %v in %s: no results\n%s", args, dir, stderr.String())
	}
	return results
}

// fidelityOptions are the probes' settings for the fidelity runs: all on,
// as `memlens profile` runs them.
var fidelityOptions = instrument.Options{Allocs: true, RSS: true, RSSInterval: DefaultRSSInterval}

// changedOutcomes tells a timing-dependent test from one that the
// instrumentation broke by running it again: here "instrumented" runs are
// plain ones, so a test recorded as changed that passes again is flaky and
// one that fails again is a real change.
func TestChangedOutcomes(t *testing.T) {
	dir := t.TempDir()
	files := map[string]string{
		"go.mod": "module example.com/flaky\n\ngo 1.26\n",
		"x_test.go": "package flaky\n\nimport \"testing\"\n\nfunc TestSteady(t *testing.T) {}\n\nfunc TestBroken(t *testing.T) { t.Fatal(\"broken\") }\n" +
			"\nvar runs int\n\n// TestAlternating fails every second run, as a timing-dependent test may.\n" +
			"func TestAlternating(t *testing.T) {\n\truns++\n\tif runs%2 == 0 {\n\t\tt.Fatal(\"even run\")\n\t}\n}\n",
	}
	for name, src := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(src), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	const pkg = "example.com/flaky"
	plain := map[string]string{pkg + " TestSteady": "pass", pkg + " TestBroken": "pass", pkg + " TestAlternating": "pass", pkg + " ": "pass"}
	got := map[string]string{pkg + " TestSteady": "fail", pkg + " TestBroken": "fail", pkg + " TestAlternating": "fail", pkg + " ": "fail"}
	diffs, flaky := changedOutcomes(t, dir, nil, plain, got)
	if len(flaky) != 2 || !strings.HasPrefix(flaky[0], pkg+" TestAlternating: pass -> fail (then pass in 2 of 3 reruns)") ||
		!strings.HasPrefix(flaky[1], pkg+" TestSteady: pass -> fail (then pass in 3 of 3 reruns)") {
		t.Errorf("flaky = %q, want TestAlternating and TestSteady", flaky)
	}
	if len(diffs) != 2 || !strings.HasPrefix(diffs[0], pkg+" : pass -> fail") || !strings.HasPrefix(diffs[1], pkg+" TestBroken: pass -> fail (reruns: fail, fail, fail)") {
		t.Errorf("diffs = %q, want the package and TestBroken", diffs)
	}
}
