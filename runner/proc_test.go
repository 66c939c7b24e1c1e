package runner

import (
	"context"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/memlens/memlens/profile"
)

func TestRunProcessOutcomes(t *testing.T) {
	tests := []struct {
		name     string
		script   string
		timeout  time.Duration
		cancel   time.Duration
		status   profile.Status
		exitCode int
		output   string
	}{
		{name: "ok", script: "echo hello", timeout: 10 * time.Second, status: profile.StatusOK, output: "hello"},
		{name: "exit", script: "echo bye; exit 3", timeout: 10 * time.Second, status: profile.StatusExit, exitCode: 3, output: "bye"},
		{name: "killed", script: "kill -9 $$", timeout: 10 * time.Second, status: profile.StatusKilled, exitCode: -1},
		{name: "timeout", script: "sleep 30", timeout: 300 * time.Millisecond, status: profile.StatusTimeout, exitCode: -1},
		{name: "canceled", script: "sleep 30", timeout: 10 * time.Second, cancel: 300 * time.Millisecond, status: profile.StatusCanceled, exitCode: -1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			if tt.cancel > 0 {
				time.AfterFunc(tt.cancel, cancel)
			}
			o := runProcess(ctx, exec.Command("sh", "-c", tt.script), tt.timeout, nil)
			if o.Status != tt.status || o.ExitCode != tt.exitCode {
				t.Fatalf("status %s code %d, want %s code %d (err %v)", o.Status, o.ExitCode, tt.status, tt.exitCode, o.Err)
			}
			if !strings.Contains(string(o.Output), tt.output) {
				t.Errorf("output %q lacks %q", o.Output, tt.output)
			}
		})
	}
}

