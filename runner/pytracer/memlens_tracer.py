"""memlens's line-by-line memory tracer for Python 3.8+.

Run by memlens as ``python memlens_tracer.py SCRIPT [ARGS...]``: it runs
SCRIPT as ``__main__`` (as ``python SCRIPT ARGS`` would) and profiles, line by
line, the functions named in $MEMLENS_FUNCS (a JSON list of qualnames, or
module.qualname) or, when none are named, the functions decorated with
``@profile`` from memlens's memory_profiler shim. The result is written as
JSON to $MEMLENS_OUT: periodically while the program runs (so a killed run
keeps a partial table) and once more at exit.

Per line and summed over its runs it records what memory_profiler records
(occurrences; RSS after the line, the highest; RSS increment, but against the
reading just before the line rather than a maximum) plus heap figures from
tracemalloc:

- allocated (gross, never negative): per run of the line, how far the traced
  heap's peak rose above where it was when the run started (the peak is
  reset at the start of every run), summed over runs. Frees do not cancel
  allocations: a loop that allocates ten buffers and a later line that drops
  them show ten buffers allocated and nothing allocated by the dropping
  line; a buffer allocated and freed inside one run counts. What is
  allocated and freed several times within one run counts once, at its
  highest (tracemalloc keeps a peak, not a sum of allocations). Callees
  are included. A function's total sums the lines of its outermost frames,
  so it equals the sum of its lines, except for recursion (and lines of a
  comprehension or nested function running inside another of its lines
  before 3.12), where an allocation counts once in the total although
  several of the function's lines, open on the stack, hold it. Python 3.8
  has no tracemalloc.reset_peak: there, a run's peak is seen only when it
  sets a new high for the process, and otherwise its net growth, if any,
  counts.
- net: the traced heap's change across the line, summed over runs (frees
  count against it; it is negative for `del x`).
- peak: the highest growth seen inside one run.
- retained: what the line's allocations still hold at exit.

Events come from sys.monitoring on 3.12+ and from sys.settrace before.
Threads are traced too; each thread keeps its own line state, and heap/RSS
growth between two readings is charged to the thread that read last. The
periodic writer is not a reader: the line running while it writes keeps
what it allocates meanwhile (_flush_unseen).

Cost: a tracemalloc reading makes two traced ints (about half a
microsecond), so most line events do without one: when the traced heap has
not moved since the last reading, tracemalloc's own counters, compared in
place (_find_heap_counters), say so and give the peak's rise, and the hot
path (FrameTracer.step) makes no object at all.

No third-party module is needed: RSS is read from /proc/self/statm
(``resource`` where there is no /proc).
"""

import sys

if sys.version_info < (3, 8):
    sys.stderr.write("memlens: Python 3.8 or newer is needed, this is %s\n" % sys.version.split()[0])
    sys.exit(3)

# Start-up is part of every run, so only C modules and light ones are
# imported here: _ast rather than ast (its parse is compile's), _tracemalloc
# rather than tracemalloc, _json's string encoder rather than json (each
# pulls re, enum or pickle in); dis only where needed.
import _ast
import _tracemalloc
import atexit
import builtins
import importlib.machinery
import os
import threading
import time
import types
try:
    from _json import encode_basestring_ascii as _json_string
except ImportError:  # an interpreter without the C accelerator
    from json.encoder import encode_basestring_ascii as _json_string

_TRACER_FILE = os.path.abspath(__file__)
_ENTRY_FILE = os.path.join(os.path.dirname(_TRACER_FILE), "memlens_entry.py")
_OWN_FILES = frozenset((_TRACER_FILE, _ENTRY_FILE))  # memlens's code: never profiled
_OUT = os.environ.get("MEMLENS_OUT", "")
_OUT_B = os.fsencode(_OUT)
_OUT_TMP_B = os.fsencode(_OUT + ".tmp")
_NAMES = frozenset(n for n in os.environ.get("MEMLENS_FUNCS", "").split("\n") if n)  # one name a line
_LAST_NAMES = frozenset(n.rsplit(".", 1)[-1] for n in _NAMES)  # a code object's co_name is one of these
# How the program runs (main): "script" (the default), "module" (as
# python -m), "auto" (the file, or the tests that reach the functions:
# memlens_entry), "tests" (the tests in $MEMLENS_TESTS).
_ENTRY = os.environ.get("MEMLENS_ENTRY") or "script"
# The file the named functions are in, when known (the target of "auto"
# and "tests"): functions of that name elsewhere are not theirs.
_FUNC_FILE = ""
_COUNTS_ONLY = os.environ.get("MEMLENS_COUNTS_ONLY") == "1"
_FLUSH_SECONDS = float(os.environ.get("MEMLENS_FLUSH_SECONDS") or "0.5")
# Frames tracemalloc keeps per allocation: each one costs on every
# allocation of the program, and retained memory is charged to profiled
# lines found within them (1: the allocating line itself).
_NFRAME = int(os.environ.get("MEMLENS_TRACEBACK_FRAMES") or "1")
_BACKEND = os.environ.get("MEMLENS_BACKEND") or ("monitoring" if sys.version_info >= (3, 12) else "settrace")

# RSS is re-read only when the traced heap moved by at least _RSS_HEAP_STEP
# since the last read, every _RSS_EVERY events, at the first event after
# each _RSS_TICK seconds (the flusher thread zeroes the countdown _last[5], so
# that RSS growth the traced heap cannot see, such as an mmap or a C library
# touching pages, is read when the line doing it ends, at no cost per event)
# and when a profiled frame returns: reading /proc costs more than
# everything else on a line event. MEMLENS_RSS_EVERY_EVENT=1 reads it on
# every event, as memory_profiler does; MEMLENS_RSS_TICK_SECONDS=0 turns the
# tick off.
_RSS_EVERY_EVENT = os.environ.get("MEMLENS_RSS_EVERY_EVENT") == "1"
_RSS_HEAP_STEP = 0 if _RSS_EVERY_EVENT else 64 << 10
_RSS_EVERY = 1 if _RSS_EVERY_EVENT else 256  # line events between RSS reads at most
_RSS_TICK = float(os.environ.get("MEMLENS_RSS_TICK_SECONDS") or "0.005")


# --- RSS ---------------------------------------------------------------------

try:
    _statm = os.open("/proc/self/statm", os.O_RDONLY)
    _page = os.sysconf("SC_PAGE_SIZE")
    _pread = os.pread

    def rss_bytes():
        """Resident set size of this process, in bytes."""
        return int(_pread(_statm, 64, 0).split()[1]) * _page

    try:
        # The same read through ctypes.PyDLL, which keeps the GIL: os.pread
        # lets go of it and takes it back at once, and each time wakes the
        # flusher thread if it waits for the GIL (thousands of times a second
        # in a tight loop), for nothing; the flusher starves meanwhile. With
        # the GIL kept, the flusher gets it by a switch request after
        # sys.getswitchinterval(): at most a few hundred times a second.
        # No argtypes: their conversions make objects, costly under
        # tracemalloc; the small non-negative ints are widened by libffi,
        # and the buffer goes as a pointer. Checked against os.pread below.
        import ctypes

        _c_pread = ctypes.PyDLL(None).pread  # an own PyDLL: the program's ctypes set-up stays its own
        _c_pread.restype = None
        _statm_buf = ctypes.create_string_buffer(128)  # zeroed: .value ends after what was read

        def _rss_gil_held():
            """Resident set size of this process, in bytes."""
            _c_pread(_statm, _statm_buf, 127, 0)
            # Only the first two fields are used: the tail of a longer
            # earlier reading, if any, lies beyond them. Sliced rather than
            # split: every object made here is a traced allocation.
            b = _statm_buf.value
            i = b.index(b" ") + 1
            return int(b[i:b.index(b" ", i)]) * _page

        if abs(_rss_gil_held() - rss_bytes()) < (16 << 20):
            rss_bytes = _rss_gil_held  # noqa: F811
    except Exception:
        pass

except (OSError, AttributeError, ValueError):
    import resource

    _rss_scale = 1 if sys.platform == "darwin" else 1024

    def rss_bytes():
        """Peak resident set size (the best resource offers without /proc)."""
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * _rss_scale


# tracemalloc keeps a record of every block it traces, in memory of its own:
# an entry in its hash table, and from 3.9 on the trace beside it, each a
# malloc block (about 100 B a traced block, more than most blocks are). A
# program of many small objects then had twice memory_profiler's RSS (a list
# of 100,000 small dicts: 113 MiB for its 44). The RSS memlens reports is
# the process's less what those records hold resident (program_rss).
_tm_memory = _tracemalloc.get_tracemalloc_memory
# What get_tracemalloc_memory says the records take leaves out malloc's
# overhead and, from 3.9, the traces: measured in RSS, 1.7 to 2.0 times as
# much (3.9-3.13, by the hash table's fill), 1.1 times on 3.8.
_TM_NUM, _TM_DEN = (9, 5) if sys.version_info >= (3, 9) else (28, 25)
_tm_resident = [0]
_tm_at = [-1, 0]  # the traced heap above / below which _read_rss measures the records again
_TM_SLACK = 1 << 20  # how far below their most the records go before malloc is asked (a few us)

try:
    import ctypes

    class _MallInfo2(ctypes.Structure):
        _fields_ = [(n, ctypes.c_size_t) for n in (
            "arena", "ordblks", "smblks", "hblks", "hblkhd", "usmblks", "fsmblks", "uordblks", "fordblks",
            "keepcost")]

    _mallinfo2 = ctypes.PyDLL(None).mallinfo2  # glibc 2.33+; PyDLL: keeps the GIL, as _c_pread
    _mallinfo2.restype = _MallInfo2
except Exception:
    _mallinfo2 = None


def _tm_update():
    """What tracemalloc's records hold resident, in bytes (see program_rss)."""
    tm = _tm_memory() * _TM_NUM // _TM_DEN
    held = _tm_resident[0]
    if tm >= held:
        held = _tm_resident[0] = tm
    elif _mallinfo2 is not None and tm < held - _TM_SLACK:
        bound = tm + _mallinfo2().fordblks
        if bound < held:
            held = _tm_resident[0] = bound
    return held


def program_rss():
    """The process's RSS without what tracemalloc's records hold resident,
    in bytes. Records freed stay in malloc's free memory for the next ones
    (a loop that makes and drops 100,000 dicts would otherwise show -67 MiB
    at each new round), until malloc gives that memory back: so, the most
    the records ever took, but no more than they take now and all of
    malloc's free memory (glibc's mallinfo2, once they are 1 MiB below
    that most; without it, that most)."""
    return rss_bytes() - _tm_update()


# --- writes that keep the GIL -------------------------------------------------

# The flusher and the sampler read the traced heap's peak, write, and reset
# the peak. os.write lets go of the GIL, so the program's thread could run
# in between, and a buffer it allocated and freed before the reset would
# vanish from its line (seen: one 4 MiB spike in 300 lost at 1 ms
# sampling). write(2) through ctypes.PyDLL keeps the GIL: nothing of the
# program runs from the reading to the reset. Without ctypes, os.write.

def _write_rest(fd, data, n, size):
    """Writes data[n:size] (bytes, or a ctypes buffer) with os.write; False on error."""
    view = memoryview(data)
    try:
        while n < size:
            n += os.write(fd, view[n:size])
    except OSError:
        return False
    return True


