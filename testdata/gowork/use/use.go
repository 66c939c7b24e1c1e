// Package use is the workspace module that calls strs.
package use

import (
	"strings"

	"example.com/memlens/gowork/strs"
)

// Loud shouts a sentence.
func Loud(sentence string) string {
	return strings.Join(strs.Shout(strings.Fields(sentence)), " ")
}
