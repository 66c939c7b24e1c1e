package shapes

import (
	"fmt"
	"strings"
	"testing"
)

func TestBuild(t *testing.T) {
	g, summary := Build(4)
	if g.Len() != 16 {
		t.Fatalf("Len = %d, want 16", g.Len())
	}
	if summary != "circle=6 square=5 triangle=5" {
		t.Errorf("summary = %q", summary)
	}
}

func TestLabels(t *testing.T) {
	g, _ := Build(2)
	got := Labels(g, "#")
	if strings.Join(got, " ") != "#CIRCLE-0 #SQUARE-1 #TRIANGLE-2 #CIRCLE-3" {
		t.Errorf("Labels = %v", got)
	}
}

func TestSafeDiv(t *testing.T) {
	for _, tc := range []struct {
		a, b, q int
		err     bool
	}{{7, 2, 3, false}, {1, 0, 0, true}} {
		q, err := SafeDiv(tc.a, tc.b)
		if q != tc.q || (err != nil) != tc.err {
			t.Errorf("SafeDiv(%d, %d) = %d, %v", tc.a, tc.b, q, err)
		}
	}
}

func TestAreas(t *testing.T) {
	g, _ := Build(3)
	// sizes 0..8: circles 0,3,6 -> 3*(0+9+36)=135; squares 1,4,7 -> 1+16+49=66; triangles 2,5,8 -> 2+12+32=46
	if got := Areas(g, 2); got != 247 {
		t.Errorf("Areas = %d, want 247", got)
	}
}

func TestFirstBig(t *testing.T) {
	g, _ := Build(3)
	if got := FirstBig(g, 5); got != "cell 5: triangle-5" {
		t.Errorf("FirstBig = %q", got)
	}
	if got := FirstBig(g, 100); got != "none" {
		t.Errorf("FirstBig = %q", got)
	}
}

func TestDrainAndDescribe(t *testing.T) {
	values := make(chan int, 3)
	values <- 1
	values <- 2
	close(values)
	got := Drain(values, make(chan struct{}))
	if Describe(got) != "1,2" {
		t.Errorf("Drain = %v", got)
	}
	g := NewGrid(2)
	if Describe(g) != "grid 2x2" || Describe(Shape{Label: "x"}) != "shape x" || Describe(3) != "3" {
		t.Error("Describe")
	}
}

func BenchmarkBuild(b *testing.B) {
	for b.Loop() {
		Build(8)
	}
}

func ExampleBuild() {
	_, summary := Build(2)
	fmt.Println(summary)
	// Output: circle=2 square=1 triangle=1
}