def _gil_write(fd, data, size):
    """Writes data[:size] whole; False on error."""
    return _write_rest(fd, data, 0, size)


try:
    import ctypes

    _c_write = ctypes.PyDLL(None).write  # an own PyDLL: the program's ctypes set-up stays its own
    _c_write.restype = ctypes.c_ssize_t

    def _gil_write(fd, data, size):  # noqa: F811
        """Writes data[:size] whole, keeping the GIL; False on error."""
        w = _c_write(fd, data, size)
        if w == size:
            return True
        if w < 0:
            return False
        return _write_rest(fd, data, w, size)  # a short write: rare on a regular file
except Exception:
    pass


# --- functions and their source layout ---------------------------------------

_parsed = {}  # filename -> _ast.Module or None


def _parse(filename):
    """The syntax tree of a file (compile's, as ast.parse gives it)."""
    if filename not in _parsed:
        try:
            with open(filename, "rb") as f:
                _parsed[filename] = compile(f.read(), filename, "exec", _ast.PyCF_ONLY_AST, dont_inherit=True)
        except (OSError, SyntaxError, ValueError):
            _parsed[filename] = None
    return _parsed[filename]


def iter_child_nodes(node):
    """ast.iter_child_nodes."""
    for name in node._fields:
        field = getattr(node, name, None)
        if isinstance(field, _ast.AST):
            yield field
        elif isinstance(field, list):
            for item in field:
                if isinstance(item, _ast.AST):
                    yield item


def walk(node):
    """ast.walk."""
    todo = [node]
    while todo:
        node = todo.pop()
        todo.extend(iter_child_nodes(node))
        yield node


def _first_line(node):
    return min([node.lineno] + [d.lineno for d in node.decorator_list])


_DEFS = (_ast.FunctionDef, _ast.AsyncFunctionDef)


def _walk_defs(tree):
    """Yields (qualname, node) for every function in tree, as the compiler names them."""
    stack = [("", tree)]
    while stack:
        prefix, node = stack.pop()
        for child in iter_child_nodes(node):
            if isinstance(child, _DEFS):
                q = prefix + child.name
                yield q, child
                stack.append((q + ".<locals>.", child))
            elif isinstance(child, _ast.ClassDef):
                stack.append((prefix + child.name + ".", child))
            else:
                stack.append((prefix, child))


def _find_def(code):
    tree = _parse(code.co_filename)
    if tree is None:
        return None, None
    for q, node in _walk_defs(tree):
        if node.name == code.co_name and _first_line(node) == code.co_firstlineno:
            return q, node
    return None, None


def _statement_lines(node):
    """Lines where a statement of node starts, nested function bodies excluded."""
    lines = set(d.lineno for d in node.decorator_list)
    lines.add(node.lineno)
    stack = list(node.body)
    while stack:
        n = stack.pop()
        if isinstance(n, _ast.stmt):
            lines.add(n.lineno)
        if isinstance(n, _DEFS + (_ast.Lambda,)):
            lines.update(d.lineno for d in getattr(n, "decorator_list", ()))
            continue
        stack.extend(iter_child_nodes(n))
    return sorted(lines)


def _code_layout(code):
    """The last line of code (nested code included) and its lines with code."""
    lines = set([code.co_firstlineno])
    end = code.co_firstlineno
    todo = [code]
    while todo:
        c = todo.pop()
        if hasattr(c, "co_lines"):
            lines.update(line for _, _, line in c.co_lines() if line)
        else:  # before 3.10
            import dis
            lines.update(line for _, line in dis.findlinestarts(c) if line)
        positions = getattr(c, "co_positions", None)
        if positions is not None:
            end = max([end] + [p[1] for p in positions() if p[1]])
        todo.extend(k for k in c.co_consts if isinstance(k, types.CodeType))
    return max([end] + list(lines)), sorted(lines)


class Func(object):
    """The profile of one code object, summed over its calls and threads."""

    __slots__ = ("code", "name", "module", "file", "start", "end", "code_lines",
                 "calls", "lines")

    def __init__(self, code, module):
        self.code = code
        self.module = module
        self.file = code.co_filename
        self.start = code.co_firstlineno
        qual = getattr(code, "co_qualname", None)  # 3.11+
        node = None
        if qual is None:
            qual, node = _find_def(code)
        self.name = qual or code.co_name
        if node is not None:
            self.end = node.end_lineno
            self.code_lines = _statement_lines(node)
        else:
            # From the code itself (3.11+: no source to parse): its lines
            # with code, up to where its last expression ends.
            self.end, self.code_lines = _code_layout(code)
        self.calls = 0
        # One stats list per line (_ST_* below), made now so that the hot
        # path never allocates.
        self.lines = {}
        for n in range(self.start, self.end + 1):
            self.lines[n] = _new_stats(n)

    def stats(self, line):
        st = self.lines.get(line)
        if st is None:  # a line outside the def (a decorator's own code): keep it
            st = self.lines[line] = _new_stats(line)
        return st


# A line's stats list: [occurrences % 256, max RSS after, RSS increment,
# allocated (gross: the peak growth of the traced heap inside each run,
# summed over runs) in the function's outermost frames, highest peak growth
# in one run, retained bytes, retained blocks, occurrences // 256, net
# traced change summed over runs, the line number, and three more counts of
# allocated bytes: _ST_SMALL, _ST_NESTED, _ST_UNITS]. What the line
# allocated is _allocated(st); the function's total sums _outer_allocated
# over its lines (each byte once).
#
# Occurrences are counted in two parts, st[0] below 256 and st[_OCC_HI] in
# units of 256, so that counting a line event makes no int: Python caches
# the ints up to 256, every other one is a (traced) allocation.
_OCC_HI = 7
_ST_NET = 8
_ST_LINE = 9
# Allocated in the function's outermost frames by runs of at most 256 bytes
# (a loop's ints), kept in cached small ints so that counting them makes no
# int: st[_ST_SMALL] bytes (below 256) and st[_ST_UNITS] units of 256 (below
# 256), the rest in st[3].
_ST_SMALL = 10
_ST_UNITS = 12
_ST_NESTED = 11  # allocated in frames nested in an outer frame of the function (recursion)


def _outer_allocated(st):
    return st[3] + st[_ST_UNITS] * 256 + st[_ST_SMALL]


def _allocated(st):
    return _outer_allocated(st) + st[_ST_NESTED]


def _new_stats(line):
    return [0, 0, 0, 0, 0, 0, 0, 0, 0, line, 0, 0, 0]


def _occurrences(st):
    return st[_OCC_HI] * 256 + st[0]


_funcs = {}        # code -> Func, or None for code that is not profiled
_all_funcs = []    # Funcs in the order they first ran
_marked = set()    # code objects decorated with @profile
_streams = {}      # code -> (stream, precision) given to @profile: see _write_streams
_ran_names = set()  # requested names that matched a function that ran
_script_module = ""


def mark(code, stream=None, precision=1):
    """Called by the memory_profiler shim's @profile: profile this code when
    no names were given; with a stream, also write its table there at exit."""
    _marked.add(code)
    if stream is not None:
        _streams[code] = (stream, precision)
    if _funcs.get(code, 0) is None:
        del _funcs[code]
        if _mon is not None:
            _mon.restart_events()


def _in_func_file(filename):
    if not _FUNC_FILE or filename == _FUNC_FILE:
        return True
    return os.path.basename(filename) == os.path.basename(_FUNC_FILE) and \
        os.path.realpath(filename) == os.path.realpath(_FUNC_FILE)


_func_file_quals = []  # [qualnames defined in _FUNC_FILE], once parsed


def _func_file_defines(qual):
    """Whether _FUNC_FILE defines a function of that qualname: then the
    name means that one. A name it does not define is a function of some
    module the program reaches (memlens profile main.py helpers.tokenize)."""
    if not _func_file_quals:
        tree = _parse(_FUNC_FILE)
        _func_file_quals.append(frozenset(q for q, _ in _walk_defs(tree)) if tree is not None else frozenset())
    return qual in _func_file_quals[0]


def _classify(code, frame_globals):
    """The Func to record code into, or None; decided once per code object."""
    fn = None
    if code.co_filename not in _OWN_FILES:
        module = frame_globals.get("__name__", "") if frame_globals is not None else ""
        if _NAMES:
            if code.co_name in _LAST_NAMES:
                qual = getattr(code, "co_qualname", None) or _find_def(code)[0] or code.co_name
                names = {qual, module + "." + qual}
                if module == "__main__" and _script_module:
                    names.add(_script_module + "." + qual)
                hit = names & _NAMES
                if hit and not _in_func_file(code.co_filename) and _func_file_defines(qual):
                    # The same function from another copy of its file (an
                    # installed package the tests import instead): not it.
                    other = _meta.setdefault("ran_elsewhere", [])
                    if code.co_filename not in other and len(other) < 3:
                        other.append(code.co_filename)
                elif hit:
                    _ran_names.update(hit)
                    fn = Func(code, module)
        elif code in _marked:
            fn = Func(code, module)
    _funcs[code] = fn
    if fn is not None:
        _all_funcs.append(fn)
        # Comprehensions, generator expressions, lambdas and nested functions
        # record into this function's table, as memory_profiler merges them.
        stack = [c for c in code.co_consts if isinstance(c, types.CodeType)]
        while stack:
            c = stack.pop()
            _funcs[c] = fn
            if _mon is not None:
                _mon_watch(c)
            stack.extend(k for k in c.co_consts if isinstance(k, types.CodeType))
    return fn


# --- readings and per-line bookkeeping ---------------------------------------

_reset_peak = getattr(_tracemalloc, "reset_peak", None)
if _reset_peak is not None:
    _traced = _tracemalloc.get_traced_memory
else:
    # Python 3.8 has no tracemalloc.reset_peak: its peak is the highest
    # traced heap since tracing started. When that high rose since the
    # previous reading, the new high was reached since then and is that
    # stretch's peak; when it did not, the stretch's peak is unknown and
    # only the current heap counts (a buffer allocated and freed inside a
    # line shows only when it sets a new high for the process).
    _get_traced_memory = _tracemalloc.get_traced_memory
    _high = [0]

    def _traced():
        cur, pk = _get_traced_memory()
        if pk > _high[0]:
            _high[0] = pk
            return cur, pk
        return cur, cur

    def _reset_peak():
        pass
_now = time.perf_counter_ns if hasattr(time, "perf_counter_ns") else (lambda: int(time.perf_counter() * 1e9))


# --- tracemalloc's counters, read in place -------------------------------------

