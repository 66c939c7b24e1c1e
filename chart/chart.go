// Package chart draws a profile's timeline (profile.Result.Timeline) as an
// image with gonum.org/v1/plot: the process RSS and the heap in use
// against time, each call of a profiled function shaded (one colour per
// function, nested calls darker), and the RSS peak marked with the
// file:line that was running then. `memlens profile --plot FILE` and
// `memlens plot RESULT.json -o FILE` write it; the format follows the
// file name's extension: .svg or .png (also .pdf, .eps, .jpg, .tif,
// whatever gonum's vg supports).
package chart

import (
	"errors"
	"fmt"
	"image/color"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"

	"github.com/memlens/memlens/profile"
)

// Size of the chart.
const (
	Width  = 10 * vg.Inch
	Height = 5 * vg.Inch
)

// The series' colours. Tests find the series in an SVG by them.
var (
	RSSColor  = color.RGBA{R: 0x1f, G: 0x77, B: 0xb4, A: 0xff} // blue
	HeapColor = color.RGBA{R: 0xff, G: 0x7f, B: 0x0e, A: 0xff} // orange
	PeakColor = color.RGBA{R: 0xd6, G: 0x27, B: 0x28, A: 0xff} // red
	// CallColors shade the calls of the first, second, ... function (in
	// the order of Result.Functions), with alpha CallAlpha.
	CallColors = []color.NRGBA{
		{R: 0x2c, G: 0xa0, B: 0x2c}, // green
		{R: 0x94, G: 0x67, B: 0xbd}, // purple
		{R: 0x8c, G: 0x56, B: 0x4b}, // brown
		{R: 0xe3, G: 0x77, B: 0xc2}, // pink
		{R: 0x7f, G: 0x7f, B: 0x7f}, // grey
		{R: 0xbc, G: 0xbd, B: 0x22}, // olive
		{R: 0x17, G: 0xbe, B: 0xcf}, // cyan
	}
	CallAlpha uint8 = 0x38
)

// ErrNoTimeline is returned for a result that was not sampled over time.
var ErrNoTimeline = errors.New("the result has no timeline (run without --counts-only and with a --sample-interval above 0)")

