package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"

	"github.com/memlens/memlens/server"
)

// serveCommand implements `memlens serve [-log FILE]`: the language server
// on stdin/stdout. Logs go to stderr, or to FILE.
func serveCommand(ctx context.Context, args []string) int {
	fs := flag.NewFlagSet("memlens serve", flag.ContinueOnError)
	logFile := fs.String("log", "", "write the server log to `FILE` instead of stderr")
	_ = fs.Bool("stdio", true, "speak LSP on stdin/stdout (the only transport; accepted for editors that pass it)")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	log, closeLog, err := server.NewLogger(*logFile)
	if err != nil {
		fmt.Fprintf(os.Stderr, "memlens serve: %v\n", err)
		return 1
	}
	defer closeLog()
	if err := server.Serve(ctx, stdio{}, log); err != nil {
		log.Error("session ended", "error", err)
		return 1
	}
	return 0
}

// stdio joins stdin and stdout into the server's stream.
type stdio struct{}

func (stdio) Read(p []byte) (int, error)  { return os.Stdin.Read(p) }
func (stdio) Write(p []byte) (int, error) { return os.Stdout.Write(p) }
func (stdio) Close() error {
	errIn := os.Stdin.Close()
	if err := os.Stdout.Close(); err != nil {
		return err
	}
	return errIn
}

var _ io.ReadWriteCloser = stdio{}
