//go:build ignore

// This file is the memlens probe runtime, compiled into the profiled package
// (see runtime.go, which prepends the generated constants and targets and
// replaces everything up to the package clause). Every top-level name starts
// with memlens: it shares the package namespace with the user's code. It
// must compile at the user's language version, down to Go 1.12: no
// unsafe.Add or unsafe.Slice, no clear/min/max builtins, no 0o literals, no
// range-over-int, no generics.

package memlensrt

// Imports are file-scoped but must not clash with package-level names of
// the user's package: hence the memlens aliases.
import (
	memlensbits "math/bits"
	memlensos "os"
	memlensruntime "runtime"
	memlensstrconv "strconv"
	memlenssync "sync"
	memlensatomic "sync/atomic"
	memlenssyscall "syscall"
	memlenstime "time"
	memlensunsafe "unsafe"
)

// ---- counters ----
//
// The mapping (the counters file, see instrument.ReadCounters) holds a
// header, a table of the targets' blocks, the RSS arrays and one block per
// target. A block is a control line holding the pool bitmap, a control
// block per P (memlensPCtl bytes: a hint, memlensR busy words), and rows. A row's word 0 counts the target's calls, word s
// (s ≥ 1) the target's line slot s-1; a reader sums the rows. Row 0 is
// shared and updated with atomic adds; every other row belongs to at most
// one running call at a time, which updates it with plain adds: memlensR
// rows per P (claimed without an atomic instruction, see memlensClaim), then
// memlensK pool rows (claimed with a compare-and-swap) for calls that find
// their P's rows taken (recursion, goroutines preempted inside the same
// code) or run on a P beyond memlensNP.

// memlensFnDesc is one target's block, as generated.
type memlensFnDesc struct {
	slot0, nlines, ctl, rows, nrows, stride uintptr
}

// memlensFn locates one target's block in the mapping.
type memlensFn struct {
	ctl    memlensunsafe.Pointer // the pool bitmap (uint64), then the busy words (uint32) of the P rows
	rows   memlensunsafe.Pointer // row 0, the shared one
	stride uintptr               // bytes from one row to the next
	slot0  int                   // global slot of the target's first line
}

type memlensMapping struct {
	base memlensunsafe.Pointer
	fns  [memlensNFuncs]memlensFn
}

// memlensAdd is unsafe.Add, which needs Go 1.17: the runtime compiles at
// the user's language version.
func memlensAdd(p memlensunsafe.Pointer, n uintptr) memlensunsafe.Pointer {
	return memlensunsafe.Pointer(uintptr(p) + n)
}

// memlensMem is initialised by an expression so that Go's dependency-ordered
// package initialisation sets it up before any package-level variable whose
// initialiser calls a target.
var memlensMem = memlensOpen()

func memlensOpen() *memlensMapping {
	m := &memlensMapping{base: memlensMap()}
	for i := range memlensFnTab {
		d := &memlensFnTab[i]
		m.fns[i] = memlensFn{
			ctl:    memlensAdd(m.base, d.ctl),
			rows:   memlensAdd(m.base, d.rows),
			stride: d.stride,
			slot0:  int(d.slot0),
		}
	}
	return m
}

// memlensMap maps $MEMLENS_DIR/counters-<index>-<pid>, shared: it is
// complete after a normal exit, os.Exit, a panic or SIGKILL. Each process
// has its own file (a reader adds them up): rows are claimed without atomic
// instructions, which only works among the threads of one process. Without
// a directory, or should that fail, the counters live in anonymous memory. Either way they are outside
// the Go heap, where the race detector does not look: rows change hands
// through the busy words, which amd64 reads and writes with plain moves.
func memlensMap() memlensunsafe.Pointer {
	dir := memlensos.Getenv("MEMLENS_DIR")
	if dir == "" {
		return memlensAnon()
	}
	name := dir + "/counters-" + memlensstrconv.Itoa(memlensIndex) + "-" + memlensstrconv.Itoa(memlensos.Getpid())
	f, err := memlensos.OpenFile(name, memlensos.O_RDWR|memlensos.O_CREATE, 0644)
	if err != nil {
		println("memlens: counters:", err.Error())
		return memlensAnon()
	}
	defer f.Close() // the mapping outlives the descriptor
	if st, err := f.Stat(); err == nil && st.Size() != memlensSize {
		// A file of another layout: start over.
		if err := f.Truncate(0); err == nil {
			err = f.Truncate(memlensSize)
		}
		if err != nil {
			println("memlens: counters:", err.Error())
			return memlensAnon()
		}
	}
	b, err := memlenssyscall.Mmap(int(f.Fd()), 0, memlensSize, memlenssyscall.PROT_READ|memlenssyscall.PROT_WRITE, memlenssyscall.MAP_SHARED)
	if err != nil {
		println("memlens: counters:", err.Error())
		return memlensAnon()
	}
	return memlensHeader(memlensunsafe.Pointer(&b[0]))
}

