"""memlens's stand-in for memory_profiler.

memlens puts this module first on sys.path when it runs a script, so that
``from memory_profiler import profile`` works whether or not memory_profiler
is installed, and so that the decorator only marks functions for memlens's
tracer instead of printing memory_profiler's own tables (memlens prints them).
The decorated function is returned unchanged: methods, classmethods,
staticmethods, generators and coroutines behave exactly as without it.
Over a staticmethod, classmethod, property or functools.lru_cache (what has
no code of its own), @profile profiles the function they wrap.

``profile(stream=..., precision=...)`` are accepted as memory_profiler
accepts them. Without a stream nothing is written by the script (memlens
shows the table, with its own formatting; precision is then unused). With a
stream, memlens's tracer writes the function's table there in
memory_profiler's format (Filename, Line #, Mem usage, Increment,
Occurrences, Line Contents; MiB with ``precision`` decimals), once when the
program exits and summed over the function's calls, where memory_profiler
writes one table per call. The stream must still be open then; if it is
not, memlens says so on stderr. Run without memlens (plain python with this
module on the path), the decorator does nothing.

Every other name of memory_profiler (LogFile, show_results, LineProfiler...)
comes from the real memory_profiler where one is installed for this
interpreter, so that a script importing them runs unchanged.
"""

import sys as _sys

__all__ = ["profile", "memory_usage"]


def _codes(obj, depth=0):
    """The code objects that run when obj does: its own, or, for what has
    none (staticmethod, classmethod, property, functools.lru_cache, applied
    under @profile), those of what it wraps."""
    code = getattr(obj, "__code__", None)
    if code is not None:
        return [code]
    if depth > 8:
        return []
    if isinstance(obj, property):
        return [c for f in (obj.fget, obj.fset, obj.fdel) if f is not None for c in _codes(f, depth + 1)]
    inner = getattr(obj, "__func__", None) or getattr(obj, "__wrapped__", None)
    return _codes(inner, depth + 1) if inner is not None else []


def _mark(func, stream=None, precision=1):
    tracer = _sys.modules.get("_memlens_tracer")
    if tracer is not None:
        try:
            precision = max(0, int(precision))
        except (TypeError, ValueError):
            precision = 1
        for code in _codes(func):
            tracer.mark(code, stream, precision)
    return func


def profile(func=None, stream=None, precision=1, backend="psutil"):
    """Mark func for line-by-line profiling; usable as @profile or
    @profile(precision=4, stream=f) (see the module's doc for stream)."""
    if func is not None:
        return _mark(func, stream, precision)

    def decorate(f):
        return _mark(f, stream, precision)

    return decorate


def memory_usage(proc=-1, interval=0.1, timeout=None, max_usage=False, retval=False, **kwargs):
    """The subset of memory_profiler.memory_usage that costs nothing to provide.

    proc=-1 (this process) gives the current RSS in MiB; a (func, args, kwargs)
    tuple runs func and gives the RSS after it. Other processes are not measured
    (memlens does not ship psutil).
    """
    from _memlens_tracer import program_rss

    ret = None
    if isinstance(proc, (tuple, list)) and proc and callable(proc[0]):
        f = proc[0]
        args = proc[1] if len(proc) > 1 else ()
        kw = proc[2] if len(proc) > 2 else {}
        ret = f(*args, **kw)
    elif callable(proc):
        ret = proc()
    elif proc not in (-1, None):
        raise NotImplementedError("memlens's memory_profiler shim measures only this process (proc=-1)")
    mib = program_rss() / (1 << 20)
    usage = mib if max_usage else [mib]
    return (usage, ret) if retval else usage


_real = []  # [the installed memory_profiler, or None], once looked for


def _installed():
    """The real memory_profiler, found on sys.path past this shim; None
    where none is installed (or it fails to import)."""
    if not _real:
        mod = None
        try:
            import importlib.machinery
            import importlib.util
            import os

            here = os.path.dirname(os.path.abspath(__file__))
            path = [p for p in _sys.path if os.path.abspath(p or os.curdir) != here]
            spec = importlib.machinery.PathFinder.find_spec("memory_profiler", path)
            if spec is not None and spec.loader is not None:
                mod = importlib.util.module_from_spec(spec)
                spec.loader.exec_module(mod)
        except Exception:
            mod = None
        _real.append(mod)
    return _real[0]


def __getattr__(name):
    if name.startswith("__"):
        raise AttributeError(name)  # the import system's and inspect's questions: not memory_profiler's names
    real = _installed()
    if real is None or not hasattr(real, name):
        raise AttributeError(
            "module 'memory_profiler' has no attribute %r: memlens's stand-in has profile and memory_usage, "
            "and its other names come from an installed memory_profiler, which %s %s" % (
                name, _sys.executable, "lacks" if real is not None else "cannot import (pip install memory-profiler)"))
    return getattr(real, name)
