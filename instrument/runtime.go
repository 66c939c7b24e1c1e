package instrument

import (
	_ "embed"
	"fmt"
	"go/parser"
	"go/token"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"time"
)

// rtTemplate is the probe runtime's source; everything up to its package
// clause is replaced by generated constants.
//
//go:embed rt_template.go
var rtTemplate string

// rtTimeline is the timeline sampler's part of the runtime: its imports
// join rtTemplate's import block and the rest follows rtTemplate's body.
//
//go:embed rt_timeline.go
var rtTimeline string

// EnvDir names the environment variable holding the directory the probe
// runtime writes to. Unset, counters live in memory and nothing is written.
const EnvDir = "MEMLENS_DIR"

// LDFlags must be passed to go build/test (-ldflags=...) for instrumented
// code: the runtime reaches two unexported runtime functions with
// //go:linkname (internal/runtime/exithook.Add for the exit dump,
// runtime.pprof_memProfileInternal for deep allocation stacks).
const LDFlags = "-checklinkname=0"

// counterMagic opens a counters file: "MLNSCNT1" little-endian; the
// header's second word is the format version (counterVersion). The header
// is counterHeader bytes, each table entry counterEntry.
const (
	counterMagic   = 0x31544e43534e4c4d
	counterVersion = 2
	counterHeader  = 64
	counterEntry   = 48
)

// RuntimeFileName is the base name of package index's probe runtime file
// for an ordinary package. An external test package (name ending in _test)
// gets a _test.go name instead: use Instrumented.RuntimePath.
func RuntimeFileName(index int) string {
	return "zz_memlens_rt" + strconv.Itoa(index) + ".go"
}

func runtimePath(p Package) string {
	name := RuntimeFileName(p.Index)
	if strings.HasSuffix(p.Name, "_test") {
		name = strings.TrimSuffix(name, ".go") + "_test.go"
	}
	return filepath.Join(p.Dir, name)
}

// CountersFile, CountersPattern and AllocsPattern name the files the runtime
// of package index writes in dir: per process, a counters file
// (counters-<index>-<pid>) and an allocation dump (allocs-<index>-<pid>).
// Each process has its own counters: a row of counters belongs to one call
// of one process at a time, claimed without atomic instructions.
func CountersFile(dir string, index, pid int) string {
	return filepath.Join(dir, "counters-"+strconv.Itoa(index)+"-"+strconv.Itoa(pid))
}

func CountersPattern(dir string, index int) string {
	return filepath.Join(dir, "counters-"+strconv.Itoa(index)+"-*")
}

func AllocsPattern(dir string, index int) string {
	return filepath.Join(dir, "allocs-"+strconv.Itoa(index)+"-*")
}

type targetRange struct {
	file   string
	lo, hi int
}

// Rows of a target's block besides the shared one (see the runtime's
// memlensClaim): perPRows(np) for each of the first np Ps (as many as the
// machine has CPUs, up to maxPRows), then poolRows for any P. Calls running
// the same code at once, or recursing, beyond that share one row with
// atomic adds. A P has as many rows as a recursion may go deep before it
// reaches the pool, within a budget of rows per target for all Ps.
const (
	maxPRows    = 64
	pRowsBudget = 128
	poolRows    = 16
)

// rowPs is how many Ps have rows of their own: one per CPU, up to maxPRows.
func rowPs() int { return min(max(runtime.NumCPU(), 1), maxPRows) }

func perPRows(np int) int { return min(max(pRowsBudget/np, 4), 32) }

// pCtlSize is the size of a P's control block: a hint and a busy word per
// row, on cache lines of its own.
func pCtlSize(np int) int { return (4*(1+perPRows(np)) + 63) &^ 63 }

// counterBlock is one target's part of the counters file (see
// ReadCounters): a control line, then rows of stride bytes.
type counterBlock struct {
	slot0, nlines int // first global slot, line slots
	ctl, rows     int // byte offsets of the control line and of row 0
	nrows, stride int
}

// counterLayout lays out the counters file for targets with the given
// numbers of line slots and np P rows. It returns the blocks, the offset of
// the RSS arrays and the file size.
func counterLayout(nlines []int, np int) (blocks []counterBlock, rssOff, size int) {
	align := func(n int) int { return (n + 63) &^ 63 }
	slots := 0
	for _, n := range nlines {
		slots += n
	}
	off := align(counterHeader + counterEntry*len(nlines))
	rssOff = off
	off = align(off + 16*slots)
	slot0 := 0
	for _, n := range nlines {
		b := counterBlock{slot0: slot0, nlines: n, ctl: off}
		slot0 += n
		b.rows = off + 64 + np*pCtlSize(np) // the pool bitmap, then each P's control block
		b.nrows = 1 + perPRows(np)*np + poolRows
		b.stride = align(8 * (1 + n))
		off = b.rows + b.nrows*b.stride
		blocks = append(blocks, b)
	}
	return blocks, rssOff, off
}

