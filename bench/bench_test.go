package main

import (
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/pprof/profile"
	"github.com/memlens/memlens/instrument"
)

func ms(n float64) time.Duration { return time.Duration(n * float64(time.Millisecond)) }

func TestMedianAndPercentile(t *testing.T) {
	for _, tc := range []struct {
		in       []time.Duration
		med, p99 time.Duration
	}{
		{nil, 0, 0},
		{[]time.Duration{ms(5)}, ms(5), ms(5)},
		{[]time.Duration{ms(3), ms(1), ms(2)}, ms(2), ms(3)},
		{[]time.Duration{ms(4), ms(1), ms(3), ms(2)}, ms(2.5), ms(4)},
	} {
		if got := median(tc.in); got != tc.med {
			t.Errorf("median(%v) = %v, want %v", tc.in, got, tc.med)
		}
		if got := percentile(tc.in, 99); got != tc.p99 {
			t.Errorf("percentile(%v, 99) = %v, want %v", tc.in, got, tc.p99)
		}
	}
	// Nearest rank: of 1..100 ms, p99 is 99 ms and p50 is 50 ms.
	var hundred []time.Duration
	for i := 100; i >= 1; i-- {
		hundred = append(hundred, ms(float64(i)))
	}
	if got := percentile(hundred, 99); got != ms(99) {
		t.Errorf("p99 of 1..100 ms = %v", got)
	}
	if got := percentile(hundred, 50); got != ms(50) {
		t.Errorf("p50 of 1..100 ms = %v", got)
	}
}

func TestPhaseDurations(t *testing.T) {
	run := timing{wall: ms(1000), phases: []phaseMark{
		{ms(10), "resolving ./workloads"},
		{ms(100), "building example.com/w for go test -run ^(T)$"},
		{ms(600), "running go test -run ^(T)$"},
		{ms(950), "collecting the profile"},
	}}
	got := phaseDurations(run)
	want := map[string]time.Duration{"start": ms(10), "resolving": ms(90), "building": ms(500), "running": ms(350), "collecting": ms(50)}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s = %v, want %v", k, got[k], v)
		}
	}
	if len(got) != len(want) {
		t.Errorf("phases = %v", got)
	}
	if s := medianPhases([]timing{run, run}); s != "start 10.0 ms, resolving 90.0 ms, building 0.50 s, running 0.35 s, collecting 50.0 ms" {
		t.Errorf("medianPhases = %q", s)
	}
	if s := medianPhases([]timing{{wall: ms(5)}}); s != "" {
		t.Errorf("medianPhases without progress = %q", s)
	}
}

func TestParseTestList(t *testing.T) {
	out := "TestFlush\nTestInsert\nBenchmarkNormalize\nExampleForm_NextBoundary\nFuzzX\nok  \tgolang.org/x/text/unicode/norm\t0.020s\n"
	got := strings.Join(parseTestList([]byte(out)), ",")
	if got != "TestFlush,TestInsert,ExampleForm_NextBoundary,FuzzX" {
		t.Errorf("parseTestList = %s", got)
	}
}

func TestParseVmRSS(t *testing.T) {
	for _, tc := range []struct {
		status string
		want   uint64
		err    bool
	}{
		{"Name:\tmemlens\nVmPeak:\t  900 kB\nVmRSS:\t   23456 kB\nRssAnon:\t 1 kB\n", 23456 * 1024, false},
		{"Name:\tzombie\n", 0, true},
		{"VmRSS:\t12 MB\n", 0, true},
		{"VmRSS:\tlots kB\n", 0, true},
	} {
		got, err := parseVmRSS(tc.status)
		if got != tc.want || (err != nil) != tc.err {
			t.Errorf("parseVmRSS(%q) = %d, %v; want %d, error %v", tc.status, got, err, tc.want, tc.err)
		}
	}
}

func TestRSSGrowth(t *testing.T) {
	const mib = 1 << 20
	for _, tc := range []struct {
		name  string
		after []uint64
		want  int64
	}{
		{"sawtooth, no leak", []uint64{28 * mib, 34 * mib, 27 * mib, 30 * mib, 35 * mib, 36 * mib, 29 * mib, 27 * mib, 31 * mib, 33 * mib}, 0},
		{"leak", []uint64{20 * mib, 21 * mib, 22 * mib, 23 * mib, 24 * mib, 25 * mib, 26 * mib, 27 * mib, 28 * mib, 29 * mib}, 5 * mib},
		{"one reading", []uint64{20 * mib}, 0},
	} {
		if got := rssGrowth(tc.after); got != tc.want {
			t.Errorf("%s: growth = %d, want %d", tc.name, got, tc.want)
		}
	}
}

