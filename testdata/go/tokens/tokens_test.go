package tokens

import (
	"strings"
	"testing"
)

// FuzzWords runs its three seeds when not fuzzing: 2, 3 and 0 words.
func FuzzWords(f *testing.F) {
	f.Add("Hello World")
	f.Add("a  B\tc")
	f.Add("")
	f.Fuzz(func(t *testing.T, s string) {
		for _, w := range Words(s) {
			if w == "" || w != strings.ToLower(w) || strings.ContainsAny(w, " \t\n") {
				t.Errorf("Words(%q) has %q", s, w)
			}
		}
	})
}

// BenchmarkWords splits 8 words per iteration.
func BenchmarkWords(b *testing.B) {
	text := strings.Repeat("The Quick brown fox ", 2)
	for b.Loop() {
		if len(Words(text)) != 8 {
			b.Fatal("not 8 words")
		}
	}
}
