package instrument

import (
	"encoding/binary"
	"errors"
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
	words := []uint64{counterMagic, 1, 1, 2, 7, 3, 4, 100, 200, uint64(1 << 20), ^uint64(0)}
	b := make([]byte, 8*len(words))
	for i, w := range words {
		binary.LittleEndian.PutUint64(b[8*i:], w)
	}
	if err := os.WriteFile(CountersFile(dir, 0), b, 0o644); err != nil {
		t.Fatal(err)
	}
	c, err := ReadCounters(dir, 0)
	if err != nil {
		t.Fatal(err)
	}
	if c.Calls[0] != 7 || c.Count[0] != 3 || c.Count[1] != 4 || c.MemMax[1] != 200 || c.IncSum[0] != 1<<20 || c.IncSum[1] != -1 {
		t.Errorf("counters %+v", c)
	}
	for name, bad := range map[string][]byte{
		"short":     b[:20],
		"magic":     append([]byte("XXXXXXXX"), b[8:]...),
		"truncated": b[:len(b)-8],
	} {
		if err := os.WriteFile(CountersFile(dir, 1), bad, 0o644); err != nil {
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
