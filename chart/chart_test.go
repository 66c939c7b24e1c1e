package chart

import (
	"bytes"
	"errors"
	"image/png"
	"path/filepath"
	"strings"
	"testing"

	"github.com/memlens/memlens/chart/charttest"
	"github.com/memlens/memlens/profile"
)

// stepsResult is a made-up timeline: RSS and heap grow in two steps of 10
// MiB (the first in f's call, the second in g's, nested in f), hold, and
// drop; 1 sample per 10 ms.
func stepsResult() *profile.Result {
	res := &profile.Result{
		Language: "go", Target: "./steps", Status: profile.StatusOK,
		Functions: []profile.Function{{Name: "f", File: "/src/steps.go"}, {Name: "g", File: "/src/steps.go"}},
	}
	tl := &profile.Timeline{IntervalMS: 10}
	for i := 0; i <= 60; i++ {
		s := profile.Sample{TMS: float64(i * 10)}
		var mib uint64
		switch {
		case i < 10:
			mib = 0
		case i < 20: // f:3 grows 10 MiB
			mib = uint64(i-10) + 1
			s.Function, s.Line = "f", 3
		case i < 30:
			mib = 10
			s.Function, s.Line = "f", 4
		case i < 40: // g:8 grows 10 MiB more
			mib = 10 + uint64(i-30) + 1
			s.Function, s.Line = "g", 8
		case i < 50:
			mib = 20
			s.Function, s.Line = "f", 5
		default: // freed
			mib = 1
		}
		s.RSSBytes = (5 + mib) << 20
		s.HeapBytes = mib << 20
		tl.Samples = append(tl.Samples, s)
	}
	tl.Calls = []profile.CallSpan{
		{Function: "f", StartMS: 100, EndMS: 500, Calls: 1},
		{Function: "g", StartMS: 300, EndMS: 400, Calls: 1},
	}
	res.Timeline = tl
	return res
}

