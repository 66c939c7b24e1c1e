package runner

import (
	"crypto/sha256"
	"encoding/hex"
	"io"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"time"
)

// buildCacheUnused is how long a cached program may go unused before a
// later build removes it.
const buildCacheUnused = 7 * 24 * time.Hour

// buildCacheVariants is how many programs one package's build (the same
// command, flags and replaced files) keeps, one per instrumentation: the
// most recently used. Clicking between functions, or between exact and
// counts-only mode, then finds each program current instead of relinking
// over the other (about 0.5 s a click).
const buildCacheVariants = 4

// buildOutput returns a stable place for the program that `go <args> -o`
// builds, under the user cache directory, keyed by the package directory,
// the go command, the build flags, which files the overlay replaces
// (together, the build's family) and what it replaces them with (the
// variant). Writing to a fresh temporary path makes go relink every time
// (0.24 s for a small package); at a stable path holding an up-to-date
// program it skips the link (0.07 s), as the `go test -o` users compare
// memlens with does, and memlens's own check skips go altogether (see
// buildcheck.go). The returned release must be called once the program
// has been copied out (linkOrCopy): until then a lock keeps another
// memlens from building to the same path. An empty path means no cache:
// build where you meant to.
func buildOutput(pkgDir string, args, flags []string, replace map[string]string) (string, func()) {
	cache, err := os.UserCacheDir()
	if err != nil {
		return "", func() {}
	}
	root := filepath.Join(cache, "memlens", "build")
	replaced := slices.Sorted(maps.Keys(replace))
	h := sha256.New()
	for _, part := range [][]string{{pkgDir}, args, flags, replaced} {
		for _, s := range part {
			io.WriteString(h, s)
			h.Write([]byte{0})
		}
		h.Write([]byte{1})
	}
	family := hex.EncodeToString(h.Sum(nil))[:24]
	h.Reset()
	for _, orig := range replaced {
		b, err := os.ReadFile(replace[orig])
		if err != nil {
			return "", func() {}
		}
		h.Write(b)
		h.Write([]byte{0})
	}
	dir := filepath.Join(root, family+"-"+hex.EncodeToString(h.Sum(nil))[:12])
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", func() {}
	}
	lock, err := os.OpenFile(filepath.Join(dir, "lock"), os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return "", func() {}
	}
	if err := syscall.Flock(int(lock.Fd()), syscall.LOCK_EX); err != nil {
		lock.Close()
		return "", func() {}
	}
	now := time.Now()
	_ = os.Chtimes(dir, now, now) // in use: not for pruning
	pruneBuildCache(root, dir, now)
	var once sync.Once
	return filepath.Join(dir, "prog"), func() { once.Do(func() { lock.Close() }) }
}

// pruneBuildCache removes, except keep, the cached programs unused for
// buildCacheUnused and those of keep's family beyond the
// buildCacheVariants most recently used. One that another memlens is
// building or copying is locked and left alone.
func pruneBuildCache(root, keep string, now time.Time) {
	entries, err := os.ReadDir(root)
	if err != nil {
		return
	}
	family, _, _ := strings.Cut(filepath.Base(keep), "-")
	type cached struct {
		dir  string
		used time.Time
	}
	var siblings []cached
	for _, e := range entries {
		dir := filepath.Join(root, e.Name())
		info, err := e.Info()
		if dir == keep || err != nil || !e.IsDir() {
			continue
		}
		if now.Sub(info.ModTime()) >= buildCacheUnused {
			removeUnlocked(dir)
		} else if f, _, _ := strings.Cut(e.Name(), "-"); f == family {
			siblings = append(siblings, cached{dir, info.ModTime()})
		}
	}
	slices.SortFunc(siblings, func(a, b cached) int { return b.used.Compare(a.used) })
	for i, c := range siblings {
		if i+1 >= buildCacheVariants { // keep counts as one
			removeUnlocked(c.dir)
		}
	}
}

// removeUnlocked removes a cached program's directory unless another
// memlens holds its lock.
func removeUnlocked(dir string) {
	lock, err := os.Open(filepath.Join(dir, "lock"))
	if err != nil {
		os.RemoveAll(dir)
		return
	}
	if syscall.Flock(int(lock.Fd()), syscall.LOCK_EX|syscall.LOCK_NB) == nil {
		os.RemoveAll(dir)
	}
	lock.Close()
}

// linkOrCopy puts the built program at dst: a hard link where src and dst
// share a file system, else a copy. The run uses dst, so a later build that
// replaces src cannot change the program under it.
func linkOrCopy(src, dst string) error {
	if os.Link(src, dst) == nil {
		return nil
	}
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o755)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}
