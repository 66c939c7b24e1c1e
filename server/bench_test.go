package server

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"
)

// The benchmarks measure request latency on a generated 5,000-line Go file
// with a profile loaded for every function, over a real in-process session,
// and report p99 as a custom metric (make bench; the goal is p99 ≤ 5 ms).

const benchFuncs = 500 // 500 functions of 10 lines: 5,000 lines

func benchSession(b *testing.B) (*testClient, string) {
	dir := b.TempDir()
	var src strings.Builder
	src.WriteString("package big\n\n")
	for i := range benchFuncs {
		fmt.Fprintf(&src, "func F%d(n int) []int {\n\txs := make([]int, 0, n)\n\tfor i := 0; i < n; i++ {\n\t\txs = append(xs, i*%d)\n\t}\n\tif len(xs) > 3 {\n\t\txs = xs[:3]\n\t}\n\treturn xs\n}\n", i, i)
	}
	file := filepath.Join(dir, "big.go")
	if err := os.WriteFile(file, []byte(src.String()), 0o644); err != nil {
		b.Fatal(err)
	}
	c, s := newInProcessClient(b)
	c.initialize(dir, true, nil)
	uri := fileURI(file)
	c.didOpen(uri, "go", src.String())
	for i := range benchFuncs {
		loadProfile(b, s, file, src.String(), fmt.Sprintf("F%d", i), map[int]uint64{
			i*10 + 4: 1, i*10 + 5: 1, i*10 + 6: 101, i*10 + 7: 100, i*10 + 9: 1, i*10 + 10: 1, i*10 + 11: 1,
		})
	}
	return c, uri
}

func reportP99(b *testing.B, lat []time.Duration) {
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	if len(lat) > 0 {
		b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds())/1000, "p99-ms")
	}
}

func benchRequest(b *testing.B, request func(c *testClient, uri string, i int)) {
	c, uri := benchSession(b)
	lat := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		t0 := time.Now()
		request(c, uri, i)
		lat = append(lat, time.Since(t0))
	}
	b.StopTimer()
	reportP99(b, lat)
}

// The requests below check only the raw answer, so that decoding it in
// the test client does not count as server latency.

func BenchmarkHover(b *testing.B) {
	benchRequest(b, func(c *testClient, uri string, i int) {
		raw, err := c.call("textDocument/hover", map[string]any{
			"textDocument": map[string]any{"uri": uri}, "position": pos{Line: (i%benchFuncs)*10 + 5, Character: 4},
		})
		if err != nil || !strings.Contains(string(raw), "occurrences") {
			b.Fatalf("hover on a profiled line: %v %.100s", err, raw)
		}
	})
}

func BenchmarkInlayHint(b *testing.B) {
	benchRequest(b, func(c *testClient, uri string, i int) {
		from := (i * 37) % 4950
		raw, err := c.call("textDocument/inlayHint", map[string]any{
			"textDocument": map[string]any{"uri": uri}, "range": rng{Start: pos{Line: from}, End: pos{Line: from + 50}},
		})
		if err != nil || !strings.Contains(string(raw), "×101") {
			b.Fatalf("hints: %v %.100s", err, raw)
		}
	})
}

func BenchmarkCodeLens(b *testing.B) {
	benchRequest(b, func(c *testClient, uri string, i int) {
		raw, err := c.call("textDocument/codeLens", map[string]any{"textDocument": map[string]any{"uri": uri}})
		if err != nil || strings.Count(string(raw), `"Re-profile"`) != benchFuncs {
			b.Fatalf("lenses: %v %.100s", err, raw)
		}
	})
}
