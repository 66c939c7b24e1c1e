// Package report uses lib.Count; its one test is the narrowest entry for
// Count.
package report

import (
	"fmt"
	"sort"
	"strings"

	"example.com/memlens/testdata/xpkg/lib"
)

// Top lists the n most frequent words as "word=count".
func Top(words []string, n int) []string {
	counts := lib.Count(words)
	keys := make([]string, 0, len(counts))
	for k := range counts {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool {
		if counts[keys[i]] != counts[keys[j]] {
			return counts[keys[i]] > counts[keys[j]]
		}
		return keys[i] < keys[j]
	})
	var out []string
	for _, k := range keys[:min(n, len(keys))] {
		out = append(out, fmt.Sprintf("%s=%d", k, counts[k]))
	}
	return out
}

// Line joins the words with spaces.
func Line(words []string) string {
	return strings.Join(words, " ")
}
