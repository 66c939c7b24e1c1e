// Command timeline grows and frees memory in steps for the timeline
// sampler's tests. Each step is a line of the profiled function steps that
// runs for about 300 ms, so that many samples fall on it (a loaded machine
// can starve the sampler for a while):
//
//	steps: grow 32 MiB, hold, grow 32 MiB more, free both, hold
//
// Other modes end the run early (panic, exit, kill: spin until killed),
// block it entirely (deadlock, sleep) or count the sampler's allocations
// (quiet).
package main

import (
	"fmt"
	"os"
	"runtime"
	"runtime/debug"
	"time"
)

const step = 300 * time.Millisecond

var sink []byte

// grow allocates n bytes in 1 MiB pieces over d, touching every page, and
// returns them joined in one slice of slices.
func grow(n int, d time.Duration) [][]byte {
	var out [][]byte
	pieces := n >> 20
	for i := 0; i < pieces; i++ {
		b := make([]byte, 1<<20)
		for j := 0; j < len(b); j += 4096 {
			b[j] = 1
		}
		out = append(out, b)
		spin(d / time.Duration(pieces))
	}
	return out
}

// spin keeps a CPU busy for d without allocating.
func spin(d time.Duration) {
	for start := time.Now(); time.Since(start) < d; {
	}
}

// total returns the MiB held by pieces (and so keeps them live until then).
func total(pieces [][]byte) int {
	n := 0
	for _, p := range pieces {
		n += len(p)
	}
	return n >> 20
}

// free drops everything and returns the memory to the OS.
func free() {
	runtime.GC()
	debug.FreeOSMemory()
}

//memlens:profile
func steps() int {
	a := grow(32<<20, step)
	spin(step)
	b := grow(32<<20, step)
	n := total(a) + total(b)
	a, b = nil, nil
	free()
	spin(step)
	return n
}

//memlens:profile
func early(mode string) {
	a := grow(16<<20, step)
	switch mode {
	case "panic":
		var m map[string]int
		m["x"] = len(a)
	case "exit":
		os.Exit(3)
	case "kill":
		for {
			spin(step)
		}
	case "deadlock":
		select {}
	}
}

func main() {
	switch mode := os.Args[1]; mode {
	case "steps":
		fmt.Println(steps())
	case "sleep":
		// Blocked entirely for 1.5 s: the sampler pauses, and the call
		// after starts it again.
		time.Sleep(1500 * time.Millisecond)
		fmt.Println(steps())
	case "quiet":
		// After a warm-up: the sampler's first waits may allocate once in
		// the runtime for each P it lands on (its timer heap, a sudog),
		// never again. Two Ps keep that one-time cost the same on any
		// machine (with 32 it reached 8 allocations); the window is about
		// 100 samples, so one allocation per sample could not hide in it.
		runtime.GOMAXPROCS(2)
		spin(200 * time.Millisecond)
		var m0, m1 runtime.MemStats
		runtime.ReadMemStats(&m0)
		spin(time.Second)
		runtime.ReadMemStats(&m1)
		fmt.Println(m1.Mallocs - m0.Mallocs)
	default:
		early(mode)
	}
}