func genRuntime(pkgName, path string, index int, nlines []int, opt Options, targets []targetRange) []byte {
	body := rtTemplate
	i := strings.Index(body, "\npackage memlensrt\n")
	if i < 0 {
		panic("instrument: runtime template lacks its package clause")
	}
	body = body[i+len("\npackage memlensrt\n"):]
	body = mergeTemplate(body, rtTimeline)
	interval := opt.RSSInterval
	if interval < 0 {
		interval = 0
	}
	np := rowPs()
	blocks, rssOff, size := counterLayout(nlines, np)
	slots := 0
	for _, n := range nlines {
		slots += n
	}
	var b strings.Builder
	b.WriteString("// Code generated by memlens; DO NOT EDIT.\n\n")
	fmt.Fprintf(&b, "package %s\n", pkgName)
	b.WriteString(body)
	fmt.Fprintf(&b, `
const (
	memlensIndex    = %d
	memlensNFuncs   = %d
	memlensNSlots   = %d
	memlensMagic    = %#x
	memlensSize     = %d
	memlensRSSOff   = %d
	memlensNP       = %d
	memlensR        = %d
	memlensPCtl     = %d
	memlensK        = %d
	memlensRSS      = %t
	memlensAllocs   = %t
	memlensInterval = int64(%d) // %v
	memlensRTFile   = %s

	memlensTimeline   = %t
	memlensTLInterval = int64(%d) // %v
	memlensTLBase     = uint64(%d) << 24 // package index + 1
	memlensTLMagic    = %#x
	memlensTLDoubleAt = %d // records before the interval doubles
)

// memlensFnTab locates each target's block in the counters file.
var memlensFnTab = [memlensNFuncs]memlensFnDesc{
`, index, len(nlines), slots, counterMagic, size, rssOff, np, perPRows(np), pCtlSize(np), poolRows, opt.RSS, opt.Allocs, int64(interval), time.Duration(interval), strconv.Quote(path),
		opt.Timeline > 0, int64(opt.Timeline), opt.Timeline, index+1, timelineMagic, timelineDoubleAt)
	for _, k := range blocks {
		fmt.Fprintf(&b, "\t{%d, %d, %d, %d, %d, %d},\n", k.slot0, k.nlines, k.ctl, k.rows, k.nrows, k.stride)
	}
	b.WriteString(`}

// memlensTargets are the targets' line ranges: an allocation is theirs when
// one of its stack frames falls inside.
var memlensTargets = [...]memlensRange{
`)
	for _, t := range targets {
		fmt.Fprintf(&b, "\t{%s, %d, %d},\n", strconv.Quote(t.file), t.lo, t.hi)
	}
	b.WriteString("}\n")
	return []byte(b.String())
}

// timelineMagic opens a timeline file: "MLNSTLN1" little-endian.
const timelineMagic = 0x314e4c54534e4c4d

// timelineDoubleAt is how many records the sampler writes before its
// interval doubles (and again at each doubling of the count): 200,000
// records, 8 MB, last 33 minutes at 10 ms.
const timelineDoubleAt = 200000

// mergeTemplate appends a runtime template part to body: the part's
// imports go into body's import block, the rest after body.
func mergeTemplate(body, part string) string {
	i := strings.Index(part, "\npackage memlensrt\n")
	if i < 0 {
		panic("instrument: runtime template part lacks its package clause")
	}
	part = part[i+len("\npackage memlensrt\n"):]
	const open, end = "import (\n", "\n)\n"
	pi, bi := strings.Index(part, open), strings.Index(body, open)
	if pi < 0 || bi < 0 {
		panic("instrument: runtime template without an import block")
	}
	pe := pi + strings.Index(part[pi:], end)
	imports := part[pi+len(open) : pe+1]
	body = body[:bi+len(open)] + imports + body[bi+len(open):]
	return body + part[pe+len(end):]
}

// RuntimeImports are the packages the probe runtime imports. It is compiled
// into each instrumented package, so none of them, nor what they import,
// can be instrumented: that would be an import cycle.
func RuntimeImports() []string {
	var out []string
	for _, src := range []string{rtTemplate, rtTimeline} {
		f, err := parser.ParseFile(token.NewFileSet(), "rt.go", src, parser.ImportsOnly)
		if err != nil {
			panic("instrument: runtime template does not parse: " + err.Error())
		}
		for _, im := range f.Imports {
			if p, err := strconv.Unquote(im.Path.Value); err == nil && !slices.Contains(out, p) {
				out = append(out, p)
			}
		}
	}
	slices.Sort(out)
	return out
}
