package runner

import (
	"encoding/binary"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/memlens/memlens/instrument"
)

// writeCounters writes a counters file (format 2, see
// instrument.ReadCounters) for one function with one line slot and one row.
func writeCounters(t *testing.T, dir string, index int, calls uint64) {
	t.Helper()
	words := []uint64{
		0x31544e43534e4c4d, 2, 1, 1, 144, 112, 64, 0, // header: "MLNSCNT1", version 2, 1 function, 1 slot, 144 bytes
		0, 1, 128, 1, 16, 1, // the function: slot 0, 1 line, its row at 128, 16 bytes
		0, 0, // MemMax, IncSum
		calls, calls, // the row: calls, the func line
	}
	b := make([]byte, 8*len(words))
	for i, w := range words {
		binary.LittleEndian.PutUint64(b[8*i:], w)
	}
	if err := os.WriteFile(instrument.CountersFile(dir, index, 1), b, 0o644); err != nil {
		t.Fatal(err)
	}
}

func writeDump(t *testing.T, dir string, index, pid int, at time.Time, reason string, calls, running int) {
	t.Helper()
	s := fmt.Sprintf("memlens-allocs 1\nt %d %s %d %d\nend\n", at.UnixNano(), reason, calls, running)
	if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("allocs-%d-%d", index, pid)), []byte(s), 0o644); err != nil {
		t.Fatal(err)
	}
}

// A stopped run's message says when its allocation figures are not as of
// the end; the real runs are in TestProfileTimeoutAndCancel and
// TestProfileFailureModes.
func TestAllocStaleness(t *testing.T) {
	end := time.Now()
	tests := []struct {
		name  string
		setup func(t *testing.T, dir string)
		want  string // substring; "" = no note
	}{
		{"answered request", func(t *testing.T, dir string) {
			writeCounters(t, dir, 0, 3)
			writeDump(t, dir, 0, 10, end.Add(-20*time.Millisecond), "request", 3, 1)
		}, ""},
		{"exit dump", func(t *testing.T, dir string) {
			writeCounters(t, dir, 0, 3)
			writeDump(t, dir, 0, 10, end.Add(-time.Second), "exit", 3, 0)
		}, ""},
		{"target never ran", func(t *testing.T, dir string) {
			writeCounters(t, dir, 0, 0)
		}, ""},
		{"no dump", func(t *testing.T, dir string) {
			writeCounters(t, dir, 0, 3)
		}, "no allocation figures"},
		{"periodic dump only", func(t *testing.T, dir string) {
			writeCounters(t, dir, 0, 3)
			writeDump(t, dir, 0, 10, end.Add(-1500*time.Millisecond), "periodic", 2, 1)
		}, "allocation figures are as of 1.5s before the end"},
		{"idle dump after the last call", func(t *testing.T, dir string) {
			writeCounters(t, dir, 0, 3)
			writeDump(t, dir, 0, 10, end.Add(-5*time.Second), "idle", 3, 0)
		}, ""},
		{"idle dump, then more calls", func(t *testing.T, dir string) {
			writeCounters(t, dir, 0, 4)
			writeDump(t, dir, 0, 10, end.Add(-5*time.Second), "idle", 3, 0)
		}, "as of 5s before"},
		{"one package of two unanswered", func(t *testing.T, dir string) {
			writeCounters(t, dir, 0, 3)
			writeDump(t, dir, 0, 10, end, "request", 3, 1)
			writeCounters(t, dir, 1, 2)
			writeDump(t, dir, 1, 10, end.Add(-4*time.Second), "periodic", 2, 1)
		}, "as of 4s before"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			tt.setup(t, dir)
			got := allocStaleness(dir, []int{0, 1}, end)
			if (tt.want == "") != (got == "") || !strings.Contains(got, tt.want) {
				t.Errorf("note %q, want %q", got, tt.want)
			}
		})
	}
}
