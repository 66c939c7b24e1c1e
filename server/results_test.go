package server

import (
	"testing"

	"github.com/memlens/memlens/profile"
)

// TestPickFunctionInFile: a Go package's init functions share their name
// and a run of "init" profiles all of them, across files: the run of the
// lens in yaml.go shows yaml.go's init, not the first one found
// (resolve.go's, whose lines would land on yaml.go's).
func TestPickFunctionInFile(t *testing.T) {
	res := &profile.Result{Functions: []profile.Function{
		{Name: "init", File: "/m/resolve.go", StartLine: 35},
		{Name: "init", File: "/m/resolve.go", StartLine: 86},
		{Name: "init", File: "/m/yaml.go", StartLine: 522},
		{Name: "Unmarshal", File: "/m/yaml.go", StartLine: 89},
	}}
	for _, tc := range []struct {
		name, path string
		want       int // start line; 0: none
	}{
		{"init", "/m/yaml.go", 522},
		{"init", "/m/resolve.go", 35},
		{"init", "/m/other.go", 35}, // by name, as before
		{"Unmarshal", "/m/yaml.go", 89},
		{"Marshal", "/m/yaml.go", 0},
	} {
		got := 0 // none
		if f := pickFunction(res, tc.name, tc.path); f != nil {
			got = f.StartLine
		}
		if got != tc.want {
			t.Errorf("%s in %s: line %d, want %d", tc.name, tc.path, got, tc.want)
		}
	}
}
