// Package lib has no tests of its own: its functions run through the tests
// of the packages that use them (app, report) or through the programs
// cmd/tool and cmd/pairs, which is how memlens finds an entry for them.
package lib

import "strings"

// Join joins words with sep into one string, growing a byte slice. Only
// app's TestRun reaches it.
func Join(words []string, sep string) string {
	var b []byte
	for i, w := range words {
		if i > 0 {
			b = append(b, sep...)
		}
		b = append(b, w...)
	}
	return string(b)
}

// Pairs lists every ordered pair of distinct items as "a-b". Only the
// programs reach it: cmd/tool and cmd/pairs.
func Pairs(items []string) []string {
	out := make([]string, 0, len(items)*(len(items)-1))
	for _, a := range items {
		for _, b := range items {
			if a != b {
				out = append(out, a+"-"+b)
			}
		}
	}
	return out
}

// Count counts the words: app's tests (two) and report's (one) reach it.
func Count(words []string) map[string]int {
	counts := make(map[string]int, len(words))
	for _, w := range words {
		counts[strings.ToLower(w)]++
	}
	return counts
}

// Transformer changes a word.
type Transformer interface {
	Apply(word string) string
}

// Upper is a Transformer that app reaches only through the interface.
type Upper struct{ Prefix string }

// Apply upper-cases the word behind the prefix.
func (u Upper) Apply(word string) string {
	return u.Prefix + strings.ToUpper(word)
}

// Twice is reached only as a function value.
func Twice(word string) string {
	return strings.Repeat(word, 2)
}

// Tally counts the items of one program's input: only cmd/tool reaches it.
func Tally(items []string) map[string]int {
	out := map[string]int{}
	for _, it := range items {
		out[it] += len(it)
	}
	return out
}
