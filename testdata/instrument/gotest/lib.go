// Package gotest is profiled through go test: targets in the library, in
// its internal tests and in its external test package.
package gotest

import "strings"

//memlens:profile
func Words(s string) []string {
	var out []string
	for _, w := range strings.Fields(s) {
		out = append(out, strings.ToUpper(w))
	}
	return out
}
