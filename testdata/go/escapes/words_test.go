package escapes_test

import (
	"strings"
	"testing"
)

// joined lives in the external test package.
func joined(words []string) *string {
	s := strings.Join(words, "+")
	return &s
}

func TestJoined(t *testing.T) {
	if got := *joined([]string{"a", "b"}); got != "a+b" {
		t.Errorf("joined = %q", got)
	}
}
