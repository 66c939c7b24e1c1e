package runner

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"os/exec"
	"strconv"
	"sync"
	"syscall"
	"time"

	"github.com/shirou/gopsutil/v3/process"

	"github.com/memlens/memlens/profile"
)

// outputTailBytes is how much of a program's output a Result keeps.
const outputTailBytes = 16 << 10

// rssSampleEvery is how often the process tree's RSS is sampled from outside.
const rssSampleEvery = 50 * time.Millisecond

// procOutcome is how a program run ended, seen from outside.
type procOutcome struct {
	// Status is ok, exit, killed, timeout or canceled; telling a panic from
	// an exit is the caller's job (it knows the language's conventions).
	Status   profile.Status
	ExitCode int
	Signal   syscall.Signal // set when Status is killed
	Output   []byte         // tail of combined stdout and stderr
	PeakRSS  uint64         // highest RSS of the whole process tree
	Duration time.Duration
	Err      error // the program could not be started
}

// runProcess runs cmd in a process group of its own, so that a timeout or a
// cancel kills the whole tree (go test's test binary, a script's children)
// and not only the direct child. The tree's RSS is sampled meanwhile, as
// memory_profiler's include-children does. Output goes to a bounded tail
// and, when echo is not nil, also to echo as it arrives.
func runProcess(ctx context.Context, cmd *exec.Cmd, timeout time.Duration, echo io.Writer) procOutcome {
	return runProcessStopping(ctx, cmd, timeout, echo, nil)
}

// runProcessStopping is runProcess with a last word: on a timeout or a
// cancel, beforeKill (when not nil) runs before the tree is killed, e.g.
// to ask the program to save its data. It must bound its own wait: the
// tree is killed only when it returns.
func runProcessStopping(ctx context.Context, cmd *exec.Cmd, timeout time.Duration, echo io.Writer, beforeKill func()) procOutcome {
	tail := &tailBuffer{max: outputTailBytes}
	var out io.Writer = tail
	if echo != nil {
		out = io.MultiWriter(tail, echo)
	}
	cmd.Stdout, cmd.Stderr = out, out
	if cmd.SysProcAttr == nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{}
	}
	cmd.SysProcAttr.Setpgid = true
	// Grandchildren that keep the output pipe open must not hang Wait.
	cmd.WaitDelay = time.Second

	start := time.Now()
	if err := cmd.Start(); err != nil {
		return procOutcome{Status: profile.StatusExit, ExitCode: -1, Err: err}
	}
	done := make(chan struct{})
	var (
		mu      sync.Mutex
		peak    uint64
		members = map[int32]bool{}
	)
	go func() {
		tick := time.NewTicker(rssSampleEvery)
		defer tick.Stop()
		for {
			rss, pids := treeRSS(int32(cmd.Process.Pid))
			mu.Lock()
			peak = max(peak, rss)
			for _, p := range pids {
				members[p] = true
			}
			mu.Unlock()
			select {
			case <-done:
				return
			case <-tick.C:
			}
		}
	}()

	waitErr := make(chan error, 1)
	go func() { waitErr <- cmd.Wait() }()
	timer := time.NewTimer(timeout)
	defer timer.Stop()

	var status profile.Status
	var err error
	select {
	case err = <-waitErr:
	case <-timer.C:
		status = profile.StatusTimeout
	case <-ctx.Done():
		status = profile.StatusCanceled
	}
	if status != "" {
		if beforeKill != nil {
			beforeKill()
		}
		mu.Lock()
		killTree(cmd.Process.Pid, members)
		mu.Unlock()
		err = <-waitErr
	}
	close(done)

	o := procOutcome{Duration: time.Since(start), Output: tail.Bytes()}
	mu.Lock()
	o.PeakRSS = max(peak, maxRSS(cmd.ProcessState))
	mu.Unlock()
	o.Status, o.ExitCode, o.Signal = classifyExit(err)
	if status != "" {
		o.Status = status
	}
	return o
}

