package confine_test

import (
	"strings"
	"testing"
)

// shout lives in the external test package: memlens profiles it there.
func shout(words []string) string {
	var b strings.Builder
	for _, w := range words {
		b.WriteString(strings.ToUpper(w))
		b.WriteByte('!')
	}
	return b.String()
}

func TestShout(t *testing.T) {
	if got := shout([]string{"a", "bc", "def"}); got != "A!BC!DEF!" {
		t.Errorf("shout: %q", got)
	}
}
