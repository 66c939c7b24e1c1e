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
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"sync"
)

//go:embed memlens_tracer.py memlens_entry.py shim/memory_profiler.py child/sitecustomize.py bench_overhead.py
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

// Boot is the program `python -c` runs to start the tracer from Dir (given
// in $MEMLENS_TRACER_DIR): imported rather than run as a script, the
// tracer is compiled once per interpreter and its .pyc kept beside it,
// which saves compiling it on every run (about 13 ms); memlens's own
// modules are cached even where PYTHONDONTWRITEBYTECODE is set, which
// stays in force for the program's.
const Boot = "import os,sys;w=sys.dont_write_bytecode;sys.dont_write_bytecode=False;" +
	"sys.path.insert(0,os.environ['MEMLENS_TRACER_DIR']);import memlens_tracer as t;" +
	"del sys.path[0];sys.dont_write_bytecode=w;sys.exit(t.main())"

var (
	hashOnce sync.Once
	hash     string
)

// contentHash names this build's files.
func contentHash() string {
	hashOnce.Do(func() {
		h := sha256.New()
		fs.WalkDir(files, ".", func(path string, d fs.DirEntry, err error) error {
			if err == nil && !d.IsDir() {
				data, _ := files.ReadFile(path)
				h.Write([]byte(path + "\x00"))
				h.Write(data)
			}
			return nil
		})
		hash = hex.EncodeToString(h.Sum(nil))[:16]
	})
	return hash
}

// Dir returns a directory with the tracer, the test finder and the shim:
// memlens/python/HASH under the user's cache directory, written once per
// build of memlens (into a temporary directory renamed into place, so that
// concurrent runs never see half of it), where the interpreters that run
// it keep their compiled copies. Where that cannot be written, it installs
// into a new temporary directory and says so (temp): the caller removes it.
func Dir() (dir string, temp bool, err error) {
	if cache, err := os.UserCacheDir(); err == nil {
		dir = filepath.Join(cache, "memlens", "python", contentHash())
		if _, err := os.Stat(filepath.Join(dir, TracerFile)); err == nil {
			return dir, false, nil
		}
		if err := installAt(dir); err == nil {
			return dir, false, nil
		}
	}
	dir, err = os.MkdirTemp("", "memlens-tracer-")
	if err != nil {
		return "", false, err
	}
	if err := Install(dir); err != nil {
		os.RemoveAll(dir)
		return "", false, err
	}
	return dir, true, nil
}

// installAt installs into dir through a temporary sibling renamed into place.
func installAt(dir string) error {
	parent := filepath.Dir(dir)
	if err := os.MkdirAll(parent, 0o755); err != nil {
		return err
	}
	tmp, err := os.MkdirTemp(parent, ".install-")
	if err != nil {
		return err
	}
	if err := Install(tmp); err != nil {
		os.RemoveAll(tmp)
		return err
	}
	if err := os.Rename(tmp, dir); err != nil {
		os.RemoveAll(tmp)
		if _, statErr := os.Stat(filepath.Join(dir, TracerFile)); statErr == nil {
			return nil // another run installed it meanwhile
		}
		return errors.Join(err, errors.New("installing the Python tracer"))
	}
	return nil
}
