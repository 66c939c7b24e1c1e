// Package cpubound is the CPU-bound workload of `make bench`'s probe-cost
// row: integer and float loops with no allocation in the hot paths (matrix
// multiply, a sieve, hashing, a sort and a small recursive function), so
// that the cost of counting every line of every function shows. The bench
// marks every function //memlens:profile in a copy of the package and runs
// its tests plain, with `go test -covermode=count` and `-covermode=atomic`,
// and through memlens --counts-only.
package cpubound

// Matrix is a dense row-major n×n matrix.
type Matrix struct {
	N    int
	Data []float64
}

// NewMatrix returns an n×n matrix whose entries follow a simple pattern.
func NewMatrix(n int, seed float64) *Matrix {
	m := &Matrix{N: n, Data: make([]float64, n*n)}
	for i := 0; i < n; i++ {
		for j := 0; j < n; j++ {
			m.Data[i*n+j] = seed + float64((i*7+j*3)%11)/10
		}
	}
	return m
}

// At returns the entry at row i, column j.
func (m *Matrix) At(i, j int) float64 {
	return m.Data[i*m.N+j]
}

// Mul returns a×b.
func Mul(a, b *Matrix) *Matrix {
	n := a.N
	c := &Matrix{N: n, Data: make([]float64, n*n)}
	for i := 0; i < n; i++ {
		for k := 0; k < n; k++ {
			aik := a.Data[i*n+k]
			row := b.Data[k*n : k*n+n]
			out := c.Data[i*n : i*n+n]
			for j, v := range row {
				out[j] += aik * v
			}
		}
	}
	return c
}

// Trace sums the diagonal through At.
func Trace(m *Matrix) float64 {
	s := 0.0
	for i := 0; i < m.N; i++ {
		s += m.At(i, i)
	}
	return s
}

// Sieve returns the number of primes below n.
func Sieve(n int) int {
	composite := make([]bool, n)
	count := 0
	for i := 2; i < n; i++ {
		if composite[i] {
			continue
		}
		count++
		for j := i * i; j < n; j += i {
			composite[j] = true
		}
	}
	return count
}

// FNV hashes b with 64-bit FNV-1a.
func FNV(b []byte) uint64 {
	h := uint64(14695981039346656037)
	for _, c := range b {
		h ^= uint64(c)
		h *= 1099511628211
	}
	return h
}

// mix is a small finalizer (splitmix64's), called once per element.
func mix(x uint64) uint64 {
	x ^= x >> 30
	x *= 0xbf58476d1ce4e5b9
	x ^= x >> 27
	x *= 0x94d049bb133111eb
	return x ^ x>>31
}

// HashAll mixes 0..n-1 and folds the results.
func HashAll(n int) uint64 {
	var acc uint64
	for i := 0; i < n; i++ {
		acc += mix(uint64(i))
	}
	return acc
}

// InsertionSort sorts xs in place.
func InsertionSort(xs []int) {
	for i := 1; i < len(xs); i++ {
		v := xs[i]
		j := i - 1
		for j >= 0 && xs[j] > v {
			xs[j+1] = xs[j]
			j--
		}
		xs[j+1] = v
	}
}

// Fib is the doubly recursive Fibonacci function.
func Fib(n int) int {
	if n < 2 {
		return n
	}
	return Fib(n-1) + Fib(n-2)
}
