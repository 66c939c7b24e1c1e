package cpubound

import (
	"sync"
	"testing"
)

func TestMul(t *testing.T) {
	a, b := NewMatrix(384, 1), NewMatrix(384, 2)
	c := Mul(a, b)
	if tr := Trace(c); tr < 1e4 || tr > 1e7 {
		t.Errorf("trace %g", tr)
	}
}

func TestSieve(t *testing.T) {
	if n := Sieve(10_000_000); n != 664579 {
		t.Errorf("Sieve: %d primes", n)
	}
}

func TestHash(t *testing.T) {
	b := make([]byte, 1<<24)
	for i := range b {
		b[i] = byte(i * 31)
	}
	if FNV(b) == 0 || HashAll(10_000_000) == 0 {
		t.Error("zero hash")
	}
}

func TestSort(t *testing.T) {
	xs := make([]int, 20000)
	for i := range xs {
		xs[i] = (i * 7919) % 20011
	}
	InsertionSort(xs)
	for i := 1; i < len(xs); i++ {
		if xs[i-1] > xs[i] {
			t.Fatalf("not sorted at %d", i)
		}
	}
}

func TestFib(t *testing.T) {
	if f := Fib(32); f != 2178309 {
		t.Errorf("Fib(32) = %d", f)
	}
}

// TestConcurrent runs the same functions on several goroutines at once.
func TestConcurrent(t *testing.T) {
	var wg sync.WaitGroup
	for g := 0; g < 4; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if Sieve(200_000) != 17984 || Fib(18) != 2584 {
				t.Error("wrong result")
			}
		}()
	}
	wg.Wait()
}
