// Command family starts two children of its own, then works until killed,
// so that memlens's cancel and timeout have a whole process tree to end:
// one child stays in the program's process group, the other starts a
// session of its own (setsid) and so leaves the group. Both are the program
// itself, re-executed with the argument "child", which sleeps.
package main

import (
	"fmt"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"time"
)

// Work allocates a little and returns a summary.
func Work(n int) string {
	parts := make([]string, 0, n)
	for i := 0; i < n; i++ {
		parts = append(parts, fmt.Sprint(i))
	}
	return strings.Join(parts, ",")
}

// Forever starts the children, prints "pids=PROGRAM,CHILD,DETACHED" once,
// and works until killed.
func Forever() {
	child := spawn(false)
	detached := spawn(true)
	for i := 0; ; i++ {
		_ = Work(2)
		if i == 0 {
			fmt.Printf("pids=%d,%d,%d\n", os.Getpid(), child, detached)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// spawn starts the program again as a sleeping child and returns its pid.
func spawn(setsid bool) int {
	self, err := os.Executable()
	if err != nil {
		panic(err)
	}
	cmd := exec.Command(self, "child")
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: setsid}
	if err := cmd.Start(); err != nil {
		panic(err)
	}
	return cmd.Process.Pid
}

func main() {
	if len(os.Args) > 1 && os.Args[1] == "child" {
		time.Sleep(time.Hour)
		return
	}
	Forever()
}