// A timeout must take down grandchildren too, within a second.
func TestRunProcessKillsTree(t *testing.T) {
	cmd := exec.Command("sh", "-c", "sleep 60 & echo $! ; sleep 60")
	start := time.Now()
	o := runProcess(context.Background(), cmd, 500*time.Millisecond, nil)
	if o.Status != profile.StatusTimeout {
		t.Fatalf("status %s, want timeout", o.Status)
	}
	if d := time.Since(start); d > 3*time.Second {
		t.Errorf("took %v to end the tree", d)
	}
	var pid int
	for _, f := range strings.Fields(string(o.Output)) {
		if n, err := strconv.Atoi(f); err == nil {
			pid = n
		}
	}
	if pid == 0 {
		t.Fatalf("no grandchild pid in output %q", o.Output)
	}
	deadline := time.Now().Add(time.Second)
	for alive(pid) {
		if time.Now().After(deadline) {
			t.Fatalf("grandchild %d still alive", pid)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// A cancel ends the whole tree within a second of cancel(), a grandchild
// that left the process group (setsid) included, even one started just
// before the cancel, which the RSS sampling had no time to see.
func TestRunProcessCancelKillsTree(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var canceledAt time.Time
	pids := make(chan int, 1)
	echo := &firstNumber{f: func(pid int) {
		canceledAt = time.Now()
		cancel()
		pids <- pid
	}}
	// The pause lets setsid leave the group before the pid is printed.
	cmd := exec.Command("sh", "-c", "setsid sleep 60 & sleep 0.01; echo $!; sleep 60")
	o := runProcess(ctx, cmd, 20*time.Second, echo)
	if o.Status != profile.StatusCanceled {
		t.Fatalf("status %s, want canceled (output %q)", o.Status, o.Output)
	}
	var pid int
	select {
	case pid = <-pids:
	default:
		t.Fatalf("no grandchild pid in output %q", o.Output)
	}
	for alive(pid) {
		if since := time.Since(canceledAt); since > time.Second {
			_ = syscall.Kill(pid, syscall.SIGKILL)
			t.Fatalf("grandchild %d (own session) still alive %v after cancel()", pid, since)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// firstNumber calls f with the first line of output that is a whole number.
type firstNumber struct {
	mu   sync.Mutex
	buf  strings.Builder
	f    func(int)
	done bool
}

func (w *firstNumber) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.buf.Write(p)
	if !w.done {
		for _, line := range strings.Split(w.buf.String(), "\n") {
			if n, err := strconv.Atoi(strings.TrimSpace(line)); err == nil && n > 0 {
				w.done = true
				w.f(n)
				break
			}
		}
	}
	return len(p), nil
}

func TestRunProcessSamplesTreeRSS(t *testing.T) {
	// python3 touching 64 MiB in a child of sh, briefly: the tree's peak must
	// see it even when the run is shorter than the sampling period.
	cmd := exec.Command("sh", "-c", `python3 -c "b = bytearray(64 << 20); b[::4096] = b'x' * (64 << 8)"`)
	o := runProcess(context.Background(), cmd, 20*time.Second, nil)
	if o.Status != profile.StatusOK {
		t.Fatalf("status %s: %s", o.Status, o.Output)
	}
	if o.PeakRSS < 64<<20 {
		t.Errorf("peak RSS %d, want at least 64 MiB", o.PeakRSS)
	}
}

// treeRSS counts a grandchild's memory while it runs (the outside view, as
// memory_profiler's include-children), not only what the kernel records
// after the end.
func TestTreeRSSSeesGrandchildren(t *testing.T) {
	cmd := exec.Command("sh", "-c", `python3 -c "b = bytearray(48 << 20); b[::4096] = b'x' * (48 << 8); import time; time.sleep(30)" & wait`)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() {
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		_ = cmd.Wait()
	}()
	deadline := time.Now().Add(15 * time.Second)
	for {
		rss, pids := treeRSS(int32(cmd.Process.Pid))
		if rss >= 48<<20 && len(pids) >= 2 {
			if pids[0] != int32(cmd.Process.Pid) {
				t.Errorf("pids %v do not start with the root %d", pids, cmd.Process.Pid)
			}
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("tree RSS %d over pids %v, want at least 48 MiB over sh and python3", rss, pids)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func TestTailBufferKeepsTail(t *testing.T) {
	tb := &tailBuffer{max: 5}
	tb.Write([]byte("abc"))
	tb.Write([]byte("defgh"))
	if got := string(tb.Bytes()); got != "defgh" {
		t.Errorf("tail %q, want defgh", got)
	}
}

// alive reports whether pid runs; a zombie (killed, not yet reaped by an
// init that may never reap) does not count.
func alive(pid int) bool {
	if syscall.Kill(pid, 0) != nil {
		return false
	}
	stat, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return false
	}
	s := string(stat)
	i := strings.LastIndexByte(s, ')')
	return i < 0 || i+2 >= len(s) || s[i+2] != 'Z'
}

// TestClassifyGoPanic: an unrecovered panic is status panic, with Go's
// panic line as the message, less what the runtime adds for a panic that a
// deferred call recovered and raised again (testing does so with a test's
// panic: "[recovered, repanicked]" since Go 1.23).
func TestClassifyGoPanic(t *testing.T) {
	for _, tc := range []struct{ line, want string }{
		{"panic: assignment to entry in nil map [recovered, repanicked]", "panic: assignment to entry in nil map"},
		{"panic: boom [recovered]", "panic: boom"},
		{"panic: a [recovered] b", "panic: a [recovered] b"},
		{"fatal error: all goroutines are asleep - deadlock!", "fatal error: all goroutines are asleep - deadlock!"},
	} {
		res := &profile.Result{}
		out := "=== RUN   TestX\n--- FAIL: TestX (0.00s)\n" + tc.line + "\n\ngoroutine 7 [running]:\nmain.f()\n"
		classifyGoRun(res, procOutcome{Status: profile.StatusExit, ExitCode: 2, Output: []byte(out)}, time.Minute, nil)
		if res.Status != profile.StatusPanic || res.Message != tc.want {
			t.Errorf("%q: %s %q, want panic %q", tc.line, res.Status, res.Message, tc.want)
		}
	}
}
