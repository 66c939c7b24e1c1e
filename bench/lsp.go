package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/memlens/memlens/profile"
)

// Goals of the language server figures.
const (
	goalClickToHints = 1500 * time.Millisecond
	// goalCrossPackageClick is click → hints where the entry search finds
	// another package's tests (issue 9).
	goalCrossPackageClick = 3 * time.Second
	goalRequestP99        = 5 * time.Millisecond
	goalIdleRSS           = 40 << 20
	// rssGrowthSlack is what "no growth" tolerates between the first and the
	// tenth profile: the Go heap breathes by a few hundred KiB between GCs.
	rssGrowthSlack = 2 << 20
)

// lspFigures runs the three server figures, each on its own session of a
// real `memlens serve` over pipes.
func lspFigures(ctx context.Context, e *env) ([]row, error) {
	clicks, err := clickToHints(ctx, e)
	if err != nil {
		return nil, fmt.Errorf("click → hints: %w", err)
	}
	rows, err := bigFileSession(ctx, e)
	return append(clicks, rows...), err
}

// clickTarget is a function whose "Profile memory" lens a click figure
// clicks.
type clickTarget struct {
	file, fn, workload, figure string
	goal                       time.Duration
}

// clickTargets are clicked side by side in one session: a function run by
// its own package's tests, and one run by another package's tests, found
// by the module-wide entry search (issue 9).
var clickTargets = []clickTarget{
	{"shapes/shapes.go", "Build", "shapes.Build (testdata/go)", "click → hints, warm build", goalClickToHints},
	{"xpkg/lib/lib.go", "Join", "xpkg/lib.Join, run by xpkg/app's TestRun (testdata/go)", "click → hints, warm, entry in another package", goalCrossPackageClick},
}

// clickToHints times what a user waits for after clicking "Profile memory"
// on each clickTarget in testdata/go: executeCommand, the server's
// workspace/inlayHint/refresh, then the inlayHint request answered with the
// hints. The clicks alternate between the targets; the first click of each
// warms the build cache (and the server's call graph) and is not timed.
func clickToHints(ctx context.Context, e *env) ([]row, error) {
	root := filepath.Join(e.root, "testdata", "go")
	c, err := startServer(ctx, e.memlens, root, filepath.Join(e.tmp, "click.log"))
	if err != nil {
		return nil, err
	}
	defer c.close(ctx)
	if err := c.initialize(ctx, root); err != nil {
		return nil, err
	}
	clicks := make([]func() (time.Duration, error), len(clickTargets))
	for i, ct := range clickTargets {
		file := filepath.Join(root, ct.file)
		src, err := os.ReadFile(file)
		if err != nil {
			return nil, err
		}
		uri := fileURI(file)
		if err := c.didOpen(uri, "go", string(src)); err != nil {
			return nil, err
		}
		lines := strings.Count(string(src), "\n") + 1
		clicks[i] = func() (time.Duration, error) {
			t0 := time.Now()
			if err := c.profileFunction(ctx, uri, ct.fn); err != nil {
				return 0, err
			}
			n, err := inlayHints(ctx, c, uri, 0, lines)
			d := time.Since(t0)
			if err == nil && n == 0 {
				err = fmt.Errorf("no inlay hints after profiling %s", ct.fn)
			}
			return d, err
		}
		if _, err := clicks[i](); err != nil { // warm-up
			return nil, err
		}
	}
	n := max(5, 2*e.reps)
	logf("  click → hints: %d× each of %d functions, alternating", n, len(clickTargets))
	ds := make([][]time.Duration, len(clickTargets))
	for range n {
		for i, click := range clicks {
			d, err := click()
			if err != nil {
				return nil, err
			}
			ds[i] = append(ds[i], d)
		}
	}
	var rows []row
	for i, ct := range clickTargets {
		m := median(ds[i])
		rows = append(rows, row{
			figure:   ct.figure,
			workload: ct.workload,
			memlens:  fmt.Sprintf("%s (max %s)", seconds(m), seconds(percentile(ds[i], 100))),
			goal:     "≤ " + seconds(ct.goal),
			met:      m <= ct.goal,
			detail: fmt.Sprintf("`memlens serve` over pipes: workspace/executeCommand memlens.profile → workspace/inlayHint/refresh → textDocument/inlayHint answered with hints; median of %d clicks after a warm-up click, alternating with the other click rows",
				n),
		})
	}
	return rows, nil
}

