package main

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"

	"github.com/memlens/memlens/profile"
)

// machine describes where the figures were taken.
type machine struct {
	cpu, kernel, goVersion, python, memoryProfiler string
	cores                                          int
	memBytes                                       uint64
}

func describeMachine(ctx context.Context, python string) machine {
	m := machine{cores: runtime.NumCPU()}
	if f, err := os.Open("/proc/cpuinfo"); err == nil {
		m.cpu = cpuModel(f)
		f.Close()
	}
	if b, err := os.ReadFile("/proc/meminfo"); err == nil {
		m.memBytes = memTotal(string(b))
	}
	if b, err := os.ReadFile("/proc/sys/kernel/osrelease"); err == nil {
		m.kernel = "Linux " + strings.TrimSpace(string(b))
	}
	m.goVersion = commandLine(ctx, "go", "version")
	m.python = python + ": " + commandLine(ctx, python, "--version")
	m.memoryProfiler = commandLine(ctx, python, "-c", "import memory_profiler; print(memory_profiler.__version__)")
	return m
}

func (m machine) lines() [][2]string {
	mem := "unknown"
	if m.memBytes > 0 {
		mem = profile.Bytes(int64(m.memBytes))
	}
	return [][2]string{
		{"CPU", fmt.Sprintf("%s, %d cores", orUnknown(m.cpu), m.cores)},
		{"Memory", mem},
		{"Kernel", orUnknown(m.kernel)},
		{"Go", orUnknown(m.goVersion)},
		{"Python", orUnknown(m.python)},
		{"memory_profiler", orUnknown(m.memoryProfiler)},
	}
}

func orUnknown(s string) string {
	if s == "" {
		return "unknown"
	}
	return s
}

// cpuModel reads the first "model name" of /proc/cpuinfo.
func cpuModel(r interface{ Read([]byte) (int, error) }) string {
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), ":")
		if ok && strings.TrimSpace(k) == "model name" {
			return strings.TrimSpace(v)
		}
	}
	return ""
}

// memTotal reads MemTotal (kB) from /proc/meminfo, in bytes.
func memTotal(meminfo string) uint64 {
	for _, line := range strings.Split(meminfo, "\n") {
		if rest, ok := strings.CutPrefix(line, "MemTotal:"); ok {
			f := strings.Fields(rest)
			if len(f) >= 1 {
				kb, err := strconv.ParseUint(f[0], 10, 64)
				if err == nil {
					return kb * 1024
				}
			}
		}
	}
	return 0
}

// commandLine is the first line a command prints, or "" when it fails.
func commandLine(ctx context.Context, name string, args ...string) string {
	b, err := exec.CommandContext(ctx, name, args...).CombinedOutput()
	if err != nil {
		return ""
	}
	return firstLine(string(b))
}
