//go:build ignore

// This file is the timeline half of the memlens probe runtime: genRuntime
// (runtime.go) appends everything after its import block to the body of
// rt_template.go and merges its imports into that file's import block. It
// samples the process's memory at a fixed interval (Options.Timeline) and
// which profiled line is running at each sample; see "Timeline" in doc.go.
// The rules of rt_template.go hold here too: every top-level name starts
// with memlens, no generics, no min/max, no range-over-int.

package memlensrt

import (
	memlensmetrics "runtime/metrics"
)

// memlensTLShared is the process-wide timeline state: a small file mapped
// by every instrumented package of the process ($MEMLENS_DIR/tlshared-<pid>),
// so that the one sampler sees the lines of all of them.
type memlensTLShared struct {
	// cur is the line running now, written by the line probes with a plain
	// store: call<<32 | (package index+1)<<24 | (slot+1); 0 when no
	// profiled call runs. call numbers the target calls of the process from 1.
	cur uint64
	// calls is the target calls entered so far <<32 | the target calls and
	// function literals of targets running now.
	calls uint64
	// owner is 1 once a package of the process runs the sampler.
	owner uint32
	// asleep is 1 while the sampler is stopped because the program was
	// blocked entirely; the next target call starts it again.
	asleep uint32
	// The call log: target calls entering and leaving, in a ring that the
	// sampler drains at every sample. head counts the events reserved,
	// tail those drained; an event is published when its seq is its
	// position+1. Once memlensTLLogMax events were logged, or when the ring
	// is full, calls are not logged (dropped counts the latter).
	head, tail, dropped uint64
	log                 [memlensTLRing]memlensTLEvent
}

// memlensTLEvent is a target call entering (code: call<<32 | (package
// index+1)<<24 | (slot of the func line+1); parent: the running line then,
// its caller's line when the caller is a target) or leaving (code:
// call<<32), at t (nanotime).
type memlensTLEvent struct {
	seq          uint64
	t            int64
	code, parent uint64
}

// The call log's ring size and the most calls' events logged in a run.
const (
	memlensTLRing   = 4096
	memlensTLLogMax = 20000
)

// The flags of a timeline record.
const (
	memlensTLStart  = 1  // the first sample, when the runtime started
	memlensTLEnd    = 2  // at exit (main returned, os.Exit, end of a test binary)
	memlensTLPause  = 4  // the sampler stops: the program was blocked entirely
	memlensTLResume = 8  // the sampler starts again
	memlensTLUnwind = 16 // a target left by panic or runtime.Goexit
	memlensTLCall   = 32 // not a sample: a target call entered (cur: the call)
	memlensTLReturn = 64 // not a sample: a target call left (cur: the call)
)

// memlensTLRecordSize is the size of one timeline record: t, rss, heap, cur
// and flags as little-endian 64-bit words.
const memlensTLRecordSize = 40

var (
	memlensTL           = memlensTLOpen()
	memlensTLFD         = -1                       // the timeline file (the sampler's package only)
	memlensTLOwned      *memlensTLShared           // memlensTL, in the sampler's package
	memlensTLBorn       int64                      // nanotime of the first sample
	memlensTLRecords    memlensatomic.Int64        // records written
	memlensTLGap        = memlensTLInterval        // the sampling interval now (doubles on long runs)
	memlensTLLimit      = int64(memlensTLDoubleAt) // records at which it doubles next
	memlensTLBlockedAt  int64                      // nanotime of the first sample of a blocked stretch
	memlensTLBlockedCPU int64                      // the process's CPU time then
	memlensTLSeen       int                        // samples in the stretch
	memlensTLQuiet      int                        // of them, with no other P held
	memlensTLTimer      *memlenstime.Timer         // paces the sampler, made at start-up
	memlensTLMetrics    []memlensmetrics.Sample    // heap and goroutine states, read in place
)

