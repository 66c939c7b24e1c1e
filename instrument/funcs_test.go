package instrument

import (
	"fmt"
	"go/parser"
	"go/token"
	"slices"
	"testing"
)

const funcsSrc = `package grid

import "testing"

// Build builds.
//
//memlens:profile
func Build(n int) {}

type Grid struct{}

func (g Grid) Add(a, b int) {}

//memlens:profile extra words
func (g *Grid) Scale(x float64) {}

type List[T any] struct{}

func (l *List[T]) Push(v T) {}

func (l List[T]) Len() int { return 0 }

type Pair[K comparable, V any] struct{}

func (p *Pair[K, V]) Set(k K, v V) {}

func Map[T any](xs []T) {}

func TestBuild(t *testing.T) {}

func Test(t *testing.T) {}

func Testify(t *testing.T) {}

func TestMain(m *testing.M) {}

func TestWrong(x int) {}

func BenchmarkBuild(b *testing.B) {}

func FuzzBuild(f *testing.F) {}

func ExampleBuild() {}

func Example_suffix() {}

func ExampleArgs(x int) {}

func init() {}

// not marked: //memlens:profile is not a line of its own
func bodyless()

func multi(
	a int,
	b, c string,
) (int, error) {
	return 0, nil
}
`

func TestFindFuncs(t *testing.T) {
	for _, file := range []string{"/src/grid/grid.go", "/src/grid/grid_test.go"} {
		fset := token.NewFileSet()
		f, err := parser.ParseFile(fset, file, funcsSrc, parser.ParseComments)
		if err != nil {
			t.Fatal(err)
		}
		got := map[string]Func{}
		var order []string
		for _, fn := range FindFuncs(fset, f, file) {
			got[fn.Name] = fn
			order = append(order, fn.Name)
			if fn.File != file || fn.Package != "grid" {
				t.Errorf("%s: file %s package %s", fn.Name, fn.File, fn.Package)
			}
		}
		wantOrder := "[Build Grid.Add (*Grid).Scale (*List).Push List.Len (*Pair).Set Map TestBuild Test Testify TestMain TestWrong BenchmarkBuild FuzzBuild ExampleBuild Example_suffix ExampleArgs init multi]"
		if fmt.Sprint(order) != wantOrder {
			t.Errorf("order %v\nwant  %s", order, wantOrder)
		}
		test := file == "/src/grid/grid_test.go"
		kind := func(k string) string {
			if test {
				return k
			}
			return ""
		}
		for _, tc := range []struct {
			name string
			want Func
		}{
			{"Build", Func{Name: "Build", StartLine: 8, EndLine: 8, Marked: true, NumParams: 1}},
			{"Grid.Add", Func{Name: "Grid.Add", Recv: "Grid", StartLine: 12, EndLine: 12, NumParams: 2}},
			{"(*Grid).Scale", Func{Name: "(*Grid).Scale", Recv: "Grid", StartLine: 15, EndLine: 15, Marked: true, NumParams: 1}},
			{"(*List).Push", Func{Name: "(*List).Push", Recv: "List", StartLine: 19, EndLine: 19, NumParams: 1, Generic: true}},
			{"List.Len", Func{Name: "List.Len", Recv: "List", StartLine: 21, EndLine: 21, Generic: true}},
			{"(*Pair).Set", Func{Name: "(*Pair).Set", Recv: "Pair", StartLine: 25, EndLine: 25, NumParams: 2, Generic: true}},
			{"Map", Func{Name: "Map", StartLine: 27, EndLine: 27, NumParams: 1, Generic: true}},
			{"TestBuild", Func{Name: "TestBuild", StartLine: 29, EndLine: 29, NumParams: 1, TestKind: kind("Test")}},
			{"Test", Func{Name: "Test", StartLine: 31, EndLine: 31, NumParams: 1, TestKind: kind("Test")}},
			{"Testify", Func{Name: "Testify", StartLine: 33, EndLine: 33, NumParams: 1}},
			{"TestMain", Func{Name: "TestMain", StartLine: 35, EndLine: 35, NumParams: 1}},
			{"TestWrong", Func{Name: "TestWrong", StartLine: 37, EndLine: 37, NumParams: 1}},
			{"BenchmarkBuild", Func{Name: "BenchmarkBuild", StartLine: 39, EndLine: 39, NumParams: 1, TestKind: kind("Benchmark")}},
			{"FuzzBuild", Func{Name: "FuzzBuild", StartLine: 41, EndLine: 41, NumParams: 1, TestKind: kind("Fuzz")}},
			{"ExampleBuild", Func{Name: "ExampleBuild", StartLine: 43, EndLine: 43, TestKind: kind("Example")}},
			{"Example_suffix", Func{Name: "Example_suffix", StartLine: 45, EndLine: 45, TestKind: kind("Example")}},
			{"ExampleArgs", Func{Name: "ExampleArgs", StartLine: 47, EndLine: 47, NumParams: 1}},
			{"init", Func{Name: "init", StartLine: 49, EndLine: 49}},
			{"multi", Func{Name: "multi", StartLine: 54, EndLine: 59, NumParams: 3}},
		} {
			fn := got[tc.name]
			tc.want.File, tc.want.Package = file, "grid"
			if fn != tc.want {
				t.Errorf("%s (%s):\n got %+v\nwant %+v", tc.name, file, fn, tc.want)
			}
		}
	}
}

func TestMatches(t *testing.T) {
	plain := Func{Name: "Build", Package: "grid"}
	value := Func{Name: "Grid.Add", Recv: "Grid", Package: "grid"}
	ptr := Func{Name: "(*Grid).Add", Recv: "Grid", Package: "grid"}
	generic := Func{Name: "(*List).Push", Recv: "List", Package: "grid", Generic: true}
	for _, tc := range []struct {
		fn   Func
		name string
		want bool
	}{
		{plain, "Build", true},
		{plain, "grid.Build", true},
		{plain, "github.com/x/grid.Build", true},
		{plain, "other.Build", false},
		{plain, "Grid.Build", false},
		{plain, "Buil", false},
		{plain, "", false},
		{plain, ".Build", false},
		{value, "Grid.Add", true},
		{value, "(*Grid).Add", true},
		{value, "*Grid.Add", true},
		{value, "grid.Grid.Add", true},
		{value, "grid.(*Grid).Add", true},
		{value, "Add", false},
		{value, "Other.Add", false},
		{value, "x.Grid.Add", false},
		{ptr, "Grid.Add", true},
		{ptr, "(*Grid).Add", true},
		{ptr, " *Grid.Add ", true},
		{ptr, "Add", false},
		{generic, "(*List).Push", true},
		{generic, "(*List[T]).Push", true},
		{generic, "List[int].Push", true},
		{generic, "List.Pop", false},
	} {
		if got := tc.fn.Matches(tc.name); got != tc.want {
			t.Errorf("%s.Matches(%q) = %v", tc.fn.Name, tc.name, got)
		}
	}
}

// TestRuntimeImports lists the probe runtime's imports, the timeline's
// included: the packages that cannot be instrumented.
func TestRuntimeImports(t *testing.T) {
	got := RuntimeImports()
	for _, want := range []string{"os", "runtime", "runtime/metrics", "strconv", "sync", "unsafe"} {
		if !slices.Contains(got, want) {
			t.Errorf("%q lacks %s", got, want)
		}
	}
	if !slices.IsSorted(got) {
		t.Errorf("%q is not sorted", got)
	}
}