func memlensAnon() memlensunsafe.Pointer {
	b, err := memlenssyscall.Mmap(-1, 0, memlensSize, memlenssyscall.PROT_READ|memlenssyscall.PROT_WRITE, memlenssyscall.MAP_PRIVATE|memlenssyscall.MAP_ANON)
	if err != nil {
		return memlensHeader(memlensunsafe.Pointer(&make([]uint64, memlensSize/8)[0]))
	}
	return memlensHeader(memlensunsafe.Pointer(&b[0]))
}

// memlensEntry is target i's entry in the file's table.
func memlensEntry(i int) [6]uint64 {
	d := &memlensFnTab[i]
	return [6]uint64{uint64(d.slot0), uint64(d.nlines), uint64(d.rows), uint64(d.nrows), uint64(d.stride), uint64(d.ctl)}
}

// memlensHeader writes the header and the table unless the mapping already
// holds this layout (a program that exec'd itself keeps its pid, and adds
// to its file); a mapping of another layout is cleared first.
func memlensHeader(base memlensunsafe.Pointer) memlensunsafe.Pointer {
	h := (*[8]uint64)(base)
	want := [8]uint64{memlensMagic, 2, memlensNFuncs, memlensNSlots, memlensSize, memlensRSSOff, 64, 0}
	magic := memlensatomic.LoadUint64(&h[0])
	same := magic == memlensMagic && *h == want
	for i := range memlensFnTab {
		same = same && *(*[6]uint64)(memlensAdd(base, uintptr(64+48*i))) == memlensEntry(i)
	}
	if same {
		return base
	}
	if magic != 0 {
		for off := 0; off < memlensSize; off += 8 {
			*(*uint64)(memlensAdd(base, uintptr(off))) = 0
		}
	}
	for i := range memlensFnTab {
		*(*[6]uint64)(memlensAdd(base, uintptr(64+48*i))) = memlensEntry(i)
	}
	for i := 1; i < 8; i++ {
		h[i] = want[i]
	}
	memlensatomic.StoreUint64(&h[0], memlensMagic)
	return base
}

// memlensFrame is one running call of a target or of a function literal in
// it: its counter row, what to release when it leaves, and its RSS state. It
// is a value the probes take by copy, so the compiler keeps it in registers.
type memlensFrame struct {
	row  memlensunsafe.Pointer // the call's counter row
	busy memlensunsafe.Pointer // the P row's busy word (mask 0) or the pool bitmap; nil: the shared row
	mask uint64                // the call's bit in the pool bitmap
	st   *memlensState         // RSS and allocation state; nil when neither is measured
}

// memlensState lives on the stack of a call when RSS or allocations are
// measured; only that call's goroutine touches it.
type memlensState struct {
	slot0  int    // global slot of the target's first line
	slot   int    // 1 + the global slot whose run began at reading before; 0 = none
	before uint64 // RSS in bytes at that reading
	tlCall uint64 // timeline: this call's number and package (rt_timeline.go)
	tlPrev uint64 // timeline: the running line when the call started
	tlOwn  bool   // timeline: a target call (not a function literal)
}

//go:linkname memlensProcPin runtime.procPin
func memlensProcPin() int

//go:linkname memlensProcUnpin runtime.procUnpin
func memlensProcUnpin()