// inlayHints asks for the hints of lines [from, to) and counts them.
func inlayHints(ctx context.Context, c *lspClient, uri string, from, to int) (int, error) {
	raw, err := c.call(ctx, "textDocument/inlayHint", map[string]any{
		"textDocument": map[string]any{"uri": uri},
		"range":        lspRange(from, to),
	})
	if err != nil {
		return 0, err
	}
	var hints []json.RawMessage
	if err := json.Unmarshal(raw, &hints); err != nil {
		return 0, fmt.Errorf("inlayHint answer: %v", err)
	}
	return len(hints), nil
}

func lspRange(from, to int) map[string]any {
	return map[string]any{
		"start": map[string]any{"line": from, "character": 0},
		"end":   map[string]any{"line": to, "character": 0},
	}
}

// bigFile is a generated Go file of about 5,000 lines: funcs parameterless
// functions of 11 lines each (memlens runs them from a generated test).
type bigFile struct {
	funcs int
	text  string
}

const bigFileHeader = "package big\n\nimport \"strconv\"\n\n"

// bigFileFuncLines is how many lines each function of the big file takes,
// the blank line after it included.
const bigFileFuncLines = 11

func newBigFile(funcs int) bigFile {
	var b strings.Builder
	b.WriteString(bigFileHeader)
	for i := range funcs {
		fmt.Fprintf(&b, `func F%d() []string {
	xs := make([]string, 0, 4)
	for i := 0; i < 100; i++ {
		xs = append(xs, strconv.Itoa(i*%d))
	}
	if len(xs) > 3 {
		xs = xs[:3]
	}
	return xs
}

`, i, i)
	}
	return bigFile{funcs: funcs, text: b.String()}
}

// funcLine is the 0-based line of the first line of function i.
func (bigFile) funcLine(i int) int {
	return strings.Count(bigFileHeader, "\n") + i*bigFileFuncLines
}

func (f bigFile) lines() int { return strings.Count(f.text, "\n") }

// bigFileSession opens a 5,000-line file in a fresh server, reads the
// server's RSS idle, profiles 10 of its functions reading the RSS after
// each, then times hover, inlayHint and codeLens with those profiles loaded.
func bigFileSession(ctx context.Context, e *env) ([]row, error) {
	dir := filepath.Join(e.tmp, "big")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	big := newBigFile(455)
	file := filepath.Join(dir, "big.go")
	if err := os.WriteFile(filepath.Join(dir, "go.mod"), []byte("module example.com/big\n\ngo 1.22\n"), 0o644); err != nil {
		return nil, err
	}
	if err := os.WriteFile(file, []byte(big.text), 0o644); err != nil {
		return nil, err
	}
	c, err := startServer(ctx, e.memlens, dir, filepath.Join(e.tmp, "big.log"))
	if err != nil {
		return nil, err
	}
	defer c.close(ctx)
	if err := c.initialize(ctx, dir); err != nil {
		return nil, err
	}
	uri := fileURI(file)
	if err := c.didOpen(uri, "go", big.text); err != nil {
		return nil, err
	}
	if _, err := c.call(ctx, "textDocument/codeLens", map[string]any{"textDocument": map[string]any{"uri": uri}}); err != nil {
		return nil, err
	}
	time.Sleep(time.Second) // let start-up garbage settle
	idle, err := processRSS(c.cmd.Process.Pid)
	if err != nil {
		return nil, err
	}

	const profiles = 10
	logf("  server: %d profiles of a %d-line file", profiles, big.lines())
	var after []uint64
	for i := range profiles {
		if err := c.profileFunction(ctx, uri, "F"+strconv.Itoa(i)); err != nil {
			return nil, fmt.Errorf("profile F%d: %w", i, err)
		}
		if n, err := inlayHints(ctx, c, uri, big.funcLine(i), big.funcLine(i+1)); err != nil || n == 0 {
			return nil, fmt.Errorf("profile F%d: %d hints, %v", i, n, err)
		}
		rss, err := processRSS(c.cmd.Process.Pid)
		if err != nil {
			return nil, err
		}
		after = append(after, rss)
	}
	growth := rssGrowth(after)
	rows := []row{
		{
			figure:   "server resident memory, idle",
			workload: fmt.Sprintf("%d-line Go file open", big.lines()),
			memlens:  profile.Bytes(int64(idle)),
			goal:     "≤ 40 MiB",
			met:      idle <= goalIdleRSS,
			detail:   "VmRSS of the `memlens serve` process after initialize, didOpen and a codeLens request, 1 s later",
		},
		{
			figure:   "server resident memory, after 10 profiles",
			workload: fmt.Sprintf("F0…F%d of the same file", profiles-1),
			memlens:  fmt.Sprintf("%s (peak %s, growth %s)", profile.Bytes(int64(after[len(after)-1])), profile.Bytes(int64(slices.Max(after))), profile.SignedBytes(growth)),
			goal:     "no growth",
			met:      growth <= rssGrowthSlack,
			detail: fmt.Sprintf("VmRSS after each profile: %s; the Go heap saws up and down by several MiB between collections, so growth is the floor of the last five readings minus the floor of the first five, with %s of slack",
				rssList(after), profile.Bytes(rssGrowthSlack)),
		},
	}

	lat, err := requestLatencies(ctx, c, uri, big, profiles)
	if err != nil {
		return rows, err
	}
	return append(rows, lat...), nil
}

