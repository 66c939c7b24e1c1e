// Package dep is vendored into app: go list ./... leaves it out, and it
// has no tests of its own.
package dep

import "strings"

// Twice is reached only from app's tests.
func Twice(s string) string {
	return strings.Repeat(s, 2)
}
