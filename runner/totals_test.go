package runner

import (
	"context"
	"testing"
	"time"

	"github.com/memlens/memlens/profile"
)

// checkGoTotals checks that a Go function's totals agree with its lines:
// with pprof's cum semantics every allocation record counts once in the
// total and once in each distinct line of the function on its stack, so
// the total is at least any line's and at most the lines' sum.
func checkGoTotals(t *testing.T, f *profile.Function) {
	t.Helper()
	var sum, objs, most int64
	for _, l := range f.Lines {
		sum += l.AllocBytes
		objs += l.AllocObjects
		most = max(most, l.AllocBytes)
	}
	if f.AllocBytes < most || f.AllocBytes > sum || f.AllocObjects > objs {
		t.Errorf("%s: total %d B in %d objects, its lines %d B in %d objects (the largest %d B)",
			f.Name, f.AllocBytes, f.AllocObjects, sum, objs, most)
	}
}

// The totals of a run cut short are what its lines measured, in every way
// a Go run can end early (Python's: runPythonCases, checkPyTotals).
func TestPartialTotalsGo(t *testing.T) {
	for _, c := range []struct {
		args    []string
		timeout time.Duration
		status  profile.Status
	}{
		{[]string{"panic"}, 0, profile.StatusPanic},
		{[]string{"exit", "3"}, 0, profile.StatusExit},
		{[]string{"kill"}, 0, profile.StatusKilled},
		{[]string{"forever"}, 4 * time.Second, profile.StatusTimeout},
	} {
		t.Run(c.args[0], func(t *testing.T) {
			req := Request{Dir: repoRoot, Target: "./testdata/go/cmd/crash", Funcs: []string{"Work", "Panic", "Exit", "Forever"},
				Args: c.args, HasArgs: true, Timeout: c.timeout}
			if c.timeout == 0 {
				req.Timeout = DefaultTimeout
			}
			res, err := Profile(context.Background(), req)
			if err != nil {
				t.Fatal(err)
			}
			if res.Status != c.status || !res.Partial {
				t.Fatalf("status %s partial %v (%s), want a partial %s", res.Status, res.Partial, res.Message, c.status)
			}
			// A SIGKILL leaves no time to write the allocation records
			// (only the counters, file-backed, survive): nothing to total.
			if w, _ := res.Function("Work"); w.AllocBytes == 0 && c.status != profile.StatusKilled {
				t.Errorf("Work: nothing allocated before the %s", c.status)
			}
			for i := range res.Functions {
				checkGoTotals(t, &res.Functions[i])
			}
		})
	}
}
