package main

import (
	"context"
	"fmt"
	"os"
)

// serveCommand runs the language server on stdio (being written: issue 4).
func serveCommand(ctx context.Context, args []string) int {
	fmt.Fprintln(os.Stderr, "memlens serve: not yet implemented")
	return 1
}
