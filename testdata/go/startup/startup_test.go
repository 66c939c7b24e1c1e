package startup

import "testing"

func TestCode(t *testing.T) {
	if got := Code("n13"); got != 3 {
		t.Fatalf("Code(n13) = %d, want 3", got)
	}
}
