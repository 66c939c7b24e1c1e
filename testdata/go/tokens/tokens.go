// Package tokens splits text into words. Its tests are a fuzz target with a
// seed corpus and a benchmark, so that memlens profiles those themselves.
package tokens

import "strings"

// Words returns the lower-cased words of s.
func Words(s string) []string {
	var out []string
	for _, w := range strings.Fields(s) {
		out = append(out, strings.ToLower(w))
	}
	return out
}