// memlensClaim gives a call of target id (or of a function literal in it)
// a row of its own: a free one of its P's rows, else a pool row, else the
// shared one. While pinned to its P (no preemption) a goroutine is the only
// one claiming that P's rows, so plain loads and stores claim one; a row is
// released by its holder alone, wherever it runs then. Each P's control
// block (a hint, then a busy word per row) has cache lines of its own; the
// hint, touched by the P's claims only, is where the next free row likely
// is: the one after the last claimed (a recursion takes one row per level).
// A target's call (enter) also counts the call and the func line.
func memlensClaim(id int, enter bool) memlensFrame {
	f := &memlensMem.fns[id]
	pid := memlensProcPin()
	if pid < memlensNP {
		c := (*[1 + memlensR]uint32)(memlensAdd(f.ctl, uintptr(64+memlensPCtl*pid)))
		if r := c[0]; r < memlensR && memlensLoadBusy(&c[1+r]) == 0 {
			memlensStoreBusy(&c[1+r], 1)
			c[0] = r + 1
			memlensProcUnpin()
			row := memlensAdd(f.rows, uintptr(1+memlensR*pid+int(r))*f.stride)
			if enter {
				(*[2]uint64)(row)[0]++
				(*[2]uint64)(row)[1]++
			}
			return memlensFrame{row: row, busy: memlensunsafe.Pointer(&c[1+r])}
		}
	}
	fr := memlensClaimMore(f, pid)
	if enter {
		memlensInc(fr, 0)
		memlensInc(fr, 1)
	}
	return fr
}

// memlensClaimMore is memlensClaim, still pinned, when the hinted row is
// taken: it looks at the P's other rows, from the hint on and around.
//
//go:noinline
func memlensClaimMore(f *memlensFn, pid int) memlensFrame {
	if pid < memlensNP {
		c := (*[1 + memlensR]uint32)(memlensAdd(f.ctl, uintptr(64+memlensPCtl*pid)))
		for i := uint32(0); i < memlensR; i++ {
			r := (c[0] + i) % memlensR
			if memlensLoadBusy(&c[1+r]) == 0 {
				memlensStoreBusy(&c[1+r], 1)
				c[0] = r + 1
				memlensProcUnpin()
				return memlensFrame{row: memlensAdd(f.rows, uintptr(1+memlensR*pid+int(r))*f.stride), busy: memlensunsafe.Pointer(&c[1+r])}
			}
		}
	}
	memlensProcUnpin()
	bm := (*uint64)(f.ctl)
	for {
		w := memlensatomic.LoadUint64(bm)
		if w == 1<<memlensK-1 {
			return memlensFrame{row: f.rows}
		}
		m := ^w & (w + 1) // the lowest free row
		if memlensatomic.CompareAndSwapUint64(bm, w, w|m) {
			r := 1 + memlensNP*memlensR + memlensbits.TrailingZeros64(m)
			return memlensFrame{row: memlensAdd(f.rows, uintptr(r)*f.stride), busy: memlensunsafe.Pointer(bm), mask: m}
		}
	}
}

// memlensLoadBusy and memlensStoreBusy read and write a busy word with
// acquire and release order: plain moves on amd64, which keeps loads in
// order and stores in order.
func memlensLoadBusy(p *uint32) uint32 {
	if memlensruntime.GOARCH == "amd64" {
		return *p
	}
	return memlensatomic.LoadUint32(p)
}

func memlensStoreBusy(p *uint32, v uint32) {
	if memlensruntime.GOARCH == "amd64" {
		*p = v
	} else {
		memlensatomic.StoreUint32(p, v)
	}
}

// memlensRelease hands the call's row back.
func memlensRelease(fr memlensFrame) {
	switch {
	case fr.busy == nil:
	case fr.mask != 0:
		memlensatomic.AndUint64((*uint64)(fr.busy), ^fr.mask)
	default:
		memlensStoreBusy((*uint32)(fr.busy), 0)
	}
}

// memlensInc adds one to word s of the call's row.
func memlensInc(fr memlensFrame, s int) {
	c := (*uint64)(memlensAdd(fr.row, uintptr(s*8)))
	if fr.busy != nil {
		*c++
	} else {
		memlensatomic.AddUint64(c, 1)
	}
}

// memlensEnter runs first in a target when only counts are measured: it
// claims a row and counts the call and the func line (slot 1).
func memlensEnter(id int) memlensFrame {
	return memlensClaim(id, true)
}

