// Package escapes holds one case per reason the Go compiler puts a value
// on the heap, for memlens's "why on the heap" explanations: each function
// is small and names the case it shows. The line numbers matter to the
// tests; add new cases at the end.
package escapes

import (
	"fmt"
	"strings"
)

// Point is a generic pair, instantiated with two shapes below.
type Point[T any] struct{ X, Y T }

var keep []any

// Label formats through fmt: its arguments are converted to interfaces
// and passed to a ...any parameter.
func Label(kind string, i int) string {
	return fmt.Sprintf("%s-%d", kind, i)
}

// Counter returns a closure that captures a variable, which moves to
// the heap.
func Counter() func() int {
	n := 0
	return func() int {
		n++
		return n
	}
}

// Keep stores a pointer in a package variable.
func Keep(n int) {
	p := &Point[int]{X: n, Y: n}
	keep = append(keep, p)
}

// Pairs instantiates a generic function with two shapes and keeps what
// it returns.
func Pairs(n int) {
	keep = append(keep, Points(n, 1.5), Points(n, "s"))
}

// Grow allocates nothing that escapes: the slice outgrows its stack
// space as it is appended to.
func Grow(n int) int {
	var s []int
	for i := 0; i < n; i++ {
		s = append(s, i)
	}
	return len(s)
}

// Shout allocates inside a callee only.
func Shout(s string) int {
	return len(strings.ToUpper(s))
}

// Boxed calls an inlined helper, declared after it, whose value escapes
// at Boxed's call site.
func Boxed(n int) *Point[int] {
	return newPoint(n)
}

func newPoint(n int) *Point[int] { return &Point[int]{X: n, Y: -n} }

// Points returns n points at (v, v): one report per shape.
func Points[T any](n int, v T) []Point[T] {
	out := make([]Point[T], 0, n)
	for i := 0; i < n; i++ {
		out = append(out, Point[T]{v, v})
	}
	return out
}

// Channel makes a channel, which the runtime always allocates on the
// heap: the compiler names no value of the line.
func Channel(n int) int {
	ch := make(chan int, n)
	for i := 0; i < n; i++ {
		ch <- i
	}
	return len(ch)
}
