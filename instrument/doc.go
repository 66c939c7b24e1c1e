// Package instrument inserts memlens probes into Go source, generates the
// probe runtime that is compiled into the profiled package, and reads what
// that runtime writes.
//
// # Rewriting
//
// Like cmd/cover, Instrument inserts text at byte offsets of the original
// file and never reprints the AST. Every insertion is followed by a
// //line directive, on a line of its own, naming the original file, line and
// column of the next byte, so compiler errors, panics, runtime.Caller and
// allocation stacks all report original positions. (A /*line*/ comment on
// the statement's own line would keep the line but not always the column:
// the compiler stores physical columns in 8 bits and probes make lines long.)
// The user's files are never written: the runner passes the returned bytes
// to go build/test through -overlay. Inserted identifiers start with
// memlens; user code must not declare such names.
//
// # What counts how
//
// Each probe adds one to its line's counter, so a line's count is the number
// of times execution entered it:
//
//   - the func line of a target counts calls (Counters.Calls holds the same
//     figure); a function literal's own line is not counted for it;
//   - a statement counts on its first line; further statements of the same
//     block on the same line get no probe of their own (x := 1; y := 2 counts
//     once per pass), nor does a statement on the line of the header that
//     just counted (if x { y++ } counts once per evaluation of x);
//   - for with a condition (three-clause or condition-only) counts each
//     evaluation of the condition: k iterations count k+1; the condition
//     cond becomes memlensCond(...) != 0 && cond, which equals cond because
//     the probe is evaluated first and is true (an untyped bool, so cond may
//     have any boolean type);
//   - for {} and for init; ; post {} have no exit check to count: they count
//     iterations (k), at the start of the body. A condition would break the
//     terminating-statement rule (missing return);
//   - for range counts k+1: one probe before the loop and one at the start
//     of each iteration (range over int, func, channel alike);
//   - if counts each evaluation of its condition (with its init); an else-if
//     line counts each evaluation of its own condition: else if c {...}
//     becomes else { probe; if c {...} };
//   - switch, type switch and select count once per execution; a case or
//     default line counts when its clause runs (a probe as the clause's first
//     statement), fallthrough included; case expressions evaluated without
//     being chosen do not count;
//   - a label's probe goes after the label (a goto lands on it), except for
//     labeled for, switch and select, whose probe goes before the label so
//     break/continue L keep their statement; a goto to such a label skips the
//     probe;
//   - const and type declarations and empty statements are not counted.
//
// # Probes and counter rows
//
// Every probe is one of these texts, inserted as described above (ID is the
// target's index, S the line's slot within the target, 1-based):
//
//   - a target's entry, first in its body:
//     memlensFr := memlensEnter(ID); defer memlensLeave(memlensFr);
//     and with RSS or allocations measured
//     var memlensSt memlensState; memlensFr := memlensEnterSt(ID, &memlensSt); defer memlensLeave(memlensFr);
//   - a function literal's entry, first in its body: the same with
//     memlensLit / memlensLitSt (a literal call is not counted as a call);
//   - a line: memlensLine(memlensFr, S); before a statement, as the first
//     statement of a case or comm clause, or first in a for {} or for range
//     body;
//   - a loop condition: memlensCond(memlensFr, S) != 0 && cond;
//   - an else-if: else {memlensLine(memlensFr, S); if c {...}};
//   - when only counts are measured, in a target or literal without loops,
//     goto or defer statements: no deferred memlensLeave, but
//     ; memlensRelease(memlensFr); before each of its own return statements
//     (after the return line's probe) and, for a body without results, at
//     its closing brace (after an else-if chain's closing brace there).
//
// Counters are kept in rows: a row is a call counter and one counter per
// line slot of one target, and the figures are the sums over rows. Entering
// a target or literal claims a row that no other running call uses, so the
// line probes are plain adds to a constant offset of the row (inlined, no
// bounds check, no atomic instruction: about 1 ns); the deferred
// memlensLeave gives the row back, also when the call leaves by panic or
// runtime.Goexit. When only counts are measured, a loop-free body gives it
// back itself, at its returns and end: a defer costs about 8 ns a call,
// much of what counting costs in an accessor or a recursive leaf called
// millions of times (Fib runs ~2.5× faster so). A call of such a body that
// leaves by panic or Goexit keeps its row: its counts stay exact (only a
// row's holder writes it), and when all of a function's P and pool rows
// are kept so, its later calls take the shared row (atomic adds, still
// exact).
//
// memlensFr is a small struct passed by value (the row, what to release, a
// pointer to the RSS state), so the compiler keeps it in registers.
// Claiming takes, in order:
//
//   - one of the rows of the P (scheduler processor) the goroutine runs on,
//     for the first min(NumCPU, 64) Ps, each with 128/Ps of them (4 to 32):
//     the goroutine pins itself to its P (runtime.procPin, so nothing else
//     runs there meanwhile), takes the row after the one it took last if
//     its busy word is 0 (else the next free one) and sets the word, with
//     plain loads and stores; the holder clears the word when it leaves,
//     from whichever P it runs on then (amd64 keeps loads in order and
//     stores in order; other architectures use atomic loads and stores). No
//     atomic read-modify-write: a call costs about two small function calls
//     and a defer, and a recursion takes one row per level;
//   - else one of 16 pool rows, by compare-and-swap on a bitmap (a
//     recursion deeper than the P's rows, many goroutines preempted inside
//     the same target on one P, Ps beyond the first 64);
//   - else the shared row, which the probes update with atomic adds.
//
// Counts are therefore exact whatever runs concurrently: loops, recursion,
// goroutines running the same code, panics in the middle of a line
// (the probe ran, the line counts as entered), os.Exit and SIGKILL (the
// rows are in the mapped file). A row left claimed by a call that never
// returns (os.Exit, a kill) only matters to the process that ends.
//
// # RSS (Options.RSS)
//
// Every probe of a running call (a target or a function literal in it; each
// call has its own frame on its stack, so goroutines never share one) reads
// the process RSS from /proc/self/statm (one pread on a descriptor kept
// open, ~3 µs) and credits the previous line of that call:
// IncSum += now - before, MemMax = max(MemMax, before, now); leaving the
// call (return, panic, Goexit) credits its last line. A line's increment
// therefore includes its callees (memory_profiler's view), and the func
// line's MemMax is the RSS at entry.
//
// With RSSInterval > 0 a probe reads at most once per interval
// (process-wide, monotonic clock); otherwise it reuses the latest reading.
// The change since the previous reading is thus credited to the line that
// just finished when a reading happens, i.e. the line during which the
// interval ran out. A line running longer than the interval is measured
// exactly, give or take what the lines in the preceding interval changed.
// (Keeping the slot after the last reading open instead would credit a long
// line's change to the line before it whenever its own probe fell inside an
// interval.) What the figures then mean: Mem usage is the RSS at the latest
// reading before or at the line, at most one interval old; Increment sums
// still add up to the function's whole RSS change, but the growth of a loop
// whose lines each take less than the interval lands on whichever of its
// lines was running when readings happened (roughly in proportion to the
// time each takes), and a short line between two long ones usually shows
// none. RSSInterval 0 reads at every probe: exact per line, at ~3.8 µs a
// probe (a hot loop runs ~100× slower). The runner's default is 1 ms.
//
// # Allocations (Options.Allocs)
//
// Exact per-line heap figures come from the runtime's memory profile. While
// any target or function literal of one runs anywhere in the process,
// runtime.MemProfileRate is 1 (every allocation sampled; mallocgc compares
// the rate to the one cached per P and resamples at once when it changes);
// when the last one returns the previous rate is restored, so the rest of a
// test suite runs at full speed. The count of running calls lives in a small
// file mapped by every instrumented package of the process
// ($MEMLENS_DIR/shared-<pid>), so several instrumented packages agree.
//
// The runtime dumps the records whose stack has a frame inside a target's
// line range (closures, generic instantiations, goroutine wrappers and
// inlined calls included), raw (not scaled), symbolized in the program with
// runtime.CallersFrames, trimmed after the outermost target frame, to
// $MEMLENS_DIR/allocs-<index>-<pid> (write to .tmp, rename), with the time
// the records were taken and the reason. A dump runs runtime.GC (which
// publishes the records), allocates, and so empties sync.Pools: it can
// disturb the program (a test asserting zero allocations, a pool-hit
// count), so dumps are few. It dumps:
//
//   - at exit: an exit hook (internal/runtime/exithook, reached with
//     //go:linkname, hence LDFlags) runs when main returns, at os.Exit of
//     any code and so at the end of a test binary;
//   - when a call leaves by panic or runtime.Goexit, detected without
//     recover (the deferred leave probe's caller is runtime.gopanic or
//     runtime.Goexit), so an unrecovered panic still leaves data and its
//     output is unchanged;
//   - on request: before killing a program on a timeout or a cancel, the
//     runner creates DumpRequestFile in $MEMLENS_DIR and waits up to 300 ms
//     for the dumps. A watcher goroutine, running while targets run or have
//     records not yet dumped, looks for the file every 50 ms (a raw
//     faccessat and a timer made at start-up: polling allocates nothing).
//     A file rather than a signal: a handler would change how the user's
//     program reacts to that signal;
//   - periodically, for programs killed without warning (SIGKILL from
//     elsewhere, a request that came too late): the watcher dumps once
//     targets have been running for 2 s, then after 4, 8, 10, 10... s;
//     and once targets have stopped running for 2 s with records not yet
//     dumped, after which the watcher ends (a goroutine waiting on a timer
//     would keep the runtime from reporting a deadlock). A run shorter than
//     2 s is never disturbed.
//
// Except at exit and on request, a dump is skipped if less than ten times
// the last dump's duration (GC included) has passed since it ended, or if
// dumps so far would exceed a tenth of the process's run time. The watcher
// itself is started by the first target call; its first polls may allocate
// once in the runtime (growing its P's timer heap, a sudog, maybe a thread).
//
// Limits of the allocation figures: tiny allocations (< 16 B, pointer-free)
// that fit a block another line opened are not recorded (bytes stay right in
// total, object counts per line can be off); allocations the runtime makes
// on the system stack for a go statement (the new goroutine's descriptor,
// about 480 B when none is free to reuse) have no user frames and are not
// attributed, and neither is what a goroutine started as go f(x) of a
// named function allocates (its stacks begin in f: the go statement's
// wrapper frame is hidden, as in pprof); stacks are cut at the runtime's
// profiling depth (128 frames by default, GODEBUG=profstackdepth); a
// deferred closure's allocations show on the return line (a defer in a
// loop: the closing brace); every goroutine's allocations are sampled
// while the rate is 1, and profile records are never freed.
//
// # Timeline (Options.Timeline)
//
// With a timeline interval the runtime also samples the process over time
// (rt_timeline.go). One sampler per process (the first instrumented package
// to initialise claims it through $MEMLENS_DIR/tlshared-<pid>, 128 KiB
// mapped by every instrumented package of the process, whose pages count in
// the RSS once touched) takes a sample when
// the runtime starts (t = 0), then every interval, and at exit (main
// returned, os.Exit, the end of a test binary): the time since the first
// sample, the process RSS (/proc/self/statm), the heap in use by objects
// (runtime/metrics /memory/classes/heap/objects:bytes) and the profiled
// line running at that moment. A target leaving by panic or runtime.Goexit
// adds a sample (in allocation mode, where that is detected); after an
// unrecovered panic the last sample is the last periodic one.
//
// The running line is one word in the shared mapping, written by the RSS part
// of the probes with a plain store (an atomic one would double the cost of
// a line probe; the word is aligned, so never torn on 64-bit Linux): call
// number<<32 | (package index+1)<<24 | (slot+1). The entry probe of a
// target call numbers the call (process-wide, from 1) and makes its func
// line the running line; each line probe makes its line the running one; a
// function literal's lines count for the call that was running when the
// literal started; leaving a call restores the line that ran when it
// started (its caller's, when the caller is a target), or none when no
// target call or literal runs any more. With several goroutines in targets
// at once, the running line is therefore the line most recently entered by
// any of them; a line blocked in a long callee stays the running line until
// another target line starts.
//
// Calls are logged too: each target call's entry (its number, its func
// line, and the running line when it started: its caller's line when the
// caller is a target on the same goroutine) and its exit, with the time,
// into a ring of 4,096 events in the shared mapping that the sampler drains at
// every sample. That gives each call's exact start and end, and the chain
// of target calls a sample's line was reached through (the runner credits
// the calling lines with the callee's time, as line_profiler's % Time
// does). An event costs a clock read, a CAS and a few stores; the first
// 20,000 events of a run (10,000 calls: the chart merges a function's
// calls beyond 1,000 anyway) are logged, later calls and calls beyond a
// full ring are not (the runner then falls back to the samples for them),
// and cost two atomic adds and plain stores.
//
// Records go to $MEMLENS_DIR/timeline-<pid> with pwrite as they are taken
// (a 40-byte header, then 40-byte records; see ReadTimeline), not through a
// mapping, whose touched pages would count in the program's RSS; a program
// killed by SIGKILL keeps every record written before (call events still
// in the ring, at most one interval's, are lost). The sampler
// allocates nothing (its first waits on a P may allocate once in the
// runtime, as the dump watcher's do). Every 200,000 records (33 minutes at
// 10 ms) and each doubling of that count, the interval doubles.
//
// A goroutine waiting on a timer keeps the runtime from reporting a
// deadlock, so the sampler stops when the program has been blocked
// entirely for 1 s (at every sample no goroutine runnable or in a system
// call, per the Go 1.26 runtime/metrics /sched/goroutines/...; under 5% of a
// CPU used meanwhile) and records a pause; the next target call starts it
// again (a resume record). A deadlock is then reported about a second
// late; a program sleeping outside targets for more than a second has no
// samples until its next target call. Built with a Go older than 1.26 the
// sampler never stops. The sampler is a goroutine of the program:
// goroutine leak checkers (goleak) see it.
//
// # Runtime and data files
//
// Instrumented.RuntimeFile goes into the package directory through the
// overlay at Instrumented.RuntimePath (RuntimeFileName(Index), or its _test.go
// form for an external test package). It reads $MEMLENS_DIR (EnvDir); unset,
// counters live in memory and nothing is written. In $MEMLENS_DIR:
//
//   - counters-<index>-<pid>: one process's counters, see ReadCounters
//     for the layout: a header, a table of the targets' blocks, the RSS
//     arrays, then per target its control lines (claims) and rows. The file
//     is mapped shared: it is complete after a normal exit, os.Exit, a panic
//     or SIGKILL. Each process has its own file, since rows are claimed
//     without atomic instructions; ReadCounters adds them up;
//   - allocs-<index>-<pid>: the latest allocation dump of one process, see
//     ReadAllocs and ReadAllocDumps;
//   - dump-request: created by the runner, see above;
//   - shared-<pid>: the process-wide sampling switch (not data);
//   - timeline-<pid> and tlshared-<pid>: the timeline, see above.
//
// The runtime imports only math/bits, os, runtime, runtime/metrics, strconv, sync,
// sync/atomic, syscall, time and unsafe (under memlens-prefixed names, so package-level names of
// the user's package cannot clash), compiles at any language version from
// Go 1.12, and is Linux-only (/proc/self/statm, mmap).
//
// # Cost
//
// Measured on a 2-core machine, CPU time of whole test binaries with every
// function of the package instrumented, counts only (make bench has the
// side-by-side figures): a line probe is a plain add to the call's row, about
// 1 ns; a call pays for claiming and giving back its row and for the defer,
// a few ns. gonum.org/v1/gonum/mat's suite (918 million target calls, 3.4
// billion line executions) costs about 1.4× a plain run (cover's count
// mode: 1.0×, atomic mode: 2.2×); testdata/go/cpubound, whose loops have
// one or two statements, about 2.4× (with an atomic add per line, as
// before, 16× and 8.9×). RSS at every probe costs about 3.8 µs a probe; with
// RSSInterval = 1ms about 70 ns. Allocation mode samples every allocation
// (the bulk of its cost, 5–16× on allocation-heavy code) and adds about
// 0.5 µs to each call of a target or literal (switching the rate, and a
// runtime.Callers at leave to tell a panic from a return). The timeline adds
// a plain store to each line probe (under 1 ns), two atomic adds to each
// call (and to the first 10,000 a log entry: a clock read, a CAS, a few
// stores), and a few µs every interval for a sample.
//
// # Inlining
//
// When allocations are measured an instrumented function is never inlined:
// it has a deferred leave (counts only, a loop-free body has none, but its
// probes and the call claiming its row keep it over the inliner's budget,
// and inlining changes no count). Inlining changes what escapes:
// in a plain build a small function inlined into its caller can keep a
// slice or a struct on the caller's stack that the same function, called,
// must allocate on the heap (the testdata's examples.repeat, inlined into
// DefFunc, keeps two of its three slices off the heap). A profiled function
// can therefore show allocations a plain build does not make; they are the
// allocations of a build where the function is not inlined, which is what
// the runner's tests compare with (their reference build marks targets
// //go:noinline). Callees of a target are compiled as usual, inlined or
// not, and attributed to the calling line either way.
//
// # Other limits
//
// A target file's own //line directives (generated code) are overridden by
// the probes' directives up to the next one of its own. //go:nosplit
// targets may overflow the nosplit stack limit once probed.
package instrument
