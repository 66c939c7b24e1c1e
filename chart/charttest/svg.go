// Package charttest reads back the SVG charts package chart writes, so that
// tests can check what a chart shows: its series as points, its shaded
// boxes, its texts.
package charttest

import (
	"bytes"
	"encoding/xml"
	"fmt"
	"strconv"
	"strings"
)

// Drawing is what an SVG chart holds, in the chart's own coordinates
// (gonum's vgsvg draws with y upwards: a larger y is higher).
type Drawing struct {
	Paths []Path
	Texts []string
}

// Path is one <path>: its points and style.
type Path struct {
	Points []Point
	Stroke string // "#1F77B4", "" when none
	Fill   string // "#2B9F2B", "" when none
	// Opacity is the fill's opacity, 1 when not given.
	Opacity float64
}

// Point is a point of a path.
type Point struct{ X, Y float64 }

// Parse reads an SVG chart.
func Parse(svg []byte) (*Drawing, error) {
	d := &Drawing{}
	dec := xml.NewDecoder(bytes.NewReader(svg))
	inText := false
	for {
		tok, err := dec.Token()
		if err != nil {
			if err.Error() == "EOF" {
				return d, nil
			}
			return nil, err
		}
		switch t := tok.(type) {
		case xml.StartElement:
			switch t.Name.Local {
			case "path":
				p, err := parsePath(t)
				if err != nil {
					return nil, err
				}
				d.Paths = append(d.Paths, p)
			case "text":
				inText = true
				d.Texts = append(d.Texts, "")
			}
		case xml.CharData:
			if inText {
				d.Texts[len(d.Texts)-1] += string(t)
			}
		case xml.EndElement:
			if t.Name.Local == "text" {
				inText = false
			}
		}
	}
}

func parsePath(e xml.StartElement) (Path, error) {
	p := Path{Opacity: 1}
	for _, a := range e.Attr {
		switch a.Name.Local {
		case "d":
			pts, err := parseD(a.Value)
			if err != nil {
				return p, err
			}
			p.Points = pts
		case "style":
			for _, kv := range strings.Split(a.Value, ";") {
				k, v, _ := strings.Cut(kv, ":")
				switch k {
				case "stroke":
					if v != "none" {
						p.Stroke = v
					}
				case "fill":
					if v != "none" {
						p.Fill = v
					}
				case "fill-opacity":
					p.Opacity, _ = strconv.ParseFloat(v, 64)
				}
			}
		}
	}
	return p, nil
}

// parseD reads the M, L and Z commands gonum writes ("M1,2L3,4Z"); a path
// with curves (a glyph's arcs) has no points.
func parseD(d string) ([]Point, error) {
	if strings.ContainsAny(d, "ACQSTHV") {
		return nil, nil
	}
	var pts []Point
	for _, part := range strings.FieldsFunc(d, func(r rune) bool { return r == 'M' || r == 'L' || r == 'Z' }) {
		xs, ys, ok := strings.Cut(part, ",")
		if !ok {
			return nil, fmt.Errorf("path %q: not x,y: %q", d, part)
		}
		x, err1 := strconv.ParseFloat(strings.TrimSpace(xs), 64)
		y, err2 := strconv.ParseFloat(strings.TrimSpace(ys), 64)
		if err1 != nil || err2 != nil {
			return nil, fmt.Errorf("path %q: %q", d, part)
		}
		pts = append(pts, Point{x, y})
	}
	return pts, nil
}

// Series is the longest path stroked with colour (the legend's sample of
// it is two points long).
func (d *Drawing) Series(colour string) []Point {
	var best []Point
	for _, p := range d.Paths {
		if strings.EqualFold(p.Stroke, colour) && len(p.Points) > len(best) {
			best = p.Points
		}
	}
	return best
}

// Boxes are the translucent filled paths (the shaded calls), by fill
// colour, without the legend's sample of each (the smallest).
func (d *Drawing) Boxes() map[string][]Path {
	out := map[string][]Path{}
	for _, p := range d.Paths {
		if p.Fill != "" && p.Opacity < 1 {
			out[p.Fill] = append(out[p.Fill], p)
		}
	}
	for c, ps := range out {
		small := 0
		for i, p := range ps {
			if p.Height() < ps[small].Height() {
				small = i
			}
		}
		out[c] = append(ps[:small:small], ps[small+1:]...)
	}
	return out
}

// MinX, MaxX and Height describe a path's extent.
// They need a point.
func (p Path) MinX() float64 {
	m := p.Points[0].X
	for _, q := range p.Points {
		m = min(m, q.X)
	}
	return m
}

func (p Path) MaxX() float64 {
	m := p.Points[0].X
	for _, q := range p.Points {
		m = max(m, q.X)
	}
	return m
}

func (p Path) Height() float64 {
	lo, hi := p.Points[0].Y, p.Points[0].Y
	for _, q := range p.Points {
		lo, hi = min(lo, q.Y), max(hi, q.Y)
	}
	return hi - lo
}

// Text returns the first text holding s, or "".
func (d *Drawing) Text(s string) string {
	for _, t := range d.Texts {
		if strings.Contains(t, s) {
			return t
		}
	}
	return ""
}