// memlensTLOpen maps the shared state and, in the first instrumented
// package of the process to get there, starts the sampler. Without
// $MEMLENS_DIR the state lives in memory and nothing is sampled.
func memlensTLOpen() *memlensTLShared {
	if !memlensTimeline {
		return new(memlensTLShared)
	}
	dir := memlensos.Getenv("MEMLENS_DIR")
	if dir == "" {
		return new(memlensTLShared)
	}
	pid := memlensstrconv.Itoa(memlensos.Getpid())
	f, err := memlensos.OpenFile(dir+"/tlshared-"+pid, memlensos.O_RDWR|memlensos.O_CREATE, 0644)
	if err != nil {
		return new(memlensTLShared)
	}
	defer f.Close()
	size := int(memlensunsafe.Sizeof(memlensTLShared{}))
	if st, err := f.Stat(); err != nil || st.Size() < int64(size) {
		f.Truncate(int64(size))
	}
	b, err := memlenssyscall.Mmap(int(f.Fd()), 0, size, memlenssyscall.PROT_READ|memlenssyscall.PROT_WRITE, memlenssyscall.MAP_SHARED)
	if err != nil {
		return new(memlensTLShared)
	}
	sh := (*memlensTLShared)(memlensunsafe.Pointer(&b[0]))
	if memlensatomic.CompareAndSwapUint32(&sh.owner, 0, 1) {
		memlensTLStartSampler(dir+"/timeline-"+pid, sh)
	}
	return sh
}

// memlensTLStartSampler writes the timeline file's header and first
// sample, registers the last sample at exit, and starts the sampler.
func memlensTLStartSampler(name string, sh *memlensTLShared) {
	fd, err := memlenssyscall.Open(name, memlenssyscall.O_WRONLY|memlenssyscall.O_CREAT|memlenssyscall.O_TRUNC|memlenssyscall.O_CLOEXEC, 0644)
	if err != nil {
		println("memlens: timeline:", err.Error())
		return
	}
	memlensTLMetrics = []memlensmetrics.Sample{
		{Name: "/memory/classes/heap/objects:bytes"},
		{Name: "/sched/goroutines/running:goroutines"},
		{Name: "/sched/goroutines/runnable:goroutines"},
		{Name: "/sched/goroutines/not-in-go:goroutines"},
	}
	memlensTLTimer = memlenstime.NewTimer(memlenstime.Hour)
	memlensTLTimer.Stop()
	memlensTLBorn = memlensNanotime()
	// The header: magic "MLNSTLN1", version 1, the wall clock at the first
	// sample (Unix ns), the interval (ns), the record size.
	var h [40]byte
	memlensTLPut(h[0:], memlensTLMagic)
	memlensTLPut(h[8:], 1)
	memlensTLPut(h[16:], uint64(memlenstime.Now().UnixNano()))
	memlensTLPut(h[24:], uint64(memlensTLInterval))
	memlensTLPut(h[32:], memlensTLRecordSize)
	if _, err := memlenssyscall.Pwrite(fd, h[:], 0); err != nil {
		memlenssyscall.Close(fd)
		return
	}
	memlensTLFD, memlensTLOwned = fd, sh
	memlensTLSample(sh, memlensTLStart)
	memlensAddExitHook(memlensHook{F: memlensTLExit, RunOnFailure: true})
	go memlensTLRun(sh)
}

func memlensTLExit() { memlensTLSample(memlensTLOwned, memlensTLEnd) }

func memlensTLPut(b []byte, v uint64) {
	_ = b[7]
	b[0], b[1], b[2], b[3] = byte(v), byte(v>>8), byte(v>>16), byte(v>>24)
	b[4], b[5], b[6], b[7] = byte(v>>32), byte(v>>40), byte(v>>48), byte(v>>56)
}

// memlensTLSample appends the call events logged since the last sample
// and one record: the time since the first sample, the process RSS, the
// heap in use by objects, the running line. It allocates
// nothing, so tests that count allocations do not see it. Records are
// written with pwrite as they are taken (not kept in a mapping, whose
// touched pages would count in the process's RSS): a program killed by
// SIGKILL keeps every record written before.
func memlensTLSample(sh *memlensTLShared, flags uint64) {
	if memlensTLFD < 0 {
		return
	}
	memlensTLDrain(sh)
	t := memlensNanotime() - memlensTLBorn
	if flags == memlensTLStart {
		t = 0
	}
	cur := memlensatomic.LoadUint64(&sh.cur)
	memlensmetrics.Read(memlensTLMetrics)
	var heap uint64
	if memlensTLMetrics[0].Value.Kind() == memlensmetrics.KindUint64 {
		heap = memlensTLMetrics[0].Value.Uint64()
	}
	var rec [memlensTLRecordSize]byte
	memlensTLPut(rec[0:], uint64(t))
	memlensTLPut(rec[8:], memlensReadRSS())
	memlensTLPut(rec[16:], heap)
	memlensTLPut(rec[24:], cur)
	memlensTLPut(rec[32:], flags)
	i := memlensTLRecords.Add(1) - 1
	memlenssyscall.Pwrite(memlensTLFD, rec[:], 40+i*memlensTLRecordSize)
}

