// Package pytracer holds the Python half of memlens's Python backend,
// embedded in the memlens binary: the tracer that runs a script, a module
// or tests and records every line of the profiled functions
// (memlens_tracer.py), the test finder it loads when running a function's
// file would not call it (memlens_entry.py, whose docstring gives the
// order in which a function's entry is chosen), and the
// memory_profiler shim that lets scripts keep `from memory_profiler import
// profile` (shim/memory_profiler.py). The runner writes them to a temporary
// directory and starts the user's interpreter on the tracer.
//
// Python's figures (memlens_tracer.py's docstring has the details):
// Occurrences count line events as memory_profiler does; Mem usage is the
// RSS after the line, the highest; Increment the RSS change across the
// line, summed over runs, each against the reading just before it.
// Allocated is gross and never negative: per run of a line, how far
// tracemalloc's peak rose above the traced heap at the run's start (the
// peak is reset when a line starts), summed over runs, so that frees never
// cancel allocations and a buffer allocated and freed within the line
// counts. The net change across the line (frees subtracted) is kept
// beside it (profile.Line.NetAllocBytes), and the highest growth in one
// run (PeakAllocBytes). A function's total sums the lines of its outermost
// frames: equal to the sum of its lines, less where several of its lines
// hold one allocation (recursion). On Python 3.8, which cannot reset
// tracemalloc's peak, a run's peak is seen only when it is a new high for
// the process; otherwise its net growth counts.
package pytracer

import (
	"embed"
	"io/fs"
	"os"
	"path/filepath"
)

//go:embed memlens_tracer.py memlens_entry.py shim/memory_profiler.py bench_overhead.py
var files embed.FS

// TracerFile is the tracer's file name inside the directory Install writes.
const TracerFile = "memlens_tracer.py"

// BenchFile is the overhead benchmark script (memlens vs memory_profiler).
const BenchFile = "bench_overhead.py"

// Install writes the tracer, the shim and the benchmark into dir, which
// must exist.
func Install(dir string) error {
	return fs.WalkDir(files, ".", func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		target := filepath.Join(dir, filepath.FromSlash(path))
		if d.IsDir() {
			if path == "." {
				return nil
			}
			return os.MkdirAll(target, 0o755)
		}
		data, err := files.ReadFile(path)
		if err != nil {
			return err
		}
		return os.WriteFile(target, data, 0o644)
	})
}
