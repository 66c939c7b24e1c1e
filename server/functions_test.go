package server

import (
	"reflect"
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
