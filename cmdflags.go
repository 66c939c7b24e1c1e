package main

import (
	"errors"
	"flag"
)

// parseInterspersed parses args with fs, flags before or after the
// positional arguments, and returns the positional ones. When parsing ends
// the command (-h, or a bad flag, which fs reports), ok is false and exit is
// the command's exit code: 0 for -h, 2 otherwise.
func parseInterspersed(fs *flag.FlagSet, args []string) (positional []string, exit int, ok bool) {
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return nil, 0, false
			}
			return nil, 2, false
		}
		if fs.NArg() == 0 {
			return positional, 0, true
		}
		positional = append(positional, fs.Arg(0))
		args = fs.Args()[1:]
	}
}
