// Command steps grows memory in steps and frees it, for memlens's
// timeline: run fills three batches of 16 MiB (each a call of batch, about
// 160 ms), holding them 150 ms after each, then drops everything and
// returns the memory to the system. With an argument, it ends early
// instead: "panic" panics and "forever" works until killed, each after a
// batch of 8 MiB.
//
//	memlens profile --plot steps.svg ./testdata/go/cmd/steps
package main

import (
	"bytes"
	"fmt"
	"os"
	"runtime"
	"runtime/debug"
	"time"
)

const piece = 1 << 20

// work keeps a CPU busy for d without allocating.
func work(d time.Duration) {
	for start := time.Now(); time.Since(start) < d; {
	}
}

// fill returns a piece of 1 MiB filled with b (so resident), taking 10 ms.
func fill(b byte) []byte {
	p := bytes.Repeat([]byte{b}, piece)
	work(10 * time.Millisecond)
	return p
}

// batch allocates n pieces of 1 MiB over about n × 10 ms, all on one line.
//
//memlens:profile
func batch(n int) [][]byte {
	var out [][]byte
	for i := 0; i < n; i++ {
		out = append(out, fill(byte(i)))
	}
	return out
}

//memlens:profile
func run() int {
	var kept [][]byte
	for round := 0; round < 3; round++ {
		kept = append(kept, batch(16)...)
		work(150 * time.Millisecond)
	}
	n := len(kept)
	kept = nil
	runtime.GC()
	debug.FreeOSMemory()
	work(150 * time.Millisecond)
	return n
}

// early fills one batch, then panics or works until killed.
//
//memlens:profile
func early(mode string) {
	kept := batch(8)
	if mode == "panic" {
		panic(fmt.Sprintf("%d MiB and no way out", len(kept)))
	}
	for {
		work(150 * time.Millisecond)
	}
}

func main() {
	if len(os.Args) > 1 {
		early(os.Args[1])
	}
	fmt.Println(run(), "MiB held at the peak")
}
