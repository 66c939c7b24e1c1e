package gotest_test

import (
	"testing"

	"memlenstest/PKG"
)

//memlens:profile
func TestExternal(t *testing.T) {
	t.Logf("%d", len(gotest.Words("p q")))
	if t.Name() == "" {
		t.Fatal("no name")
	}
}

//memlens:profile
func BenchmarkWords(b *testing.B) {
	for b.Loop() {
		gotest.Words("a b")
	}
}
