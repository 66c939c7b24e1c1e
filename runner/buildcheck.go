package runner

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"time"
)

// The build stage's own up-to-date check. A click on an unchanged function
// used to run `go test -c` anyway: about 0.35 s of CPU here (loading some
// hundred packages, hashing their action inputs) only for go to find the
// cached program current and skip the link. Instead, each successful build
// records, beside the cached program, what it was built from: a key over
// the command, the go command, the environment and the overlay's contents,
// and the size and modification time of every file and directory of the
// packages it compiled that can change (not the standard library's, whose
// version the go command's key covers, nor those of a module version in
// the module cache, which never change). When the key and every stamp
// still match, the program is current and go is not run at all. Any
// difference (a file edited, added or removed, go.mod, a flag, an
// environment variable, the toolchain) runs the build as before, which
// records again.

// buildRecord is what buildInputsFile holds.
type buildRecord struct {
	Key   string
	Files map[string]fileStamp
}

// fileStamp is a file's or directory's size and modification time.
type fileStamp struct {
	Size  int64
	MTime int64 // ns since the epoch
}

const buildInputsFile = "inputs.json"

// stampSlack is how close to the build's start a file may have changed and
// still be trusted: a file changed while go read it, on a file system
// whose times are coarse, could carry a time just before the start.
const stampSlack = time.Second

