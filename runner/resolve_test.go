package runner

import (
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/memlens/memlens/instrument"
)

// TestFindTargetsByImportPath: a function qualified by its package's whole
// import path is found, as the error for an ambiguous name lists them, also
// where the path's last element is not the package name (a major version
// suffix, gopkg.in's .v3, a go- prefix); plain and package-name
// qualifications still work.
func TestFindTargetsByImportPath(t *testing.T) {
	pkg := func(dir, path, name string, funcs ...instrument.Func) *listedPackage {
		for i := range funcs {
			funcs[i].File = dir + "/f.go"
			funcs[i].StartLine = 10 * (i + 1)
		}
		return &listedPackage{goPackage: goPackage{Dir: dir, ImportPath: path, Name: name}, Funcs: funcs}
	}
	toml := pkg("/m", "github.com/pelletier/go-toml/v2", "toml",
		instrument.Func{Name: "Unmarshal", Package: "toml"},
		instrument.Func{Name: "(*Decoder).Decode", Recv: "Decoder", Package: "toml"},
		instrument.Func{Name: "helper", Package: "toml_test"})
	suite := pkg("/m/internal/testsuite", "github.com/pelletier/go-toml/v2/internal/testsuite", "testsuite",
		instrument.Func{Name: "Unmarshal", Package: "testsuite"})
	yaml := pkg("/y", "gopkg.in/yaml.v3", "yaml", instrument.Func{Name: "Unmarshal", Package: "yaml"})
	width := pkg("/w", "github.com/mattn/go-runewidth", "runewidth", instrument.Func{Name: "StringWidth", Package: "runewidth"})
	all := []*listedPackage{toml, suite, yaml, width}
	for _, tc := range []struct {
		name    string
		pkgs    []*listedPackage
		want    string // the target's package import path and function
		wantErr string
	}{
		{name: "github.com/pelletier/go-toml/v2.Unmarshal", pkgs: all, want: "github.com/pelletier/go-toml/v2 Unmarshal"},
		{name: "toml.Unmarshal", pkgs: all, want: "github.com/pelletier/go-toml/v2 Unmarshal"},
		{name: "github.com/pelletier/go-toml/v2.(*Decoder).Decode", pkgs: all, want: "github.com/pelletier/go-toml/v2 (*Decoder).Decode"},
		{name: "github.com/pelletier/go-toml/v2_test.helper", pkgs: all, want: "github.com/pelletier/go-toml/v2 helper"},
		{name: "github.com/pelletier/go-toml/v2/internal/testsuite.Unmarshal", pkgs: all, want: "github.com/pelletier/go-toml/v2/internal/testsuite Unmarshal"},
		{name: "gopkg.in/yaml.v3.Unmarshal", pkgs: all, want: "gopkg.in/yaml.v3 Unmarshal"},
		{name: "github.com/mattn/go-runewidth.StringWidth", pkgs: all, want: "github.com/mattn/go-runewidth StringWidth"},
		{name: "StringWidth", pkgs: all, want: "github.com/mattn/go-runewidth StringWidth"},
		{name: "Unmarshal", pkgs: []*listedPackage{toml, suite}, wantErr: "Unmarshal is in several packages: github.com/pelletier/go-toml/v2.Unmarshal (f.go:10), github.com/pelletier/go-toml/v2/internal/testsuite.Unmarshal (f.go:10)"},
		// Another package's path does not qualify this one's function.
		{name: "github.com/pelletier/go-toml/v2.StringWidth", pkgs: all, wantErr: "no function github.com/pelletier/go-toml/v2.StringWidth"},
	} {
		targets, err := findTargets(tc.pkgs, []string{tc.name})
		if tc.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("%s: error %v, want one containing %q", tc.name, err, tc.wantErr)
			}
			continue
		}
		if err != nil {
			t.Errorf("%s: %v", tc.name, err)
			continue
		}
		if len(targets) != 1 || targets[0].Pkg.ImportPath+" "+targets[0].Func.Name != tc.want {
			var got []string
			for _, tg := range targets {
				got = append(got, tg.Pkg.ImportPath+" "+tg.Func.Name)
			}
			t.Errorf("%s: targets %q, want [%s]", tc.name, got, tc.want)
		}
	}
}

// TestInModuleCache: a target of a package in the module cache is an error
// saying so and what to do, before a build that go would refuse with an
// overlay error naming none of the user's code; other directories, also
// with an @ in their path, are fine.
func TestInModuleCache(t *testing.T) {
	out, err := exec.Command("go", "env", "GOMODCACHE").Output()
	if err != nil {
		t.Fatal(err)
	}
	cache := strings.TrimSpace(string(out))
	in := func(dir string) []target {
		return []target{{Pkg: &listedPackage{goPackage: goPackage{Dir: dir, ImportPath: "github.com/tidwall/match"}}, Func: instrument.Func{Name: "Match"}}}
	}
	err = inModuleCache(t.Context(), repoRoot, in(filepath.Join(cache, "github.com/tidwall/match@v1.1.1")))
	if err == nil || !strings.Contains(err.Error(), "is in the module cache") || !strings.Contains(err.Error(), "go mod vendor") {
		t.Errorf("module cache: error %v", err)
	}
	for _, dir := range []string{filepath.Join(repoRoot, "testdata/go/shapes"), filepath.Join(t.TempDir(), "copy@v1.1.1")} {
		if err := inModuleCache(t.Context(), repoRoot, in(dir)); err != nil {
			t.Errorf("%s: %v", dir, err)
		}
	}
}

// TestRuntimeDependency: a standard package the probe runtime depends on
// (strconv directly, errors through os) cannot be instrumented, and says
// so before a build that would fail with a bare import cycle; other
// standard packages (strings) and the module's are fine.
func TestRuntimeDependency(t *testing.T) {
	target := func(path string, std bool) []target {
		return []target{{Pkg: &listedPackage{goPackage: goPackage{ImportPath: path, Standard: std}}, Func: instrument.Func{Name: "F"}}}
	}
	for _, path := range []string{"strconv", "errors"} {
		err := runtimeDependency(t.Context(), repoRoot, target(path, true))
		if err == nil || !strings.Contains(err.Error(), "memlens cannot profile "+path+".F: the probe runtime compiled into the package depends on "+path) {
			t.Errorf("%s: error %v", path, err)
		}
	}
	for _, tc := range []struct {
		path string
		std  bool
	}{{"strings", true}, {"fmt", true}, {"example.com/m/strconv", false}} {
		if err := runtimeDependency(t.Context(), repoRoot, target(tc.path, tc.std)); err != nil {
			t.Errorf("%s: %v", tc.path, err)
		}
	}
}
