// Package cgocall has a function in a cgo file: the call graph that finds
// its tests reads cgo's output, whose //line directives name this
// directory's files. Without cgo only this file remains.
package cgocall