func TestMachineParsers(t *testing.T) {
	cpu := cpuModel(strings.NewReader("processor\t: 0\nvendor_id\t: GenuineIntel\nmodel name\t: Intel(R) Xeon(R) Processor\nmodel name\t: other\n"))
	if cpu != "Intel(R) Xeon(R) Processor" {
		t.Errorf("cpuModel = %q", cpu)
	}
	if got := memTotal("MemTotal:       24683924 kB\nMemFree: 1 kB\n"); got != 24683924*1024 {
		t.Errorf("memTotal = %d", got)
	}
	if got := memTotal("MemFree: 1 kB\n"); got != 0 {
		t.Errorf("memTotal without the line = %d", got)
	}
}

func TestShowArgs(t *testing.T) {
	got := showArgs([]string{"/tmp/memlens-bench-1/memlens", "profile", "--test", "TestX", "/tmp/memlens-bench-1/python/loop.py", "/usr/bin/python3"}, "/tmp")
	if got != "memlens profile --test TestX loop.py /usr/bin/python3" {
		t.Errorf("showArgs = %q", got)
	}
}

func TestFormatting(t *testing.T) {
	for _, tc := range []struct{ got, want string }{
		{seconds(ms(1234)), "1.23 s"},
		{seconds(ms(45.6)), "45.6 ms"},
		{millis(ms(0.213)), "0.21 ms"},
		{millis(ms(150)), "150 ms"},
		{micros(2720 * time.Nanosecond), "2.72 µs"},
		{ratio(3, 2), "1.50×"},
		{ratio(3, 0), "—"},
		{cell("a|b"), `a\|b`},
		{cell(""), "—"},
	} {
		if tc.got != tc.want {
			t.Errorf("got %q, want %q", tc.got, tc.want)
		}
	}
}

func TestPerEvent(t *testing.T) {
	if got := perEvent(ms(1021), ms(21), 400_000); got != 2500*time.Nanosecond {
		t.Errorf("perEvent = %v", got)
	}
	if got := perEvent(ms(20), ms(21), 400_000); got != 0 {
		t.Errorf("perEvent faster than plain = %v", got)
	}
	if got := pythonLineEvents(200_000); got != 400_003 {
		t.Errorf("pythonLineEvents = %d", got)
	}
}

func TestCompareRow(t *testing.T) {
	anchor := []timing{{wall: ms(1000)}, {wall: ms(1100)}, {wall: ms(900)}}
	within := []timing{{wall: ms(1090)}, {wall: ms(1200)}, {wall: ms(1000)}}
	r := compareRow("Go exact mode, whole run", "MapBuild", 1.1, anchor, within, "how")
	if !r.met || r.ratio != "1.09×" || r.anchor != "1.00 s" || r.memlens != "1.09 s" || r.verdict() != "met" {
		t.Errorf("within the goal: %+v", r)
	}
	r = compareRow("Go exact mode, whole run", "MapBuild", 1.1, anchor, []timing{{wall: ms(1500)}}, "how")
	if r.met || r.verdict() != "missed" {
		t.Errorf("over the goal: %+v", r)
	}
}

// The build rows compare CPU time; wall time goes to the detail.
func TestCPURow(t *testing.T) {
	plain := []buildTiming{{wall: ms(3000), cpu: ms(1000)}, {wall: ms(900), cpu: ms(1100)}, {wall: ms(1200), cpu: ms(900)}}
	why := []buildTiming{{wall: ms(5000), cpu: ms(1050)}, {wall: ms(800), cpu: ms(1080)}, {wall: ms(1300), cpu: ms(950)}}
	r := cpuRow("Go build", "shapes", [2][]buildTiming{plain, why}, "how")
	if !r.met || r.ratio != "1.05×" || r.anchor != "1.00 s CPU" || r.memlens != "1.05 s CPU" {
		t.Errorf("within the goal: %+v", r)
	}
	if !strings.Contains(r.detail, "wall time medians: plain 1.20 s, with diagnostics 1.30 s") {
		t.Errorf("detail %q", r.detail)
	}
	r = cpuRow("Go build", "shapes", [2][]buildTiming{plain, {{cpu: ms(1200)}}}, "how")
	if r.met {
		t.Errorf("over the goal: %+v", r)
	}
}

func TestFunctionShare(t *testing.T) {
	target := &profile.Function{ID: 1, Name: "golang.org/x/text/unicode/norm.Form.Transform"}
	other := &profile.Function{ID: 2, Name: "testing.tRunner"}
	inTarget := &profile.Location{ID: 1, Line: []profile.Line{{Function: target}}}
	inOther := &profile.Location{ID: 2, Line: []profile.Line{{Function: other}}}
	p := &profile.Profile{Sample: []*profile.Sample{
		{Location: []*profile.Location{inTarget, inTarget, inOther}, Value: []int64{3, 30}}, // recursion counts once
		{Location: []*profile.Location{inOther}, Value: []int64{7, 70}},
	}}
	if got := functionShare(p, target.Name); got != 0.3 {
		t.Errorf("share = %v, want 0.3", got)
	}
	if got := functionShare(&profile.Profile{}, target.Name); got != 0 {
		t.Errorf("share of an empty profile = %v", got)
	}
}

