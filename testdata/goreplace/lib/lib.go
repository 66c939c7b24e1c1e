// Package lib has no tests: the module that requires it, through a replace
// directive to this directory, calls it from its tests.
package lib

import "strings"

// Shout is reached only from the tests of the requiring module.
func Shout(s string) string {
	return strings.ToUpper(s) + "!"
}
