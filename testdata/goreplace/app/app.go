// Package app requires a module replaced by a local directory (../lib).
package app

import "example.com/memlens/goreplace/lib"

// Greet calls into the replaced module.
func Greet(name string) string {
	return lib.Shout("hi " + name)
}
