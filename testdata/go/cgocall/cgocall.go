package cgocall

// static int twice(int x) { return 2 * x; }
import "C"

// Twice sums 2*i for i < n, each through C.
func Twice(n int) int {
	out := 0
	for i := 0; i < n; i++ {
		out += int(C.twice(C.int(i)))
	}
	return out
}