// memlensTLIdle classifies the last sample's goroutine states: 2 when no
// goroutine but the sampler held a P, none was runnable and none in a
// system call (the program may be waiting entirely: sleeping, on I/O, or
// deadlocked); 1 the same but with one more P held (a thread looking for
// work holds one too, so a waiting program shows that now and then); 0
// otherwise. Before Go 1.26 the runtime has no such metrics: always 0.
func memlensTLIdle() int {
	for _, s := range memlensTLMetrics[1:] {
		if s.Value.Kind() != memlensmetrics.KindUint64 {
			return 0
		}
	}
	running := memlensTLMetrics[1].Value.Uint64()
	if memlensTLMetrics[2].Value.Uint64() != 0 || memlensTLMetrics[3].Value.Uint64() != 0 || running > 2 {
		return 0
	}
	if running <= 1 {
		return 2
	}
	return 1
}

// memlensTLCPU returns the CPU time the process has used, in ns.
func memlensTLCPU() int64 {
	var ru memlenssyscall.Rusage
	if memlenssyscall.Getrusage(memlenssyscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return ru.Utime.Nano() + ru.Stime.Nano()
}

// memlensTLStopAfter is how long the program must have been blocked
// entirely before the sampler stops: a goroutine waiting on a timer keeps
// the runtime from reporting a deadlock, so it must not wait forever.
const memlensTLStopAfter = int64(memlenstime.Second)

// memlensTLRun samples every interval until the program has been blocked
// entirely for memlensTLStopAfter (at every sample no goroutine runnable or
// in a system call, at 80% of them no P held but the sampler's, less than
// 5% of a CPU used); the next target call
// starts it again (memlensTLWake). The interval doubles each time the number of records
// reaches another memlensTLDoubleAt × 2^k, so that the file stays small on
// very long runs (the runner merges the samples for display anyway).
func memlensTLRun(sh *memlensTLShared) {
	next := memlensNanotime() + memlensTLGap
	for {
		if d := next - memlensNanotime(); d > 0 {
			memlensTLTimer.Reset(memlenstime.Duration(d))
			<-memlensTLTimer.C
		}
		memlensTLSample(sh, 0)
		if memlensTLRecords.Load() >= memlensTLLimit {
			memlensTLGap *= 2
			memlensTLLimit *= 2
		}
		// A late wake-up (a busy machine) skips the ticks it missed.
		if next += memlensTLGap; next <= memlensNanotime() {
			next = memlensNanotime() + memlensTLGap
		}
		idle := memlensTLIdle()
		if idle == 0 {
			memlensTLBlockedAt = 0
			continue
		}
		now := memlensNanotime()
		if memlensTLBlockedAt == 0 {
			memlensTLBlockedAt, memlensTLBlockedCPU = now, memlensTLCPU()
			memlensTLQuiet, memlensTLSeen = 0, 0
		}
		memlensTLSeen++
		if idle == 2 {
			memlensTLQuiet++
		}
		if now-memlensTLBlockedAt < memlensTLStopAfter {
			continue
		}
		// A running program holds a P besides the sampler's at nearly
		// every sample; a waiting one only now and then. And it uses CPU.
		cpu, span := memlensTLCPU()-memlensTLBlockedCPU, now-memlensTLBlockedAt
		memlensTLBlockedAt = 0
		if 5*memlensTLQuiet < 4*memlensTLSeen || cpu > span/20 {
			continue
		}
		memlensatomic.StoreUint32(&sh.asleep, 1)
		memlensTLSample(sh, memlensTLPause)
		return
	}
}

// memlensTLWake starts the sampler again after it stopped.
func memlensTLWake(sh *memlensTLShared) {
	if memlensTLFD >= 0 && memlensatomic.CompareAndSwapUint32(&sh.asleep, 1, 0) {
		memlensTLSample(sh, memlensTLResume)
		go memlensTLRun(sh)
	}
}

// ---- the probes' part: what runs now ----

// memlensTLEnter runs in memlensEnter: a new target call, now at line slot s.
//
// The running line is read and written with plain loads and stores, as in
// memlensTLLine (norace), and the call log is looked at only while it
// takes events: a call costs two atomic adds (enter and leave) once the
// log is done.
//
//go:norace
func memlensTLEnter(st *memlensState, s int) {
	sh := memlensTL
	n := memlensatomic.AddUint64(&sh.calls, 1<<32|1)
	prev := sh.cur
	st.tlPrev, st.tlCall, st.tlOwn = prev, n>>32<<32|memlensTLBase, true
	sh.cur = st.tlCall | uint64(s+1)
	if memlensatomic.LoadUint64(&sh.head) < memlensTLLogMax {
		memlensTLLog(sh, st.tlCall|uint64(s+1), prev)
	}
	if memlensatomic.LoadUint32(&sh.asleep) != 0 {
		memlensTLWake(sh)
	}
}

// memlensTLLit runs in memlensLit: a function literal of a target counts as
// running, and its lines belong to the call that was running when it
// started (its creator, for a literal called in place).
//
//go:norace
func memlensTLLit(st *memlensState) {
	sh := memlensTL
	memlensatomic.AddUint64(&sh.calls, 1)
	prev := sh.cur
	st.tlPrev = prev
	st.tlCall = prev>>32<<32 | memlensTLBase
}

// memlensTLLine runs in every line probe: slot s is now the running line.
// A plain store, the cheapest there is (an atomic store would double the
// cost of a line probe); the sampler reads the word atomically, and on the
// platforms memlens runs on (64-bit Linux) an aligned 64-bit store is never
// torn. norace keeps -race builds from reporting it.
//
//go:norace
func memlensTLLine(st *memlensState, s int) {
	memlensTL.cur = st.tlCall | uint64(s+1)
}

// memlensTLLeave runs in memlensLeave: with no target call or literal
// running any more the line is none, else the one that ran when this call
// started (its caller's line, when the caller is a target).
//
//go:norace
func memlensTLLeave(st *memlensState) {
	sh := memlensTL
	if st.tlOwn && memlensatomic.LoadUint64(&sh.head) < memlensTLLogMax {
		memlensTLLog(sh, st.tlCall>>32<<32, 0)
	}
	if uint32(memlensatomic.AddUint64(&sh.calls, ^uint64(0))) == 0 {
		sh.cur = 0
	} else {
		sh.cur = st.tlPrev
	}
}

// ---- the call log ----

// memlensTLLog logs a call event, unless the log is full or done. The
// event's fields are written with plain stores before its seq is published
// with an atomic (release) store, which the sampler loads (acquire) before
// reading them.
//
//go:norace
func memlensTLLog(sh *memlensTLShared, code, parent uint64) {
	t := memlensNanotime()
	for {
		h := memlensatomic.LoadUint64(&sh.head)
		if h >= memlensTLLogMax {
			return
		}
		if h-memlensatomic.LoadUint64(&sh.tail) >= memlensTLRing {
			memlensatomic.AddUint64(&sh.dropped, 1)
			return
		}
		if memlensatomic.CompareAndSwapUint64(&sh.head, h, h+1) {
			e := &sh.log[h%memlensTLRing]
			e.t, e.code, e.parent = t, code, parent
			memlensatomic.StoreUint64(&e.seq, h+1)
			return
		}
	}
}

var memlensTLDraining memlensatomic.Bool

// memlensTLDrain appends the published call events to the timeline file
// (the sampler's package only, with the sampler or at exit).
func memlensTLDrain(sh *memlensTLShared) {
	if !memlensTLDraining.CompareAndSwap(false, true) {
		return // the other writer drains
	}
	defer memlensTLDraining.Store(false)
	var buf [64 * memlensTLRecordSize]byte
	n := 0
	flush := func() {
		if n > 0 {
			i := memlensTLRecords.Add(int64(n)) - int64(n)
			memlenssyscall.Pwrite(memlensTLFD, buf[:n*memlensTLRecordSize], 40+i*memlensTLRecordSize)
			n = 0
		}
	}
	tail := memlensatomic.LoadUint64(&sh.tail)
	for tail < memlensatomic.LoadUint64(&sh.head) {
		e := &sh.log[tail%memlensTLRing]
		if memlensatomic.LoadUint64(&e.seq) != tail+1 {
			break // reserved, not written yet: next time
		}
		code := memlensatomic.LoadUint64(&e.code)
		flags := uint64(memlensTLCall)
		if code&0xffffffff == 0 {
			flags = memlensTLReturn
		}
		r := buf[n*memlensTLRecordSize:]
		memlensTLPut(r[0:], uint64(memlensatomic.LoadInt64(&e.t)-memlensTLBorn))
		memlensTLPut(r[8:], memlensatomic.LoadUint64(&e.parent))
		memlensTLPut(r[16:], 0)
		memlensTLPut(r[24:], code)
		memlensTLPut(r[32:], flags)
		tail++
		memlensatomic.StoreUint64(&sh.tail, tail)
		if n++; n == 64 {
			flush()
		}
	}
	flush()
}
