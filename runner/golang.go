package runner

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/memlens/memlens/profile"
	"github.com/memlens/memlens/runner/escape"
)

// profileGo profiles Go functions. A run is a pipeline of stages, each a
// method of goRun in the file named for it:
//
//	resolve      resolve.go      list the packages, parse them, find the targets
//	chooseEntry  entry.go        decide which test or program runs the targets
//	instrument   goinstrument.go insert probes into the targets' files (overlay)
//	build        build.go        go test -c / go build with -overlay
//	run          gorun.go        run the program, classify how it ended
//	collect      gocollect.go    read counters and allocation records back
//	escapes      escapes.go      explain the lines with the compiler's escape analysis
//	timeline     gotimeline.go   read the samples and call log back (Result.Timeline)
//
// A stage that ends the run early with a result to show (a file that does
// not compile, a build that timed out) fills r.res and returns errStopped;
// any other error means the request itself was unusable.
func profileGo(ctx context.Context, req Request) (*profile.Result, error) {
	r, err := newGoRun(req)
	if err != nil {
		return nil, err
	}
	defer r.close()
	stages := []func(context.Context) error{
		r.resolve,
		r.chooseEntry,
		r.instrument,
		r.build,
		r.run,
		r.collect,
		r.escapes,
		r.timeline,
	}
	for _, stage := range stages {
		if err := stage(ctx); errors.Is(err, errStopped) {
			break
		} else if err != nil {
			return nil, err
		}
	}
	return r.finish(), nil
}

// errStopped is returned by a stage that ended the run with r.res final.
var errStopped = errors.New("run stopped")

// goRun is one Go profile in progress: what each stage found, for the
// stages after it.
type goRun struct {
	req      Request
	start    time.Time
	deadline time.Time
	res      *profile.Result
	// tmp holds the overlay's files and the run's data directory; removed
	// by close.
	tmp string
	ov  *overlay
	// editor holds the editor buffers by absolute path; listOverlay is an
	// overlay file of just those (for go list), empty when there are none.
	editor      map[string][]byte
	listOverlay string

	// store keeps the module listings and call graphs the entry search
	// uses, across runs of the process.
	store *graphStore

	// resolve
	pkgs    []*listedPackage
	targets []target // each knows its package; they may be several

	// chooseEntry
	entry *goEntry // entry.Pkg is the package that is built and run

	// instrument
	instrumented []instrumentedPkg

	// build
	bin string
	// escapeDir is where the compiler wrote its escape analysis;
	// escapeReports what was read back, or escapeErr why not (see
	// escapes.go).
	escapeDir     string
	escapeReports []escape.Report
	escapeErr     error

	// run
	data  string    // $MEMLENS_DIR of the run
	ended time.Time // when the program ended
}

// newGoRun prepares the temporary directory and the overlay holding the
// editor's unsaved buffers.
func newGoRun(req Request) (*goRun, error) {
	start := time.Now()
	r := &goRun{
		req:      req,
		start:    start,
		deadline: start.Add(req.Timeout),
		res:      &profile.Result{Language: "go", Target: req.Target, StartedAt: start, Functions: []profile.Function{}},
		editor:   map[string][]byte{},
		store:    theGraphStore,
	}
	tmp, err := os.MkdirTemp("", "memlens-go-")
	if err != nil {
		return nil, err
	}
	r.tmp = tmp
	r.ov = newOverlay(tmp)
	for path, src := range req.Overlay {
		abs, err := filepath.Abs(path)
		if err != nil {
			r.close()
			return nil, err
		}
		r.editor[abs] = src
		if err := r.ov.add(abs, src); err != nil {
			r.close()
			return nil, err
		}
	}
	if len(r.editor) > 0 {
		if r.listOverlay, err = r.ov.write(); err != nil {
			r.close()
			return nil, err
		}
	}
	return r, nil
}

func (r *goRun) close() { os.RemoveAll(r.tmp) }

// stop ends the run with status and message; the stage returns its error.
func (r *goRun) stop(status profile.Status, message string) error {
	r.res.Status, r.res.Message = status, message
	return errStopped
}

func (r *goRun) finish() *profile.Result { return finish(r.res, r.start) }

func finish(res *profile.Result, start time.Time) *profile.Result {
	res.DurationMS = time.Since(start).Milliseconds()
	res.Partial = res.Status != profile.StatusOK
	return res
}

// overlay is a go build -overlay file under construction: replacement
// files live in dir, named by their order.
type overlay struct {
	dir     string
	replace map[string]string
}

func newOverlay(dir string) *overlay {
	return &overlay{dir: dir, replace: map[string]string{}}
}

func (o *overlay) add(path string, src []byte) error {
	name := filepath.Join(o.dir, fmt.Sprintf("%d_%s", len(o.replace), filepath.Base(path)))
	if old, ok := o.replace[path]; ok {
		name = old
	}
	if err := os.WriteFile(name, src, 0o644); err != nil {
		return err
	}
	o.replace[path] = name
	return nil
}

func (o *overlay) write() (string, error) {
	b, err := json.Marshal(struct{ Replace map[string]string }{o.replace})
	if err != nil {
		return "", err
	}
	path := filepath.Join(o.dir, "overlay.json")
	return path, os.WriteFile(path, b, 0o644)
}