// memlensEnterSt is memlensEnter when RSS or allocations are measured.
func memlensEnterSt(id int, st *memlensState) memlensFrame {
	fr := memlensEnter(id)
	fr.st = st
	st.slot0 = memlensMem.fns[id].slot0
	if memlensAllocs {
		memlensDepthInc()
	}
	if memlensRSS {
		now := memlensObserve()
		memlensMax(memlensMemMax(st.slot0), now)
		st.slot, st.before = st.slot0+1, now
	}
	if memlensTimeline {
		memlensTLEnter(st, st.slot0)
	}
	return fr
}

// memlensLit runs first in a function literal of target id when only
// counts are measured.
func memlensLit(id int) memlensFrame {
	return memlensClaim(id, false)
}

// memlensLitSt is memlensLit when RSS or allocations are measured.
func memlensLitSt(id int, st *memlensState) memlensFrame {
	fr := memlensClaim(id, false)
	fr.st = st
	st.slot0 = memlensMem.fns[id].slot0
	if memlensAllocs {
		memlensDepthInc()
	}
	if memlensRSS {
		st.before = memlensObserve()
	}
	if memlensTimeline {
		memlensTLLit(st)
	}
	return fr
}

// memlensLine runs before a statement (or as a loop condition's or a case
// clause's first step) and counts the line of slot s.
func memlensLine(fr memlensFrame, s int) {
	memlensInc(fr, s)
	if memlensRSS {
		memlensStep(fr.st, fr.st.slot0+s-1)
	}
}

// memlensCond is memlensLine for a loop condition: cond becomes
// memlensCond(fr, s) != 0 && cond, an untyped bool && cond, which compiles
// whatever boolean type cond has.
func memlensCond(fr memlensFrame, s int) int {
	memlensLine(fr, s)
	return 1
}

// memlensLeave is deferred by targets and their function literals.
func memlensLeave(fr memlensFrame) {
	if memlensRSS && fr.st.slot != 0 {
		memlensCredit(fr.st.slot-1, fr.st.before, memlensObserve())
		fr.st.slot = 0
	}
	if memlensTimeline {
		memlensTLLeave(fr.st)
	}
	if memlensAllocs {
		memlensDepthDec()
		if memlensUnwinding() {
			memlensTLSample(memlensTL, memlensTLUnwind)
			memlensDump("unwind", false)
		}
	}
	memlensRelease(fr)
}

// memlensCalls sums the targets' call counters.
func memlensCalls() uint64 {
	var n uint64
	for i := range memlensMem.fns {
		f := &memlensMem.fns[i]
		for r := 0; r < 1+memlensNP*memlensR+memlensK; r++ {
			n += memlensatomic.LoadUint64((*uint64)(memlensAdd(f.rows, uintptr(r)*f.stride)))
		}
	}
	return n
}

// ---- RSS ----

// memlensMemMax and memlensIncSum are global slot s's RSS figures.
func memlensMemMax(s int) *uint64 {
	return (*uint64)(memlensAdd(memlensMem.base, uintptr(memlensRSSOff+8*s)))
}

func memlensIncSum(s int) *int64 {
	return (*int64)(memlensAdd(memlensMem.base, uintptr(memlensRSSOff+8*(memlensNSlots+s))))
}

// memlensStep ends the run of the call's open slot at a new reading and
// opens global slot s.
func memlensStep(st *memlensState, s int) {
	if memlensTimeline {
		memlensTLLine(st, s)
	}
	now := memlensObserve()
	if st.slot != 0 {
		memlensCredit(st.slot-1, st.before, now)
	}
	st.slot, st.before = s+1, now
}

func memlensCredit(s int, before, now uint64) {
	if now != before {
		memlensatomic.AddInt64(memlensIncSum(s), int64(now-before))
	}
	if now > before {
		before = now
	}
	memlensMax(memlensMemMax(s), before)
}

func memlensMax(p *uint64, v uint64) {
	for {
		o := memlensatomic.LoadUint64(p)
		if v <= o || memlensatomic.CompareAndSwapUint64(p, o, v) {
			return
		}
	}
}

var (
	memlensStatm    = memlensOpenStatm()
	memlensPageSize = uint64(memlenssyscall.Getpagesize())
	memlensLastT    memlensatomic.Int64  // nanotime of the latest reading (interval mode)
	memlensLastRSS  memlensatomic.Uint64 // that reading
)

