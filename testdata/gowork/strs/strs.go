// Package strs is one module of a go.work workspace, without tests: the
// tests of the workspace's other module (use) run Shout.
package strs

import "strings"

// Shout upper-cases the words and ends each with "!".
func Shout(words []string) []string {
	out := make([]string, 0, len(words))
	for _, w := range words {
		out = append(out, strings.ToUpper(w)+"!")
	}
	return out
}
