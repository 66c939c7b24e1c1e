package runner

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/gob"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"sync"
	"time"

	"golang.org/x/mod/modfile"
	"golang.org/x/tools/go/packages"
)

// The module index: which packages a module (or go.work workspace) has,
// with what the call graph needs to build each one's graph. Listing it
// (go list -deps -test -export over the module) is the slow part of a
// search, so it is cached by a key that changes with anything that can
// change the listing: go.mod, go.sum, go.work, the module's directories
// and Go files (names, sizes, modification times), the editor's unsaved
// buffers and the build flags (moduleKey). The server keeps indexes and
// graphs in memory; both are also kept on disk under the user cache
// directory (memlens/graph), so that a second `memlens profile` does not
// list and type-check the module again.

// modPkg is one package of a listing, as the call graph needs it.
type modPkg struct {
	// ID is go/packages' ID: "m/lib", "m/lib [m/lib.test]" (the package
	// with its _test.go files), "m/lib_test [m/lib.test]" (its external
	// tests).
	ID, Path, Name, Dir string
	// ForTest is the package under test, for a test variant.
	ForTest string
	// Files are the files the compiler sees (cgo's output for cgo files).
	Files []string
	// Exports maps the package's import paths to their export data.
	Exports map[string]string
	// Imports are the IDs of the module packages it imports.
	Imports []string
	// GoVersion is the module's go directive.
	GoVersion string
	// Err says why the package cannot be graphed (it does not compile).
	Err string
}

// modIndex is a listing of packages: a module's or workspace's, or just a
// target's.
type modIndex struct {
	Key  string
	Pkgs []*modPkg
	// Roots are the main modules' directories.
	Roots []string
}