func memlensOpenStatm() int {
	if !memlensRSS {
		return -1
	}
	fd, err := memlenssyscall.Open("/proc/self/statm", memlenssyscall.O_RDONLY|memlenssyscall.O_CLOEXEC, 0)
	if err != nil {
		return -1
	}
	return fd
}

//go:linkname memlensNanotime runtime.nanotime
func memlensNanotime() int64

// memlensObserve returns the process RSS. With an interval it reads at most
// once per interval (process-wide) and otherwise returns the latest reading,
// so the change is credited to whichever line is running when the next
// reading happens: a line longer than the interval gets its own change.
func memlensObserve() uint64 {
	if memlensInterval > 0 {
		now := memlensNanotime()
		if now-memlensLastT.Load() < memlensInterval {
			return memlensLastRSS.Load()
		}
		memlensLastT.Store(now)
	}
	r := memlensReadRSS()
	if memlensInterval > 0 {
		memlensLastRSS.Store(r)
	}
	return r
}

// memlensReadRSS reads the resident set from /proc/self/statm (second field,
// in pages) with one pread on a descriptor kept open.
func memlensReadRSS() uint64 {
	var buf [128]byte
	n, err := memlenssyscall.Pread(memlensStatm, buf[:], 0)
	if err != nil || n <= 0 {
		return 0
	}
	i := 0
	for i < n && buf[i] != ' ' {
		i++
	}
	i++
	var pages uint64
	for ; i < n && buf[i] >= '0' && buf[i] <= '9'; i++ {
		pages = pages*10 + uint64(buf[i]-'0')
	}
	return pages * memlensPageSize
}

// ---- allocations ----

// memlensShared is the process-wide switch of runtime.MemProfileRate that
// every instrumented package of the process shares: a small file named by the
// process id, mapped by each package's runtime.
type memlensShared struct {
	lock  uint32
	_     uint32
	depth int64 // running targets and literals, all packages
	on    int64 // 1 while MemProfileRate is ours
	saved int64 // the rate to restore
}

var (
	memlensDir     = memlensos.Getenv("MEMLENS_DIR")
	memlensSh      = memlensOpenShared()
	memlensActive  memlensatomic.Int64 // this package's running targets and literals
	memlensDirty   memlensatomic.Bool  // a target ran since the last dump
	memlensEntered memlensatomic.Bool  // a target ran since the watcher last looked
	memlensEver    memlensatomic.Bool  // a target ran in this process
	memlensWatched memlensatomic.Bool  // the watcher goroutine runs
	memlensAsked   memlensatomic.Bool  // the runner's dump request was answered
	memlensBorn    = memlensNanotime() // when this runtime started
	memlensAskPath = memlensCPath(memlensDir + "/dump-request")
)

func memlensOpenShared() *memlensShared {
	if !memlensAllocs {
		return nil
	}
	dir := memlensos.Getenv("MEMLENS_DIR")
	if dir == "" {
		return new(memlensShared)
	}
	memlensAddExitHook(memlensHook{F: memlensExitDump, RunOnFailure: true})
	name := dir + "/shared-" + memlensstrconv.Itoa(memlensos.Getpid())
	f, err := memlensos.OpenFile(name, memlensos.O_RDWR|memlensos.O_CREATE, 0644)
	if err != nil {
		return new(memlensShared)
	}
	defer f.Close()
	const size = 4096
	if st, err := f.Stat(); err != nil || st.Size() < size {
		f.Truncate(size)
	}
	b, err := memlenssyscall.Mmap(int(f.Fd()), 0, size, memlenssyscall.PROT_READ|memlenssyscall.PROT_WRITE, memlenssyscall.MAP_SHARED)
	if err != nil {
		return new(memlensShared)
	}
	return (*memlensShared)(memlensunsafe.Pointer(&b[0]))
}

func memlensDepthInc() {
	memlensActive.Add(1)
	memlensDirty.Store(true)
	memlensEntered.Store(true)
	memlensEver.Store(true)
	if memlensatomic.AddInt64(&memlensSh.depth, 1) == 1 {
		memlensRate(true)
	}
	if memlensDir != "" && !memlensWatched.Load() && memlensWatched.CompareAndSwap(false, true) {
		go memlensWatch()
	}
}

func memlensDepthDec() {
	// What the call allocated after a periodic dump is not dumped yet.
	memlensDirty.Store(true)
	memlensActive.Add(-1)
	if memlensatomic.AddInt64(&memlensSh.depth, -1) == 0 {
		memlensRate(false)
	}
}

