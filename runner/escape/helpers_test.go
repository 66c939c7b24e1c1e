package escape

import (
	"encoding/json"
	"fmt"
	"go/parser"
	"go/token"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/memlens/memlens/instrument"
	"github.com/memlens/memlens/profile"
)

// testdataModule is the Go module of the repository's samples.
func testdataModule(t *testing.T) string {
	dir, err := filepath.Abs("../../testdata/go")
	if err != nil {
		t.Fatal(err)
	}
	return dir
}

// compileJSON runs the real go command on pkg (a directory of the testdata
// module) with GCFlags for pkgs, through an overlay of replace (path ->
// source) if any, and returns the reports read back.
func compileJSON(t *testing.T, pkg string, test bool, replace map[string][]byte, pkgs ...Package) []Report {
	t.Helper()
	tmp := t.TempDir()
	dir := filepath.Join(tmp, "json dir") // a space, to exercise the quoting
	args := []string{"build", "-o", filepath.Join(tmp, "out")}
	if test {
		args = []string{"test", "-c", "-o", filepath.Join(tmp, "out")}
	}
	if len(replace) > 0 {
		ov := map[string]string{}
		i := 0
		for path, src := range replace {
			name := filepath.Join(tmp, fmt.Sprintf("%d_%s", i, filepath.Base(path)))
			if err := os.WriteFile(name, src, 0o644); err != nil {
				t.Fatal(err)
			}
			ov[path] = name
			i++
		}
		b, _ := json.Marshal(struct{ Replace map[string]string }{ov})
		f := filepath.Join(tmp, "overlay.json")
		if err := os.WriteFile(f, b, 0o644); err != nil {
			t.Fatal(err)
		}
		args = append(args, "-overlay", f, "-ldflags="+instrument.LDFlags)
	}
	flags, err := GCFlags(nil, pkgs, pkg, dir)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("go", append(append(args, flags...), ".")...)
	cmd.Dir = pkg
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go %s: %v\n%s", strings.Join(cmd.Args[1:], " "), err, out)
	}
	reports, _, err := ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(reports) == 0 {
		t.Fatal("the compiler wrote no escape reports")
	}
	return reports
}

// functionsOf lists a file's functions as empty profiles (every line, its
// content), as the runner's collect stage makes them.
func functionsOf(t *testing.T, path string) ([]profile.Function, []instrument.Func, []byte) {
	t.Helper()
	src, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, path, src, parser.ParseComments)
	if err != nil {
		t.Fatal(err)
	}
	text := strings.Split(string(src), "\n")
	var fns []profile.Function
	found := instrument.FindFuncs(fset, f, path)
	for _, fn := range found {
		pf := profile.Function{Name: fn.Name, File: path, StartLine: fn.StartLine, EndLine: fn.EndLine}
		for n := fn.StartLine; n <= fn.EndLine; n++ {
			pf.Lines = append(pf.Lines, profile.Line{Line: n, Content: text[n-1]})
		}
		fns = append(fns, pf)
	}
	return fns, found, src
}

// escapesOf renders the escapes attached to fns, one per line:
// "Func line:col sentence".
func escapesOf(fns []profile.Function) []string {
	var out []string
	for _, f := range fns {
		for _, l := range f.Lines {
			for _, e := range l.Escapes {
				out = append(out, fmt.Sprintf("%s %d:%d %s", f.Name, l.Line, e.Column, e.Sentence()))
			}
		}
	}
	return out
}
