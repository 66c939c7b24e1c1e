package main

import (
	"context"
	"fmt"
	"os/exec"
	"path/filepath"
	"strings"
	"time"
)

// The module-wide entry search (issue 9) on a large real module: a
// function of an internal package that no test of its own package reaches,
// so memlens lists the module, builds the call graph of the packages that
// import it and runs the tests of another package.
const (
	entriesModule  = "gonum.org/v1/gonum@v0.17.0"
	entriesPackage = "./mathext/internal/cephes"
	entriesFunc    = "Zeta"
)

// Goals of the search (the "looking …" stages of a run).
const (
	goalFirstSearch = 20 * time.Second
	goalNextSearch  = time.Second
)

// entrySearch times `memlens profile ./mathext/internal/cephes Zeta` on a
// copy of gonum: first with an empty memlens cache (each run gets a new
// XDG_CACHE_HOME; GOCACHE stays the user's, warmed by the untimed first
// run, as a user who builds the module has it), then with the on-disk cache
// the runs before filled, side by side. The figure is the search: the
// "looking …" stages, from the first to the "building" message.
func entrySearch(ctx context.Context, e *env) ([]row, error) {
	mod, err := copyModule(ctx, entriesModule, filepath.Join(e.tmp, "entries"))
	if err != nil {
		return nil, err
	}
	gocache, err := commandOutput(ctx, mod, "go", "env", "GOCACHE")
	if err != nil {
		return nil, err
	}
	gocache = strings.TrimSpace(gocache)
	warmCache := filepath.Join(e.tmp, "entries-cache")
	args := []string{e.memlens, "profile", "--quiet", entriesPackage, entriesFunc}
	first := command{dir: mod, env: []string{"GOCACHE=" + gocache, "MEMLENS_BENCH_TMP=" + e.tmp},
		args: append([]string{"sh", "-c", `XDG_CACHE_HOME=$(mktemp -d -p "$MEMLENS_BENCH_TMP") exec "$0" "$@"`}, args...), maxReps: 3}
	next := command{dir: mod, env: []string{"GOCACHE=" + gocache, "XDG_CACHE_HOME=" + warmCache}, args: args}
	logf("  %s %s %s: first search (empty cache) and next (disk cache), %d×", entriesModule, entriesPackage, entriesFunc, e.reps)
	ts, err := sideBySide(ctx, e.reps, first, next)
	if err != nil {
		return nil, err
	}
	entry := ""
	if n := len(ts[1]); n > 0 {
		entry = entryOf(ts[1][n-1])
	}
	pkgs := countPackages(ctx, mod)
	workload := fmt.Sprintf("cephes.%s in %s (%d packages)", entriesFunc, entriesModule, pkgs)
	how := fmt.Sprintf("`memlens profile %s %s` in a copy of the module; the entry found: %s; the search is the \"looking …\" stages (own package's tests, then the module's), median; whole runs: %s",
		entriesPackage, entriesFunc, entry, "first "+seconds(median(walls(ts[0])))+", next "+seconds(median(walls(ts[1]))))
	firstSearch, nextSearch := searchTimes(ts[0]), searchTimes(ts[1])
	return []row{
		{figure: "Go entry search, first (empty memlens cache)", workload: workload, anchor: "—", ratio: "—",
			memlens: fmt.Sprintf("%s (max %s)", seconds(median(firstSearch)), seconds(percentile(firstSearch, 100))),
			goal:    "≤ " + seconds(goalFirstSearch), met: median(firstSearch) <= goalFirstSearch,
			detail: how + "; each run with a new XDG_CACHE_HOME (GOCACHE the user's); stages (median): " + medianPhases(ts[0])},
		{figure: "Go entry search, next (on-disk cache, new process)", workload: workload, anchor: "—", ratio: "—",
			memlens: fmt.Sprintf("%s (max %s)", seconds(median(nextSearch)), seconds(percentile(nextSearch, 100))),
			goal:    "≤ " + seconds(goalNextSearch), met: median(nextSearch) <= goalNextSearch,
			detail: "the same with the cache the runs before filled; stages (median): " + medianPhases(ts[1])},
	}, nil
}

// searchTimes are the entry search's durations of the runs.
func searchTimes(ts []timing) []time.Duration {
	var out []time.Duration
	for _, t := range ts {
		out = append(out, phaseDurations(t)["looking"])
	}
	return out
}

// entryOf is the entry a run printed ("building PKG for ENTRY").
func entryOf(t timing) string {
	for _, p := range t.phases {
		if rest, ok := strings.CutPrefix(p.line, "building "); ok {
			if _, entry, ok := strings.Cut(rest, " for "); ok {
				return "`" + entry + "`"
			}
		}
	}
	return "?"
}

// countPackages counts the module's packages.
func countPackages(ctx context.Context, dir string) int {
	out, err := commandOutput(ctx, dir, "go", "list", "./...")
	if err != nil {
		return 0
	}
	return len(strings.Fields(out))
}

// commandOutput runs a command in dir and returns its standard output.
func commandOutput(ctx context.Context, dir string, name string, args ...string) (string, error) {
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Dir = dir
	out, err := cmd.Output()
	if err != nil {
		return "", fmt.Errorf("%s %s: %v %s", name, strings.Join(args, " "), err, exitStderr(err))
	}
	return string(out), nil
}
