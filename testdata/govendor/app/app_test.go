package app

import "testing"

func TestEcho(t *testing.T) {
	if got := Echo("ab"); got != "abab" {
		t.Fatalf("Echo = %q", got)
	}
}
