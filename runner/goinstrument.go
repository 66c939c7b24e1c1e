package runner

import (
	"context"
	"strings"
	"time"

	"github.com/memlens/memlens/instrument"
	"github.com/memlens/memlens/profile"
)

// instrumentedPkg is one Go package whose targets carry probes.
type instrumentedPkg struct {
	index   int    // the probe runtime's package index (data file names)
	pkgPath string // import path; an external test package's ends in _test
	out     *instrument.Instrumented
}

// instrument is the third stage: it inserts probes into the files holding
// the targets, one instrument.Package per Go package (a directory's
// external test package, name_test, is a package of its own), and puts the
// instrumented files, each package's probe runtime and the entry's
// generated files into the overlay.
func (r *goRun) instrument(context.Context) error {
	opt := r.instrumentOptions()
	type pkgKey struct {
		p    *listedPackage
		name string
	}
	byPkg := map[pkgKey][]instrument.Func{}
	var order []pkgKey
	for _, t := range r.targets {
		k := pkgKey{t.Pkg, t.Func.Package}
		if _, ok := byPkg[k]; !ok {
			order = append(order, k)
		}
		byPkg[k] = append(byPkg[k], t.Func)
	}
	for i, k := range order {
		ip := instrument.Package{Index: i, Name: k.name, Dir: k.p.Dir, Files: map[string][]byte{}, Targets: byPkg[k]}
		for _, fn := range byPkg[k] {
			for _, f := range k.p.Files {
				if f.Path == fn.File {
					ip.Files[f.Path] = f.Src
				}
			}
		}
		out, err := instrument.Instrument(ip, opt)
		if err != nil {
			// A target file that does not parse or type-check: report it as
			// the compiler would, at its original position.
			r.res.Errors = errorsFromInstrument(err)
			return r.stop(profile.StatusBuildFailed, "build failed: "+oneLineErr(err))
		}
		for path, src := range out.Files {
			if err := r.ov.add(path, src); err != nil {
				return err
			}
		}
		if err := r.ov.add(out.RuntimePath, out.RuntimeFile); err != nil {
			return err
		}
		pkgPath := k.p.ImportPath
		if strings.HasSuffix(k.name, "_test") {
			pkgPath += "_test"
		}
		r.instrumented = append(r.instrumented, instrumentedPkg{i, pkgPath, out})
	}
	for path, src := range r.entry.Files {
		if err := r.ov.add(path, src); err != nil {
			return err
		}
	}
	return nil
}

// instrumentOptions are the probes' settings for this request.
func (r *goRun) instrumentOptions() instrument.Options {
	return instrument.Options{
		Allocs:      !r.req.CountsOnly,
		RSS:         !r.req.CountsOnly,
		RSSInterval: rssInterval(r.req.RSSInterval),
		Timeline:    sampleInterval(r.req),
	}
}

// rssInterval maps Request.RSSInterval to the probes' setting: 0 is the
// default, negative is every line (the probes' 0).
func rssInterval(d time.Duration) time.Duration {
	switch {
	case d == 0:
		return DefaultRSSInterval
	case d < 0:
		return 0
	}
	return d
}

// indexes are the instrumented packages' indexes, for the data files.
func (r *goRun) indexes() []int {
	var ix []int
	for _, p := range r.instrumented {
		ix = append(ix, p.index)
	}
	return ix
}
