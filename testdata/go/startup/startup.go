// Package startup fills its tables in init functions, which the program
// runs while initializing the package: no test calls them, and Go forbids
// calling them, so memlens runs them through an empty generated test.
package startup

import "strconv"

// names and codes are filled by the two init functions below.
var (
	names []string
	codes map[string]int
)

// The first init: 8 names, appended one by one to a slice of capacity 2
// (it grows to 4 and then 8).
func init() {
	names = make([]string, 0, 2)
	for i := 0; i < 8; i++ {
		names = append(names, "n"+strconv.Itoa(i+10))
	}
}

// The second init, in source order after the first, indexes them.
func init() {
	codes = make(map[string]int, len(names))
	for i, n := range names {
		codes[n] = i
	}
}

// Code is what the tests call.
func Code(name string) int {
	return codes[name]
}
