package app

import "testing"

func TestGreet(t *testing.T) {
	if got := Greet("x"); got != "HI X!" {
		t.Fatalf("Greet = %q", got)
	}
}