// buildKey hashes what the build's result depends on besides the files:
// the go command (path, size and time: a new toolchain is a new binary),
// the environment variables that steer builds, the working directory, the
// command line and each overlay replacement's content. The run's temporary
// directory tmp, which holds the overlay, is left out of the command line.
func buildKey(dir, tmp string, args []string, env []string, replace map[string]string) (string, error) {
	goBin, err := exec.LookPath("go")
	if err != nil {
		return "", err
	}
	st, err := os.Stat(goBin)
	if err != nil {
		return "", err
	}
	h := sha256.New()
	fmt.Fprintf(h, "%s\x00%d\x00%d\x00%s\x00", goBin, st.Size(), st.ModTime().UnixNano(), dir)
	for _, a := range args {
		fmt.Fprintf(h, "%s\x00", strings.ReplaceAll(a, tmp, "$TMP"))
	}
	h.Write([]byte{1})
	var vars []string
	for _, kv := range env {
		name, _, _ := strings.Cut(kv, "=")
		if strings.HasPrefix(name, "GO") || strings.HasPrefix(name, "CGO_") || slices.Contains([]string{"CC", "CXX", "PKG_CONFIG", "PATH", "HOME"}, name) {
			vars = append(vars, kv)
		}
	}
	sort.Strings(vars)
	for _, kv := range vars {
		fmt.Fprintf(h, "%s\x00", kv)
	}
	h.Write([]byte{1})
	for _, orig := range slices.Sorted(maps.Keys(replace)) {
		b, err := os.ReadFile(replace[orig])
		if err != nil {
			return "", err
		}
		fmt.Fprintf(h, "%s\x00%d\x00", orig, len(b))
		h.Write(b)
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// upToDate reports whether the program at out was built with key from files
// that have not changed since.
func upToDate(out, key string) bool {
	b, err := os.ReadFile(filepath.Join(filepath.Dir(out), buildInputsFile))
	if err != nil {
		return false
	}
	var rec buildRecord
	if json.Unmarshal(b, &rec) != nil || rec.Key != key || len(rec.Files) == 0 {
		return false
	}
	if _, err := os.Stat(out); err != nil {
		return false
	}
	for path, was := range rec.Files {
		if stamp(path) != was {
			return false
		}
	}
	return true
}

// stamp is path's size and time; a missing file's stamp has size -1.
func stamp(path string) fileStamp {
	st, err := os.Stat(path)
	if err != nil {
		return fileStamp{Size: -1}
	}
	return fileStamp{st.Size(), st.ModTime().UnixNano()}
}

// listedDep is what `go list -deps -test -json` says about a package the
// build compiles, as far as recording its inputs goes.
type listedDep struct {
	Dir      string
	Standard bool
	Module   *struct {
		Main    bool
		Version string
		GoMod   string
		Replace *struct{ Version string }
	}
	GoFiles, CgoFiles, CFiles, CXXFiles, MFiles, HFiles, FFiles, SFiles    []string
	SwigFiles, SwigCXXFiles, SysoFiles, IgnoredGoFiles, IgnoredOtherFiles  []string
	EmbedFiles, TestGoFiles, XTestGoFiles, TestEmbedFiles, XTestEmbedFiles []string
}

// listInputs returns the files and directories a build of pattern in dir
// (with the overlay and flags) reads that can change: those of every
// package it compiles but standard and module-cache ones, the go.mod and
// go.sum files of their modules, and any go.work above dir.
func listInputs(ctx context.Context, dir, overlayFile string, flags []string, env []string) ([]string, error) {
	args := []string{"list", "-deps", "-test", "-e", "-json", "-overlay", overlayFile}
	args = append(args, buildOnlyFlags(flags)...)
	cmd := exec.CommandContext(ctx, "go", append(args, ".")...)
	cmd.Dir, cmd.Env = dir, env
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("go list -deps: %v", err)
	}
	seen := map[string]bool{}
	var files []string
	add := func(p string) {
		if p != "" && !seen[p] {
			seen[p] = true
			files = append(files, p)
		}
	}
	dec := json.NewDecoder(bytes.NewReader(out))
	for {
		var p listedDep
		if err := dec.Decode(&p); err == io.EOF {
			break
		} else if err != nil {
			return nil, err
		}
		if p.Standard || p.Dir == "" {
			continue
		}
		if m := p.Module; m != nil && !m.Main && m.Version != "" && (m.Replace == nil || m.Replace.Version != "") {
			continue // a module version in the module cache never changes
		}
		add(p.Dir)
		if p.Module != nil && p.Module.GoMod != "" {
			add(p.Module.GoMod)
			add(filepath.Join(filepath.Dir(p.Module.GoMod), "go.sum"))
		}
		for _, list := range [][]string{p.GoFiles, p.CgoFiles, p.CFiles, p.CXXFiles, p.MFiles, p.HFiles, p.FFiles, p.SFiles,
			p.SwigFiles, p.SwigCXXFiles, p.SysoFiles, p.IgnoredGoFiles, p.IgnoredOtherFiles,
			p.EmbedFiles, p.TestGoFiles, p.XTestGoFiles, p.TestEmbedFiles, p.XTestEmbedFiles} {
			for _, f := range list {
				path := filepath.Join(p.Dir, f)
				add(path)
				add(filepath.Dir(path)) // an embedded directory's files come and go
			}
		}
	}
	for d := dir; ; d = filepath.Dir(d) {
		add(filepath.Join(d, "go.work"))
		if filepath.Dir(d) == d {
			break
		}
	}
	return files, nil
}

// buildOnlyFlags keeps the flags go list understands of a build's: all of
// them but -o (the build stage passes it separately anyway).
func buildOnlyFlags(flags []string) []string {
	var out []string
	for i := 0; i < len(flags); i++ {
		if flags[i] == "-o" {
			i++
			continue
		}
		out = append(out, flags[i])
	}
	return out
}

// recordInputs writes the record of a successful build that started at
// start, unless a file changed too close to the start to be trusted (it
// may have changed while go read it: the next build runs go again). A
// missing file (a go.work that is not there) is recorded as missing:
// creating one changes the build.
func recordInputs(out, key string, files []string, start time.Time) error {
	rec := buildRecord{Key: key, Files: map[string]fileStamp{}}
	for _, f := range files {
		s := stamp(f)
		if s.Size >= 0 && s.MTime > start.Add(-stampSlack).UnixNano() {
			return nil
		}
		rec.Files[f] = s
	}
	b, err := json.Marshal(rec)
	if err != nil {
		return err
	}
	name := filepath.Join(filepath.Dir(out), buildInputsFile)
	if err := os.WriteFile(name+".tmp", b, 0o644); err != nil {
		return err
	}
	return os.Rename(name+".tmp", name)
}

// forgetInputs removes the record beside out: the program there is no
// longer known to be current.
func forgetInputs(out string) {
	os.Remove(filepath.Join(filepath.Dir(out), buildInputsFile))
}