// Save writes the chart of res to path, in the format its extension names.
func Save(path string, res *profile.Result) error {
	format := strings.TrimPrefix(strings.ToLower(filepath.Ext(path)), ".")
	if format == "" {
		return fmt.Errorf("%s: name the format with the extension: .svg or .png", path)
	}
	p, err := New(res)
	if err != nil {
		return err
	}
	wt, err := p.WriterTo(Width, Height, format)
	if err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if _, err := wt.WriteTo(f); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// Write writes the chart of res to w in format ("svg", "png", ...).
func Write(w io.Writer, res *profile.Result, format string) error {
	p, err := New(res)
	if err != nil {
		return err
	}
	wt, err := p.WriterTo(Width, Height, format)
	if err != nil {
		return err
	}
	_, err = wt.WriteTo(w)
	return err
}

const mib = 1 << 20

// New builds the chart of res: x in seconds from the start of the run, y
// in MiB.
func New(res *profile.Result) (*plot.Plot, error) {
	tl := res.Timeline
	if tl == nil || len(tl.Samples) == 0 {
		return nil, ErrNoTimeline
	}
	p := plot.New()
	p.Title.Text = title(res)
	p.X.Label.Text = "time (s)"
	p.Y.Label.Text = "memory (MiB)"
	p.Legend.Top, p.Legend.Left = true, true
	p.Add(plotter.NewGrid())

	rss := make(plotter.XYs, len(tl.Samples))
	heap := make(plotter.XYs, len(tl.Samples))
	top := 0.0
	for i, s := range tl.Samples {
		x := s.TMS / 1000
		rss[i] = plotter.XY{X: x, Y: float64(s.RSSBytes) / mib}
		heap[i] = plotter.XY{X: x, Y: float64(s.HeapBytes) / mib}
		top = max(top, rss[i].Y, heap[i].Y)
	}
	peak := peakIndex(tl)
	top *= 1.12 // room for the peak's label
	if top == 0 {
		top = 1
	}

	// Calls first, so the lines are drawn over them.
	colour := map[string]color.NRGBA{}
	for i, f := range res.Functions {
		c := CallColors[i%len(CallColors)]
		c.A = CallAlpha
		if _, ok := colour[f.Name]; !ok {
			colour[f.Name] = c
		}
	}
	shown := map[string]bool{}
	for _, c := range tl.Calls {
		fill, ok := colour[c.Function]
		if !ok {
			continue
		}
		end := max(c.EndMS, c.StartMS+tl.IntervalMS/4) // a one-sample call stays visible
		box, err := plotter.NewPolygon(plotter.XYs{
			{X: c.StartMS / 1000, Y: 0}, {X: end / 1000, Y: 0},
			{X: end / 1000, Y: top}, {X: c.StartMS / 1000, Y: top},
		})
		if err != nil {
			return nil, err
		}
		box.Color = fill
		box.LineStyle.Width = 0
		p.Add(box)
		if !shown[c.Function] {
			shown[c.Function] = true
			p.Legend.Add("calls of "+c.Function, box)
		}
	}

	for _, series := range []struct {
		name  string
		xys   plotter.XYs
		color color.Color
	}{
		{"RSS", rss, RSSColor},
		{heapName(res), heap, HeapColor},
	} {
		l, err := plotter.NewLine(series.xys)
		if err != nil {
			return nil, err
		}
		l.Color = series.color
		l.Width = vg.Points(1.5)
		p.Add(l)
		p.Legend.Add(series.name, l)
	}

	// The peak: a dot and what ran there.
	dot, err := plotter.NewScatter(plotter.XYs{rss[peak]})
	if err != nil {
		return nil, err
	}
	dot.GlyphStyle = draw.GlyphStyle{Color: PeakColor, Radius: vg.Points(4), Shape: draw.CircleGlyph{}}
	p.Add(dot)
	labels, err := plotter.NewLabels(plotter.XYLabels{
		XYs:    plotter.XYs{rss[peak]},
		Labels: []string{PeakLabel(res)},
	})
	if err != nil {
		return nil, err
	}
	labels.TextStyle[0].Color = PeakColor
	labels.Offset = vg.Point{X: vg.Points(6), Y: vg.Points(4)}
	if rss[peak].X > (rss[len(rss)-1].X-rss[0].X)*0.6 {
		// Near the right edge: the label goes to the left of the dot.
		labels.TextStyle[0].XAlign = draw.XRight
		labels.Offset.X = -labels.Offset.X
	}
	p.Add(labels)

	p.X.Min, p.Y.Min, p.Y.Max = 0, 0, top
	return p, nil
}

func heapName(res *profile.Result) string {
	if res.Language == "python" {
		return "heap (tracemalloc)"
	}
	return "heap (live objects)"
}

// PeakLabel names the RSS peak of res's timeline (its first sample at the
// highest RSS): its size, time and the profiled line running then (base
// file name:line, function), and, when another line ran at the sample
// before (the rise happened in between), that line too.
func PeakLabel(res *profile.Result) string {
	tl := res.Timeline
	i := peakIndex(tl)
	peak := tl.Samples[i]
	label := fmt.Sprintf("peak %s at %.2f s", profile.MiB(int64(peak.RSSBytes)), peak.TMS/1000)
	if peak.Function != "" {
		label += ": " + where(res, peak)
	}
	if i > 0 {
		if prev := tl.Samples[i-1]; prev.Function != "" && (prev.Function != peak.Function || prev.Line != peak.Line) {
			label += ", after " + where(res, prev)
		}
	}
	return label
}

// peakIndex is the index of the first sample with the highest RSS.
func peakIndex(tl *profile.Timeline) int {
	peak := 0
	for i, s := range tl.Samples {
		if s.RSSBytes > tl.Samples[peak].RSSBytes {
			peak = i
		}
	}
	return peak
}

// where is a sample's line as file:line (function).
func where(res *profile.Result, s profile.Sample) string {
	file := "?"
	if f, ok := res.Function(s.Function); ok {
		file = filepath.Base(f.File)
	}
	return fmt.Sprintf("%s:%d (%s)", file, s.Line, s.Function)
}

func title(res *profile.Result) string {
	what := res.Target
	if strings.TrimSuffix(strings.TrimSuffix(what, "..."), "/") == "." || what == "" {
		// "memory over time: ." names nothing once the chart is shared:
		// the package of the functions profiled does.
		var pkgs []string
		for _, f := range res.Functions {
			if f.Package != "" && !slices.Contains(pkgs, f.Package) {
				pkgs = append(pkgs, f.Package)
			}
		}
		if len(pkgs) > 0 {
			what = strings.Join(pkgs, ", ")
		}
	}
	t := "memory over time: " + what
	if res.Status != profile.StatusOK {
		t += " (" + string(res.Status) + ")"
	}
	return t
}
