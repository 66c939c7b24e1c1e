package app

import (
	"testing"

	"example.com/memlens/testdata/xpkg/lib"
)

func TestRun(t *testing.T) {
	got := Run([]string{"go", "memory", "lens"}, lib.Upper{Prefix: "+"}, lib.Twice)
	if got != "+GO+GO +MEMORY+MEMORY +LENS+LENS" {
		t.Errorf("Run = %q", got)
	}
}

func TestSummary(t *testing.T) {
	if n := Summary([]string{"a", "B", "b"})["b"]; n != 2 {
		t.Errorf("b counted %d times", n)
	}
}

// TestEmpty has a namesake in report: --test TestEmpty needs --in.
func TestEmpty(t *testing.T) {
	if len(Summary(nil)) != 0 {
		t.Error("words out of nothing")
	}
}
