// Command mem allocates in known ways: "rss" touches 64 MiB in one line,
// "allocs" prints the TotalAlloc and Mallocs deltas around one call of build.
package main

import (
	"fmt"
	"os"
	"runtime"
	"strconv"
	"strings"
	"time"
)

var sink [][]byte

//memlens:profile
func grow() int {
	b := touch(make([]byte, 64<<20))
	sink = append(sink, b)
	return len(b)
}

func touch(b []byte) []byte {
	for i := 0; i < len(b); i += 4096 {
		b[i] = 1
	}
	return b
}

//memlens:profile
func warm() int { return 1 }

// exact allocates only on its own goroutine, through callees and inlined
// calls: the records must add up to the TotalAlloc delta exactly.
//
//memlens:profile
func exact(n int) int {
	out := make([][]byte, 0, n)
	for i := 0; i < n; i++ {
		out = append(out, make([]byte, 100+i%50))
	}
	m := map[int]string{}
	for i := range 100 {
		m[i] = strconv.Itoa(i) + strings.Repeat("y", i)
	}
	sink = out[:n/2]
	return len(out) + len(m)
}

// build also starts a goroutine, whose descriptor the runtime allocates on
// the system stack, out of reach of attribution.
//
//memlens:profile
func build(n int) int {
	out := make([][]byte, 0, n)
	for i := 0; i < n; i++ {
		out = append(out, make([]byte, 100+i%50))
	}
	s := strconv.Itoa(n) + strings.Repeat("x", 1000)
	done := make(chan int)
	go func() {
		done <- len(fmt.Sprint(out[:3]))
	}()
	keep := out[:n/2]
	sink = keep
	return len(out) + len(s) + <-done
}

// quiet allocates nothing itself.
//
//memlens:profile
func quiet(xs []int) (s int) {
	add := func(v int) { s += v }
	for _, x := range xs {
		if x%2 == 0 {
			add(x)
		} else if x%3 == 0 {
			add(-x)
		}
	}
	return s
}

func main() {
	switch os.Args[1] {
	case "rss":
		fmt.Println(grow())
	case "allocs":
		warm()
		settle()
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		exact(2000)
		runtime.ReadMemStats(&after)
		fmt.Println(after.TotalAlloc-before.TotalAlloc, after.Mallocs-before.Mallocs)
		build(2000)
	case "noalloc":
		xs := []int{1, 2, 3, 4, 5, 6}
		quiet(xs)
		settle()
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		for range 200 {
			quiet(xs)
		}
		runtime.ReadMemStats(&after)
		fmt.Println(after.TotalAlloc-before.TotalAlloc, after.Mallocs-before.Mallocs)
	}
}

// settle lets the runtime's one-time allocations happen before a
// measurement: the GC's workers start, and the probe runtime's watcher
// (started by the first target call) polls once, which grows the timer
// heap of its P.
//
// One P: another would let the watcher wake while main runs, and starting a
// thread for it allocates runtime structures (an m, its g0) at any moment.
func settle() {
	runtime.GOMAXPROCS(1)
	runtime.GC()
	time.Sleep(120 * time.Millisecond)
	runtime.GC()
}
