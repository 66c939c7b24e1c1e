package runner

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"time"

	"github.com/memlens/memlens/profile"
	"github.com/memlens/memlens/runner/escape"
)

// escapeVersions is how many sets of compiler diagnostics a cached build
// keeps (one per distinct content of the packages compiled) before they
// are all dropped.
const escapeVersions = 16

// The build asks the compiler for its escape analysis of the instrumented
// packages (-gcflags=PKG=-json=0,DIR, see package escape), and the escapes
// stage attaches the explanations to the profiled lines.
//
// The compiler writes its diagnostics only when it compiles: when the go
// command finds the package in its build cache it writes nothing, and the
// directory is part of the compile flags, so of the cache key. A fresh
// directory per run would make go recompile the packages and relink the
// program every time (several times the cost of a warm build); one fixed
// directory per cached build would, on a cache hit, hold the diagnostics of
// whatever was compiled last (after an edit and its undo, the wrong ones).
// So the directory is named by the content of what is compiled: the same
// sources give the same flags, hence a cache hit and the diagnostics the
// compile of those very sources wrote; different sources are compiled
// anyway. What the name does not cover is the packages' dependencies: when
// only they change, go recompiles into the same directory and the newest
// diagnostics win, so going back to older dependencies can show the newer
// ones' explanations until the package's own sources change.
//
// The directories live beside the cached program (buildOutput), under
// escapes/, named by a hash salted with escapes/salt. Past escapeVersions of
// them, all go with the salt: a new salt renames every directory, so no
// later build can find a cached compile whose diagnostics were deleted.

// escapeDir returns the -json destination for a build whose program goes
// to out (buildOutput's path; empty when builds are not cached, then a
// directory of tmp), named by sum, the hash of what is compiled.
func escapeDir(out, tmp string, sum []byte) string {
	if out == "" {
		return filepath.Join(tmp, "escapes")
	}
	root := filepath.Join(filepath.Dir(out), "escapes")
	dir, err := saltedDir(root, sum)
	if err != nil {
		return filepath.Join(tmp, "escapes")
	}
	if _, err := os.Stat(dir); errors.Is(err, os.ErrNotExist) && countDirs(root) >= escapeVersions {
		os.RemoveAll(root)
		if dir, err = saltedDir(root, sum); err != nil {
			return filepath.Join(tmp, "escapes")
		}
	}
	now := time.Now()
	_ = os.Chtimes(dir, now, now)
	return dir
}

// saltedDir names the directory for sum under root, creating root's salt
// when there is none.
func saltedDir(root string, sum []byte) (string, error) {
	if err := os.MkdirAll(root, 0o755); err != nil {
		return "", err
	}
	saltFile := filepath.Join(root, "salt")
	salt, err := os.ReadFile(saltFile)
	if err != nil || len(salt) == 0 {
		salt = []byte(rand.Text())
		if err := os.WriteFile(saltFile, salt, 0o644); err != nil {
			return "", err
		}
	}
	h := sha256.New()
	h.Write(salt)
	h.Write(sum)
	return filepath.Join(root, hex.EncodeToString(h.Sum(nil))[:20]), nil
}

func countDirs(root string) int {
	es, _ := os.ReadDir(root)
	n := 0
	for _, e := range es {
		if e.IsDir() {
			n++
		}
	}
	return n
}

// compiledSum hashes what the compiler compiles of the packages asked for
// diagnostics: each file of theirs, as the overlay replaces it (replace:
// path → replacement file) or as on disk, and the overlay's other
// replacements (the probe runtimes, a generated test entry).
func compiledSum(pkgs []*listedPackage, replace map[string]string) ([]byte, error) {
	h := sha256.New()
	write := func(path string, src []byte) {
		fmt.Fprintf(h, "%s\x00%d\x00", path, len(src))
		h.Write(src)
	}
	for _, path := range slices.Sorted(func(yield func(string) bool) {
		for p := range replace {
			if !yield(p) {
				return
			}
		}
	}) {
		f, err := os.Open(replace[path])
		if err != nil {
			return nil, err
		}
		fmt.Fprintf(h, "%s\x00", path)
		_, err = io.Copy(h, f)
		f.Close()
		if err != nil {
			return nil, err
		}
	}
	for _, p := range pkgs {
		for _, f := range p.Files {
			if _, ok := replace[f.Path]; !ok {
				write(f.Path, f.Src)
			}
		}
	}
	return h.Sum(nil), nil
}

// readEscapes reads the diagnostics the build left in dir. It fails when
// some instrumented file has none: the compile was found in go's cache but
// its diagnostics are gone (the directory was deleted by hand).
func readEscapes(dir string, instrumented []string) ([]escape.Report, error) {
	reports, files, err := escape.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	for _, f := range instrumented {
		if !slices.Contains(files, f) {
			return nil, fmt.Errorf("the compiler's diagnostics of %s are missing from %s", f, dir)
		}
	}
	return reports, nil
}

// attachEscapes explains the profiled lines with the compiler's reports,
// positions mapped back through the instrumented files' directives
// (compiled: path → instrumented source).
func attachEscapes(res *profile.Result, reports []escape.Report, compiled map[string][]byte) {
	escape.Attach(res.Functions, escape.Explain(reports, escape.NewMap(compiled)))
	res.EscapeAnalysis = true
}
