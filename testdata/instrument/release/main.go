// Command release runs loop-free targets, which in counts-only mode give
// their row back at their returns and closing brace instead of by defer
// (see instrument.walker.exits), through every way out: returns on the if's
// line, in switch and select cases, after a labeled switch, bare returns of
// named results, the end of a body without results (after an else-if chain
// that closes with it), function literals, recursion, generics, goroutines
// at once, and panics and runtime.Goexit, which keep their rows: more
// panicking calls than a function has rows, so that its later calls share
// the atomic row. Each probed line of a //memlens:profile function ends in
// "// @N": its count in one run, whatever GOMAXPROCS is; the output is the
// plain build's.
package main

import (
	"fmt"
	"os"
	"runtime"
	"sync"
)

//memlens:profile
func sign(n int) int { // @41006
	if n < 0 { return -1 } // @41006
	if n == 0 { // @21002
		return 0 // @10
	}
	return 1 // @20992
}

//memlens:profile
func kind(v any) (name string) { // @5
	switch v.(type) { // @5
	case int: // @2
		name = "int" // @2
		return // @2
	case string: // @1
		return "string" // @1
	}
	name = "other" // @2
	return // @2
}

//memlens:profile
func pick(a, b chan int) int { // @3
	select { // @3
	case x := <-a: // @2
		return x // @2
	case y := <-b: // @1
		return -y // @1
	}
}

//memlens:profile
func early(n int) string { // @4
Out:
	switch { // @4
	case n > 10: // @1
		break Out // @1
	case n > 5: // @1
		return "big" // @1
	}
	return "small" // @3
}

var trail []string

//memlens:profile
func note(n int) { // @6
	if n == 0 { // @6
		trail = append(trail, "zero") // @1
		return // @1
	} else if n%2 == 0 { // @5
		trail = append(trail, "even") // @3
	} else if n < 0 { trail = append(trail, "negative") }} // @2

//memlens:profile
func adder(k int) func(int) int { // @2
	f := func(x int) int { // @2
		if x > 100 { // @7
			return 100 // @1
		}
		return x + k // @6
	}
	return f // @2
}

//memlens:profile
func fib(n int) int { // @66833
	if n < 2 { // @66833
		return n // @53417
	}
	return fib(n-1) + fib(n-2) // @13416
}

//memlens:profile
func first[T any](xs []T) T { // @2
	return xs[0] // @2
}

// at panics on an index out of range: its calls that do keep their rows.
//
//memlens:profile
func at(xs []int, i int) int { // @300
	v := xs[i] // @300
	return v * 2 // @200
}

//memlens:profile
func leave(done chan<- bool) { // @20
	done <- true // @20
	runtime.Goexit() // @20
}

func main() {
	s := 0
	for i := -3; i < 1000; i++ {
		s += sign(i)
	}
	fmt.Println(s, sign(0)+sign(-9)+sign(9))

	fmt.Println(kind(1), kind("x"), kind(2.5), kind(3), kind(nil))

	a, b := make(chan int, 2), make(chan int, 1)
	a <- 1
	a <- 2
	fmt.Println(pick(a, b), pick(a, b))
	b <- 3
	fmt.Println(pick(a, b))

	fmt.Println(early(20), early(7), early(1), early(0))

	for _, n := range []int{0, 2, 4, 6, -1, 3} {
		note(n)
	}
	fmt.Println(trail)

	add2, add3 := adder(2), adder(3)
	fmt.Println(add2(1), add2(500), add3(4), add3(5), add2(6), add3(7), add2(8))

	fmt.Println(fib(10))
	fmt.Println(first([]int{4, 5}), first([]string{"x"}))

	// 100 panicking calls: more than one P's rows and the pool (with
	// GOMAXPROCS=1), so that calls after them take the shared row; the
	// counts stay exact.
	xs := []int{1, 2, 3}
	sum := 0
	for i := range 300 {
		func() {
			defer func() {
				if recover() != nil {
					sum--
				}
			}()
			sum += at(xs, i%3+1)
		}()
	}
	fmt.Println(sum)

	done := make(chan bool)
	for range 20 {
		go leave(done)
		<-done
	}

	// Goroutines at once in the same functions.
	var wg sync.WaitGroup
	totals := make([]int, 8)
	for g := range totals {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 5000 {
				totals[g] += sign(i-2500) + fib(i%3)
			}
		}()
	}
	wg.Wait()
	fmt.Println(totals)
	os.Exit(0)
}
