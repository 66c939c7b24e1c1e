package staircase

import "testing"

func TestClimb(t *testing.T) {
	if n := Climb(); n != 3 {
		t.Fatalf("Climb() = %d, want 3", n)
	}
}