# A reading makes two ints above 256, each a traced allocation (its
# traceback, a hash table entry, three lock round trips: about 3,000
# instructions, more than the rest of a line event). Most line events only
# need to know that the traced heap is where the last step left it and how
# far its peak rose since (a few bytes: a loop's int made and freed). Both
# show in the bytes of tracemalloc's own counters, which
# _find_heap_counters locates in the interpreter's static data and
# FrameTracer.step compares in place through memoryviews: comparing, and
# indexing a byte, make no object. Where they cannot be found (no /proc,
# no ctypes, Python before 3.11 (see _heap_counter_places), a layout the
# checks reject) the stand-ins below never match, and every step reads ints.
_hv = memoryview(b"\xff" * 16)  # both counters, 8 bytes each (format B); until found, a stand-in
_hv_q = _hv.cast("Q")  # the same as two words: compared a word at a time, not a byte
_hv_c0 = 0   # the current size's lowest byte, as an index into _hv
_hv_pk0 = 8  # the peak's
# The last reading's bytes where the current size's are, and again where
# the peak's are, but for the peak's lowest byte, which step copies from
# _hv before comparing: equal means the heap is where it was read and the
# peak less than 256 bytes above, in the same 256 (the lowest bytes differ
# by the rise). Written through ctypes (_hv_box_*.value = n), which makes
# no object.
_hv_saved_buf = bytearray(16)
_hv_saved = memoryview(_hv_saved_buf)
_hv_saved_q = _hv_saved.cast("Q")
# The same with the peak's part 256 higher (FrameTracer._step): the peak may rise
# into the next 256 (a steady loop whose heap sits near the end of one would
# otherwise never take the quick path).
_hv_saved2 = memoryview(bytearray(16))
_hv_saved2_q = _hv_saved2.cast("Q")
try:
    import ctypes

    _hv_box_c = ctypes.c_uint64.from_buffer(_hv_saved_buf, 0)
    _hv_box_pk = ctypes.c_uint64.from_buffer(_hv_saved_buf, 8)
except Exception:
    class _NoBox(object):
        __slots__ = ("value",)

    _hv_box_c = _hv_box_pk = _NoBox()
# Made once: view[_ALL] = other copies without making an object (into a
# memoryview: a bytearray would copy the source first, a traced object).
_ALL = slice(None)


def _heap_counter_places():
    """Where tracemalloc's current and peak traced sizes (size_t variables
    of the interpreter: in _PyRuntime.tracemalloc on 3.12+, statics of
    _tracemalloc.c before) may be: (start, end) ranges of the writable data
    around _PyRuntime, the likeliest first; None where that cannot be known.
    Called before tracemalloc starts: what it makes is not traced."""
    import ctypes

    # Before 3.11 a thread switch can come between any two instructions of
    # step's quick path: the periodic writer could then raise the running
    # frame's peak between the comparison and the reset, and a few bytes
    # would count twice. From 3.11 on, switches come only at calls and
    # backward jumps, which the quick path has none of before the reset.
    if ctypes.sizeof(ctypes.c_size_t) != 8 or sys.byteorder != "little" or sys.version_info < (3, 11):
        return None
    anchor = ctypes.addressof(ctypes.c_char.in_dll(ctypes.pythonapi, "_PyRuntime"))
    maps = []
    with open("/proc/self/maps") as f:
        for line in f.read().splitlines():
            parts = line.split(None, 5)
            lo, _, hi = parts[0].partition("-")
            maps.append((int(lo, 16), int(hi, 16), parts[1], parts[5] if len(parts) > 5 else ""))
    # The writable mappings next to the one holding _PyRuntime (.data, .bss),
    # of the same file or anonymous (the rest of .bss).
    at = [i for i, m in enumerate(maps) if m[0] <= anchor < m[1]]
    if len(at) != 1:
        return None
    obj = maps[at[0]][3]

    def ours(m):
        return m[2].startswith("rw") and m[3] in (obj, "") and m[1] - m[0] <= (64 << 20)

    first = last = at[0]
    while first > 0 and ours(maps[first - 1]) and maps[first - 1][1] == maps[first][0]:
        first -= 1
    while last + 1 < len(maps) and ours(maps[last + 1]) and maps[last][1] == maps[last + 1][0]:
        last += 1
    # 3.12+ keeps them near the start of _PyRuntime; before, they are in
    # .bss, near its end (the anonymous mapping past the file's). Chunks
    # overlap by a word, so that no pair of words is split.
    chunk = 1 << 16
    end = maps[last][1]
    places = []
    if sys.version_info >= (3, 12):
        places.append((anchor, min(anchor + chunk + 8, end)))
    for anon in (True, False):
        for lo, hi, _, path in reversed(maps[first:last + 1]):
            if (path == "") == anon:
                places.extend((max(lo, a - chunk), min(a + 8, end)) for a in range(hi, lo, -chunk))
    return places


def _find_heap_counters(places):
    """The addresses of tracemalloc's current and peak traced sizes, or
    None: found by their values in places (_heap_counter_places), next to
    each other, then checked against get_traced_memory across allocations,
    frees and peak resets. The first pair that passes is taken."""
    buf = bytearray(max(hi - lo for lo, hi in places))  # one buffer: each new page costs a fault
    gap = bytes(4096)
    gap = None  # the peak is now above the current size
    for lo, hi in places:
        at = _find_in(lo, hi, buf)
        if at is not None:
            return at
    return None


