// Command memlens profiles memory line by line, for Go and Python, on the
// command line (memlens profile) and in editors (memlens serve, a language
// server on stdio).
//
// This file is the command layer only: it parses arguments and hands the
// work to the runner (profiling) or the server (LSP).
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"
)

const usage = `memlens: line-by-line memory profiles for Go and Python

Usage:
  memlens profile [flags] TARGET [FUNC...] [-- ARGS...]   profile functions and print the table
  memlens plot RESULT.json -o FILE                      chart a saved --json result's timeline (.svg, .png)
  memlens serve                                         run the language server on stdio
  memlens version                                       print the version

Run 'memlens profile -h' for the profile flags.
`

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	os.Exit(run(ctx, os.Args[1:]))
}

// run executes one memlens command and returns the process exit code.
func run(ctx context.Context, args []string) int {
	if len(args) == 0 {
		fmt.Fprint(os.Stderr, usage)
		return 2
	}
	switch args[0] {
	case "profile":
		return profileCommand(ctx, args[1:], programInput(os.Stdin), os.Stdout, os.Stderr)
	case "plot":
		return plotCommand(args[1:], os.Stdout, os.Stderr)
	case "serve":
		return serveCommand(ctx, args[1:])
	case "version":
		fmt.Println("memlens", version)
		return 0
	case "help", "-h", "-help", "--help":
		fmt.Print(usage)
		return 0
	default:
		fmt.Fprintf(os.Stderr, "memlens: unknown command %q\n\n%s", args[0], usage)
		return 2
	}
}
