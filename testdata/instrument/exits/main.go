// Command exits leaves a profiled function by os.Exit, a runtime panic,
// runtime.Goexit (ending in a fatal deadlock), or not at all (until killed).
package main

import (
	"os"
	"runtime"
	"time"
)

var sink []byte

//memlens:profile
func work(mode string) {
	buf := make([]byte, 1<<20)
	sink = buf
	switch mode {
	case "exit":
		os.Exit(3)
	case "panic":
		var m map[string]int
		m["x"] = len(buf)
	case "goexit":
		runtime.Goexit()
	case "kill":
		for {
			sink = make([]byte, 1<<20)
			time.Sleep(10 * time.Millisecond)
		}
	}
}

func main() {
	work(os.Args[1])
}
