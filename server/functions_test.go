package server

import (
	"os"
	"reflect"
	"strings"
	"testing"
)

func TestFindFunctions(t *testing.T) {
	tests := []struct {
		name, lang, src string
		want            []function
	}{
		{"go", "go", `package p

func Build() {
	_ = 1
}

func (g *Grid[T]) Add(x T) {}

func (g Grid) Len() int { return 0 }

func (*Grid) Reset() {
}

func Map[T any](xs []T) []T {
	return xs
}

func external()
`, []function{
			{Name: "Build", StartLine: 3, DefLine: 3, EndLine: 5},
			{Name: "(*Grid).Add", StartLine: 7, DefLine: 7, EndLine: 7},
			{Name: "Grid.Len", StartLine: 9, DefLine: 9, EndLine: 9},
			{Name: "(*Grid).Reset", StartLine: 11, DefLine: 11, EndLine: 12},
			{Name: "Map", StartLine: 14, DefLine: 14, EndLine: 16},
		}},
		{"go with a syntax error after a function", "go", "package p\n\nfunc A() {\n}\n\nfunc B( {\n", []function{
			{Name: "A", StartLine: 3, DefLine: 3, EndLine: 4},
		}},
		{"python", "python", `import os

@profile
@other(x=")")
def top(a,
        b):
    s = """
def not_a_function():
    pass
"""
    # def also_not():

    def inner():
        return [
    1]
    return inner

class baseExtr:
    def parseList(self):
        x = 1

        y = 2
    async def fetch(self): pass

def last(): return 1
`, []function{
			{Name: "top", StartLine: 3, DefLine: 5, EndLine: 16},
			{Name: "top.<locals>.inner", StartLine: 13, DefLine: 13, EndLine: 15},
			{Name: "baseExtr.parseList", StartLine: 19, DefLine: 19, EndLine: 22},
			{Name: "baseExtr.fetch", StartLine: 23, DefLine: 23, EndLine: 23},
			{Name: "last", StartLine: 25, DefLine: 25, EndLine: 25},
		}},
		// A one-line string goes on past a backslash at the line's end
		// (distutils, scipy): its quote and parenthesis on the next line
		// are the string's, and the function ends where it does.
		{"python string continued by a backslash", "python", `class register:
    def check_metadata(self):
        warn("deprecated, \
              use check (instead", Warning)
        x = 'a\\'
        return x

    def _set_config(self):
        s = "open
        return 1

def after(): pass
`, []function{
			{Name: "register.check_metadata", StartLine: 2, DefLine: 2, EndLine: 6},
			{Name: "register._set_config", StartLine: 8, DefLine: 8, EndLine: 10},
			{Name: "after", StartLine: 12, DefLine: 12, EndLine: 12},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := findFunctions(tt.lang, tt.src)
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got  %+v\nwant %+v", got, tt.want)
			}
		})
	}
}

// TestFindGoFunctionsCached checks that parsing by chunks finds what parsing
// the whole file finds, through edits and across the cases where a chunk
// boundary falls inside a raw string or a comment; and that in a file with
// a syntax error it still finds the functions after the error.
func TestFindGoFunctionsCached(t *testing.T) {
	shapes, err := os.ReadFile("../testdata/go/shapes/shapes.go")
	if err != nil {
		t.Fatal(err)
	}
	versions := []string{
		string(shapes),
		strings.Replace(string(shapes), "\nfunc ", "\n// a comment\n\nfunc ", 1),
		"package p\n\nvar tmpl = `\nfunc Fake() {\n}\n`\n\nfunc Real() {\n}\n",
		"package p\n\n/*\nfunc Commented() {\n}\n*/\nfunc Real() {\n}\n",
		"package p\nfunc A() {}\nfunc A() {}\nfunc (g *G) B() {\n}",
		"",
	}
	var cache goChunks
	for i, src := range versions {
		var got []function
		got, cache = findGoFunctionsCached(src, cache)
		if want := findGoFunctions(src); (len(got) > 0 || len(want) > 0) && !reflect.DeepEqual(got, want) {
			t.Errorf("version %d: by chunks %+v\nwhole file %+v", i, got, want)
		}
	}
	broken := "package p\n\nfunc A() {\n}\n\nfunc B( {\n\nfunc C() {}\n"
	got, _ := findGoFunctionsCached(broken, cache)
	want := []function{{Name: "A", StartLine: 3, DefLine: 3, EndLine: 4}, {Name: "C", StartLine: 8, DefLine: 8, EndLine: 8}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("with a syntax error: %+v, want %+v", got, want)
	}
}
