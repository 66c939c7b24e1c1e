// Package broken has a fine function next to a file with a syntax error:
// profiling Fine must report the compiler's error, not crash.
package broken

// Fine is correct; its package is not.
func Fine() []byte {
	return make([]byte, 64)
}
