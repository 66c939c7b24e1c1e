// Package confine lets memlens show that exact allocation sampling is
// confined to the profiled function: Target runs with every allocation
// sampled, Outside, called by the same test right after, does not.
package confine

import "runtime"

var sink [][]byte

// Target allocates n blocks of 4000 B and returns the heap profiling rate
// it ran under.
func Target(n int) int {
	for i := 0; i < n; i++ {
		sink = append(sink, make([]byte, 4000))
	}
	return runtime.MemProfileRate
}

// Outside allocates n blocks of 5000 B.
func Outside(n int) {
	for i := 0; i < n; i++ {
		sink = append(sink, make([]byte, 5000))
	}
	sink = nil
}
