// Package shapes builds labelled grids of shapes: realistic code with loops,
// maps, strings, methods, generics, closures, defer, panic/recover,
// goroutines, labels, goto, switch and select, for memlens to profile.
package shapes

import (
	"fmt"
	"sort"
	"strings"
	"sync"
)

// Shape is one cell's content.
type Shape struct {
	Kind  string
	Size  int
	Label string
}

// Grid is a square grid of shapes.
type Grid struct {
	N     int
	Cells []Shape
	index map[string][]int
}

// NewGrid makes an empty n×n grid.
func NewGrid(n int) *Grid {
	return &Grid{N: n, Cells: make([]Shape, 0, n*n), index: make(map[string][]int)}
}

// Add appends a shape and indexes it by kind.
func (g *Grid) Add(s Shape) {
	g.Cells = append(g.Cells, s)
	g.index[s.Kind] = append(g.index[s.Kind], len(g.Cells)-1)
}

// Len is a value method: how many cells are filled.
func (g Grid) Len() int { return len(g.Cells) }

// Kinds lists the kinds present, sorted.
func (g Grid) Kinds() []string {
	kinds := make([]string, 0, len(g.index))
	for k := range g.index {
		kinds = append(kinds, k)
	}
	sort.Strings(kinds)
	return kinds
}

var kinds = []string{"circle", "square", "triangle"}

// Build fills an n×n grid with shapes and returns it with a summary line.
//
//memlens:profile
func Build(n int) (*Grid, string) {
	g := NewGrid(n)
	counts := map[string]int{}
	for i := 0; i < n*n; i++ {
		kind := kinds[i%len(kinds)]
		label := fmt.Sprintf("%s-%d", kind, i)
		g.Add(Shape{Kind: kind, Size: i, Label: label})
		counts[kind]++
	}
	var b strings.Builder
	for _, k := range g.Kinds() {
		fmt.Fprintf(&b, "%s=%d ", k, counts[k])
	}
	return g, strings.TrimSpace(b.String())
}

// Map applies f to every element: a generic function.
func Map[T, U any](xs []T, f func(T) U) []U {
	out := make([]U, 0, len(xs))
	for _, x := range xs {
		out = append(out, f(x))
	}
	return out
}

// Labels returns the labels of the grid's cells, upper-cased, through a
// generic helper and a closure that captures a prefix.
func Labels(g *Grid, prefix string) []string {
	upper := func(s Shape) string {
		return prefix + strings.ToUpper(s.Label)
	}
	return Map(g.Cells, upper)
}

// SafeDiv divides, turning a division by zero into an error through
// defer and recover.
func SafeDiv(a, b int) (q int, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("recovered: %v", r)
		}
	}()
	q = a / b
	return q, nil
}

// Areas computes shape areas on several goroutines and sums them.
func Areas(g *Grid, workers int) int {
	var wg sync.WaitGroup
	var mu sync.Mutex
	total := 0
	chunk := (len(g.Cells) + workers - 1) / workers
	for w := 0; w < workers; w++ {
		lo, hi := w*chunk, min((w+1)*chunk, len(g.Cells))
		wg.Add(1)
		go func() {
			defer wg.Done()
			sums := make([]int, 0, hi-lo)
			for _, s := range g.Cells[lo:hi] {
				sums = append(sums, area(s))
			}
			mu.Lock()
			for _, v := range sums {
				total += v
			}
			mu.Unlock()
		}()
	}
	wg.Wait()
	return total
}

func area(s Shape) int {
	switch s.Kind {
	case "circle":
		return 3 * s.Size * s.Size
	case "square":
		return s.Size * s.Size
	default:
		return s.Size * s.Size / 2
	}
}

// FirstBig finds the first cell whose size reaches limit, scanning rows
// with a labelled loop, and describes it; goto handles the not-found case.
func FirstBig(g *Grid, limit int) string {
	found := -1
rows:
	for r := 0; r < g.N; r++ {
		for c := 0; c < g.N; c++ {
			i := r*g.N + c
			if i >= len(g.Cells) {
				break rows // a short last row
			}
			if g.Cells[i].Size >= limit {
				found = i
				break rows
			}
		}
	}
	if found < 0 {
		goto none
	}
	return fmt.Sprintf("cell %d: %s", found, g.Cells[found].Label)
none:
	return "none"
}

// Drain collects values from a channel until it closes or done fires.
func Drain(values <-chan int, done <-chan struct{}) []string {
	var out []string
	for {
		select {
		case v, ok := <-values:
			if !ok {
				return out
			}
			out = append(out, fmt.Sprint(v))
		case <-done:
			return out // stopped early
		}
	}
}

// Describe uses a type switch to render any value.
func Describe(v any) string {
	switch x := v.(type) {
	case Shape:
		return "shape " + x.Label
	case *Grid:
		return fmt.Sprintf("grid %dx%d", x.N, x.N)
	case []string:
		return strings.Join(x, ",")
	default:
		return fmt.Sprint(x)
	}
}

// Histogram counts cells per size bucket of width w. No test calls it: it
// has no entry unless one is given.
func Histogram(g *Grid, w int) map[int]int {
	h := make(map[int]int)
	for _, s := range g.Cells {
		h[s.Size/w]++
	}
	return h
}