def _find_in(lo, hi, buf):
    """_find_heap_counters in lo..hi (a function of its own: tracemalloc
    finds the line of each allocation by scanning its function's line
    table, which is short here)."""
    import ctypes

    n = hi - lo
    raw = memoryview((ctypes.c_char * n).from_address(lo)).cast("B")
    dst = memoryview(buf)[:n]
    dst[_ALL] = raw  # then read: no object is made in between, the copy holds the values read
    cur, pk = _traced()
    raw = dst = None
    c, p = cur.to_bytes(8, "little"), pk.to_bytes(8, "little")
    # Searched for by its bytes up to the highest non-zero one: a needle
    # that ends in a zero byte is slow to find among zeros.
    needle = c[:max(1, (cur.bit_length() + 7) // 8)]
    i = buf.find(needle, 0, n)
    while 0 <= i <= n - 8:
        if (lo + i) % 8 == 0 and buf[i:i + 8] == c:
            for j in (i - 8, i + 8):
                if 0 <= j <= n - 8 and buf[j:j + 8] == p and _check_heap_counters(lo + i, lo + j):
                    return lo + i, lo + j
        i = buf.find(needle, i + 1, n)
    return None


def _check_heap_counters(a_cur, a_pk, word=8):
    """Whether a_cur and a_pk hold what get_traced_memory says, through
    allocations, frees and peak resets."""
    import ctypes

    base = min(a_cur, a_pk)
    view = memoryview((ctypes.c_char * (2 * word)).from_address(base)).cast("B")
    buf = bytearray(2 * word)
    dst = memoryview(buf)
    oc, op = a_cur - base, a_pk - base
    keep = []
    # Below malloc's mmap threshold (128 KiB): freeing a bigger block would
    # raise the threshold, and the program's big blocks would then come
    # from the heap, which RSS shows differently (seen: 3 MiB more).
    for size in (1000, 77777, 5, 100000, 0, 333, -1, -1, 4096, -1):
        if size > 0:
            keep.append(bytes(size))
        elif size < 0:
            keep.pop()
        else:
            _reset_peak()
        dst[_ALL] = view  # then read: no object is made in between
        cur, pk = _traced()
        if int.from_bytes(buf[oc:oc + word], sys.byteorder) != cur or \
                int.from_bytes(buf[op:op + word], sys.byteorder) != pk:
            return False
    return True


def _use_heap_counters(places):
    """Sets up the in-place reading (see _hv) if the counters are found
    in places (_heap_counter_places)."""
    global _hv, _hv_q, _hv_c0, _hv_pk0, _hv_box_c, _hv_box_pk
    if not places or _reset_peak is None or _tracemalloc.get_traced_memory is not _traced \
            or not _tracemalloc.is_tracing() or os.environ.get("MEMLENS_HEAP_IN_PLACE") == "0":
        return  # MEMLENS_HEAP_IN_PLACE=0: every step reads ints (the tests run both ways)
    try:
        import ctypes

        at = _find_heap_counters(places)
        if at is None:
            return
        base = min(at)
        view = memoryview((ctypes.c_char * 16).from_address(base)).cast("B")
        oc, op = at[0] - base, at[1] - base
        box_c = ctypes.c_uint64.from_buffer(_hv_saved_buf, oc)
        box_pk = ctypes.c_uint64.from_buffer(_hv_saved_buf, op)
        _hv_saved[_ALL] = b"\xff" * 16  # matches no reading: the first step reads
        _hv, _hv_q, _hv_c0, _hv_pk0, _hv_box_c, _hv_box_pk = view, view.cast("Q"), oc, op, box_c, box_pk
    except Exception:
        pass


class ThreadState(object):
    """One thread's view: what was charged to it, and its innermost profiled frame."""

    __slots__ = ("acc", "racc", "top", "__weakref__")

    def __init__(self):
        self.acc = 0    # traced heap growth charged to this thread
        self.racc = 0   # RSS growth charged to this thread
        self.top = None


# _last: [traced heap at the last reading, RSS at the last reading, the thread
# state that read last, traced heap above / below which RSS is read again,
# events left before RSS is read again, 1 when the bookkeeping of the step
# in progress kept new ints (see FrameTracer.step), the FrameTracer whose
# state is that of the last reading (False when none is: the quick path of
# FrameTracer.step is open to it alone)].
_last = [0, 0, None, 0, 0, 0, 0, False]
_thread_count = [0]
_PEAK_NOISE = 0  # see _calibrate


def _reading():
    """The traced heap now. A function of its own: tracemalloc finds the
    line of the int this makes by scanning the calling function's line
    table up to the call, which is short here."""
    return _traced()[0]


def _read_rss(cur, last):
    """Reads RSS, charges its growth since the last reading to the thread
    that read last, and sets when to read it next (see _RSS_HEAP_STEP)."""
    if _COUNTS_ONLY:
        rss = 0
    else:
        # The records are measured again only once the traced heap moved
        # by 64 KiB: a measure makes ints, and RSS may be read on every event.
        if cur > _tm_at[0] or cur < _tm_at[1]:
            _tm_update()
            _tm_at[0] = cur + (64 << 10)
            _tm_at[1] = cur - (64 << 10)
        rss = rss_bytes() - _tm_resident[0]
    last[3] = cur + _RSS_HEAP_STEP
    last[4] = cur - _RSS_HEAP_STEP
    last[5] = _RSS_EVERY
    if rss != last[1]:
        last[2].racc += rss - last[1]
        last[1] = rss
    return rss


def _sync(ts):
    """Charges heap growth, RSS growth and peak since the last reading to the
    thread that read last, and makes ts the last reader: called when another
    thread than the last reader runs Python code."""
    cur, pk = _traced()
    last = _last
    reader = last[2]
    if last[5] <= 0 or cur > last[3] or cur < last[4]:  # as in FrameTracer.step
        _read_rss(cur, last)
    d = cur - last[0]
    if d:
        reader.acc += d
    top = reader.top
    if top is not None and pk > top.hi:
        top.hi = pk
    last[0] = cur
    last[2] = ts
    last[7] = False
    _reset_peak()  # the peak so far was the reader's


class FrameTracer(object):
    """The line state of one running profiled frame (a generator keeps one across yields)."""

    __slots__ = ("fn", "lines", "ts", "st", "count", "acc0", "racc0", "cur0", "hi", "lifehi",
                 "lifep", "skip", "parent", "bound", "frame", "code", "own")

    def __init__(self):
        self.bound = self.trace  # made once: creating it per event would allocate
        self.st = None
        self.skip = None
        self.hi = self.cur0 = self.lifehi = self.lifep = 0

    def step(self, newline, count, _last=_last, _reset_peak=_reset_peak):
        """Closes the current line with a reading and opens newline (None: open nothing).

        This runs on every line event, so in the usual case it allocates
        nothing: under tracemalloc every int above 256 made here is a traced
        allocation that costs more than the rest of the step, the more so
        the further into a function it is made (tracemalloc finds the line
        of each allocation by scanning the function's line table). Hence
        the identity tests (an unchanged total is the same object), the
        counters kept in cached small ints (occurrences, see _OCC_HI;
        allocated bytes, see _ST_SMALL), the RSS throttle's precomputed
        bounds, and the rarer work in small functions of its own.

        Most steps do not even read: when the traced heap is where the
        last reading found it and its peak rose by less than 256 bytes
        since (within the same 256 in fact), tracemalloc's counters
        compared in place (_hv) say so, and the peak's lowest byte gives
        the rise. That is all there is to charge when this frame read last
        and nothing changed its state since (_last[7]: another frame's
        step, another thread, the writer or the sampler raising its peak)
        and RSS is not due: the quick path below, which makes no int at
        all. Otherwise _step reads ints.
        """
        last = _last
        if last[7] is self and newline is not None and last[5] > 1:
            sv = _hv_saved
            p = sv[_hv_pk0] = _hv_saved2[_hv_pk0] = _hv[_hv_pk0]  # the peak's lowest byte
            if _hv_q == _hv_saved_q or (p < sv[_hv_c0] and _hv_q == _hv_saved2_q):
                # The quick path: the heap is where it was read, its peak p
                # (0..255) above, and this frame's state that of the reading
                # (see _last): _step would charge p and nothing else. The
                # peak is reset first (no thread switch comes before a call).
                c = sv[_hv_c0]
                if p >= c:
                    p -= c
                else:  # in the next 256
                    p += 256 - c
                if p:
                    _reset_peak()
                last[5] -= 1
                st = self.st
                if self.count:
                    n = st[0] + 1
                    if n == 256:
                        n = 0
                        st[_OCC_HI] += 1
                    st[0] = n
                rss = last[1]
                if rss > st[1]:
                    st[1] = rss
                if p > _PEAK_NOISE:
                    if p > st[4]:
                        st[4] = p
                    # An int _charge makes would stay in the peak the next
                    # line starts from: reset again.
                    if self.skip is None:
                        if p <= 256 - st[10]:  # as in _step
                            st[10] += p
                        else:
                            st[10] -= 256 - p
                            n = st[12] + 1
                            if n == 256:
                                n = 0
                                self._charge(st, 65536)
                                _reset_peak()
                            st[12] = n
                    else:
                        self._charge(st, p)
                        _reset_peak()
                    if p > self.lifep:
                        self.lifep = p  # the frame's highest peak, over cur0: see _lifep
                st = self.lines.get(newline)
                if st is None:
                    st = self.fn.stats(newline)
                    last[6] = 1
                self.st = st
                self.count = count
                if last[6]:
                    self._rebase()
                return
        self._step(newline, count)

    def _step(self, newline, count):
        """step, reading ints."""
        cur, pk = _traced()
        last = _last
        left = last[5] - 1
        if left <= 0 or cur > last[3] or cur < last[4]:
            rss = _read_rss(cur, last)
        else:
            last[5] = left
            rss = last[1]
        reader = last[2]
        d = cur - last[0]
        if d:
            reader.acc += d
        top = reader.top
        if top is not None and pk > top.hi:
            top.hi = pk
        ts = self.ts
        st = self.st
        if st is not None:
            if self.count:
                n = st[0] + 1
                if n == 256:
                    n = 0
                    st[_OCC_HI] += 1
                st[0] = n
            if rss > st[1]:
                st[1] = rss
            # The run's allocation is the growth of the traced heap's peak
            # inside it. Our own reading leaves _PEAK_NOISE in the peak just
            # after the line starts; a smaller peak is that, not the line.
            hi = self.hi
            p = hi - self.cur0
            if ts.racc is not self.racc0 or ts.acc is not self.acc0 or _thread_count[0] > 1:
                p = self._changed(st, ts, cur, p)
            if p > _PEAK_NOISE:
                if p > st[4]:
                    st[4] = p
                if p < 257 and self.skip is None:
                    # Counted in cached small ints (see _ST_SMALL), never
                    # making a value above 256: 256 - p, not 257 - ...
                    if p <= 256 - st[10]:
                        st[10] += p
                    else:
                        st[10] -= 256 - p
                        n = st[12] + 1  # _ST_UNITS
                        if n == 256:
                            n = 0
                            self._charge(st, 65536)
                        st[12] = n
                else:
                    self._charge(st, p)
            if hi > self.lifehi:
                self.lifehi = hi
            if self.lifep:
                self._lifep()
        if newline is not None:
            st = self.lines.get(newline)
            if st is None:
                st = self.fn.stats(newline)
                last[6] = 1
            self.st = st
            self.count = count
            self.acc0 = ts.acc
            self.racc0 = ts.racc
        else:
            self.st = None
        # Its temporaries would stay in the peak the next line starts from:
        # they go first.
        pk = d = p = hi = rss = None
        if last[6]:
            # What this step kept grew the heap after the reading (a line's
            # first figures, a new stats list): read again, so that the
            # growth is nobody's. Otherwise the ints kept replace ints of
            # the same size and the heap nets out.
            last[6] = 0
            cur = _reading()
        last[0] = cur
        last[2] = ts
        last[7] = self if newline is not None and ts.top is self else False
        self.cur0 = cur
        self.hi = cur
        _reset_peak()
        _hv_box_c.value = cur  # see step
        _hv_box_pk.value = cur
        # _hv_saved2: the peak's part 256 higher, carried a byte at a time
        # (no object made; here, not in a function of its own: on 3.12+ a
        # function's first run after monitoring starts allocates its
        # instrumentation, which the running line would show).
        sv2 = _hv_saved2
        sv2[_ALL] = _hv_saved
        i = _hv_pk0 + 1
        end = i + 7
        while i < end and sv2[i] == 255:
            sv2[i] = 0
            i += 1
        if i < end:
            sv2[i] += 1

    def _lifep(self):
        """Quick steps keep the frame's highest peak as lifep over cur0 (no
        int made): into lifehi before cur0 moves on."""
        hi = self.cur0 + self.lifep
        self.lifep = 0
        if hi > self.lifehi:
            self.lifehi = hi  # replaces an int of the same size, as in _step

    def _rebase(self):
        """After a quick step that kept new objects (a new stats list, a
        count above 256): reads the heap again, as _step does, so that the
        growth is nobody's."""
        last = _last
        if self.lifep:
            self._lifep()
        last[6] = 0
        cur = _reading()
        last[0] = cur
        self.cur0 = cur
        self.hi = cur
        _reset_peak()
        _hv_box_c.value = cur
        _hv_box_pk.value = cur
        # _hv_saved2: as in _step.
        sv2 = _hv_saved2
        sv2[_ALL] = _hv_saved
        i = _hv_pk0 + 1
        end = i + 7
        while i < end and sv2[i] == 255:
            sv2[i] = 0
            i += 1
        if i < end:
            sv2[i] += 1

    def _changed(self, st, ts, cur, p):
        """The RSS and traced heap changed across the line: adds them to its
        increment and net change. Returns the line's peak growth p, less
        what other threads kept meanwhile, when there are others."""
        last = _last
        own = ts.acc - self.acc0
        # A run of this line in an enclosing frame (recursion, a
        # comprehension's own frame before 3.12) spans this one and gets
        # its changes: counted here too, they would count twice (as _charge).
        skip = self.skip
        counted = skip is None or st[_ST_LINE] not in skip
        if counted and ts.racc is not self.racc0:
            old = st[2]
            st[2] = new = old + ts.racc - self.racc0
            if -6 < old < 257 and not -6 < new < 257:
                last[6] = 1  # a cached small int replaced by a new one
        if counted and own:
            old = st[_ST_NET]
            st[_ST_NET] = new = old + own
            if -6 < old < 257 and not -6 < new < 257:
                last[6] = 1
        if _thread_count[0] > 1:
            # What other threads kept meanwhile raised the heap too: it is
            # not this line's peak.
            p -= cur - self.cur0 - own
        return p

    def _charge(self, st, p):
        """Adds allocated bytes p to the line, when the cached small ints of
        _ST_SMALL cannot hold them: in the function's outermost frame (where
        they count in its total too) or in a nested one."""
        skip = self.skip
        if skip is None:
            if not st[3]:
                _last[6] = 1
            st[3] += p
        elif st[_ST_LINE] not in skip:  # else an enclosing run of the line has it
            if not st[_ST_NESTED]:
                _last[6] = 1
            st[_ST_NESTED] += p

    def enter(self, fn, ts, frame, code):
        self.fn = fn
        self.lines = fn.lines
        self.ts = ts
        self.st = None
        self.frame = frame
        self.code = code
        self.own = own = code is fn.code  # else a comprehension or nested function of fn
        self.hi = self.cur0 = self.lifehi = self.lifep = 0
        self.parent = ts.top
        ts.top = self
        self.skip = self._enclosing_lines()
        if own:
            fn.calls += 1
        self.step(code.co_firstlineno, 1)

    def _enclosing_lines(self):
        """The lines of this function open in enclosing frames of this
        thread (recursion, a comprehension's own frame before 3.12), or None
        when there is none: allocation inside one of those lines is already
        that line's, and every allocation in the frame is already in the
        function's total."""
        fn = self.fn
        a = self.parent
        while a is not None and a.fn is not fn:
            a = a.parent
        if a is None or a.st is None:
            return None
        line = a.st[9]  # _ST_LINE
        if a.skip is None:
            return frozenset((line,))
        return a.skip if line in a.skip else a.skip | frozenset((line,))

    def resume(self, ts, line):
        self.ts = ts
        self.parent = ts.top
        ts.top = self
        self.skip = self._enclosing_lines()
        # The profiled function's own line goes on: measured, not counted
        # again. memory_profiler counts a nested generator expression's
        # resumption as a new event of its line; so does memlens.
        self.step(line, 0 if self.own else 1)

    def suspend(self):
        """Closes the current line at a yield or await; the frame may resume."""
        self.step(None, 0)
        self._pop()

    def finish(self):
        """Closes the frame for good (return or exception), reading RSS: the
        last line's growth is the function's, not whatever runs next."""
        _last[5] = 0
        self.step(None, 0)
        self._pop()
        self.fn = self.lines = self.ts = self.frame = self.code = self.skip = None
        _pool.append(self)

    def _pop(self):
        ts = self.ts
        parent = self.parent
        if ts.top is self:
            ts.top = parent
        if parent is not None and self.lifehi > parent.hi:
            parent.hi = self.lifehi
        self.parent = None

    def trace(self, frame, event, arg):
        """sys.settrace local trace function. On line events, step's quick
        path runs here, a copy (keep them alike): a Python call fewer on
        every event."""
        if event == "line":
            line = frame.f_lineno  # first: a line above 256 is a new int, made before the reading as in step
            last = _last
            if last[7] is self and last[5] > 1:
                sv = _hv_saved
                p = sv[_hv_pk0] = _hv_saved2[_hv_pk0] = _hv[_hv_pk0]
                if _hv_q == _hv_saved_q or (p < sv[_hv_c0] and _hv_q == _hv_saved2_q):
                    c = sv[_hv_c0]
                    if p >= c:
                        p -= c
                    else:
                        p += 256 - c
                    if p:
                        _reset_peak()
                    last[5] -= 1
                    st = self.st
                    if self.count:
                        n = st[0] + 1
                        if n == 256:
                            n = 0
                            st[_OCC_HI] += 1
                        st[0] = n
                    rss = last[1]
                    if rss > st[1]:
                        st[1] = rss
                    if p > _PEAK_NOISE:
                        if p > st[4]:
                            st[4] = p
                        # An int _charge makes would stay in the peak the next
                        # line starts from: reset again.
                        if self.skip is None:
                            if p <= 256 - st[10]:
                                st[10] += p
                            else:
                                st[10] -= 256 - p
                                n = st[12] + 1
                                if n == 256:
                                    n = 0
                                    self._charge(st, 65536)
                                    _reset_peak()
                                st[12] = n
                        else:
                            self._charge(st, p)
                            _reset_peak()
                        if p > self.lifep:
                            self.lifep = p
                    st = self.lines.get(line)
                    if st is None:
                        st = self.fn.stats(line)
                        last[6] = 1
                    self.st = st
                    self.count = 1
                    if last[6]:
                        self._rebase()
                    return self.bound
            self._step(line, 1)
        elif event == "return":
            if frame.f_code.co_flags & _SUSPENDABLE and _suspended_at(frame.f_code.co_code, frame.f_lasti):
                self.suspend()
            else:
                self.finish()
        return self.bound


_pool = []
_SUSPENDABLE = 0x20 | 0x80 | 0x200 | 0x100  # generator, coroutine, async generator, iterable coroutine
_opmap = __import__("opcode").opmap
_YIELD_OPS = frozenset(_opmap[n] for n in ("YIELD_VALUE", "YIELD_FROM") if n in _opmap)


def _suspended_at(co_code, lasti):
    """Whether a 'return' event at lasti is a yield or await (the frame may resume)."""
    if co_code[lasti] in _YIELD_OPS:
        return True
    # Before 3.11, a frame waiting in YIELD_FROM has f_lasti on the
    # instruction before it, so that it runs YIELD_FROM again on resume.
    return lasti + 2 < len(co_code) and co_code[lasti + 2] == _YIELD_FROM


_YIELD_FROM = _opmap.get("YIELD_FROM", -1)


def _new_tracer(fn, ts, frame):
    ft = _pool.pop() if _pool else FrameTracer()
    ft.enter(fn, ts, frame, frame.f_code)
    return ft


# --- sys.settrace backend (3.8-3.11) -----------------------------------------

_MISS = object()


def _settrace_global_for(ts):
    funcs = _funcs

    def global_trace(frame, event, arg):
        code = frame.f_code
        fn = funcs.get(code, _MISS)
        if fn is _MISS:
            fn = _classify(code, frame.f_globals)
        if fn is None:
            if _thread_count[0] > 1 and _last[2] is not ts:
                _sync(ts)
            return None
        ft = frame.f_trace
        if ft is not None and getattr(ft, "__self__", None).__class__ is FrameTracer and ft.__self__.fn is fn:
            ft.__self__.resume(ts, frame.f_lineno)
            return ft
        return _new_tracer(fn, ts, frame).bound

    return global_trace


def _settrace_thread_start(frame, event, arg):
    """threading.settrace hook: gives each new thread its own state and trace function."""
    ts = _new_thread_state()
    g = _settrace_global_for(ts)
    sys.settrace(g)
    return g(frame, event, arg)


def _new_thread_state():
    ts = ThreadState()
    _thread_count[0] += 1
    return ts


# --- sys.monitoring backend (3.12+) ------------------------------------------

_mon = None
_tool = None
_MON_LOCAL = 0  # the per-code events a profiled code object gets
_tls = threading.local()
_suspended = {}  # frame -> FrameTracer of a generator or coroutine between yield and resume


def _mon_ts():
    try:
        return _tls.ts
    except AttributeError:
        ts = _tls.ts = _new_thread_state()
        return ts


def _mon_start(code, offset):
    fn = _funcs.get(code, _MISS)
    if fn is _MISS:
        fn = _classify(code, sys._getframe(1).f_globals)
        if fn is not None:
            _mon_watch(code)
    if fn is None:
        if _thread_count[0] > 1:
            # Threads interleave: growth from now on is this thread's (as
            # the settrace backend does on every call), so keep seeing it.
            ts = _mon_ts()
            if ts is not None and _last[2] is not ts:  # None: memlens's writer
                _sync(ts)
            return None
        return _mon.DISABLE
    _new_tracer(fn, _mon_ts(), sys._getframe(1))


def _mon_resume(code, offset, exc=None):
    frame = sys._getframe(1)
    ft = _suspended.pop(frame, None)
    if ft is not None:
        ft.resume(_mon_ts(), frame.f_lineno)


def _mon_line(code, line, _tls=_tls):
    """LINE once several threads run Python code (see _mon_line_solo)."""
    try:
        ft = _tls.ts.top  # inline _mon_ts: this runs on every line event
    except AttributeError:
        ft = _mon_ts().top
    if ft is not None and ft.code is code:
        ft.step(line, 1)


def _mon_line_solo(main_ts):
    """The LINE callback while only the main thread runs Python code: its
    thread state is known, which saves a threading.local lookup (about a
    third of what sys.monitoring's own dispatch costs) on every event."""
    def line(code, line):
        ft = main_ts.top
        if ft is not None and ft.code is code:
            # step's quick path, a copy (keep them alike): a Python call
            # fewer on every event.
            last = _last
            if last[7] is ft and last[5] > 1:
                sv = _hv_saved
                p = sv[_hv_pk0] = _hv_saved2[_hv_pk0] = _hv[_hv_pk0]
                if _hv_q == _hv_saved_q or (p < sv[_hv_c0] and _hv_q == _hv_saved2_q):
                    c = sv[_hv_c0]
                    if p >= c:
                        p -= c
                    else:
                        p += 256 - c
                    if p:
                        _reset_peak()
                    last[5] -= 1
                    st = ft.st
                    if ft.count:
                        n = st[0] + 1
                        if n == 256:
                            n = 0
                            st[_OCC_HI] += 1
                        st[0] = n
                    rss = last[1]
                    if rss > st[1]:
                        st[1] = rss
                    if p > _PEAK_NOISE:
                        if p > st[4]:
                            st[4] = p
                        # An int _charge makes would stay in the peak the next
                        # line starts from: reset again.
                        if ft.skip is None:
                            if p <= 256 - st[10]:
                                st[10] += p
                            else:
                                st[10] -= 256 - p
                                n = st[12] + 1
                                if n == 256:
                                    n = 0
                                    ft._charge(st, 65536)
                                    _reset_peak()
                                st[12] = n
                        else:
                            ft._charge(st, p)
                            _reset_peak()
                        if p > ft.lifep:
                            ft.lifep = p
                    st = ft.lines.get(line)
                    if st is None:
                        st = ft.fn.stats(line)
                        last[6] = 1
                    ft.st = st
                    ft.count = 1
                    if last[6]:
                        ft._rebase()
                    return
            ft._step(line, 1)
    return line


# Backward jumps that stay on their line, by code object: {offset: line}.
# sys.settrace reports each as a line event (a one-line loop, `for x in
# xs: f(x)`, counts its iterations, as memory_profiler shows); LINE does
# not, so JUMP and BRANCH events stand in for them (_mon_jump).
_backjumps = {}
_NO_JUMPS = {}


def _mon_watch(code):
    """Asks for the events of a profiled code object."""
    import dis

    jumps = {}
    lines = {}
    try:
        for start, end, line in code.co_lines():
            for off in range(start, end, 2):
                lines[off] = line
        for ins in dis.get_instructions(code):
            target = ins.argval if ins.opcode in dis.hasjrel or ins.opcode in dis.hasjabs else None
            if isinstance(target, int) and target < ins.offset and lines.get(target) is not None \
                    and lines.get(target) == lines.get(ins.offset):
                jumps[ins.offset] = lines[target]
    except Exception:
        jumps = {}
    _backjumps[code] = jumps or _NO_JUMPS
    _mon.set_local_events(_tool, code, _MON_LOCAL)


def _mon_jump(code, src, dest):
    """JUMP and BRANCH: a backward jump to the same line is a line event,
    as sys.settrace has it; other jumps are turned off where they are."""
    line = _backjumps.get(code, _NO_JUMPS).get(src)
    if line is None:
        return _mon.DISABLE
    if dest > src:
        return None  # a loop's test that did not loop this time: it may next time
    ft = _mon_ts().top
    if ft is not None and ft.code is code:
        ft.step(line, 1)


def _mon_return(code, offset, retval):
    ft = _mon_ts().top
    if ft is not None and ft.code is code:
        ft.finish()


def _mon_yield(code, offset, retval):
    ft = _mon_ts().top
    if ft is not None and ft.code is code:
        _suspended[ft.frame] = ft
        ft.suspend()


def _mon_unwind(code, offset, exc):
    if _funcs.get(code) is None:
        return
    ft = _mon_ts().top
    if ft is not None and ft.code is code:
        ft.finish()


def _mon_thread_started(frame, event, arg):
    """threading.setprofile hook, run first in every new thread: once a second
    thread runs, starts of unprofiled code matter again (_mon_start)."""
    sys.setprofile(None)
    first = _thread_count[0] == 1
    _mon_ts()
    if first:
        _mon.register_callback(_tool, _mon.events.LINE, _mon_line)
        _mon.restart_events()  # undo the DISABLEs of the single-threaded time


def _start_monitoring(main_ts):
    global _mon, _tool
    _tls.ts = main_ts
    threading.setprofile(_mon_thread_started)
    _mon = sys.monitoring
    for tool in (_mon.PROFILER_ID, 3, 4, 5):
        if _mon.get_tool(tool) is None:
            _tool = tool
            break
    else:
        raise RuntimeError("memlens: every sys.monitoring tool id is taken")
    _mon.use_tool_id(_tool, "memlens")
    E = _mon.events
    global _MON_LOCAL
    # BRANCH became BRANCH_LEFT and BRANCH_RIGHT in 3.14.
    branches = [getattr(E, n) for n in ("BRANCH_LEFT", "BRANCH_RIGHT") if hasattr(E, n)] or [E.BRANCH]
    _MON_LOCAL = E.LINE | E.PY_RETURN | E.PY_YIELD | E.PY_RESUME | E.JUMP
    for b in branches:
        _MON_LOCAL |= b
        _mon.register_callback(_tool, b, _mon_jump)
    _mon.register_callback(_tool, E.JUMP, _mon_jump)
    _mon.register_callback(_tool, E.PY_START, _mon_start)
    _mon.register_callback(_tool, E.PY_RESUME, _mon_resume)
    _mon.register_callback(_tool, E.PY_THROW, _mon_resume)
    _mon.register_callback(_tool, E.LINE, _mon_line_solo(main_ts) if _thread_count[0] == 1 else _mon_line)
    _mon.register_callback(_tool, E.PY_RETURN, _mon_return)
    _mon.register_callback(_tool, E.PY_YIELD, _mon_yield)
    _mon.register_callback(_tool, E.PY_UNWIND, _mon_unwind)
    _mon.set_events(_tool, E.PY_START | E.PY_UNWIND | E.PY_THROW)


def _stop_tracing():
    if _mon is not None:
        threading.setprofile(None)
        _mon.set_events(_tool, 0)
        for code, fn in list(_funcs.items()):
            if fn is not None:
                _mon.set_local_events(_tool, code, 0)
        _mon.free_tool_id(_tool)
    else:
        threading.settrace(None)
        sys.settrace(None)


# --- results -----------------------------------------------------------------

_meta = {}
_write_lock = threading.Lock()


def _header_end(code):
    """The last line of a function's header (its decorators and def), as
    far as the function's own code can tell: the line before the first of
    its own lines after co_firstlineno; co_firstlineno - 1 (no header) when
    the body shares the def's line."""
    first = code.co_firstlineno
    if hasattr(code, "co_lines"):
        lines = [line for _, _, line in code.co_lines() if line and line > first]
    else:  # before 3.10
        import dis
        lines = [line for _, line in dis.findlinestarts(code) if line and line > first]
    return min(lines) - 1 if lines else first - 1


def _retained():
    """Charges every live traced block to the profiled lines on its allocation stack.

    After a full collection: it empties the interpreter's free lists, whose
    blocks tracemalloc still counts as live where they were first allocated
    (a dropped list of dicts kept ~14 KiB "retained"), and frees cyclic
    garbage. Python's own shutdown collects the same way, after atexit.
    A function's header lines (decorators, def) retain nothing: what is live
    there was made by the definition (the function object, the decorators'
    wrappers), when the module or class body ran, not by a call."""
    if not _tracemalloc.is_tracing():
        return
    import gc
    gc.collect()
    by_file = {}
    header = {}
    for fn in _all_funcs:
        by_file.setdefault(fn.file, []).append(fn)
        header[fn] = _header_end(fn.code)
    # What tracemalloc.take_snapshot() wraps: (domain, size, ((file,
    # line), ...)[, frames]) per live block.
    for trace in _tracemalloc._get_traces():
        size, tb = trace[1], trace[2]
        if tb and tb[0][0] in _OWN_FILES:
            continue  # memlens's own bookkeeping (below it, the program runs from memlens's frames)
        seen = set()
        for filename, lineno in tb:
            for fn in by_file.get(filename, ()):
                if header[fn] < lineno <= fn.end:
                    st = fn.lines.get(lineno)
                    if st is not None and (fn, lineno) not in seen:
                        seen.add((fn, lineno))
                        st[5] += size
                        st[6] += 1


def _result(final):
    funcs = []
    for fn in list(_all_funcs):
        lines = []
        total = 0  # each byte once: what the function's outermost frames allocated
        for n, st in sorted(list(fn.lines.items())):
            alloc = _allocated(st)
            if st[0] or st[_OCC_HI] or st[1] or st[2] or alloc or st[5] or st[_ST_NET]:
                lines.append([n, _occurrences(st), st[1], st[2], alloc] + st[4:_OCC_HI] + [st[_ST_NET]])
            total += _outer_allocated(st)
        retained = sum(st[5] for st in list(fn.lines.values()))
        funcs.append({
            "name": fn.name, "module": fn.module, "file": fn.file,
            "start_line": fn.start, "end_line": fn.end, "code_lines": fn.code_lines,
            "calls": fn.calls, "alloc_bytes": total, "lines": lines,
            "retained_bytes": retained if final else 0,
        })
    r = dict(_meta)
    r.update({
        "version": 1, "final": final, "backend": _BACKEND,
        "python": sys.version.split()[0], "functions": funcs,
        "rss_every_event": _RSS_EVERY_EVENT,
    })
    return r


def _encode(final):
    """_result as JSON, ASCII only (so that encoding cannot fail)."""
    out = []
    _json_value(_result(final), out.append)
    return "".join(out).encode("ascii")


def _json_value(v, put):
    """Writes v (dicts with str keys, lists, str, int, bool, None) as
    json.dumps would, with _json's string encoder."""
    if isinstance(v, str):
        put(_json_string(v))
    elif v is True:
        put("true")
    elif v is False:
        put("false")
    elif v is None:
        put("null")
    elif isinstance(v, int):
        put(int.__repr__(v))
    elif isinstance(v, float):
        put(repr(v) if v == v and v not in (float("inf"), float("-inf")) else "null")
    elif isinstance(v, dict):
        put("{")
        first = True
        for k, x in v.items():
            if not first:
                put(",")
            first = False
            put(_json_string(str(k)))
            put(":")
            _json_value(x, put)
        put("}")
    else:
        put("[")
        first = True
        for x in v:
            if not first:
                put(",")
            first = False
            _json_value(x, put)
        put("]")


def _store(data):
    """Writes data to _OUT whole: the reader never sees half a file."""
    fd = os.open(_OUT_TMP_B, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    try:
        if not _write_rest(fd, data, 0, len(data)):
            raise OSError("memlens: cannot write " + _OUT)
    finally:
        os.close(fd)
    os.replace(_OUT_TMP_B, _OUT_B)


def _write(final):
    if not _OUT:
        return
    with _write_lock:
        _store(_encode(final))


_stop = threading.Event()


def _flusher():
    """Forces an RSS reading every _RSS_TICK seconds (_last[5]) and writes the
    partial result every _FLUSH_SECONDS. It allocates nothing between writes
    (time.sleep, small ints), so the program's lines never see it."""
    _tls.ts = None  # not a thread of the program: never a reader (_mon_start)
    flush = max(_FLUSH_SECONDS, 0.001)
    tick = flush
    if _RSS_TICK > 0 and not _COUNTS_ONLY and not _RSS_EVERY_EVENT:
        tick = min(_RSS_TICK, flush) if _OUT else _RSS_TICK
    # Ticks per write, under 256 so that counting them makes no int object.
    every = 0
    if _OUT:
        every = max(1, min(255, int(round(flush / tick))))
        tick = flush / every
    sleep = time.sleep
    last = _last
    stop = _stop
    n = every
    while True:
        sleep(tick)
        if stop.is_set():
            return
        last[5] = 0
        if every:
            n -= 1
            if n <= 0:
                n = every
                _flush_unseen()


def _flush_unseen():
    """Writes the partial result without charging the write to anyone.

    The line running meanwhile (in whatever thread) keeps being measured: it
    keeps its peak so far, and neither the write's peak nor its buffer
    become the line's.

    Only the writer's own bytes may be discounted, never what other threads
    allocate or free meanwhile (they run whenever the write waits on I/O or
    is switched out), so the discount is not a heap difference measured
    around the write (that once swallowed 1 MiB another thread allocated):
    it is the encoded buffer's exact size (sys.getsizeof), while it exists.
    All else the write makes is freed by the time it returns; the few caches
    a first write fills were filled by _warm_up before tracing started.
    """
    if not _OUT:
        return
    with _write_lock:
        # Opened before the peak is read and closed after it is reset: both
        # let go of the GIL (see _gil_write). Bytes paths: a str one would
        # be encoded into a new object after the reset.
        try:
            fd = os.open(_OUT_TMP_B, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
        except OSError:
            return  # retried next time; the final write reports
        _, pk = _traced()
        top = _last[2].top
        if top is not None and pk > top.hi:
            top.hi = pk
        _last[7] = False  # its peak and the reading no longer match: see FrameTracer.step
        pk = top = None
        try:
            data = _encode(False)
        except Exception:
            data = None  # retried next time; the final write reports
        ok = False
        if data is not None:
            size = sys.getsizeof(data)
            _last[0] += size
            ok = _gil_write(fd, data, len(data))
            # Back to back, so that no reader (3.10+: no thread switch at all
            # between them) sees the buffer freed with its discount in place.
            _last[0] -= size
            data = size = None
        _reset_peak()
        try:
            os.close(fd)
            if ok:
                os.replace(_OUT_TMP_B, _OUT_B)
        except OSError:
            pass  # a failed periodic write is retried next time; the final one reports


def _warm_up():
    """One write before tracing starts: what a first write leaves behind
    (caches, interned strings) is then nobody's line."""
    try:
        _write(False)
    except Exception:
        pass  # the final write reports a result file that cannot be written


_MP_ROW = "{0:>6} {1:>12} {2:>12}  {3:>10}   {4:<}"  # memory_profiler's show_results


def _mp_table(fn, precision):
    """fn's table as memory_profiler's show_results writes it (MiB, precision
    decimals), with memlens's figures: summed over calls, true increments."""
    import linecache

    header = _MP_ROW.format("Line #", "Mem usage", "Increment", "Occurrences", "Line Contents")
    out = ["Filename: " + fn.file + "\n\n", header + "\n", "=" * len(header) + "\n"]
    src = linecache.getlines(fn.file)
    mib = "{0:%d.%df} MiB" % (precision + 4, precision)
    for n in range(fn.start, fn.end + 1):
        st = fn.lines.get(n)
        mem = inc = occ = ""
        if st is not None and (_occurrences(st) or st[1]):
            mem, inc, occ = mib.format(st[1] / 1048576.0), mib.format(st[2] / 1048576.0), _occurrences(st)
        text = src[n - 1] if n <= len(src) else "\n"
        out.append(_MP_ROW.format(n, mem, inc, occ, text if text.endswith("\n") else text + "\n"))
    out.append("\n\n")
    return "".join(out)


def _write_streams():
    """Writes the table of each profiled function decorated with
    @profile(stream=...) to that stream, once, at exit: memlens sums a
    function over its calls, where memory_profiler writes one table per call.
    A function that was not profiled (other functions were named) gets none."""
    for fn in list(_all_funcs):
        spec = _streams.get(fn.code)
        if spec is None:
            continue
        stream, precision = spec
        try:
            stream.write(_mp_table(fn, precision))
            flush = getattr(stream, "flush", None)
            if flush is not None:
                flush()
        except Exception as e:
            sys.stderr.write("memlens: cannot write the table of %s to the stream given to @profile: %s: %s\n"
                             % (fn.name, type(e).__name__, e))


_main_trace = [None]  # the main thread's sys.settrace function (settrace backend)
_PID = os.getpid()
_exited = []  # set once _at_exit ran


def _at_exit():
    if os.getpid() != _PID or _exited:
        return  # a forked child (its counts are not the run's), or done already
    _exited.append(True)
    _tl_end()
    _stop.set()
    if _main_trace[0] is not None and sys.gettrace() is not _main_trace[0]:
        # Python drops a trace function that raises (a RecursionError when
        # the program reaches the recursion limit: the call of the trace
        # function is one frame deeper), and a program may set its own: the
        # rest of the run went uncounted, which the result must say.
        _meta["tracing_stopped"] = True
    _stop_tracing()
    try:
        _retained()
    except Exception as e:  # retained figures are a bonus: keep the rest
        _meta["retained_error"] = repr(e)
    if _streams:
        _write_streams()
    _write(True)


# --- timeline ------------------------------------------------------------------

# With $MEMLENS_TIMELINE set, a sampler thread records the process's memory
# over time into that file: every $MEMLENS_SAMPLE_SECONDS, plus a sample when
# tracing starts (t = 0) and one at exit. A record is 40 bytes, little-endian:
# nanoseconds since the first sample, RSS, traced heap (tracemalloc's current
# size), 1 + the index of the running profiled function in the result's
# "functions" (0: none), its line, its call (the function's call count when
# the sample was taken), flags (1 start, 2 end, 4 outer). Each sample's
# record is followed by one "outer" record (t, function, line, call; flags
# 4) per profiled frame the running one was called from, innermost first:
# the calls running further out and the lines they wait on, for the
# chart's call stretches and % Time. Records are
# written as they are taken, so a killed run keeps them.
#
# The running line is that of the innermost profiled frame of the thread
# that last ran profiled code (the main thread's when that one has none),
# read from the frame itself: a line waiting on a call (profiled or not)
# is the running line, as in line_profiler's % Time.
#
# The sampler allocates only short-lived ints and keeps the running line's
# peak out of its own allocations as the periodic writer does
# (_flush_unseen); the record buffer is made before tracing starts.

_TL_OUT = os.environ.get("MEMLENS_TIMELINE", "")
_TL_SECONDS = float(os.environ.get("MEMLENS_SAMPLE_SECONDS") or "0.01")
_TL_DOUBLE_AT = 200000  # records before the interval doubles (and at each doubling of that)
_TL_DEPTH = 16  # records per sample at most: the running call and 15 further out
_tl_fd = [-1]
_tl_t0 = [0]
_tl_main = [None]  # the main thread's state
_tl_lock = threading.Lock()
_tl_stop_event = threading.Event()
_tl_record = None
_tl_buf = None


def _tl_start(main_ts):
    """Opens the timeline file, writes the first sample and starts the sampler."""
    global _tl_record, _tl_buf
    if not _TL_OUT or _COUNTS_ONLY or _TL_SECONDS <= 0:
        return
    import struct

    _tl_record = struct.Struct("<qQQIIII")
    try:
        _tl_buf = ctypes.create_string_buffer(_tl_record.size * _TL_DEPTH)  # _gil_write's
    except NameError:
        _tl_buf = bytearray(_tl_record.size * _TL_DEPTH)
    try:
        _tl_fd[0] = os.open(_TL_OUT, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_APPEND, 0o644)
    except OSError as e:
        sys.stderr.write("memlens: timeline: %s\n" % e)
        return
    _tl_main[0] = main_ts
    _tl_t0[0] = _now()
    with _tl_lock:
        _tl_sample(1)
    threading.Thread(target=_tl_sampler, name="memlens-timeline", daemon=True).start()


def _tl_running():
    """The innermost profiled frame tracer running, or None."""
    for ts in (_last[2], _tl_main[0]):
        ft = getattr(ts, "top", None)
        if ft is not None and ft.fn is not None and ft.frame is not None:
            return ft
    return None


def _tl_sample(flags):
    """Appends one sample. The caller holds _tl_lock: the sampler and the
    exit both write. RSS less tracemalloc's records as last measured
    (program_rss would be two Python calls more between the sampler's
    reading of the peak and its reset, where a thread switch can come)."""
    if _tl_fd[0] < 0:
        return
    pack, buf, size = _tl_record.pack_into, _tl_buf, _tl_record.size
    t = _now() - _tl_t0[0] if flags != 1 else 0
    ft = _tl_running()
    n = 1
    try:
        if ft is None:
            raise ValueError
        pack(buf, 0, t, rss_bytes() - _tm_resident[0], _traced()[0],
             _all_funcs.index(ft.fn) + 1, ft.frame.f_lineno or 0, ft.fn.calls & 0xffffffff, flags)
        outer = ft.parent
        while outer is not None and n < _TL_DEPTH:
            fn, frame = outer.fn, outer.frame
            if fn is not None and frame is not None:
                pack(buf, n * size, t, 0, 0, _all_funcs.index(fn) + 1, frame.f_lineno or 0, fn.calls & 0xffffffff, 4)
                n += 1
            outer = outer.parent
    except (ValueError, AttributeError):  # nothing running, or it ended meanwhile
        n = 1
        pack(buf, 0, t, rss_bytes() - _tm_resident[0], _traced()[0], 0, 0, 0, flags)
    t = ft = outer = fn = frame = None
    _gil_write(_tl_fd[0], buf, n * size)


def _tl_sampler():
    """The sampler thread: a record every _TL_SECONDS (doubling on very long runs)."""
    _tls.ts = None  # not a thread of the program: never a reader (_mon_start)
    every = _TL_SECONDS
    n, limit = 1, _TL_DOUBLE_AT
    nxt = time.perf_counter() + every
    d = every
    while True:
        if d > 0:
            time.sleep(d)
        if _tl_stop_event.is_set():
            return
        with _tl_lock:
            # From reading the peak to resetting it nothing here lets go of
            # the GIL (_gil_write), so the program cannot allocate meanwhile:
            # the running line keeps its peak so far, and the ints and
            # floats made here are not the line's.
            _, pk = _traced()
            top = _last[2].top
            if top is not None and pk > top.hi:
                top.hi = pk
            _last[7] = False
            pk = top = None
            _tl_sample(0)
            n += 1
            if n >= limit:
                every *= 2
                limit *= 2
            nxt += every
            now = time.perf_counter()
            if nxt <= now:  # late (a busy machine): skip the ticks missed
                nxt = now + every
            d = nxt - now
            now = None
            # A thread switch at a Python call of _tl_sample lets the
            # program run: what it allocated and freed meanwhile is in the
            # peak alone, and the reset below would erase it (a 4 MiB spike
            # in 2000 lost on a loaded machine). Read again here, with no
            # call before the reset; the sampler's own few hundred bytes are
            # left out.
            _, pk = _traced()
            top = _last[2].top
            if top is not None and pk > top.hi + 4096:
                top.hi = pk
                _last[7] = False
            pk = top = None
            _reset_peak()


def _tl_end():
    """The last record, at exit; the sampler stops."""
    _tl_stop_event.set()
    with _tl_lock:
        _tl_sample(2)
        if _tl_fd[0] >= 0:
            os.close(_tl_fd[0])
            _tl_fd[0] = -1


# --- running the script ------------------------------------------------------

def _calibrate():
    """Sets _PEAK_NOISE: what the tracer's own bookkeeping leaves in the peak
    a line starts from. The ints a step stores (a line's first allocated
    total, a new RSS figure) are made after its reading, so a line that
    allocates nothing can still see some bytes of peak growth. Measured by
    running the real FrameTracer.step over a stand-in function whose lines
    alternate between allocating and not; the largest peak growth of the
    lines that allocate nothing is the noise."""
    global _PEAK_NOISE
    fn = Func.__new__(Func)
    fn.lines = dict((n, _new_stats(n)) for n in range(16))
    ts = ThreadState()
    ft = FrameTracer()
    ft.fn, ft.lines, ft.ts = fn, fn.lines, ts
    ts.top = ft
    saved = list(_last)
    _last[:] = [_traced()[0], program_rss(), ts, 0, 0, 0, 0, False]  # RSS read at every step: the worst case
    keep = [None] * 8
    for i in range(8):
        ft.step(2 * i, 1)
        keep[i] = bytearray(1000 + 100 * i)  # a line that allocates
        ft.step(2 * i + 1, 1)  # and one that does not
    ft.step(None, 0)
    _PEAK_NOISE = max(fn.lines[2 * i + 1][4] for i in range(8))
    _last[:] = saved
    ft.fn = ft.lines = ft.ts = None
    del keep


def _resolve(name, main):
    """The object a requested name refers to, or (None, reason)."""
    if "<locals>" in name:
        return None, "it is a nested function; call its enclosing function instead"
    parts = name.split(".")
    root, rest = main, parts
    for i in range(len(parts) - 1, 0, -1):
        modname = ".".join(parts[:i])
        if modname == _script_module:
            root, rest = main, parts[i:]
            break
        if modname in sys.modules and modname != "__main__":
            root, rest = sys.modules[modname], parts[i:]
            break
    obj = root
    for p in rest:
        try:
            obj = getattr(obj, p)
        except AttributeError:
            return None, "no function %s is defined by the script or the modules it imports" % name
    if not callable(obj) or isinstance(obj, type):
        return None, "%s is not a function" % name
    return obj, ""


def _call_directly(main, never_called="the script never called it"):
    """Calls each named function that did not run and needs no arguments;
    the others are reported as never ran, saying why (never_called)."""
    left = _NAMES - _ran_names
    if not left:
        return  # the usual case: inspect (about 20 ms to import, traced) is not needed
    import inspect

    for name in sorted(left):
        obj, why = _resolve(name, main)
        if obj is None:
            _meta.setdefault("never_ran", []).append({"name": name, "reason": why})
            continue
        code = getattr(getattr(inspect.unwrap(obj), "__func__", obj), "__code__", None)
        if code is not None and code.co_filename.startswith("<"):
            # A dataclass's __init__, a namedtuple's __new__: made by exec,
            # with a code name of its own (__create_fn__.<locals>.__init__).
            _meta.setdefault("never_ran", []).append({
                "name": name, "reason": "its code was generated while the program ran (%s, as dataclasses and "
                                        "namedtuple make theirs): it has no source lines to profile" % code.co_filename})
            continue
        try:
            sig = inspect.signature(obj)
        except (TypeError, ValueError):
            sig = None
        required = [] if sig is None else [
            p.name for p in sig.parameters.values()
            if p.default is p.empty and p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)]
        if required:
            _meta.setdefault("never_ran", []).append({
                "name": name,
                "reason": "%s and it needs arguments (%s)" % (never_called, ", ".join(required))})
            continue
        _meta.setdefault("called_directly", []).append(name)
        result = obj()
        if inspect.iscoroutine(result):
            import asyncio
            asyncio.run(result)
        elif inspect.isgenerator(result):
            for _ in result:
                pass
        elif inspect.isasyncgen(result):
            import asyncio

            async def drain(agen):
                async for _ in agen:
                    pass
            asyncio.run(drain(result))


def _raise_site(exc):
    if isinstance(exc, SyntaxError) and exc.filename:
        return exc.filename, exc.lineno or 0
    tb = exc.__traceback__
    site = ("", 0)
    while tb is not None:
        if tb.tb_frame.f_code.co_filename not in _OWN_FILES:
            site = (tb.tb_frame.f_code.co_filename, tb.tb_lineno)
        tb = tb.tb_next
    return site


def _strip_tracer_frames(tb):
    while tb is not None and tb.tb_frame.f_code.co_filename in _OWN_FILES:
        tb = tb.tb_next
    return tb


class _Failed(Exception):
    """Preparing the run failed; the result says why and main returns code."""

    def __init__(self, code):
        Exception.__init__(self, code)
        self.code = code


def _fatal(message, code=2):
    sys.stderr.write("memlens: %s\n" % message)
    _meta["fatal"] = message
    _write(True)
    return _Failed(code)


def _syntax_error(e, path):
    """Reports a file that does not compile, as Python prints it."""
    if isinstance(e, SyntaxError):
        _meta["syntax_error"] = {"file": e.filename or path, "line": e.lineno or 0,
                                 "column": e.offset or 0, "message": "%s: %s" % (type(e).__name__, e.msg)}
    else:
        _meta["syntax_error"] = {"file": path, "line": 0, "column": 0, "message": "%s: %s" % (type(e).__name__, e)}
    import traceback
    traceback.print_exception(type(e), e, None)
    _write(True)
    return _Failed(1)


def _main_module(path, name="__main__", spec=None, loader=None):
    """A fresh __main__ module for the program, in sys.modules."""
    mod = types.ModuleType(name)
    mod.__file__ = path
    mod.__cached__ = None
    mod.__builtins__ = builtins
    mod.__loader__ = loader or importlib.machinery.SourceFileLoader(name, path)
    if spec is not None:
        mod.__spec__ = spec
        mod.__package__ = spec.name.rpartition(".")[0]
    sys.modules["__main__"] = mod
    return mod


def _prepare_script(script, args, never_called="the script never called it"):
    """Runs script as __main__, as `python script args` does; then calls
    the named functions it did not call (_call_directly)."""
    global _script_module
    path = os.path.abspath(script)
    _script_module = os.path.splitext(os.path.basename(path))[0]
    try:
        with open(path, "rb") as f:
            source = f.read()
    except OSError as e:
        raise _fatal("cannot read %s: %s" % (script, e.strerror))
    try:
        code = compile(source, path, "exec", dont_inherit=True)
    except (SyntaxError, ValueError) as e:
        raise _syntax_error(e, path)
    sys.argv = [script] + list(args)
    sys.path[0] = os.path.dirname(path)

    def run():
        mod = _main_module(path)
        exec(code, mod.__dict__)
        if _NAMES:
            _call_directly(mod, never_called)
        return 0
    return run


def _prepare_import(path, never_called):
    """For a file that imports relatively (never a script): imports it as
    the module of its package, from the directory above its top package,
    then calls the named functions (_call_directly)."""
    top = os.path.dirname(path)
    parts = [os.path.splitext(os.path.basename(path))[0]]
    while os.path.isfile(os.path.join(top, "__init__.py")):
        parts.insert(0, os.path.basename(top))
        top = os.path.dirname(top)
    name = ".".join(parts)

    def run():
        import importlib

        _meta["entry"] = "%s -c 'import %s' (from %s)" % (sys.executable, name, top)
        sys.path[0] = top
        mod = importlib.import_module(name)
        if _NAMES:
            _call_directly(mod, never_called)
        return 0
    return run


def _prepare_module(name, args):
    """Runs module name as __main__, as `python -m name args` does (a
    package runs its __main__ submodule)."""
    global _script_module
    import importlib.util

    sys.path[0] = os.getcwd()
    try:
        spec = importlib.util.find_spec(name)
        if spec is not None and spec.submodule_search_locations is not None:
            name += ".__main__"
            spec = importlib.util.find_spec(name)
    except Exception as e:  # a parent package failed to import
        raise _fatal("cannot find module %s: %s: %s" % (name, type(e).__name__, e), 1)
    if spec is None or spec.loader is None:
        raise _fatal("no module named %s (from %s)" % (name, os.getcwd()), 1)
    try:
        code = spec.loader.get_code(name)
    except (SyntaxError, ValueError) as e:
        raise _syntax_error(e, spec.origin)
    if code is None:
        raise _fatal("module %s has no code to run" % name, 1)
    _script_module = name[:-len(".__main__")] if name.endswith(".__main__") else name
    sys.argv = [spec.origin] + list(args)

    def run():
        mod = _main_module(spec.origin, spec=spec, loader=spec.loader)
        exec(code, mod.__dict__)
        if _NAMES:
            _call_directly(mod)
        return 0
    return run


def _load_entry():
    """memlens_entry.py, memlens's test finder (loaded only when needed)."""
    if "_memlens_entry" in sys.modules:
        return sys.modules["_memlens_entry"]
    import importlib.util

    spec = importlib.util.spec_from_file_location("_memlens_entry", _ENTRY_FILE)
    mod = importlib.util.module_from_spec(spec)
    sys.modules["_memlens_entry"] = mod
    _own_import(spec.loader.exec_module, mod)
    return mod


def _own_import(load, *args):
    """Runs an import of memlens's own files, whose compiled copies are kept
    even when the program's are not (PYTHONDONTWRITEBYTECODE): they sit in
    memlens's cache directory, not the user's."""
    keep = sys.dont_write_bytecode
    sys.dont_write_bytecode = False
    try:
        return load(*args)
    finally:
        sys.dont_write_bytecode = keep


def _prepare_tests(target, given):
    """Runs the tests that reach the named functions of file target (or the
    tests given: pytest node ids or a -k expression), under pytest from
    the project root, else unittest. When no test reaches them, target runs
    as a script and the functions without parameters are called after it."""
    ent = _load_entry()
    path = os.path.abspath(target)
    quals = _quals(path)
    module = ent.Module(path)
    selection = ent.Selection(path, quals, module.names_to_find(quals))
    root = ent.project_root(path)
    if given:
        given = given.split() if ("::" in given or ".py" in given or os.sep in given) else ["-k", given]
    pytest = ent.have_pytest()
    if given and not pytest:
        raise _fatal("--test runs pytest, which %s cannot import: python -m pip install pytest "
                     "(Debian's python3: apt-get install python3-pytest)" % sys.executable, 1)
    never = "running %s does not call it, no test under %s reaches it," % (os.path.basename(path), root)
    if module.tree is not None and ent._relative_import(module.tree.body):
        fallback = _prepare_import(path, never)
    else:
        fallback = _prepare_script(target, [], never)
    cache = os.path.join(os.path.dirname(_OUT) if _OUT else root, "pytest-cache")
    _meta["test_root"] = root

    def run():
        os.chdir(root)
        sys.path[0] = root
        sys.argv = ["pytest"]
        if not given and not selection.any_test_file_mentions(root):
            code = None  # no test can reach them: no test runner to start
        elif pytest:
            code = ent.run_pytest(root, None if given else selection, given or [], cache, _meta)
            entry = ent.pytest_entry(_meta, given or [])
        else:
            code = ent.run_unittest(root, selection, _meta)
            entry = ent.unittest_entry(_meta) + (" (pytest is not installed for %s: unittest's tests only)"
                                                 % sys.executable)
        if code is not None:
            _meta["entry"] = entry
            return code
        if not pytest and selection.any_test_file_mentions(root):
            _meta["no_pytest"] = ("tests under %s mention it, but pytest is not installed for %s "
                                  "(python -m pip install pytest; Debian's python3: apt-get install python3-pytest) "
                                  "and unittest found none that reach it" % (root, sys.executable))
        os.chdir(_cwd)
        sys.path[0] = os.path.dirname(path)
        return fallback()  # may set sys.path[0] again
    return run


_os_exit = os._exit


def _exit_now(status):
    """os._exit, which skips atexit: the result is written first (it was
    lost, and a program ending so reported no function as having run)."""
    try:
        _at_exit()
    except BaseException:
        pass
    _os_exit(status)


def _start(places=None):
    """Starts measuring: tracemalloc, the writer thread, the line events."""
    atexit.register(_at_exit)  # registered first, so it runs after the program's own handlers
    os._exit = _exit_now
    if not _COUNTS_ONLY:
        if sys.version_info < (3, 11):
            # Before 3.11 a function's code keeps its last frame for the next
            # call. The trace functions' frames are made at their first call,
            # from the program's frame: traced, that block would stay on the
            # program's line as retained (about 500 B). Made untraced here.
            FrameTracer().trace(sys._getframe(), "call", None)
            _settrace_global_for(None)(sys._getframe(), "call", None)
        _tracemalloc.start(_NFRAME)
        _calibrate()  # with ints read: the noise of the worst case
        _use_heap_counters(places)
    _warm_up()
    main_ts = _new_thread_state()
    _last[:] = [_traced()[0], program_rss() if not _COUNTS_ONLY else 0, main_ts, 0, 0, 0, 0, False]
    if _OUT or (_RSS_TICK > 0 and not _COUNTS_ONLY and not _RSS_EVERY_EVENT):
        threading.Thread(target=_flusher, name="memlens-flush", daemon=True).start()
    _tl_start(main_ts)
    if _BACKEND == "monitoring":
        _start_monitoring(main_ts)
    else:
        threading.settrace(_settrace_thread_start)
        _main_trace[0] = _settrace_global_for(main_ts)
        sys.settrace(_main_trace[0])


_cwd = os.getcwd()


def main():
    if len(sys.argv) < 2:
        sys.stderr.write("usage: memlens_tracer.py SCRIPT|MODULE [ARGS...]\n")
        return 2
    target, args = sys.argv[1], sys.argv[2:]
    sys.modules["_memlens_tracer"] = sys.modules[__name__]
    # memlens's memory_profiler wins over an installed one, and `profile`
    # is a builtin, as under `python -m memory_profiler`.
    sys.path.insert(0, os.path.join(os.path.dirname(_TRACER_FILE), "shim"))
    if not hasattr(builtins, "profile"):
        builtins.profile = _own_import(__import__, "memory_profiler").profile
        # The Python processes the program starts get a `profile` builtin
        # too, one that does nothing (child/sitecustomize.py): a spawned
        # multiprocessing child runs the main file again.
        child = os.path.join(os.path.dirname(_TRACER_FILE), "child")
        old = os.environ.get("PYTHONPATH")
        os.environ["PYTHONPATH"] = child + (os.pathsep + old if old else "")

    places = None
    if not _COUNTS_ONLY:
        try:
            # Early: what it frees (lists in the free list) is the set-up's to
            # reuse, not the program's (seen: a list in the free list kept as
            # retained by the line that made it).
            places = _heap_counter_places()
        except Exception:  # no ctypes, no /proc
            pass
    entry = _ENTRY
    if entry in ("auto", "tests"):
        global _FUNC_FILE
        _FUNC_FILE = os.path.abspath(target)
    try:
        if entry == "module":
            run = _prepare_module(target, args)
        elif entry == "tests":
            run = _prepare_tests(target, os.environ.get("MEMLENS_TESTS", ""))
        elif entry == "auto" and _NAMES and not args and not _reached_by_running(target):
            run = _prepare_tests(target, "")
        else:
            run = _prepare_script(target, args)
    except _Failed as f:
        return f.code

    _start(places)
    failure = None
    code = 0
    try:
        code = run()
    except SystemExit:
        raise  # Python reports it and exits with its code; _at_exit writes the result
    except BaseException as e:
        f, line = _raise_site(e)
        _meta["exception"] = {"type": type(e).__name__, "message": str(e), "file": f, "line": line}
        failure = e
    if failure is not None:
        tb = _strip_tracer_frames(failure.__traceback__)
        failure.__traceback__ = tb  # the hook prints the exception's own traceback
        sys.excepthook(type(failure), failure, tb)
        del failure, tb
        return 130 if _meta["exception"]["type"] == "KeyboardInterrupt" else 1
    return code


def _reached_by_running(target):
    """Whether running file target reaches a named function (statically:
    memlens_entry.Module.reached_by_running). Unknown counts as yes."""
    path = os.path.abspath(target)
    try:
        return _load_entry().Module(path).reached_by_running(_quals(path))
    except Exception:
        return True


def _quals(path):
    """The named functions as qualnames of file path (a name may carry the
    file's module name: plainfunc.helper)."""
    global _script_module
    _script_module = os.path.splitext(os.path.basename(path))[0]
    p = _script_module + "."
    return [n[len(p):] if n.startswith(p) else n for n in _NAMES]


if __name__ == "__main__":
    sys.exit(main())
