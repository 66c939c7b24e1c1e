package escapes

import "testing"

func TestCases(t *testing.T) {
	if got := Label("box", 3); got != "box-3" {
		t.Errorf("Label = %q", got)
	}
	c := Counter()
	c()
	if c() != 2 {
		t.Error("Counter")
	}
	Keep(4)
	Pairs(3)
	if len(keep) != 3 {
		t.Errorf("keep has %d values", len(keep))
	}
	if Grow(100) != 100 {
		t.Error("Grow")
	}
	if Shout("abc") != 3 {
		t.Error("Shout")
	}
	if p := Boxed(2); p.Y != -2 {
		t.Error("Boxed")
	}
	if Channel(3) != 3 {
		t.Error("Channel")
	}
}