// listModPkgs lists patterns (run in dir) with their dependencies' export
// data and returns the main modules' packages.
func listModPkgs(ctx context.Context, dir string, patterns []string, overlay map[string][]byte, buildFlags []string) ([]*modPkg, error) {
	cfg := &packages.Config{
		Context: ctx,
		Mode: packages.NeedName | packages.NeedFiles | packages.NeedCompiledGoFiles | packages.NeedImports |
			packages.NeedDeps | packages.NeedExportFile | packages.NeedModule | packages.NeedForTest,
		Dir:        dir,
		Tests:      true,
		Overlay:    overlay,
		BuildFlags: buildFlags,
	}
	listed, err := packages.Load(cfg, patterns...)
	if err != nil {
		return nil, err
	}
	// The main modules' packages, and the packages listed themselves
	// (outside modules, GOPATH mode; a vendored package named by its
	// directory).
	listedID := map[string]bool{}
	for _, p := range listed {
		listedID[p.ID] = true
	}
	local := func(p *packages.Package) bool {
		return p.Module != nil && p.Module.Main || listedID[p.ID]
	}
	var out []*modPkg
	seen := map[string]bool{}
	var visit func(p *packages.Package)
	visit = func(p *packages.Package) {
		if seen[p.ID] || !local(p) {
			return
		}
		seen[p.ID] = true
		mp := &modPkg{ID: p.ID, Path: p.PkgPath, Name: p.Name, Dir: p.Dir, ForTest: p.ForTest,
			Files: p.CompiledGoFiles, Exports: map[string]string{}}
		if p.Module != nil {
			mp.GoVersion = p.Module.GoVersion
		}
		for path, imp := range p.Imports {
			mp.Exports[path] = imp.ExportFile
			if local(imp) {
				mp.Imports = append(mp.Imports, imp.ID)
			}
			visit(imp)
		}
		sort.Strings(mp.Imports)
		if len(p.Errors) > 0 {
			mp.Err = p.Errors[0].Error()
		}
		out = append(out, mp)
	}
	for _, p := range listed {
		visit(p)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out, nil
}

// graphable lists the packages whose graphs make up the module's call
// graph: each package's test variant where it has one (the package with
// its _test.go files), else the package itself, and its external test
// package. Test variants of other packages (a dependency rebuilt for some
// package's tests) repeat their package and are left out, and so are the
// generated test mains.
func graphable(pkgs []*modPkg) []*modPkg {
	hasVariant := map[string]bool{}
	for _, p := range pkgs {
		if p.ForTest != "" && p.ForTest == p.Path {
			hasVariant[p.Path] = true
		}
	}
	var out []*modPkg
	for _, p := range pkgs {
		switch {
		case strings.HasSuffix(p.ID, ".test") && !strings.Contains(p.ID, " "): // the generated test main
		case p.ForTest == "":
			if !hasVariant[p.Path] {
				out = append(out, p)
			}
		case p.ForTest == p.Path, p.Path == p.ForTest+"_test":
			out = append(out, p)
		}
	}
	return out
}

// importers returns the graphable packages that import (directly or not,
// their tests included) a package with one of the paths, and those
// packages themselves: the packages whose functions can call into them.
func importers(pkgs []*modPkg, paths map[string]bool) []*modPkg {
	return reaching(pkgs, func(p *modPkg) bool {
		return paths[p.Path] || paths[strings.TrimSuffix(p.Path, "_test")] && p.ForTest != ""
	})
}

// depImporters returns the graphable packages of pkgs that import one of
// paths, packages outside the listed modules, directly or through packages
// of the listing: Imports names only the listing's own packages, Exports
// every direct import.
func depImporters(pkgs []*modPkg, paths map[string]bool) []*modPkg {
	return reaching(pkgs, func(p *modPkg) bool {
		for path := range p.Exports {
			if paths[path] {
				return true
			}
		}
		return false
	})
}

// reaching returns the graphable packages of pkgs that are target or
// import one, directly or through packages of the listing.
func reaching(pkgs []*modPkg, target func(*modPkg) bool) []*modPkg {
	byID := map[string]*modPkg{}
	for _, p := range pkgs {
		byID[p.ID] = p
	}
	memo := map[string]bool{}
	var reaches func(p *modPkg) bool
	reaches = func(p *modPkg) bool {
		if r, ok := memo[p.ID]; ok {
			return r
		}
		memo[p.ID] = false // cycles cannot happen; this guards anyway
		r := target(p)
		for _, id := range p.Imports {
			if r {
				break
			}
			if q := byID[id]; q != nil {
				r = reaches(q)
			}
		}
		memo[p.ID] = r
		return r
	}
	var out []*modPkg
	for _, p := range graphable(pkgs) {
		if reaches(p) {
			out = append(out, p)
		}
	}
	return out
}

// moduleRoots finds the main modules of dir: the go.work workspace's
// modules when there is one (GOWORK, else a go.work in dir or a parent),
// else the module whose go.mod is in dir or a parent. It also returns the
// files whose contents define them.
func moduleRoots(dir string) (roots, defs []string, err error) {
	work := os.Getenv("GOWORK")
	if work == "" {
		for d := dir; ; d = filepath.Dir(d) {
			if st, err := os.Stat(filepath.Join(d, "go.work")); err == nil && !st.IsDir() {
				work = filepath.Join(d, "go.work")
				break
			}
			if filepath.Dir(d) == d {
				break
			}
		}
	}
	if work != "" && work != "off" {
		data, err := os.ReadFile(work)
		if err != nil {
			return nil, nil, err
		}
		wf, err := modfile.ParseWork(work, data, nil)
		if err != nil {
			return nil, nil, err
		}
		defs = append(defs, work, work+".sum")
		for _, u := range wf.Use {
			root := u.Path
			if !filepath.IsAbs(root) {
				root = filepath.Join(filepath.Dir(work), root)
			}
			roots = append(roots, filepath.Clean(root))
			defs = append(defs, filepath.Join(root, "go.mod"), filepath.Join(root, "go.sum"))
		}
		return roots, defs, nil
	}
	for d := dir; ; d = filepath.Dir(d) {
		if st, err := os.Stat(filepath.Join(d, "go.mod")); err == nil && !st.IsDir() {
			return []string{d}, []string{filepath.Join(d, "go.mod"), filepath.Join(d, "go.sum")}, nil
		}
		if filepath.Dir(d) == d {
			return nil, nil, fmt.Errorf("%s is not in a Go module", dir)
		}
	}
}

// moduleKey hashes what the listing of roots depends on: the definition
// files' contents, every directory and Go file under the roots (as go
// list ./... walks them: no testdata, vendor, _ or . directories, no
// nested modules) by name, size and modification time, the editor's
// buffers, the build flags and the go command's environment.
func moduleKey(roots, defs []string, overlay map[string][]byte, buildFlags []string) (string, error) {
	h := sha256.New()
	fmt.Fprintf(h, "%s\x00%s\x00%s\x00%s\x00", graphFormat, runtime.GOOS, runtime.GOARCH, strings.Join(buildFlags, "\x01"))
	for _, env := range []string{"GOFLAGS", "GOOS", "GOARCH", "CGO_ENABLED", "GOEXPERIMENT", "GOTOOLCHAIN", "GOROOT", "GOPATH", "GOWORK", "GOPROXY"} {
		fmt.Fprintf(h, "%s=%s\x00", env, os.Getenv(env))
	}
	if goBin, err := exec.LookPath("go"); err == nil {
		if st, err := os.Stat(goBin); err == nil {
			fmt.Fprintf(h, "go %s %d %d\x00", goBin, st.Size(), st.ModTime().UnixNano())
		}
	}
	for _, d := range defs {
		b, err := os.ReadFile(d)
		if err != nil && !errors.Is(err, fs.ErrNotExist) {
			return "", err
		}
		fmt.Fprintf(h, "def %s %d\x00", d, len(b))
		h.Write(b)
	}
	for _, root := range roots {
		walkModuleTree(root, func(path string, d fs.DirEntry) {
			if !d.IsDir() && !strings.HasSuffix(path, ".go") {
				return
			}
			info, err := d.Info()
			if err != nil {
				return
			}
			if d.IsDir() {
				fmt.Fprintf(h, "dir %s %d\x00", path, info.ModTime().UnixNano())
			} else {
				fmt.Fprintf(h, "file %s %d %d\x00", path, info.Size(), info.ModTime().UnixNano())
			}
		})
	}
	paths := make([]string, 0, len(overlay))
	for p := range overlay {
		paths = append(paths, p)
	}
	sort.Strings(paths)
	for _, p := range paths {
		sum := sha256.Sum256(overlay[p])
		fmt.Fprintf(h, "overlay %s %x\x00", p, sum)
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// graphKey hashes what a package's graph depends on: its files (by size
// and modification time, or an editor buffer's contents) and its imports'
// export data (whose file names the go command derives from their
// contents).
func graphKey(p *modPkg, overlay map[string][]byte) (string, bool) {
	h := sha256.New()
	fmt.Fprintf(h, "%s\x00%s\x00%s\x00%s\x00%s\x00", graphFormat, p.ID, p.Path, p.Name, p.GoVersion)
	for _, f := range p.Files {
		if src, ok := overlay[f]; ok {
			fmt.Fprintf(h, "overlay %s %x\x00", f, sha256.Sum256(src))
			continue
		}
		st, err := os.Stat(f)
		if err != nil {
			return "", false
		}
		fmt.Fprintf(h, "file %s %d %d\x00", f, st.Size(), st.ModTime().UnixNano())
	}
	paths := make([]string, 0, len(p.Exports))
	for path := range p.Exports {
		paths = append(paths, path)
	}
	sort.Strings(paths)
	for _, path := range paths {
		if p.Exports[path] == "" && path != "unsafe" {
			return "", false // does not compile: no graph
		}
		fmt.Fprintf(h, "import %s %s\x00", path, p.Exports[path])
	}
	return hex.EncodeToString(h.Sum(nil)), true
}

// graphStore keeps module indexes and package graphs, in memory for the
// process (the language server lives long) and on disk.
type graphStore struct {
	mu      sync.Mutex
	indexes *lru[*modIndex]
	graphs  *lru[*pkgGraph]
	// building holds a channel per module key or graph key being built,
	// so that concurrent searches wait for one build.
	building  map[string]chan struct{}
	dir       string // on-disk cache; "" for none
	pruneOnce sync.Once
	// listed and built count the go list runs and the graphs built (not
	// found in a cache), for tests.
	listed, built int
}

// The store keeps at most this many listings and graphs in memory: every
// edit of a buffer makes new keys, and the server lives long. What falls
// out is read from the disk again (or, for editor buffers, built again).
const (
	maxIndexes = 32
	maxGraphs  = 8192
)

// lru is a map that forgets its least recently used entries beyond max.
// Its user locks it.
type lru[V any] struct {
	max   int
	clock uint64
	m     map[string]lruEntry[V]
}

type lruEntry[V any] struct {
	v    V
	used uint64
}

func newLRU[V any](max int) *lru[V] {
	return &lru[V]{max: max, m: map[string]lruEntry[V]{}}
}

func (c *lru[V]) get(key string) V {
	e, ok := c.m[key]
	if ok {
		c.clock++
		e.used = c.clock
		c.m[key] = e
	}
	return e.v
}

func (c *lru[V]) put(key string, v V) {
	c.clock++
	c.m[key] = lruEntry[V]{v, c.clock}
	if len(c.m) <= c.max {
		return
	}
	// Forget the oldest quarter at once: eviction stays rare.
	used := make([]uint64, 0, len(c.m))
	for _, e := range c.m {
		used = append(used, e.used)
	}
	sort.Slice(used, func(i, j int) bool { return used[i] < used[j] })
	cut := used[len(used)/4]
	for k, e := range c.m {
		if e.used < cut {
			delete(c.m, k)
		}
	}
}

// theGraphStore is the process's store.
var theGraphStore = newGraphStore()

func newGraphStore() *graphStore {
	s := &graphStore{indexes: newLRU[*modIndex](maxIndexes), graphs: newLRU[*pkgGraph](maxGraphs), building: map[string]chan struct{}{}}
	if cache, err := os.UserCacheDir(); err == nil {
		s.dir = filepath.Join(cache, "memlens", "graph")
	}
	return s
}

// once runs build for key unless another goroutine is running it, in
// which case it waits for that one to end instead.
func (s *graphStore) once(key string, build func()) {
	s.mu.Lock()
	ch, busy := s.building[key]
	if busy {
		s.mu.Unlock()
		<-ch
		return
	}
	ch = make(chan struct{})
	s.building[key] = ch
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		delete(s.building, key)
		s.mu.Unlock()
		close(ch)
	}()
	build()
}

// listing returns the packages of the module (or workspace) of dir with
// what their graphs need: all of them when patterns is empty, else those
// of patterns (and the module packages they import), listing them when no
// cached listing has the key (a listing of the whole module serves any
// patterns).
//
// fresh skips the caches: a listing whose export data the go command has
// since removed from its cache (go clean -cache) is listed again.
func (s *graphStore) listing(ctx context.Context, dir string, patterns []string, overlay map[string][]byte, buildFlags []string, fresh bool) (*modIndex, error) {
	roots, defs, err := moduleRoots(dir)
	if err != nil {
		if len(patterns) == 0 {
			return nil, err
		}
		// Not in a module (GOPATH mode): no key to cache by, list.
		pkgs, err := listModPkgs(ctx, dir, patterns, overlay, buildFlags)
		if err != nil {
			return nil, err
		}
		return &modIndex{Pkgs: pkgs}, nil
	}
	modKey, err := moduleKey(roots, defs, overlay, buildFlags)
	if err != nil {
		return nil, err
	}
	whole := "index-" + modKey
	name := whole
	if len(patterns) > 0 {
		h := sha256.New()
		fmt.Fprintf(h, "%s\x00%s", modKey, strings.Join(patterns, "\x00"))
		name = "index-" + hex.EncodeToString(h.Sum(nil))
	}
	get := func(name string) *modIndex {
		s.mu.Lock()
		ix := s.indexes.get(name)
		s.mu.Unlock()
		if ix != nil {
			return ix
		}
		if loaded, ok := s.load(name, &modIndex{}).(*modIndex); ok && loaded != nil {
			s.mu.Lock()
			s.indexes.put(name, loaded)
			s.mu.Unlock()
			return loaded
		}
		return nil
	}
	if !fresh {
		if ix := get(whole); ix != nil && ix.covers(patterns) {
			return ix, nil
		}
		if ix := get(name); ix != nil {
			return ix, nil
		}
	}
	var buildErr error
	s.once(name, func() {
		if !fresh && get(name) != nil {
			return
		}
		pats := patterns
		if len(pats) == 0 {
			for _, r := range roots {
				pats = append(pats, filepath.Join(r, "..."))
			}
		}
		pkgs, err := listModPkgs(ctx, dir, pats, overlay, buildFlags)
		if err != nil {
			buildErr = err
			return
		}
		s.mu.Lock()
		s.listed++
		s.mu.Unlock()
		ix := &modIndex{Key: modKey, Pkgs: pkgs, Roots: roots}
		s.mu.Lock()
		s.indexes.put(name, ix)
		s.mu.Unlock()
		if len(overlay) == 0 {
			s.save(name, ix) // editor buffers change too often to keep on disk
		}
	})
	if buildErr != nil {
		return nil, buildErr
	}
	if ix := get(name); ix != nil {
		return ix, nil
	}
	return nil, errors.New("listing the module failed")
}

// covers says the listing has the packages of the directories among
// patterns: the whole module's listing has every package of the module,
// but not a vendored one (go list ./... leaves vendor out).
func (ix *modIndex) covers(patterns []string) bool {
	for _, pat := range patterns {
		if !filepath.IsAbs(pat) {
			continue
		}
		found := false
		for _, p := range ix.Pkgs {
			found = found || p.Dir == filepath.Clean(pat)
		}
		if !found {
			return false
		}
	}
	return true
}

// graphsFor lists the module of dir (patterns: see listing), picks
// packages of the listing and returns their graphs. A listing whose export
// data is gone is listed again, once.
func (s *graphStore) graphsFor(ctx context.Context, dir string, patterns []string, overlay map[string][]byte, buildFlags []string,
	pick func([]*modPkg) []*modPkg) ([]*pkgGraph, error) {
	for fresh := false; ; fresh = true {
		ix, err := s.listing(ctx, dir, patterns, overlay, buildFlags, fresh)
		if err != nil {
			return nil, err
		}
		gs, gone := s.graphsOf(ctx, pick(ix.Pkgs), overlay)
		if !gone || fresh {
			return gs, ctx.Err()
		}
	}
}

// graphsOf returns the graphs of pkgs, building the missing ones (in
// parallel). A package that cannot be graphed (it does not type-check) has
// none: its functions reach nothing. gone says some export data named by
// the listing no longer exists.
func (s *graphStore) graphsOf(ctx context.Context, pkgs []*modPkg, overlay map[string][]byte) (graphs []*pkgGraph, gone bool) {
	out := make([]*pkgGraph, len(pkgs))
	sem := make(chan struct{}, max(1, runtime.GOMAXPROCS(0)))
	var wg sync.WaitGroup
	for i, p := range pkgs {
		if p.Err != "" {
			continue
		}
		key, ok := graphKey(p, overlay)
		if !ok {
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			if ctx.Err() != nil {
				return
			}
			sem <- struct{}{}
			defer func() { <-sem }()
			var err error
			out[i], err = s.graph(key, p, overlay)
			if errors.Is(err, errExportGone) {
				s.mu.Lock()
				gone = true
				s.mu.Unlock()
			}
		}()
	}
	wg.Wait()
	for _, g := range out {
		if g != nil {
			graphs = append(graphs, g)
		}
	}
	return graphs, gone
}

// graph returns the graph of p, whose key is key.
func (s *graphStore) graph(key string, p *modPkg, overlay map[string][]byte) (*pkgGraph, error) {
	var g *pkgGraph
	var buildErr error
	get := func() bool {
		s.mu.Lock()
		g = s.graphs.get(key)
		s.mu.Unlock()
		if g == nil {
			if loaded, ok := s.load("pkg-"+key, &pkgGraph{}).(*pkgGraph); ok && loaded != nil {
				g = loaded
				s.mu.Lock()
				s.graphs.put(key, g)
				s.mu.Unlock()
			}
		}
		return g != nil
	}
	if get() {
		return g, nil
	}
	s.once("pkg-"+key, func() {
		if get() {
			return
		}
		built, err := buildPkgGraph(p, overlay)
		if err != nil {
			buildErr = err
			return
		}
		s.mu.Lock()
		s.graphs.put(key, built)
		s.built++
		s.mu.Unlock()
		if len(overlay) == 0 {
			s.save("pkg-"+key, built) // editor buffers change too often to keep on disk
		}
		g = built
	})
	if g == nil && buildErr == nil {
		get()
	}
	return g, buildErr
}

// load reads a gob file of the disk cache into v; nil when there is none.
func (s *graphStore) load(name string, v any) any {
	if s.dir == "" {
		return nil
	}
	path := filepath.Join(s.dir, name[:min(len(name), 10)], name)
	b, err := os.ReadFile(path)
	if err != nil {
		return nil
	}
	if err := gob.NewDecoder(bytes.NewReader(b)).Decode(v); err != nil {
		return nil
	}
	now := time.Now()
	_ = os.Chtimes(path, now, now) // in use: not for pruning
	return v
}

// prune removes, once a process, the cache files unused for
// buildCacheUnused (a week).
func (s *graphStore) prune() {
	s.pruneOnce.Do(func() {
		now := time.Now()
		filepath.WalkDir(s.dir, func(path string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() {
				return nil
			}
			if info, err := d.Info(); err == nil && now.Sub(info.ModTime()) > buildCacheUnused {
				os.Remove(path)
			}
			return nil
		})
	})
}

// save writes v to the disk cache (write, then rename: readers never see
// half a file). Failures only lose the cache.
func (s *graphStore) save(name string, v any) {
	if s.dir == "" {
		return
	}
	s.prune()
	var buf bytes.Buffer
	if err := gob.NewEncoder(&buf).Encode(v); err != nil {
		return
	}
	dir := filepath.Join(s.dir, name[:min(len(name), 10)])
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return
	}
	tmp, err := os.CreateTemp(dir, "tmp-")
	if err != nil {
		return
	}
	_, werr := io.Copy(tmp, &buf)
	if cerr := tmp.Close(); werr != nil || cerr != nil {
		os.Remove(tmp.Name())
		return
	}
	if err := os.Rename(tmp.Name(), filepath.Join(dir, name)); err != nil {
		os.Remove(tmp.Name())
	}
}
