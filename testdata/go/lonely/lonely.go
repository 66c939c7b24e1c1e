// Package lonely has no tests at all: memlens runs Squares through a test
// that it generates and that exists only in the build overlay.
package lonely

import "strconv"

// Sink keeps Squares' strings alive, so that their allocations stay.
var Sink []string

// Squares takes no parameters and no test calls it. It sums the squares of
// 1..10 and keeps them as strings: 10 iterations, a slice that grows from 4
// to 16 elements, and strconv.Itoa(100), the one square not in strconv's
// table of small numbers.
func Squares() int {
	out := make([]string, 0, 4)
	total := 0
	for i := 1; i <= 10; i++ {
		total += i * i
		out = append(out, strconv.Itoa(i*i))
	}
	Sink = out
	return total
}
