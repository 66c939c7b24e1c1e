// Package staircase grows memory in steps and frees it, slowly enough (a
// step every 100 ms) for the memory timeline's samples to find each line:
// the editors' timeline tests profile Climb.
package staircase

import (
	"runtime/debug"
	"time"
)

// Climb holds one more 16 MiB block every step, three steps, then drops
// them all and gives the memory back to the system.
func Climb() int {
	var blocks [][]byte
	for i := 0; i < 3; i++ {
		blocks = append(blocks, touch(make([]byte, 16<<20)))
		time.Sleep(100 * time.Millisecond)
	}
	n := len(blocks)
	blocks = nil
	debug.FreeOSMemory()
	time.Sleep(100 * time.Millisecond)
	return n
}

// touch writes every page of b, so that it counts in the RSS.
func touch(b []byte) []byte {
	for i := 0; i < len(b); i += 4096 {
		b[i] = 1
	}
	return b
}