// memlensRate switches exact sampling on or off. The depth decides under the
// lock, so an enter racing a leave cannot leave the rate wrong; MemProfileRate
// is written atomically (the runtime reads it plainly) to keep -race quiet.
func memlensRate(on bool) {
	h := memlensSh
	for !memlensatomic.CompareAndSwapUint32(&h.lock, 0, 1) {
		memlensruntime.Gosched()
	}
	if on && memlensatomic.LoadInt64(&h.on) == 0 {
		memlensatomic.StoreInt64(&h.saved, int64(memlensLoadRate()))
		memlensStoreRate(1)
		memlensatomic.StoreInt64(&h.on, 1)
	} else if !on && memlensatomic.LoadInt64(&h.on) != 0 && memlensatomic.LoadInt64(&h.depth) == 0 {
		memlensStoreRate(int(memlensatomic.LoadInt64(&h.saved)))
		memlensatomic.StoreInt64(&h.on, 0)
	}
	memlensatomic.StoreUint32(&h.lock, 0)
}

func memlensLoadRate() int {
	p := memlensunsafe.Pointer(&memlensruntime.MemProfileRate)
	if memlensunsafe.Sizeof(memlensruntime.MemProfileRate) == 8 {
		return int(memlensatomic.LoadInt64((*int64)(p)))
	}
	return int(memlensatomic.LoadInt32((*int32)(p)))
}

func memlensStoreRate(r int) {
	p := memlensunsafe.Pointer(&memlensruntime.MemProfileRate)
	if memlensunsafe.Sizeof(memlensruntime.MemProfileRate) == 8 {
		memlensatomic.StoreInt64((*int64)(p), int64(r))
	} else {
		memlensatomic.StoreInt32((*int32)(p), int32(r))
	}
}

// memlensUnwinding reports whether the deferred memlensLeave runs because
// of a panic or runtime.Goexit rather than a return: then its caller is
// runtime.gopanic or runtime.Goexit (the compiler's defer wrapper is a
// wrapper function, which tracebacks elide; skipped should it show). No
// recover, so the program's panic stays untouched, and no allocation:
// FuncForPC allocates only for PCs inside an inlined body, and neither the
// panic path's call site nor a return site is one.
//
//go:noinline
func memlensUnwinding() bool {
	var pcs [3]uintptr // memlensLeave, its caller, one more
	n := memlensruntime.Callers(2, pcs[:])
	for i := 1; i < n; i++ {
		f := memlensruntime.FuncForPC(pcs[i] - 1)
		if f == nil {
			return false
		}
		name := f.Name()
		if !memlensContains(name, ".deferwrap") {
			return name == "runtime.gopanic" || name == "runtime.Goexit"
		}
	}
	return false
}

func memlensContains(s, sub string) bool {
	for i := 0; i+len(sub) <= len(s); i++ {
		if s[i:i+len(sub)] == sub {
			return true
		}
	}
	return false
}

// The watcher's timing: how often it looks for the runner's dump request,
// how long targets must have been running before the first periodic dump
// (and how long the package must have been idle before the dump that ends
// the watch), and the longest gap between periodic dumps.
const (
	memlensPoll      = 50 * memlenstime.Millisecond
	memlensFirstDump = 2 * memlenstime.Second
	memlensMaxGap    = 10 * memlenstime.Second
)