// classifyExit turns Wait's error into a status, exit code and signal.
func classifyExit(err error) (profile.Status, int, syscall.Signal) {
	if err == nil {
		return profile.StatusOK, 0, 0
	}
	var ee *exec.ExitError
	if !errors.As(err, &ee) {
		return profile.StatusExit, -1, 0
	}
	if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
		return profile.StatusKilled, -1, ws.Signal()
	}
	return profile.StatusExit, ee.ExitCode(), 0
}

// maxRSS is the kernel's record of the highest RSS of the child or of any
// descendant it waited for: it catches the peak of a run shorter than the
// sampling period, which the samples miss.
func maxRSS(ps *os.ProcessState) uint64 {
	if ps == nil {
		return 0
	}
	if ru, ok := ps.SysUsage().(*syscall.Rusage); ok && ru.Maxrss > 0 {
		return uint64(ru.Maxrss) << 10 // Linux reports KiB
	}
	return 0
}

// killTree kills the process group and every process that may have left
// it with setsid: those below pid right now (the tree is walked before the
// kill, while their parents still hold them; the sampling may not have seen
// one started in its last interval) and every member seen while sampling
// (one whose parent died earlier is no longer below pid).
func killTree(pid int, members map[int32]bool) {
	below := descendants(int32(pid))
	_ = syscall.Kill(-pid, syscall.SIGKILL)
	for _, p := range below {
		_ = syscall.Kill(int(p), syscall.SIGKILL)
	}
	for p := range members {
		_ = syscall.Kill(int(p), syscall.SIGKILL)
	}
}

// treeRSS sums the resident memory of pid and its descendants.
func treeRSS(pid int32) (uint64, []int32) {
	pids := descendants(pid)
	var total uint64
	for _, p := range pids {
		if proc, err := process.NewProcess(p); err == nil {
			if mi, err := proc.MemoryInfo(); err == nil {
				total += mi.RSS
			}
		}
	}
	return total, pids
}

// descendants returns root and every process below it. On Linux it reads
// the parent of every process from /proc/N/stat in one pass: gopsutil's
// Process.Children forks pgrep for each member at each sample, which took
// more CPU than the programs being measured (16% of a Python run's).
func descendants(root int32) []int32 {
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return descendantsByChildren(root)
	}
	children := map[int32][]int32{}
	for _, e := range entries {
		pid, err := strconv.ParseInt(e.Name(), 10, 32)
		if err != nil {
			continue
		}
		if ppid, ok := parentOf(int32(pid)); ok {
			children[ppid] = append(children[ppid], int32(pid))
		}
	}
	out := []int32{root}
	for i := 0; i < len(out); i++ {
		out = append(out, children[out[i]]...)
	}
	return out
}

// parentOf reads the parent pid from /proc/PID/stat: "pid (comm) state
// ppid ...", where comm may hold spaces and parentheses.
func parentOf(pid int32) (int32, bool) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(int(pid)) + "/stat")
	if err != nil {
		return 0, false
	}
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return 0, false
	}
	fields := bytes.Fields(b[i+1:])
	if len(fields) < 2 {
		return 0, false
	}
	ppid, err := strconv.ParseInt(string(fields[1]), 10, 32)
	return int32(ppid), err == nil
}

// descendantsByChildren is descendants where there is no /proc (macOS).
func descendantsByChildren(root int32) []int32 {
	var pids []int32
	var walk func(p *process.Process, depth int)
	walk = func(p *process.Process, depth int) {
		pids = append(pids, p.Pid)
		if depth > 32 {
			return
		}
		children, err := p.Children()
		if err != nil {
			return
		}
		for _, c := range children {
			walk(c, depth+1)
		}
	}
	if p, err := process.NewProcess(root); err == nil {
		walk(p, 0)
	}
	return pids
}

// tailBuffer keeps the last max bytes written to it.
type tailBuffer struct {
	mu  sync.Mutex
	max int
	buf []byte
}

func (t *tailBuffer) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.buf = append(t.buf, p...)
	if over := len(t.buf) - t.max; over > 0 {
		t.buf = append(t.buf[:0], t.buf[over:]...)
	}
	return len(p), nil
}

func (t *tailBuffer) Bytes() []byte {
	t.mu.Lock()
	defer t.mu.Unlock()
	return bytes.Clone(t.buf)
}