func svgOf(t *testing.T, res *profile.Result) *charttest.Drawing {
	t.Helper()
	var b bytes.Buffer
	if err := Write(&b, res, "svg"); err != nil {
		t.Fatal(err)
	}
	d, err := charttest.Parse(b.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// TestChartShape reads the SVG back: the series have a point per sample,
// at heights proportional to the data; a box per call, over the call's
// time; the peak's label names its line.
func TestChartShape(t *testing.T) {
	res := stepsResult()
	d := svgOf(t, res)
	rss, heap := d.Series("#1F77B4"), d.Series("#FF7F0E")
	if len(rss) != 61 || len(heap) != 61 {
		t.Fatalf("series of %d and %d points, want 61", len(rss), len(heap))
	}
	// Heights: heap 0 at the start, 10 MiB on the plateau, 20 at the peak;
	// the same scale for RSS, 5 MiB higher.
	zero := heap[0].Y
	unit := (heap[25].Y - zero) / 10 // per MiB
	if unit <= 0 {
		t.Fatalf("heap does not rise: %v → %v", heap[0], heap[25])
	}
	for i, want := range map[int]float64{45: 20, 55: 1, 15: 6} {
		if got := (heap[i].Y - zero) / unit; got < want-0.01 || got > want+0.01 {
			t.Errorf("heap at sample %d: %.2f MiB, want %v", i, got, want)
		}
		if got := (rss[i].Y - zero) / unit; got < want+4.99 || got > want+5.01 {
			t.Errorf("RSS at sample %d: %.2f MiB, want %v", i, got, want+5)
		}
	}
	// Time: x proportional to t_ms.
	step := (rss[60].X - rss[0].X) / 600
	if x := (rss[30].X - rss[0].X) / step; x < 299.99 || x > 300.01 {
		t.Errorf("sample 30 at %.2f ms", x)
	}
	// The calls: one box each, in its own colour, over its time.
	boxes := d.Boxes()
	if len(boxes) != 2 {
		t.Fatalf("boxes in %d colours, want 2: %v", len(boxes), boxes)
	}
	for _, bs := range boxes {
		if len(bs) != 1 {
			t.Fatalf("%d boxes of a colour, want 1", len(bs))
		}
		from, to := (bs[0].MinX()-rss[0].X)/step, (bs[0].MaxX()-rss[0].X)/step
		if !(near(from, 100) && near(to, 500)) && !(near(from, 300) && near(to, 400)) {
			t.Errorf("box over %.1f–%.1f ms, want a call's", from, to)
		}
	}
	if got, want := d.Text("peak"), "peak 25.0 MiB at 0.39 s: steps.go:8 (g)"; got != want {
		t.Errorf("peak label %q, want %q", got, want)
	}
	for _, want := range []string{"calls of f", "calls of g", "RSS", "heap (live objects)", "memory over time: ./steps"} {
		if d.Text(want) == "" {
			t.Errorf("no text %q in %q", want, d.Texts)
		}
	}
}

func near(a, b float64) bool { return a > b-0.5 && a < b+0.5 }

// TestChartFormats: PNG by extension, an unknown extension and a result
// without a timeline are errors.
func TestChartFormats(t *testing.T) {
	dir := t.TempDir()
	res := stepsResult()
	pngFile := filepath.Join(dir, "steps.png")
	if err := Save(pngFile, res); err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	if err := Write(&b, res, "png"); err != nil {
		t.Fatal(err)
	}
	img, err := png.Decode(&b)
	if err != nil {
		t.Fatal(err)
	}
	if r := img.Bounds(); r.Dx() != 960 || r.Dy() != 480 {
		t.Errorf("PNG of %v, want 960×480 (10×5 in at 96 dpi)", r)
	}
	if err := Save(filepath.Join(dir, "steps.bmp"), res); err == nil || !strings.Contains(err.Error(), "bmp") {
		t.Errorf("bmp: %v", err)
	}
	if err := Save(filepath.Join(dir, "steps"), res); err == nil {
		t.Error("no extension: no error")
	}
	res.Timeline = nil
	if err := Save(filepath.Join(dir, "none.svg"), res); !errors.Is(err, ErrNoTimeline) {
		t.Errorf("no timeline: %v", err)
	}
}

// TestPeakLabel: the peak's line, and the line before it when the rise
// into the peak happened there; none for a peak outside profiled code.
func TestPeakLabel(t *testing.T) {
	res := stepsResult()
	res.Timeline.Samples[40].RSSBytes += 1 << 20
	if got, want := PeakLabel(res), "peak 26.0 MiB at 0.40 s: steps.go:5 (f), after steps.go:8 (g)"; got != want {
		t.Errorf("%q, want %q", got, want)
	}
	res.Timeline.Samples[5].RSSBytes = 1 << 30
	if got, want := PeakLabel(res), "peak 1024.0 MiB at 0.05 s"; got != want {
		t.Errorf("%q, want %q", got, want)
	}
}

// TestTitleNamesThePackage: a target of "." (memlens profile . F) or
// "./..." names the profiled functions' packages, not the dot.
func TestTitleNamesThePackage(t *testing.T) {
	for _, tc := range []struct{ target, want string }{
		{".", "memory over time: example.com/m/steps, example.com/m/other"},
		{"./...", "memory over time: example.com/m/steps, example.com/m/other"},
		{"./steps", "memory over time: ./steps"},
	} {
		res := stepsResult()
		res.Target = tc.target
		res.Functions[0].Package = "example.com/m/steps"
		res.Functions = append(res.Functions, profile.Function{Name: "h", Package: "example.com/m/other"}, profile.Function{Name: "k", Package: "example.com/m/steps"})
		if got := title(res); got != tc.want {
			t.Errorf("target %q: title %q, want %q", tc.target, got, tc.want)
		}
	}
}
