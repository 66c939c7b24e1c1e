package confine

import (
	"os"
	"runtime"
	"strings"
	"testing"
)

// outsideBlocks is how many blocks Outside allocates: sampled at rate 1
// the heap profile would record each of them.
const outsideBlocks = 1000

// TestConfine is meant to run under memlens with Target profiled: the
// profiling rate is 1 inside Target only, and the allocations made outside
// it afterwards are sampled at the program's usual rate.
func TestConfine(t *testing.T) {
	if os.Getenv("MEMLENS_DIR") == "" {
		t.Skip("run by memlens, with Target profiled")
	}
	before := runtime.MemProfileRate
	inside := Target(100)
	after := runtime.MemProfileRate
	if inside != 1 || before == 1 || after != before {
		t.Fatalf("MemProfileRate %d before Target, %d inside, %d after; want 1 inside only", before, inside, after)
	}
	Outside(outsideBlocks)
	runtime.GC()
	runtime.GC() // the heap profile publishes a cycle late
	if n := sampledObjects(t, "confine.Outside"); n >= outsideBlocks/10 {
		t.Errorf("the heap profile recorded %d of Outside's %d blocks: sampled as if at rate 1", n, outsideBlocks)
	}
	// Target's blocks, and the growing of sink, were all sampled.
	if n := sampledObjects(t, "confine.Target"); n < 100 {
		t.Errorf("the heap profile recorded %d objects of Target, which allocated at least 100", n)
	}
}

// sampledObjects counts the objects of the heap profile's records whose
// stack has a function whose name ends with fn.
func sampledObjects(t *testing.T, fn string) int64 {
	n, _ := runtime.MemProfile(nil, true)
	recs := make([]runtime.MemProfileRecord, n+50)
	n, ok := runtime.MemProfile(recs, true)
	if !ok {
		t.Fatal("heap profile grew while read")
	}
	var objects int64
	for _, r := range recs[:n] {
		frames := runtime.CallersFrames(r.Stack())
		for {
			f, more := frames.Next()
			if strings.HasSuffix(f.Function, fn) {
				objects += r.AllocObjects
				break
			}
			if !more {
				break
			}
		}
	}
	return objects
}
