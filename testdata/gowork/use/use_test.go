package use

import "testing"

func TestLoud(t *testing.T) {
	if got := Loud("hello go work"); got != "HELLO! GO! WORK!" {
		t.Errorf("Loud = %q", got)
	}
}
