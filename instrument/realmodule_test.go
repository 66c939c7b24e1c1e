package instrument

import (
	"bufio"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"go/ast"
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
)

// realModule is code nobody here wrote, pinned: CI fetches it (.ci/run);
// once in the module cache the test runs offline. MEMLENS_REAL_MODULE
// ("module@version ./package") checks another, e.g.
// "gonum.org/v1/gonum@v0.17.0 ./mat".
var realModule, realPackage = func() (string, string) {
	if m, p, ok := strings.Cut(os.Getenv("MEMLENS_REAL_MODULE"), " "); ok {
		return m, p
	}
	return "golang.org/x/text@v0.31.0", "./unicode/norm"
}()

// TestCountsOnRealModule instruments every function of a real package (its
// files and internal test files), counts only, runs the package's own tests
// and checks the counts against two references built independently of the
// counter rows:
//
//   - the same probes compiled against a reference runtime whose every
//     probe is an atomic add to one counter per line (refRuntime): every
//     line's count and every target's call count must be equal;
//   - go test -covermode=atomic: a statement that opens a statement list
//     (a function, if, loop or case body), alone on its line, runs as often
//     as cover's block holding it is entered.
//
// The tests must pass the same way in all three builds.
func TestCountsOnRealModule(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs a real module's tests three times")
	}
	t.Parallel()
	mod := copyModule(t, realModule)
	var listed struct {
		Dir, Name, ImportPath string
		GoFiles, TestGoFiles  []string
	}
	cmd := exec.Command("go", "list", "-json", realPackage)
	cmd.Dir, cmd.Env = mod, goEnv()
	out, err := cmd.Output()
	if err != nil || json.Unmarshal(out, &listed) != nil {
		t.Fatalf("go list %s: %v", realPackage, err)
	}
	p := Package{Name: listed.Name, Dir: listed.Dir, Files: map[string][]byte{}}
	fset := token.NewFileSet()
	asts := map[string]*ast.File{}
	for _, name := range append(append([]string{}, listed.GoFiles...), listed.TestGoFiles...) {
		path := filepath.Join(listed.Dir, name)
		src, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		f, err := parser.ParseFile(fset, path, src, parser.ParseComments|parser.SkipObjectResolution)
		if err != nil {
			t.Fatal(err)
		}
		if fns := FindFuncs(fset, f, path); len(fns) > 0 {
			p.Files[path], asts[path] = src, f
			p.Targets = append(p.Targets, fns...)
		}
	}
	in, err := Instrument(p, Options{})
	if err != nil {
		t.Fatal(err)
	}
	tmp := t.TempDir()
	overlay := func(name string, runtime []byte) string {
		replace := map[string]string{}
		for path, b := range in.Files {
			o := filepath.Join(tmp, name+"-"+filepath.Base(path))
			if err := os.WriteFile(o, b, 0o644); err != nil {
				t.Fatal(err)
			}
			replace[path] = o
		}
		o := filepath.Join(tmp, name+"-runtime.go")
		if err := os.WriteFile(o, runtime, 0o644); err != nil {
			t.Fatal(err)
		}
		replace[in.RuntimePath] = o
		js, _ := json.Marshal(map[string]any{"Replace": replace})
		ov := filepath.Join(tmp, name+"-overlay.json")
		if err := os.WriteFile(ov, js, 0o644); err != nil {
			t.Fatal(err)
		}
		return ov
	}
	data, refData := filepath.Join(tmp, "data"), filepath.Join(tmp, "ref")
	for _, d := range []string{data, refData} {
		if err := os.Mkdir(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	refFile := filepath.Join(refData, "counts")
	goTest := func(env string, args ...string) map[string]string {
		// TestLinking builds programs with the go command: slow, and none
		// of the package's code runs in it.
		cmd := exec.Command("go", append(append([]string{"test", "-count=1", "-v", "-skip=^TestLinking$"}, args...), realPackage)...)
		cmd.Dir, cmd.Env = mod, append(goEnv(), env)
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("go test %v: %v\n%s", args, err, out)
		}
		return testOutcomes(out)
	}
	cover := filepath.Join(tmp, "cover.out")
	withCover := goTest("", "-covermode=atomic", "-coverprofile="+cover)
	rows := goTest(EnvDir+"="+data, "-overlay", overlay("rows", in.RuntimeFile), "-ldflags="+LDFlags)
	ref := goTest("MEMLENS_REF="+refFile, "-overlay", overlay("ref", refRuntime(p.Name, in)))
	if len(withCover) < 10 || fmt.Sprint(rows) != fmt.Sprint(withCover) || fmt.Sprint(ref) != fmt.Sprint(withCover) {
		t.Errorf("test outcomes differ:\ncover %v\nrows  %v\nref   %v", withCover, rows, ref)
	}

	got, err := ReadCounters(data, 0)
	if err != nil {
		t.Fatal(err)
	}
	want := readRefCounts(t, refFile, len(got.Calls), len(got.Count))
	var calls, lines uint64
	for _, fl := range in.Funcs {
		if got.Calls[fl.ID] != want.Calls[fl.ID] {
			t.Errorf("%s: %d calls, reference %d", fl.Func.Name, got.Calls[fl.ID], want.Calls[fl.ID])
		}
		calls += want.Calls[fl.ID]
		for _, ls := range fl.Lines {
			if got.Count[ls.Slot] != want.Count[ls.Slot] {
				t.Errorf("%s:%d (%s): count %d, reference %d", filepath.Base(fl.Func.File), ls.Line, fl.Func.Name, got.Count[ls.Slot], want.Count[ls.Slot])
			}
			lines += want.Count[ls.Slot]
		}
	}
	if calls == 0 || lines == 0 {
		t.Fatalf("nothing counted: %d calls, %d line executions", calls, lines)
	}

	// Against cover.
	blocks := readCoverProfile(t, cover, listed.ImportPath, listed.Dir)
	slots := map[string]map[int]int{}
	for _, fl := range in.Funcs {
		for _, ls := range fl.Lines {
			if slots[fl.Func.File] == nil {
				slots[fl.Func.File] = map[int]int{}
			}
			slots[fl.Func.File][ls.Line] = ls.Slot
		}
	}
	compared := 0
	for _, name := range listed.GoFiles {
		path := filepath.Join(listed.Dir, name)
		f := asts[path]
		if f == nil {
			continue
		}
		for _, pos := range listOpeners(fset, f) {
			b, ok := blockAt(blocks[path], pos)
			slot, probed := slots[path][pos.Line]
			if !ok || !probed {
				continue
			}
			compared++
			if got.Count[slot] != b.count {
				t.Errorf("%s:%d: count %d, cover's block %d", name, pos.Line, got.Count[slot], b.count)
			}
		}
	}
	if compared < 50 {
		t.Errorf("only %d lines compared with cover", compared)
	}
	t.Logf("%d functions, %d calls, %d line executions equal to the reference runtime's; %d lines equal to cover's blocks", len(in.Funcs), calls, lines, compared)
}

