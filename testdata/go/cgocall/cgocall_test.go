//go:build cgo

package cgocall

import "testing"

func TestTwice(t *testing.T) {
	if got := Twice(4); got != 12 {
		t.Fatalf("Twice(4) = %d, want 12", got)
	}
}
