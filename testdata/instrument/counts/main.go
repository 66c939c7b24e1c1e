// Command counts exercises the statement forms memlens instruments. Each
// probed line of a //memlens:profile function ends in "// @N": the number of
// times the line must be counted in one run.
package main

import (
	"errors"
	"fmt"
	"iter"
	"os"
	"sort"
	"strings"
	"sync"
)

var table = buildTable(4)

//memlens:profile
func buildTable(n int) []int { // @1
	t := make([]int, n) // @1
	for i := range t {  // @5
		t[i] = i * i // @4
	}
	return t // @1
}

var initCount int

//memlens:profile
func init() { // @1
	initCount++ // @1
}

//memlens:profile
func loops(n int) int { // @1
	s := 0                   // @1
	for i := 0; i < n; i++ { // @4
		s += i // @3
	}
	j := 0      // @1
	for j < n { // @4
		j++ // @3
	}
	for { // @3
		j--         // @3
		if j == 0 { // @3
			break // @1
		}
	}
	for k := 0; ; k++ { // @2
		if k == 1 { // @2
			break // @1
		}
	}
	for _, v := range []int{1, 2, 3} { // @4
		s += v // @3
	}
	for i := range n { // @4
		s += i // @3
	}
	for v := range seq(n) { // @4
		s += v // @3
	}
	for i := 0; i < 3; i++ { // @4
		s += i // @3
	}
	return s // @1
}

func seq(n int) iter.Seq[int] {
	return func(yield func(int) bool) {
		for i := range n {
			if !yield(i) {
				return
			}
		}
	}
}

//memlens:profile
func labels(n int) (c int) { // @1
outer:
	for i := 0; i < n; i++ { // @4
		for j := range n { // @9
			if j == i { // @6
				continue outer // @3
			}
			c++ // @3
		}
	}
	i := 0 // @1
loop:
	if i < n { // @4
		i++       // @3
		goto loop // @3
	}
done:
	switch { // @1
	case i > 100: // @0
		break done // @0
	default: // @1
		c += i // @1
	}
	return c // @1
}

//memlens:profile
func classify(x int) string { // @6
	if x < 0 { // @6
		return "neg" // @1
	} else if x == 0 { // @5
		return "zero" // @1
	} else if y := x * 2; y < 20 { // @4
		return "small" // @2
	} else {
		return "big" // @2
	}
}

//memlens:profile
func kinds(xs []any) (n int) { // @1
	for i, x := range xs { // @6
		switch v := x.(type) { // @5
		case int: // @2
			n += v // @2
		case string: // @2
			n += len(v) // @2
		default: // @1
			n-- // @1
		}
		switch i % 3 { // @5
		case 0: // @2
			n++         // @2
			fallthrough // @2
		case 1: // @4
			n++ // @4
		default: // @1
		}
	}
	return n // @1
}

//memlens:profile
func sel() int { // @1
	ch := make(chan int, 1)  // @1
	got := 0                 // @1
	for i := 0; i < 2; i++ { // @3
		select { // @2
		case ch <- i: // @1
			got++ // @1
		case v := <-ch: // @1
			got += v + 10 // @1
		}
	}
	select { // @1
	case v := <-ch: // @0
		got += v // @0
	default: // @1
		got-- // @1
	}
	return got // @1
}

//memlens:profile
func par(n int) int64 { // @1
	var wg sync.WaitGroup    // @1
	var mu sync.Mutex        // @1
	var total int64          // @1
	for i := 0; i < n; i++ { // @5
		wg.Add(1)        // @4
		go func(k int) { // @4
			defer wg.Done()   // @4
			mu.Lock()         // @4
			total += int64(k) // @4
			mu.Unlock()       // @4
		}(i)
	}
	wg.Wait()    // @1
	return total // @1
}

//memlens:profile
func fib(n int) int { // @15
	if n < 2 { // @15
		return n // @8
	}
	return fib(n-1) + fib(n-2) // @7
}

//memlens:profile
func safeDiv(a, b int) (q int, err error) { // @2
	defer func() { // @2
		if r := recover(); r != nil { // @2
			err = fmt.Errorf("recovered: %v", r) // @1
		}
	}()
	q = a / b     // @2
	return q, nil // @1
}

//memlens:profile
func mustPositive(x int) int { // @2
	if x <= 0 { // @2
		panic(errors.New("not positive")) // @1
	}
	return x // @1
}

//memlens:profile
func multi(xs []string) string { // @1
	sort.Slice(xs, func(i, j int) bool { return xs[i] < xs[j] }) // @4
	s := strings.Join(                                           // @1
		xs,
		",",
	)
	const sep = "|"
	type pair struct{ a, b string }
	p := pair{ // @1
		a: s,
		b: sep,
	}
	return p.a + // @1
		p.b
}

//memlens:profile
func one() int { return 1 } // @3

type Grid struct{ cells []int }

//memlens:profile
func (g *Grid) Add(v int) { // @3
	g.cells = append(g.cells, v) // @3
}

//memlens:profile
func (g Grid) Sum() (s int) { // @1
	for _, c := range g.cells { // @4
		s += c // @3
	}
	return // @1
}

type List[T any] struct{ items []T }

//memlens:profile
func (l *List[T]) Push(v T) { // @3
	l.items = append(l.items, v) // @3
}

//memlens:profile
func Map[T, U any](xs []T, f func(T) U) []U { // @2
	out := make([]U, 0, len(xs)) // @2
	for _, x := range xs {       // @5
		out = append(out, f(x)) // @3
	}
	return out // @2
}

func main() {
	var out []string
	add := func(v ...any) { out = append(out, fmt.Sprint(v...)) }
	add(table, initCount)
	add(loops(3), labels(3))
	for _, x := range []int{-1, 0, 1, 5, 10, 20} {
		add(classify(x))
	}
	add(kinds([]any{1, "ab", 2.5, 3, "c"}))
	add(sel(), par(4), fib(5))
	add(safeDiv(6, 3))
	add(safeDiv(1, 0))
	for _, x := range []int{2, -2} {
		func() {
			defer func() { add(recover()) }()
			add(mustPositive(x))
		}()
	}
	add(multi([]string{"c", "a", "b"}), one()+one()+one())
	var g Grid
	g.Add(1)
	g.Add(2)
	g.Add(3)
	add(g.Sum())
	var li List[int]
	li.Push(1)
	li.Push(2)
	var ls List[string]
	ls.Push("x")
	add(li.items, ls.items)
	add(Map([]int{1, 2}, func(i int) string { return fmt.Sprint(i * 10) }))
	add(Map([]string{"q"}, strings.ToUpper))
	fmt.Println(strings.Join(out, "\n"))
	os.Exit(0)
}