// refRuntime is a probe runtime for the same probes that keeps one counter
// per line slot (and per target's calls) and adds to it atomically, in a
// file mapped from $MEMLENS_REF: calls first, then the slots.
func refRuntime(pkg string, in *Instrumented) []byte {
	slot0 := map[int]int{}
	nf, ns := 0, 0
	for _, fl := range in.Funcs {
		slot0[fl.ID] = fl.Lines[0].Slot
		nf = max(nf, fl.ID+1)
		ns = max(ns, fl.Lines[len(fl.Lines)-1].Slot+1)
	}
	var tab []string
	for id := range nf {
		tab = append(tab, strconv.Itoa(slot0[id]))
	}
	return fmt.Appendf(nil, `package %s

import (
	memlensos "os"
	memlensatomic "sync/atomic"
	memlenssyscall "syscall"
	memlensunsafe "unsafe"
)

type memlensFrame struct{ slot0 int }

const memlensNF, memlensNS = %d, %d

var memlensSlot0 = [...]int{%s}

var memlensRef = func() *[memlensNF + memlensNS]uint64 {
	f, err := memlensos.OpenFile(memlensos.Getenv("MEMLENS_REF"), memlensos.O_RDWR|memlensos.O_CREATE, 0o644)
	if err != nil {
		panic(err)
	}
	defer f.Close()
	const size = 8 * (memlensNF + memlensNS)
	if err := f.Truncate(size); err != nil {
		panic(err)
	}
	b, err := memlenssyscall.Mmap(int(f.Fd()), 0, size, memlenssyscall.PROT_READ|memlenssyscall.PROT_WRITE, memlenssyscall.MAP_SHARED)
	if err != nil {
		panic(err)
	}
	return (*[memlensNF + memlensNS]uint64)(memlensunsafe.Pointer(&b[0]))
}()

func memlensEnter(id int) memlensFrame {
	memlensatomic.AddUint64(&memlensRef[id], 1)
	fr := memlensFrame{memlensSlot0[id]}
	memlensLine(fr, 1)
	return fr
}

func memlensLit(id int) memlensFrame { return memlensFrame{memlensSlot0[id]} }

func memlensLine(fr memlensFrame, s int) {
	memlensatomic.AddUint64(&memlensRef[memlensNF+fr.slot0+s-1], 1)
}

func memlensCond(fr memlensFrame, s int) int {
	memlensLine(fr, s)
	return 1
}

func memlensLeave(memlensFrame) {}

func memlensRelease(memlensFrame) {}
`, pkg, nf, ns, strings.Join(tab, ", "))
}

func readRefCounts(t *testing.T, name string, nf, ns int) *Counters {
	t.Helper()
	b, err := os.ReadFile(name)
	if err != nil || len(b) != 8*(nf+ns) {
		t.Fatalf("reference counts: %d bytes, %v", len(b), err)
	}
	c := &Counters{Calls: make([]uint64, nf), Count: make([]uint64, ns)}
	for i := range c.Calls {
		c.Calls[i] = binary.LittleEndian.Uint64(b[8*i:])
	}
	for i := range c.Count {
		c.Count[i] = binary.LittleEndian.Uint64(b[8*(nf+i):])
	}
	return c
}

