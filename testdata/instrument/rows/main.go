// Command rows runs targets in every way that takes a different kind of
// counter row: recursion deeper than a P's rows and the pool, more
// goroutines inside one function at once than there are rows, goroutines
// moving between Ps while they hold rows, calls left by recovered panics in
// the middle of a loop body and by runtime.Goexit, many goroutines running
// the same loop. Each probed line of a //memlens:profile function ends in
// "// @N": its count in one run, whatever GOMAXPROCS is.
package main

import (
	"fmt"
	"os"
	"runtime"
	"sync"
)

//memlens:profile
func depth(n int) int { // @101
	if n == 0 { // @101
		return 0 // @1
	}
	s := 0                   // @100
	for i := 0; i < 2; i++ { // @300
		s += i // @200
	}
	return depth(n-1) + s // @100
}

// hold is inside, holding a row, in 300 goroutines at once: more than the
// rows of 64 Ps and the pool.
//
//memlens:profile
func hold(in <-chan struct{}, ready *sync.WaitGroup) int { // @300
	n := 0                   // @300
	for i := 0; i < 3; i++ { // @1200
		n += i // @900
	}
	ready.Done()             // @300
	<-in                     // @300
	runtime.Gosched()        // @300
	for i := 0; i < 3; i++ { // @1200
		n += i // @900
	}
	return n // @300
}

// boom panics in the middle of its loop body's line on its sixth pass.
//
//memlens:profile
func boom(xs []int) (s int) { // @50
	for i := 0; i < 10; i++ { // @300
		s += xs[i] * 2 // @300
	}
	return s // @0
}

//memlens:profile
func quit(done chan<- bool) { // @20
	defer func() { // @20
		done <- true // @20
	}()
	for i := 0; i < 2; i++ { // @40
		if i == 1 { // @40
			runtime.Goexit() // @20
		}
	}
}

//memlens:profile
func spin(n int) int { // @1600
	s := 0                   // @1600
	for i := 0; i < n; i++ { // @1601600
		s += i         // @1600000
		if i%97 == 0 { // @1600000
			runtime.Gosched() // @17600
		}
	}
	return s // @1600
}

func main() {
	fmt.Println(depth(100))

	in := make(chan struct{})
	var ready, done sync.WaitGroup
	sums := make([]int, 300)
	for g := range sums {
		ready.Add(1)
		done.Add(1)
		go func() {
			defer done.Done()
			sums[g] = hold(in, &ready)
		}()
	}
	ready.Wait()
	close(in)
	done.Wait()
	fmt.Println(sums[0], sums[299])

	for range 50 {
		func() {
			defer func() { recover() }()
			boom([]int{1, 2, 3, 4, 5})
		}()
	}

	quitted := make(chan bool)
	for range 20 {
		go quit(quitted)
		<-quitted
	}

	var wg sync.WaitGroup
	total := make([]int, 8)
	for g := range total {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 200 {
				total[g] += spin(1000)
			}
		}()
	}
	wg.Wait()
	fmt.Println(total[0], total[7])
	os.Exit(0)
}