// memlensWatch runs while targets run or have run since the last dump. It
// answers the runner's dump request (the file dump-request appearing in
// $MEMLENS_DIR, which the runner creates before it kills a program on a
// timeout or cancel) and dumps now and then, so that a program killed
// without warning still leaves records. A dump runs runtime.GC, allocates
// and so empties sync.Pools: periodic dumps are rare (the first after 2 s
// of targets running, then after 4, 8, 10, 10... s) and within the budget
// memlensAfford sets, so short runs are never disturbed. Once the package
// has been idle for 2 s with records not yet dumped, it dumps them and
// stops: a goroutine sleeping on a timer would keep the runtime from
// reporting a deadlock. It polls with a raw faccessat and a timer made at start-up,
// neither of which allocates, so tests counting allocations
// (testing.AllocsPerRun) do not see it.
func memlensWatch() {
	gap := int64(memlensFirstDump)
	next := memlensNanotime() + gap
	var idleSince int64
	for {
		memlensPollTimer.Reset(memlensPoll)
		<-memlensPollTimer.C
		now := memlensNanotime()
		if !memlensAsked.Load() && memlensRequested() {
			memlensAsked.Store(true)
			memlensDump("request", true)
			continue
		}
		busy := memlensActive.Load() > 0 || memlensEntered.Swap(false)
		if busy {
			idleSince = 0
		} else if idleSince == 0 {
			idleSince = now
		}
		dirty := memlensDirty.Load()
		switch {
		case busy && dirty && now >= next:
			if memlensDump("periodic", false) {
				if gap *= 2; gap > int64(memlensMaxGap) {
					gap = int64(memlensMaxGap)
				}
				next = now + gap
			}
		case !busy && dirty && now-idleSince >= int64(memlensFirstDump):
			memlensDump("idle", false)
		case !busy && !dirty:
			memlensWatched.Store(false)
			// A target may have started between the checks and the store.
			if (memlensActive.Load() > 0 || memlensDirty.Load()) && memlensWatched.CompareAndSwap(false, true) {
				continue
			}
			return
		}
	}
}

// memlensPollTimer paces the watcher. It is made once, at start-up:
// time.Sleep would allocate a timer the first time each watcher goroutine
// sleeps.
var memlensPollTimer = memlensNewStoppedTimer()

func memlensNewStoppedTimer() *memlenstime.Timer {
	t := memlenstime.NewTimer(memlensPoll)
	t.Stop()
	return t
}

// memlensCPath returns s as a NUL-terminated byte slice for raw syscalls.
func memlensCPath(s string) []byte {
	b := make([]byte, len(s)+1)
	copy(b, s)
	return b
}

// memlensAtFDCWD is Linux's AT_FDCWD (-100 on every architecture), which
// package syscall does not export.
var memlensAtFDCWD = -100

// memlensRequested reports whether the runner asks for a dump: the
// dump-request file exists. syscall.Access would allocate the path.
func memlensRequested() bool {
	_, _, errno := memlenssyscall.Syscall6(memlenssyscall.SYS_FACCESSAT, uintptr(memlensAtFDCWD),
		uintptr(memlensunsafe.Pointer(&memlensAskPath[0])), 0, 0, 0, 0)
	return errno == 0
}

type memlensHook struct {
	F            func()
	RunOnFailure bool
}

// memlensAddExitHook registers a function run at os.Exit (any code, so
// failing tests too) and when main returns; needs -ldflags=-checklinkname=0.
//
//go:linkname memlensAddExitHook internal/runtime/exithook.Add
func memlensAddExitHook(h memlensHook)

func memlensExitDump() {
	if memlensEver.Load() {
		memlensDump("exit", true)
	}
}

// memlensMemRecord mirrors internal/profilerecord.MemProfileRecord: unlike
// runtime.MemProfile's 32 frames, its stacks have the runtime's full
// profiling depth (GODEBUG profstackdepth, 128 by default).
type memlensMemRecord struct {
	AllocBytes, FreeBytes     int64
	AllocObjects, FreeObjects int64
	Stack                     []uintptr
}

//go:linkname memlensMemProfile runtime.pprof_memProfileInternal
func memlensMemProfile(p []memlensMemRecord, inuseZero bool) (n int, ok bool)

type memlensPCFrame struct {
	fn, file string
	line     int
}

var (
	memlensDumpMu    memlenssync.Mutex
	memlensLastEnd   int64 // nanotime when the last dump ended
	memlensLastDur   int64 // how long it took
	memlensDumpTotal int64 // time spent dumping so far
	memlensPCs       map[uintptr][]memlensPCFrame
)

// memlensAfford reports whether an unforced dump may run at now: not
// before ten times the last dump's duration has passed since it ended, and
// only while all dumps so far, this one included (estimated as long as the
// last), stay within a tenth of the time since the runtime started.
func memlensAfford(now int64) bool {
	if memlensLastEnd == 0 {
		return true
	}
	return now-memlensLastEnd >= 10*memlensLastDur && 10*(memlensDumpTotal+memlensLastDur) <= now-memlensBorn
}

