// Package app uses lib: its tests are how lib's Join, Count, Upper.Apply
// and Twice get run.
package app

import "example.com/memlens/testdata/xpkg/lib"

// Run transforms every word with t and then f, and joins the results.
func Run(words []string, t lib.Transformer, f func(string) string) string {
	out := make([]string, 0, len(words))
	for _, w := range words {
		out = append(out, f(t.Apply(w)))
	}
	return lib.Join(out, " ")
}

// Summary counts the words.
func Summary(words []string) map[string]int {
	return lib.Count(words)
}