// requestLatencies times hover, inlayHint and codeLens over the pipes.
// Half the hovers and hint ranges are on profiled functions (answers with
// figures), half anywhere in the file.
func requestLatencies(ctx context.Context, c *lspClient, uri string, big bigFile, profiled int) ([]row, error) {
	doc := map[string]any{"uri": uri}
	lines := big.lines()
	at := func(i int) int { // a line: profiled functions on even i
		if i%2 == 0 {
			return big.funcLine(i/2%profiled) + 1 + i/2%8
		}
		return (i * 7919) % lines
	}
	kinds := []struct {
		name string
		n    int
		req  func(i int) (string, any)
	}{
		{"hover", 1000, func(i int) (string, any) {
			return "textDocument/hover", map[string]any{"textDocument": doc, "position": map[string]any{"line": at(i), "character": 2}}
		}},
		{"inlayHint", 1000, func(i int) (string, any) {
			from := at(i)
			return "textDocument/inlayHint", map[string]any{"textDocument": doc, "range": lspRange(from, min(from+50, lines))}
		}},
		{"codeLens", 200, func(int) (string, any) {
			return "textDocument/codeLens", map[string]any{"textDocument": doc}
		}},
	}
	var rows []row
	for _, k := range kinds {
		for i := range 50 { // warm-up
			m, p := k.req(i)
			if _, err := c.call(ctx, m, p); err != nil {
				return rows, err
			}
		}
		ds := make([]time.Duration, 0, k.n)
		for i := range k.n {
			m, p := k.req(i)
			t0 := time.Now()
			if _, err := c.call(ctx, m, p); err != nil {
				return rows, err
			}
			ds = append(ds, time.Since(t0))
		}
		p99 := percentile(ds, 99)
		rows = append(rows, row{
			figure:   k.name + " latency",
			workload: fmt.Sprintf("%d-line file, %d profiles loaded", lines, profiled),
			memlens:  fmt.Sprintf("p99 %s (p50 %s)", millis(p99), millis(percentile(ds, 50))),
			goal:     "p99 ≤ 5 ms",
			met:      p99 <= goalRequestP99,
			detail:   fmt.Sprintf("%d requests over the pipes after 50 untimed, timed from send to answer", k.n),
		})
	}
	return rows, nil
}

// rssGrowth compares the floors (the lowest readings, just after a
// collection) of the second half of the readings and of the first half: a
// leak raises the floor, garbage awaiting collection does not.
func rssGrowth(after []uint64) int64 {
	if len(after) < 2 {
		return 0
	}
	half := len(after) / 2
	return int64(slices.Min(after[half:])) - int64(slices.Min(after[:half]))
}

// processRSS reads a process's resident set size from /proc.
func processRSS(pid int) (uint64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	return parseVmRSS(string(b))
}

// parseVmRSS reads the VmRSS line ("VmRSS:	   23456 kB") of /proc/PID/status.
func parseVmRSS(status string) (uint64, error) {
	for _, line := range strings.Split(status, "\n") {
		rest, ok := strings.CutPrefix(line, "VmRSS:")
		if !ok {
			continue
		}
		f := strings.Fields(rest)
		if len(f) != 2 || f[1] != "kB" {
			return 0, fmt.Errorf("unexpected VmRSS line %q", line)
		}
		kb, err := strconv.ParseUint(f[0], 10, 64)
		if err != nil {
			return 0, fmt.Errorf("unexpected VmRSS line %q", line)
		}
		return kb * 1024, nil
	}
	return 0, fmt.Errorf("no VmRSS in /proc status")
}

func rssList(rs []uint64) string {
	parts := make([]string, len(rs))
	for i, r := range rs {
		parts[i] = profile.MiB(int64(r))
	}
	return strings.Join(parts, ", ")
}
