// Command crash ends in the way its first argument names, after doing some
// work first, so that memlens's failure modes have a program to profile:
// panic, exit CODE, kill (SIGKILL from inside), forever (never returns).
package main

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// Work allocates a little and returns a summary; every failure path runs it
// first so that a partial profile has something in it.
func Work(n int) string {
	parts := make([]string, 0, n)
	for i := 0; i < n; i++ {
		parts = append(parts, strconv.Itoa(i))
	}
	return strings.Join(parts, ",")
}

// Panic works, then panics on an out-of-range index.
func Panic(n int) int {
	s := Work(n)
	idx := len(s) + n
	return int(s[idx])
}

// Exit works, then exits with code.
func Exit(code int) {
	fmt.Println(Work(3))
	os.Exit(code)
}

// Kill works, then sends itself SIGKILL.
func Kill() {
	fmt.Println(Work(3))
	syscall.Kill(os.Getpid(), syscall.SIGKILL)
	time.Sleep(time.Minute)
}

// Forever works until killed; after its first round it prints its pid, so
// a test knows it runs and can check the process is gone afterwards.
func Forever() {
	for i := 0; ; i++ {
		_ = Work(2)
		if i == 0 {
			fmt.Printf("pid=%d\n", os.Getpid())
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func main() {
	mode := "panic"
	if len(os.Args) > 1 {
		mode = os.Args[1]
	}
	switch mode {
	case "panic":
		fmt.Println(Panic(5))
	case "exit":
		code := 3
		if len(os.Args) > 2 {
			code, _ = strconv.Atoi(os.Args[2])
		}
		Exit(code)
	case "kill":
		Kill()
	case "forever":
		Forever()
	default:
		fmt.Fprintf(os.Stderr, "crash: unknown mode %q\n", mode)
		os.Exit(2)
	}
}
