package server

import (
	"encoding/json"
	"fmt"
	"math"
	"path/filepath"
	"strings"

	"go.lsp.dev/jsonrpc2"
	"go.lsp.dev/protocol"
	"go.lsp.dev/uri"

	"github.com/memlens/memlens/profile"
)

// The timeline of a run (profile.Result.Timeline: RSS and heap sampled at a
// fixed interval, with the profiled line running at each sample) reaches the
// editor three ways: the memlens.timeline command returns it for any client
// to draw, the Timeline lens beside the summary shows the run's RSS as a
// sparkline, and the hover of a line shows its share of the function's time
// and when it ran.

// timelineReply is what memlens.timeline returns (see the package doc).
type timelineReply struct {
	// Run identifies the run; {"run": N} asks for it again.
	Run      uint64 `json:"run"`
	URI      string `json:"uri"`
	Function string `json:"function"`
	Language string `json:"language"`
	Entry    string `json:"entry"`
	Status   string `json:"status"`
	// DurationMS is the whole run's, build included; the samples cover
	// the program's run.
	DurationMS int64   `json:"duration_ms"`
	IntervalMS float64 `json:"interval_ms"`
	// Samples are the run's, as in `memlens profile --json`: t_ms,
	// rss_bytes, heap_bytes, function, line (the line as run; see Lines).
	Samples []profile.Sample `json:"samples"`
	// Calls are the stretches of time the function was running (the
	// timeline's, for this function).
	Calls []profile.CallSpan `json:"calls"`
	// Lines are the function's lines that ran, in line order.
	Lines []timelineLine `json:"lines"`
	// Stale is true when the function was edited since the run.
	Stale bool `json:"stale"`
}

// timelineLine is one line of the function that ran.
type timelineLine struct {
	// Line is the 1-based line as run, what samples[].line says.
	Line int `json:"line"`
	// At is the 0-based line in the editor's buffer now, or null when the
	// line was edited since the run.
	At      *int   `json:"at"`
	Content string `json:"content"`
	// Samples is how many samples found the line running; Share is that
	// part of the samples taken while the function ran (0 to 1): the
	// line's TimeSamples and TimeShare.
	Samples uint64  `json:"samples"`
	Share   float64 `json:"share"`
}

// timeline answers memlens.timeline: the samples of a stored run.
func (s *Server) timeline(args commandArgs) (protocol.LSPAny, error) {
	s.mu.Lock()
	r, err := s.findRunLocked(args)
	var reply *timelineReply
	if err == nil {
		reply, err = s.timelineReplyLocked(r)
	}
	s.mu.Unlock()
	if err != nil {
		return nil, err
	}
	return json.Marshal(reply)
}

// findRunLocked picks the run that memlens.timeline's arguments name: by
// id; by uri and function; by uri and position (the profiled function
// there, else the file's latest run); by uri (the file's latest run); or,
// with no arguments, the latest run of all.
func (s *Server) findRunLocked(args commandArgs) (*run, error) {
	if args.Run != 0 {
		for _, e := range s.runs {
			for _, r := range []*run{e.cur, e.prev} {
				if r != nil && r.id == args.Run {
					return r, nil
				}
			}
		}
		return nil, fmt.Errorf("no run %d: it was cleared or replaced", args.Run)
	}
	path := ""
	if args.URI != "" {
		var err error
		if path, err = pathOfArgument(args.URI); err != nil {
			return nil, err
		}
	}
	if args.Function != "" {
		if path == "" {
			return nil, jsonrpc2.Errorf(jsonrpc2.InvalidParams, "%s: a function needs its uri", cmdTimeline)
		}
		if e := s.runs[runKey{path: path, name: args.Function}]; e != nil && e.cur != nil {
			return e.cur, nil
		}
		return nil, fmt.Errorf("no profile of %s: profile it first", args.Function)
	}
	if args.Position != nil {
		if d, err := s.document(path); err == nil {
			if f, ok := functionAt(d.functions(), int(args.Position.Line)+1); ok {
				if e := s.runs[runKey{path: path, name: f.Name}]; e != nil && e.cur != nil {
					return e.cur, nil
				}
			}
		}
	}
	var latest *run
	for k, e := range s.runs {
		if (path == "" || k.path == path) && e.cur != nil && (latest == nil || e.cur.id > latest.id) {
			latest = e.cur
		}
	}
	if latest == nil {
		if path != "" {
			return nil, fmt.Errorf("no profile in %s: profile a function first", filepath.Base(path))
		}
		return nil, fmt.Errorf("no profile yet: profile a function first")
	}
	return latest, nil
}

