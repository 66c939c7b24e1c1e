package main

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"time"
)

// command is one side of a comparison: a process to start and time.
type command struct {
	dir  string
	env  []string // added to the environment
	args []string
	// noWarmup skips the untimed warm-up run (nothing to warm, and slow).
	noWarmup bool
	// maxReps, when positive, caps this command's timed runs (a slow anchor).
	maxReps int
}

// String shows the command as a user would type it: the program by its
// name, scratch files by their base names.
func (c command) String() string { return showArgs(c.args, os.TempDir()) }

func showArgs(args []string, tmp string) string {
	shown := make([]string, len(args))
	for i, a := range args {
		if i == 0 || (filepath.IsAbs(a) && strings.HasPrefix(a, filepath.Clean(tmp)+string(filepath.Separator))) {
			a = filepath.Base(a)
		}
		shown[i] = a
	}
	return strings.Join(shown, " ")
}

// timing is one timed run of a command.
type timing struct {
	wall time.Duration
	// cpu is the user and system time of the process and the children it
	// waited for (a build, a test binary).
	cpu time.Duration
	// phases are memlens's progress messages ("resolving …", "building …",
	// "running …", "collecting …") with the time each arrived since start.
	phases []phaseMark
}

// phaseMark is a progress line and when it arrived.
type phaseMark struct {
	at   time.Duration
	line string
}

// runTimed runs c to completion and measures its wall time. A non-zero exit
// is an error carrying the end of its output: a benchmark of a failed run
// means nothing. stderr lines starting "memlens: " are kept as phase marks.
func runTimed(ctx context.Context, c command) (timing, error) {
	cmd := exec.CommandContext(ctx, c.args[0], c.args[1:]...)
	cmd.Dir = c.dir
	cmd.Env = append(os.Environ(), c.env...)
	var out tail
	cmd.Stdout = &out
	stderr, err := cmd.StderrPipe()
	if err != nil {
		return timing{}, err
	}
	var t timing
	start := time.Now()
	if err := cmd.Start(); err != nil {
		return timing{}, err
	}
	sc := bufio.NewScanner(stderr)
	sc.Buffer(make([]byte, 64*1024), 1024*1024)
	for sc.Scan() {
		line := sc.Text()
		if msg, ok := strings.CutPrefix(line, "memlens: "); ok {
			t.phases = append(t.phases, phaseMark{time.Since(start), msg})
		}
		out.Write([]byte(line + "\n"))
	}
	io.Copy(io.Discard, stderr)
	err = cmd.Wait()
	t.wall = time.Since(start)
	if cmd.ProcessState != nil {
		t.cpu = cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime()
	}
	if err != nil {
		return t, fmt.Errorf("%s: %v\n%s", c, err, out.String())
	}
	return t, nil
}

// tail keeps the last 4 KiB written to it.
type tail struct{ b []byte }

func (t *tail) Write(p []byte) (int, error) {
	t.b = append(t.b, p...)
	if len(t.b) > 4096 {
		t.b = append(t.b[:0:0], t.b[len(t.b)-4096:]...)
	}
	return len(p), nil
}

func (t *tail) String() string { return string(bytes.TrimSpace(t.b)) }

// sideBySide warms each command up once (untimed: fills the build cache),
// then runs them interleaved reps times (A, B, A, B, …) so that machine
// load drifts over both alike. It returns the timings per command.
func sideBySide(ctx context.Context, reps int, cmds ...command) ([][]timing, error) {
	for _, c := range cmds {
		if c.noWarmup {
			continue
		}
		if _, err := runTimed(ctx, c); err != nil {
			return nil, fmt.Errorf("warm-up: %w", err)
		}
	}
	out := make([][]timing, len(cmds))
	for rep := range reps {
		for i, c := range cmds {
			if c.maxReps > 0 && rep >= c.maxReps {
				continue
			}
			t, err := runTimed(ctx, c)
			if err != nil {
				return nil, err
			}
			out[i] = append(out[i], t)
		}
	}
	return out, nil
}

// walls extracts the wall times.
func walls(ts []timing) []time.Duration {
	ds := make([]time.Duration, len(ts))
	for i, t := range ts {
		ds[i] = t.wall
	}
	return ds
}

// median of ds (the mean of the middle two for an even count); 0 for none.
func median(ds []time.Duration) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := append([]time.Duration(nil), ds...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	n := len(s)
	if n%2 == 1 {
		return s[n/2]
	}
	return (s[n/2-1] + s[n/2]) / 2
}

// percentile is the nearest-rank p-th percentile (0 < p ≤ 100) of ds.
func percentile(ds []time.Duration, p float64) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := append([]time.Duration(nil), ds...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	rank := int(float64(len(s))*p/100+0.999999) - 1
	rank = max(0, min(rank, len(s)-1))
	return s[rank]
}

// phaseNames are the stages memlens reports, by the first word of its
// progress message ("looking" is the entry search).
var phaseNames = []string{"resolving", "looking", "building", "running", "collecting"}

// phaseDurations splits a memlens run into its stages: each stage lasts from
// its progress message to the next one (the last to the end of the run).
// Stages that did not report are absent.
func phaseDurations(t timing) map[string]time.Duration {
	d := map[string]time.Duration{}
	for i, m := range t.phases {
		word, _, _ := strings.Cut(m.line, " ")
		end := t.wall
		if i+1 < len(t.phases) {
			end = t.phases[i+1].at
		}
		d[word] += end - m.at
	}
	if len(t.phases) > 0 {
		d["start"] = t.phases[0].at
	}
	return d
}

// medianPhases is the median of each stage over runs, as "resolving 0.21 s,
// building 0.48 s, …" in the stages' order.
func medianPhases(ts []timing) string {
	var parts []string
	for _, name := range append([]string{"start"}, phaseNames...) {
		var ds []time.Duration
		for _, t := range ts {
			if d, ok := phaseDurations(t)[name]; ok {
				ds = append(ds, d)
			}
		}
		if len(ds) > 0 {
			parts = append(parts, fmt.Sprintf("%s %s", name, seconds(median(ds))))
		}
	}
	return strings.Join(parts, ", ")
}