var outcomeRE = regexp.MustCompile(`(?m)^\s*--- (PASS|FAIL|SKIP): (\S+)`)

// testOutcomes maps each test of go test -v output to PASS, FAIL or SKIP.
func testOutcomes(out []byte) map[string]string {
	m := map[string]string{}
	for _, x := range outcomeRE.FindAllSubmatch(out, -1) {
		m[string(x[2])] = string(x[1])
	}
	return m
}

// coverBlock is one block of a cover profile.
type coverBlock struct {
	from, to token.Position // line and column
	count    uint64
}

// readCoverProfile reads a cover profile's blocks, by file (absolute path,
// for the files of package importPath in dir).
func readCoverProfile(t *testing.T, name, importPath, dir string) map[string][]coverBlock {
	t.Helper()
	f, err := os.Open(name)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	re := regexp.MustCompile(`^(.+):(\d+)\.(\d+),(\d+)\.(\d+) \d+ (\d+)$`)
	out := map[string][]coverBlock{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		m := re.FindStringSubmatch(sc.Text())
		if m == nil || !strings.HasPrefix(m[1], importPath+"/") {
			continue
		}
		n := func(i int) int { v, _ := strconv.Atoi(m[i]); return v }
		count, _ := strconv.ParseUint(m[6], 10, 64)
		path := filepath.Join(dir, strings.TrimPrefix(m[1], importPath+"/"))
		out[path] = append(out[path], coverBlock{token.Position{Line: n(2), Column: n(3)}, token.Position{Line: n(4), Column: n(5)}, count})
	}
	if len(out) == 0 {
		t.Fatalf("%s: no blocks of %s", name, importPath)
	}
	return out
}

// blockAt finds the cover block holding pos.
func blockAt(blocks []coverBlock, pos token.Position) (coverBlock, bool) {
	before := func(a, b token.Position) bool { return a.Line < b.Line || a.Line == b.Line && a.Column <= b.Column }
	for _, b := range blocks {
		if before(b.from, pos) && before(pos, b.to) {
			return b, true
		}
	}
	return coverBlock{}, false
}

// listOpeners returns the positions of the statements that open a
// statement list (a body or a case clause) and run each time the list is
// entered, where a line count and a cover block count mean the same: simple
// statements alone on their line, on a line after the list's opening brace
// or colon, with no function literal on the line.
func listOpeners(fset *token.FileSet, f *ast.File) []token.Position {
	starts := map[int]int{} // line -> statements and literals starting there
	ast.Inspect(f, func(n ast.Node) bool {
		switch n.(type) {
		case ast.Stmt, *ast.FuncLit:
			starts[fset.Position(n.Pos()).Line]++
		}
		return true
	})
	var out []token.Position
	open := func(opener token.Pos, list []ast.Stmt) {
		if len(list) == 0 {
			return
		}
		switch list[0].(type) {
		case *ast.AssignStmt, *ast.ExprStmt, *ast.IncDecStmt, *ast.ReturnStmt, *ast.SendStmt, *ast.GoStmt, *ast.DeferStmt:
		default:
			return
		}
		pos := fset.Position(list[0].Pos())
		if fset.Position(opener).Line < pos.Line && starts[pos.Line] == 1 {
			out = append(out, pos)
		}
	}
	ast.Inspect(f, func(n ast.Node) bool {
		switch n := n.(type) {
		case *ast.BlockStmt:
			open(n.Lbrace, n.List)
		case *ast.CaseClause:
			open(n.Colon, n.Body)
		case *ast.CommClause:
			open(n.Colon, n.Body)
		}
		return true
	})
	sort.Slice(out, func(i, j int) bool { return out[i].Line < out[j].Line })
	return out
}

// copyModule copies a module out of the module cache (read-only, and the
// overlay may not replace files there), downloading it if needed.
func copyModule(t *testing.T, modVersion string) string {
	t.Helper()
	cmd := exec.Command("go", "mod", "download", "-json", modVersion)
	cmd.Dir, cmd.Env = t.TempDir(), goEnv()
	out, err := cmd.Output()
	var info struct{ Dir, Error string }
	if jerr := json.Unmarshal(out, &info); err != nil || jerr != nil || info.Dir == "" {
		t.Fatalf("go mod download %s: %v %s (run it once with network)", modVersion, err, info.Error)
	}
	dst := filepath.Join(t.TempDir(), "mod")
	err = filepath.WalkDir(info.Dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(info.Dir, path)
		if d.IsDir() {
			return os.MkdirAll(filepath.Join(dst, rel), 0o755)
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(dst, rel), b, 0o644)
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dst, "go.mod")); err != nil {
		t.Fatal(err)
	}
	return dst
}