func (s *Server) timelineReplyLocked(r *run) (*timelineReply, error) {
	tl := r.result.Timeline
	if r.fn == nil || tl == nil || len(tl.Samples) == 0 {
		return nil, fmt.Errorf("the run of %s has no timeline (%s)", r.key.name, noTimelineReason(r))
	}
	reply := &timelineReply{
		Run:        r.id,
		URI:        string(uri.File(r.key.path)),
		Function:   r.fn.Name,
		Language:   r.result.Language,
		Entry:      r.result.Entry,
		Status:     string(r.result.Status),
		DurationMS: r.result.DurationMS,
		IntervalMS: tl.IntervalMS,
		Samples:    tl.Samples,
		Calls:      []profile.CallSpan{},
		Lines:      []timelineLine{},
	}
	for _, c := range tl.Calls {
		if c.Function == r.fn.Name {
			reply.Calls = append(reply.Calls, c)
		}
	}
	if d, err := s.document(r.key.path); err == nil {
		reply.Stale = s.staleLocked(r, d)
	}
	for _, l := range r.fn.Lines {
		if !l.Ran() && l.TimeSamples == 0 {
			continue
		}
		tl := timelineLine{Line: l.Line, Content: l.Content, Samples: l.TimeSamples, Share: l.TimeShare}
		if at, ok := r.tracker.current(l.Line - 1); ok {
			tl.At = &at
		}
		reply.Lines = append(reply.Lines, tl)
	}
	return reply, nil
}

func noTimelineReason(r *run) string {
	switch {
	case r.fn == nil:
		return string(r.result.Status)
	case r.result.Timeline == nil:
		return "the run was not sampled"
	default:
		return "no samples"
	}
}

// sparkBlocks are the eight heights of a sparkline.
var sparkBlocks = []rune("▁▂▃▄▅▆▇█")

// sparkNone marks a stretch of a line's sparkline where it did not run.
const sparkNone = '·'

// rssSparkline draws the run's RSS in at most width characters: the time
// from the first to the last sample in equal parts, each the highest RSS
// in it (or the one before, where a part holds no sample), from the
// lowest to the highest of the run. "" for fewer than two samples.
func rssSparkline(tl *profile.Timeline, width int) string {
	if tl == nil || len(tl.Samples) < 2 {
		return ""
	}
	width = min(width, len(tl.Samples))
	first, last := tl.Samples[0].TMS, tl.Samples[len(tl.Samples)-1].TMS
	peaks := make([]float64, width)
	for i := range peaks {
		peaks[i] = math.NaN()
	}
	lo, hi := math.Inf(1), math.Inf(-1)
	for _, sm := range tl.Samples {
		v := float64(sm.RSSBytes)
		b := bin(sm.TMS, first, last, width)
		if math.IsNaN(peaks[b]) || v > peaks[b] {
			peaks[b] = v
		}
		lo, hi = min(lo, v), max(hi, v)
	}
	var out strings.Builder
	prev := float64(tl.Samples[0].RSSBytes)
	for _, v := range peaks {
		if math.IsNaN(v) {
			v = prev
		}
		prev = v
		level := 0
		if hi > lo {
			level = int(math.Round((v - lo) / (hi - lo) * float64(len(sparkBlocks)-1)))
		}
		out.WriteRune(sparkBlocks[level])
	}
	return out.String()
}