func TestBigFile(t *testing.T) {
	f := newBigFile(455)
	if n := f.lines(); n < 5000 || n > 5100 {
		t.Errorf("big file has %d lines, want about 5,000", n)
	}
	lines := strings.Split(f.text, "\n")
	for _, i := range []int{0, 1, 9, 454} {
		if want := "func F" + strconv.Itoa(i) + "() []string {"; lines[f.funcLine(i)] != want {
			t.Errorf("line %d = %q, want %q", f.funcLine(i), lines[f.funcLine(i)], want)
		}
	}
}

func TestSelectFigures(t *testing.T) {
	all, err := selectFigures("")
	if err != nil || len(all) != len(figures) || !all["probes"] || all["gonum"] {
		t.Errorf("all = %v, %v; want every group, gonum (opt-in) off", all, err)
	}
	if sel, err := selectFigures("gonum"); err != nil || !sel["gonum"] || len(sel) != 1 {
		t.Errorf("gonum = %v, %v", sel, err)
	}
	sel, err := selectFigures("go, lsp")
	if err != nil || !sel["go"] || !sel["lsp"] || sel["python"] {
		t.Errorf("go,lsp = %v, %v", sel, err)
	}
	if _, err := selectFigures("gpu"); err == nil {
		t.Error("unknown group accepted")
	}
}

func TestMarkdown(t *testing.T) {
	r := &report{
		started: time.Date(2026, 11, 24, 22, 0, 0, 0, time.UTC),
		elapsed: 7 * time.Minute,
		machine: machine{cpu: "Xeon", cores: 2, memBytes: 8 << 30, kernel: "Linux 6.1", goVersion: "go version go1.26.8 linux/amd64", python: "/usr/bin/python3: Python 3.11.2", memoryProfiler: "0.61.0"},
		reps:    3,
		rows: []row{
			{figure: "Go exact mode, whole run", workload: "MapBuild", anchor: "1.00 s", memlens: "1.50 s", ratio: "1.50×", goal: "≤ 1.1×", detail: "how"},
			{figure: "hover latency", workload: "big", memlens: "p99 0.20 ms", goal: "p99 ≤ 5 ms", met: true},
			{figure: "go test -covermode=count (reference, not memlens)", workload: "w", anchor: "1.00 s", memlens: "1.10 s", ratio: "1.10×", goal: "—", reference: true},
		},
		failures: []string{"python: memory_profiler missing\nmore"},
	}
	md := r.markdown()
	for _, want := range []string{
		"- Date: 2026-11-24 22:00 UTC (the run took 7m0s)",
		"- CPU: Xeon, 2 cores",
		"- Memory: 8.00 GiB",
		"| Go exact mode, whole run | MapBuild | 1.00 s | 1.50 s | 1.50× | ≤ 1.1× | missed |",
		"| hover latency | big | — | p99 0.20 ms | — | p99 ≤ 5 ms | met |",
		"| go test -covermode=count (reference, not memlens) | w | 1.00 s | 1.10 s | 1.10× | — | reference |",
		"- python: memory_profiler missing\n",
		"- **Go exact mode, whole run, MapBuild**: how",
	} {
		if !strings.Contains(md, want) {
			t.Errorf("markdown lacks %q:\n%s", want, md)
		}
	}
}

func TestMarkAll(t *testing.T) {
	mod := t.TempDir()
	src := "package p\n\n// A is documented.\nfunc A() int { return 1 }\n\nfunc (T) B() {}\n\ntype T struct{}\n\n//memlens:profile\nfunc C() {}\n"
	for name, body := range map[string]string{"go.mod": "module m\n\ngo 1.22\n", "p/p.go": src, "p/p_test.go": "package p\n\nfunc helper() {}\n"} {
		if err := os.MkdirAll(filepath.Dir(filepath.Join(mod, name)), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(mod, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	n, err := markAll(t.Context(), mod, "./p")
	if err != nil || n != 2 {
		t.Fatalf("markAll: %d, %v; want 2 (C was marked already)", n, err)
	}
	b, _ := os.ReadFile(filepath.Join(mod, "p", "p.go"))
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, "p.go", b, parser.ParseComments)
	if err != nil {
		t.Fatal(err)
	}
	for _, fn := range instrument.FindFuncs(fset, f, "p.go") {
		if !fn.Marked {
			t.Errorf("%s not marked:\n%s", fn.Name, b)
		}
	}
	if b, _ := os.ReadFile(filepath.Join(mod, "p", "p_test.go")); strings.Contains(string(b), "memlens") {
		t.Error("test file marked")
	}
}
