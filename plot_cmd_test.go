package main

import (
	"bytes"
	"encoding/json"
	"image/png"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/memlens/memlens/chart/charttest"
	"github.com/memlens/memlens/profile"
)

// TestPlotSteps profiles the steps examples (a real go build, a real
// Python process) with --plot and --json, reads the chart back and checks
// its shape against the run: three growth steps inside three shaded calls
// of batch, inside one of run, and the drop after the free; then redraws
// the saved result as a PNG with `memlens plot`.
func TestPlotSteps(t *testing.T) {
	for _, tc := range []struct{ lang, target, file string }{
		{"go", "./testdata/go/cmd/steps", "main.go"},
		{"python", "testdata/python/steps.py", "steps.py"},
	} {
		t.Run(tc.lang, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			svg := filepath.Join(dir, "steps.svg")
			code, stdout, stderr := profileCLI(t, "--quiet", "--json", "--plot", svg, tc.target)
			if code != 0 {
				t.Fatalf("exit %d\n%s", code, stderr)
			}
			var res profile.Result
			if err := json.Unmarshal([]byte(stdout), &res); err != nil {
				t.Fatal(err)
			}
			b, err := os.ReadFile(svg)
			if err != nil {
				t.Fatal(err)
			}
			d, err := charttest.Parse(b)
			if err != nil {
				t.Fatal(err)
			}
			rss, heap := d.Series("#1F77B4"), d.Series("#FF7F0E")
			if len(rss) != len(res.Timeline.Samples) || len(heap) != len(rss) {
				t.Fatalf("%d and %d points for %d samples", len(rss), len(heap), len(res.Timeline.Samples))
			}
			// The heap's shape: from the bottom up to the top in steps, then
			// back to the bottom (the free).
			lo, hi, top := heap[0].Y, heap[0].Y, 0
			for i, p := range heap {
				if p.Y > hi {
					hi, top = p.Y, i
				}
				lo = min(lo, p.Y)
			}
			if end := heap[len(heap)-1].Y; end > lo+(hi-lo)*0.1 || top == len(heap)-1 {
				t.Errorf("heap ends at %.0f%% of its rise", 100*(end-lo)/(hi-lo))
			}
			// Three quarters of the way up, two rises of a third each have
			// happened: the heap passes 1/3 and 2/3 of its peak in order,
			// each inside a batch box.
			boxes := d.Boxes()
			var batches, runs []charttest.Path
			for _, bs := range boxes {
				switch len(bs) {
				case 3:
					batches = bs
				case 1:
					runs = bs
				}
			}
			if len(boxes) != 2 || len(batches) != 3 || len(runs) != 1 {
				t.Fatalf("boxes by colour: %d colours, %v", len(boxes), boxes)
			}
			for k, frac := range []float64{1.0 / 6, 3.0 / 6, 5.0 / 6} {
				i := 0
				for i < len(heap) && heap[i].Y < lo+(hi-lo)*frac {
					i++
				}
				x := heap[i].X
				if x < batches[k].MinX() || x > batches[k].MaxX() {
					t.Errorf("heap passes %.0f%% at x=%.1f, outside batch call %d (%.1f–%.1f)", 100*frac, x, k+1, batches[k].MinX(), batches[k].MaxX())
				}
				if x < runs[0].MinX() || x > runs[0].MaxX() {
					t.Errorf("heap passes %.0f%% outside run's call", 100*frac)
				}
			}
			if label := d.Text("peak "); !strings.Contains(label, tc.file+":") || !strings.Contains(label, "(batch)") && !strings.Contains(label, "(run)") {
				t.Errorf("peak label %q", label)
			}

			// The saved result, redrawn as a PNG.
			saved := filepath.Join(dir, "steps.json")
			if err := os.WriteFile(saved, []byte(stdout), 0o644); err != nil {
				t.Fatal(err)
			}
			pngFile := filepath.Join(dir, "steps.png")
			var out, errOut bytes.Buffer
			if code := plotCommand([]string{saved, "-o", pngFile}, &out, &errOut); code != 0 {
				t.Fatalf("plot: exit %d: %s", code, errOut.String())
			}
			f, err := os.Open(pngFile)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			img, err := png.Decode(f)
			if err != nil {
				t.Fatal(err)
			}
			blue := 0
			for y := img.Bounds().Min.Y; y < img.Bounds().Max.Y; y++ {
				for x := img.Bounds().Min.X; x < img.Bounds().Max.X; x++ {
					r, g, b, _ := img.At(x, y).RGBA()
					if r>>8 < 0x40 && g>>8 > 0x60 && g>>8 < 0x90 && b>>8 > 0xa0 {
						blue++
					}
				}
			}
			if blue < 500 {
				t.Errorf("PNG has %d pixels of the RSS line's blue", blue)
			}
		})
	}
}