// activity is when one line of a function ran: its share of the samples
// in each part of the time the function ran.
type activity struct {
	spark        string  // one character a part: sparkNone, or ▁ to █ by share
	fromMS, toMS float64 // the function's first and last sample
}

// lineActivity describes when line of function fn was running, in at
// most width characters over the time from the function's first sample to
// its last. ok is false when no sample found the function running.
func lineActivity(tl *profile.Timeline, fn string, line, width int) (a activity, ok bool) {
	if tl == nil {
		return a, false
	}
	first, last := -1, -1
	for i, sm := range tl.Samples {
		if sm.Function == fn {
			if first < 0 {
				first = i
			}
			last = i
		}
	}
	if first < 0 {
		return a, false
	}
	a.fromMS, a.toMS = tl.Samples[first].TMS, tl.Samples[last].TMS
	width = min(width, last-first+1)
	all := make([]int, width)
	on := make([]int, width)
	for _, sm := range tl.Samples[first : last+1] {
		b := bin(sm.TMS, a.fromMS, a.toMS, width)
		all[b]++
		if sm.Function == fn && sm.Line == line {
			on[b]++
		}
	}
	var out strings.Builder
	for i := range all {
		if on[i] == 0 {
			out.WriteRune(sparkNone)
			continue
		}
		// Any time on the line shows at least ▁; all of the part, █.
		level := int(math.Ceil(float64(on[i])/float64(all[i])*float64(len(sparkBlocks)))) - 1
		out.WriteRune(sparkBlocks[max(0, min(level, len(sparkBlocks)-1))])
	}
	a.spark = out.String()
	return a, true
}

// bin is the part of [first, last], cut in n equal parts, that t falls in.
func bin(t, first, last float64, n int) int {
	if last <= first {
		return 0
	}
	return max(0, min(n-1, int((t-first)/(last-first)*float64(n))))
}

// timeShare is the hover table's time cell: the line's share of the
// function's running time (its TimeShare, line_profiler's % Time). ok is
// false when the run was not sampled or no sample found the function.
func timeShare(r *run, l *profile.Line) (string, bool) {
	if r.fn == nil || r.fn.TimeSamples == 0 {
		return "", false
	}
	return fmt.Sprintf("%.1f%%", 100*l.TimeShare), true
}

// timelineDetails is the hover's sparkline of when the line ran, with the
// samples its time share counts. "" when the run was not sampled or never
// found the function running.
func timelineDetails(r *run, l *profile.Line) string {
	if _, ok := timeShare(r, l); !ok {
		return ""
	}
	a, ok := lineActivity(r.result.Timeline, r.fn.Name, l.Line, 24)
	if !ok {
		return ""
	}
	return fmt.Sprintf("\nwhen it ran: `%s` %s–%s into the run (%d of the %d samples that found `%s` running, one every %s)\n",
		a.spark, formatMS(a.fromMS), formatMS(a.toMS), l.TimeSamples, r.fn.TimeSamples, r.fn.Name, formatMS(r.result.Timeline.IntervalMS))
}

// formatMS writes a time in milliseconds as people read it: "10 ms", "1.25 s".
func formatMS(ms float64) string {
	if ms < 1000 {
		return fmt.Sprintf("%.3g ms", ms)
	}
	return fmt.Sprintf("%.3g s", ms/1000)
}

// timelineLensTitle is the title of the Timeline lens: the word and the
// run's RSS as a sparkline.
func timelineLensTitle(tl *profile.Timeline) string {
	if s := rssSparkline(tl, 16); s != "" {
		return "Timeline " + s
	}
	return "Timeline"
}

// hasTimeline reports whether r has samples to show.
func (r *run) hasTimeline() bool {
	return r.fn != nil && r.result.Timeline != nil && len(r.result.Timeline.Samples) > 0
}
