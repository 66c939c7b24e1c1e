package race

import (
	"sync"
	"testing"
)

//memlens:profile
func fanOut(n int) int {
	var wg sync.WaitGroup
	results := make(chan []int, n)
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var xs []int
			for j := range 100 {
				xs = append(xs, j*i)
			}
			results <- xs
		}()
	}
	wg.Wait()
	close(results)
	total := 0
	for xs := range results {
		total += len(xs)
	}
	return total
}

func TestFanOut(t *testing.T) {
	var wg sync.WaitGroup
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 20 {
				if got := fanOut(8); got != 800 {
					t.Errorf("got %d", got)
				}
			}
		}()
	}
	wg.Wait()
}