// memlensDump writes the allocation records whose stacks pass through a
// target to $MEMLENS_DIR/allocs-<index>-<pid>, atomically, with the time,
// the reason (exit, unwind, request, periodic, idle), the package's call
// count and its running calls in its header.
// Unless forced (at exit, on the runner's request) it runs only when
// memlensAfford allows. It reports whether it dumped.
func memlensDump(reason string, force bool) bool {
	dir := memlensDir
	if dir == "" {
		return false
	}
	memlensDumpMu.Lock()
	defer memlensDumpMu.Unlock()
	start := memlensNanotime()
	if !force && !memlensAfford(start) {
		return false
	}
	memlensDirty.Store(false)
	memlensruntime.GC() // publishes every allocation made so far
	taken := memlenstime.Now().UnixNano()
	var recs []memlensMemRecord
	n, _ := memlensMemProfile(nil, true)
	for {
		recs = make([]memlensMemRecord, n+n/4+64)
		var ok bool
		if n, ok = memlensMemProfile(recs, true); ok {
			recs = recs[:n]
			break
		}
	}
	if memlensPCs == nil {
		memlensPCs = make(map[uintptr][]memlensPCFrame)
	}
	out := make([]byte, 0, 1<<16)
	out = append(out, "memlens-allocs 1\nt "...)
	out = memlensstrconv.AppendInt(out, taken, 10)
	out = append(out, ' ')
	out = append(out, reason...)
	out = append(out, ' ')
	out = memlensstrconv.AppendUint(out, memlensCalls(), 10)
	out = append(out, ' ')
	out = memlensstrconv.AppendInt(out, memlensActive.Load(), 10)
	out = append(out, '\n')
	var frames []memlensPCFrame
	for i := range recs {
		r := &recs[i]
		frames = frames[:0]
		last, own := -1, false
		for _, pc := range r.Stack {
			fs, ok := memlensPCs[pc]
			if !ok {
				fs = memlensSymbolize(pc)
				memlensPCs[pc] = fs
			}
			for _, f := range fs {
				if f.file == memlensRTFile {
					own = true // the runtime's own allocation (a dump, a timer)
				}
				frames = append(frames, f)
				if memlensInTarget(f.file, f.line) {
					last = len(frames) - 1
				}
			}
		}
		if last < 0 || own {
			continue
		}
		out = append(out, 'r', ' ')
		out = memlensstrconv.AppendInt(out, r.AllocBytes, 10)
		out = append(out, ' ')
		out = memlensstrconv.AppendInt(out, r.AllocObjects, 10)
		out = append(out, ' ')
		out = memlensstrconv.AppendInt(out, r.AllocBytes-r.FreeBytes, 10)
		out = append(out, ' ')
		out = memlensstrconv.AppendInt(out, r.AllocObjects-r.FreeObjects, 10)
		out = append(out, ' ')
		out = memlensstrconv.AppendInt(out, int64(last+1), 10)
		out = append(out, '\n')
		for _, f := range frames[:last+1] {
			out = append(out, 'f', ' ')
			out = memlensstrconv.AppendInt(out, int64(f.line), 10)
			out = append(out, '\t')
			out = append(out, f.fn...)
			out = append(out, '\t')
			out = append(out, f.file...)
			out = append(out, '\n')
		}
	}
	out = append(out, "end\n"...)
	name := dir + "/allocs-" + memlensstrconv.Itoa(memlensIndex) + "-" + memlensstrconv.Itoa(memlensos.Getpid())
	if err := memlensos.WriteFile(name+".tmp", out, 0644); err == nil {
		memlensos.Rename(name+".tmp", name)
	}
	memlensLastEnd = memlensNanotime()
	memlensLastDur = memlensLastEnd - start
	memlensDumpTotal += memlensLastDur
	return true
}

func memlensSymbolize(pc uintptr) []memlensPCFrame {
	var fs []memlensPCFrame
	frames := memlensruntime.CallersFrames([]uintptr{pc})
	for {
		f, more := frames.Next()
		if f.Function != "" || f.File != "" {
			fs = append(fs, memlensPCFrame{f.Function, f.File, f.Line})
		}
		if !more {
			return fs
		}
	}
}

func memlensInTarget(file string, line int) bool {
	for _, t := range memlensTargets {
		if line >= t.lo && line <= t.hi && file == t.file {
			return true
		}
	}
	return false
}

type memlensRange struct {
	file   string
	lo, hi int
}
