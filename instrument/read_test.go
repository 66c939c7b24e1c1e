package instrument

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestReadCounters(t *testing.T) {
	dir := t.TempDir()
	if _, err := ReadCounters(dir, 0); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("missing file: %v", err)
	}
	// Two functions: f0 with 1 line slot and 2 rows, f1 with 1 line slot and
	// 3 rows; the rows of each add up.
	words := []uint64{
		counterMagic, counterVersion, 2, 2, 0 /* size */, 160, counterHeader, 0, // header
		0, 1, 192, 2, 16, 1, // f0: slot 0, 1 line, rows at 192, 2 rows of 16 bytes
		1, 1, 224, 3, 16, 1, // f1
		100, 200, uint64(1 << 20), ^uint64(0), // MemMax, IncSum at 160
		5, 1, 2, 2, // f0's rows: calls 5+2, slot 0 1+2
		1, 10, 1, 20, 0, 30, // f1's rows: calls 2, slot 1 60
	}
	words[4] = uint64(8 * len(words))
	b := make([]byte, 8*len(words))
	for i, w := range words {
		binary.LittleEndian.PutUint64(b[8*i:], w)
	}
	if err := os.WriteFile(CountersFile(dir, 0, 10), b, 0o644); err != nil {
		t.Fatal(err)
	}
	c, err := ReadCounters(dir, 0)
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(c.Calls, c.Count, c.MemMax, c.IncSum) != "[7 2] [3 60] [100 200] [1048576 -1]" {
		t.Errorf("counters %+v", c)
	}
	// A second process's file adds up (MemMax: the highest).
	b2 := append([]byte(nil), b...)
	binary.LittleEndian.PutUint64(b2[8*(8+12):], 150)
	if err := os.WriteFile(CountersFile(dir, 0, 11), b2, 0o644); err != nil {
		t.Fatal(err)
	}
	if c, err = ReadCounters(dir, 0); err != nil || fmt.Sprint(c.Calls, c.Count, c.MemMax, c.IncSum) != "[14 4] [6 120] [150 200] [2097152 -2]" {
		t.Errorf("two processes: %+v %v", c, err)
	}
	outside := append([]byte(nil), b...)
	binary.LittleEndian.PutUint64(outside[8*(8+6+3):], 4) // f1: 4 rows
	for name, bad := range map[string][]byte{
		"short":     b[:20],
		"magic":     append([]byte("XXXXXXXX"), b[8:]...),
		"truncated": b[:len(b)-8],
		"version":   append(append([]byte(nil), b[:8]...), append([]byte{1, 0, 0, 0, 0, 0, 0, 0}, b[16:]...)...),
		"outside":   outside,
	} {
		if err := os.WriteFile(CountersFile(dir, 1, 10), bad, 0o644); err != nil {
			t.Fatal(err)
		}
		if _, err := ReadCounters(dir, 1); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
}

func TestReadAllocs(t *testing.T) {
	dir := t.TempDir()
	if recs, err := ReadAllocs(dir, 0); recs != nil || err != nil {
		t.Errorf("no dump: %v %v", recs, err)
	}
	write := func(name, s string) {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("allocs-0-100", "memlens-allocs 1\nr 64 2 32 1 2\nf 12\tmain.f\t/a b/main.go\nf 30\tmain.main\t/a b/main.go\nend\n")
	write("allocs-0-200", "memlens-allocs 1\nend\n")
	write("allocs-0-300.tmp", "garbage")
	write("allocs-10-100", "garbage")
	recs, err := ReadAllocs(dir, 0)
	if err != nil {
		t.Fatal(err)
	}
	want := AllocRecord{AllocBytes: 64, AllocObjects: 2, InUseBytes: 32, InUseObjects: 1,
		Stack: []Frame{{"main.f", "/a b/main.go", 12}, {"main.main", "/a b/main.go", 30}}}
	if len(recs) != 1 || recs[0].AllocBytes != want.AllocBytes || recs[0].InUseObjects != 1 || len(recs[0].Stack) != 2 || recs[0].Stack[1] != want.Stack[1] {
		t.Errorf("records %+v", recs)
	}
	write("allocs-0-200", "memlens-allocs 1\nt 1700000000123456789 request 42 1\nend\n")
	dumps, err := ReadAllocDumps(dir, 0)
	if err != nil || len(dumps) != 2 {
		t.Fatalf("dumps %+v, %v", dumps, err)
	}
	if d := dumps[0]; d.PID != 100 || !d.Time.IsZero() || d.Reason != "" || len(d.Records) != 1 {
		t.Errorf("dump without a t line: %+v", d)
	}
	if d := dumps[1]; d.PID != 200 || d.Time.UnixNano() != 1700000000123456789 || d.Reason != "request" || d.Calls != 42 || d.Running != 1 || len(d.Records) != 0 {
		t.Errorf("dump with a t line: %+v", d)
	}
	os.Remove(filepath.Join(dir, "allocs-0-100"))
	if recs, err := ReadAllocs(dir, 0); err != nil || recs == nil || len(recs) != 0 {
		t.Errorf("empty dump: %v %v", recs, err)
	}
	for name, bad := range map[string]string{
		"header":   "nope\n",
		"no end":   "memlens-allocs 1\nr 1 1 1 1 0\n",
		"bad line": "memlens-allocs 1\nx\nend\n",
		"orphan":   "memlens-allocs 1\nf 1\ta\tb\nend\n",
		"bad int":  "memlens-allocs 1\nr 1 z 1 1 0\nend\n",
		"bad time": "memlens-allocs 1\nt soon exit 1 0\nend\n",
		"short t":  "memlens-allocs 1\nt 1 exit\nend\n",
		"late t":   "memlens-allocs 1\nr 1 1 1 1 0\nt 1 exit 1 0\nend\n",
	} {
		write("allocs-0-200", bad)
		if _, err := ReadAllocs(dir, 0); err == nil || !strings.Contains(err.Error(), "allocs-0-200") {
			t.Errorf("%s: error %v", name, err)
		}
	}
}