// TestPlotBadInput: clear errors, nothing written.
func TestPlotBadInput(t *testing.T) {
	dir := t.TempDir()
	notJSON := filepath.Join(dir, "x.json")
	os.WriteFile(notJSON, []byte("Line #  Mem usage"), 0o644)
	noTimeline := filepath.Join(dir, "counts.json")
	os.WriteFile(noTimeline, []byte(`{"language":"go","status":"ok","functions":[]}`), 0o644)
	for _, tc := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{notJSON}, 2, "Usage"},
		{[]string{notJSON, "-o", filepath.Join(dir, "a.svg")}, 1, "is not a memlens profile --json result"},
		{[]string{noTimeline, "-o", filepath.Join(dir, "b.svg")}, 1, "has no timeline"},
		{[]string{filepath.Join(dir, "missing.json"), "-o", filepath.Join(dir, "c.svg")}, 1, "no such file"},
	} {
		var out, errOut bytes.Buffer
		if code := plotCommand(tc.args, &out, &errOut); code != tc.code || !strings.Contains(errOut.String(), tc.want) {
			t.Errorf("plot %v: exit %d, %q; want %d, %q", tc.args, code, errOut.String(), tc.code, tc.want)
		}
	}
	if left, _ := filepath.Glob(filepath.Join(dir, "*.svg")); len(left) > 0 {
		t.Errorf("written anyway: %v", left)
	}
}

// TestProfileCommandSampleInterval: --sample-interval sets the timeline's
// interval, 0 turns it off (and % Time with it), a negative one is refused.
func TestProfileCommandSampleInterval(t *testing.T) {
	if code, _, stderr := profileCLI(t, "--sample-interval=-1s", "testdata/python/steps.py"); code != 2 || !strings.Contains(stderr, "must not be negative") {
		t.Errorf("negative: exit %d, %s", code, stderr)
	}
	for _, tc := range []struct {
		flag     string
		interval float64
	}{
		{"--sample-interval=0", 0},
		{"--sample-interval=50ms", 50},
	} {
		code, stdout, stderr := profileCLI(t, "--quiet", "--json", tc.flag, "testdata/python/steps.py")
		if code != 0 {
			t.Fatalf("%s: exit %d\n%s", tc.flag, code, stderr)
		}
		var res profile.Result
		if err := json.Unmarshal([]byte(stdout), &res); err != nil {
			t.Fatal(err)
		}
		if tc.interval == 0 {
			if res.Timeline != nil || strings.Contains(stdout, `"time_share"`) {
				t.Errorf("%s: a timeline", tc.flag)
			}
			continue
		}
		tl := res.Timeline
		if tl == nil || tl.IntervalMS != tc.interval {
			t.Fatalf("%s: timeline %+v", tc.flag, tl)
		}
		// The sampler keeps to its cadence (a late sample makes the next
		// one closer): no more samples than the interval allows, plus the
		// first and the last.
		last := tl.Samples[len(tl.Samples)-1].TMS
		if n := len(tl.Samples); float64(n) > last/tc.interval+3 || n < 5 {
			t.Errorf("%s: %d samples over %.0f ms", tc.flag, n, last)
		}
	}
}
