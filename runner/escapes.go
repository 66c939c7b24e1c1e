package runner

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"time"

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
// ones' explanations until the package's own sources change. And an edit
// that changes no code (a comment below the targets), after which go would
// compile the package to the same object and link nothing, renames the
// directory: go test compiles the test main with the package's flags and
// the link's cache key holds the test main's build ID, so the program is
// linked again.
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
	for _, path := range slices.Sorted(maps.Keys(replace)) {
		src, err := os.ReadFile(replace[path])
		if err != nil {
			return nil, err
		}
		write(path, src)
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

// escapeFlags adds to the build flags the request for the compiler's
// escape analysis of each instrumented package, written to a directory
// named by what is compiled (escapeDir) beside the cached program out. A
// failure here costs the explanations, never the run: the flags are then
// returned unchanged and the stage attaches nothing.
func (r *goRun) escapeFlags(flags []string, out string) []string {
	var pkgs []escape.Package
	var listed []*listedPackage
	for _, p := range r.instrumented {
		dir := filepath.Dir(p.out.RuntimePath)
		pkgs = append(pkgs, escape.Package{ImportPath: p.pkgPath, Dir: dir, CmdLine: dir == r.entry.Pkg.Dir})
		for _, lp := range r.pkgs {
			if lp.Dir == dir && !slices.Contains(listed, lp) {
				listed = append(listed, lp)
			}
		}
	}
	sum, err := compiledSum(listed, r.ov.replace)
	if err != nil {
		r.escapeErr = err
		return flags
	}
	dir := escapeDir(out, r.tmp, sum)
	withJSON, err := escape.GCFlags(flags, pkgs, r.entry.Pkg.Dir, dir)
	if err != nil {
		r.escapeErr = err
		return flags
	}
	r.escapeDir = dir
	return withJSON
}

// readEscapes reads, after a successful build, the diagnostics the
// compiler left (or, its compile found in go's cache, had left) in
// r.escapeDir. It must run before the cached build's lock is released: a
// build of the same package by another memlens could rewrite them.
func (r *goRun) readEscapes() {
	if r.escapeDir == "" {
		return
	}
	reports, files, err := escape.ReadDir(r.escapeDir)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			forgetSalt(r.escapeDir)
		}
		r.escapeErr = err
		return
	}
	for _, p := range r.instrumented {
		for f := range p.out.Files {
			if !slices.Contains(files, f) {
				// The compile came from go's cache, its diagnostics are
				// gone (the directory was deleted by hand).
				forgetSalt(r.escapeDir)
				r.escapeErr = fmt.Errorf("the compiler's diagnostics of %s are missing from %s (the next run compiles again)", f, r.escapeDir)
				return
			}
		}
	}
	r.escapeReports = reports
}

// forgetSalt removes the salt of dir's root, after the diagnostics of a
// compile found in go's cache turned out deleted: else every later build
// of the same sources finds that compile again, and never has them. A new
// salt renames the directories, so the next build compiles and writes
// them.
func forgetSalt(dir string) {
	os.Remove(filepath.Join(filepath.Dir(dir), "salt"))
}

// escapes is the stage after collect: it explains the profiled lines with
// the compiler's escape analysis (profile.Line.Escapes), positions mapped
// back through the instrumented files' //line directives. Without the
// diagnostics (see escapeErr) the lines keep no explanation and
// Result.EscapeAnalysis stays false.
func (r *goRun) escapes(context.Context) error {
	if r.escapeErr != nil {
		r.res.EscapeAnalysisError = oneLineErr(r.escapeErr)
	}
	if r.escapeErr != nil || r.escapeReports == nil {
		return nil
	}
	compiled := map[string][]byte{}
	for _, p := range r.instrumented {
		maps.Copy(compiled, p.out.Files)
	}
	escape.Attach(r.res.Functions, escape.Explain(r.escapeReports, escape.NewMap(compiled)))
	r.res.EscapeAnalysis = true
	return nil
}
