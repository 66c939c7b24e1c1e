package report

import (
	"strings"
	"testing"
)

func TestTop(t *testing.T) {
	got := strings.Join(Top(strings.Fields("b a c b a b"), 2), " ")
	if got != "b=3 a=2" {
		t.Errorf("Top = %q", got)
	}
}

// TestEmpty has a namesake in app; it does not reach lib.Count.
func TestEmpty(t *testing.T) {
	if Line(nil) != "" {
		t.Error("words out of nothing")
	}
}
