// Package app vendors its dependency (vendor/example.com/memlens/govendor/dep).
package app

import "example.com/memlens/govendor/dep"

// Echo calls the vendored package.
func Echo(s string) string {
	return dep.Twice(s)
}
