# memlens puts this directory on PYTHONPATH for the Python processes the
# profiled program starts: a multiprocessing "spawn" or "forkserver" child
# runs the program's main file again, whose bare @profile (a builtin only
# in the profiled process, as under python -m memory_profiler) would fail
# with NameError, and a Pool would start new workers until the timeout.
# Here it is a builtin that does nothing; the children are not profiled.
# Then the interpreter's own sitecustomize, which this one hides, runs.
# (Python 2 syntax too: any Python the program starts reads this.)
import os
import sys

try:
    import builtins
except ImportError:  # Python 2
    import __builtin__ as builtins


def _memlens_profile(func=None, stream=None, precision=1, backend="psutil"):
    if func is not None:
        return func
    return lambda f: f


if not hasattr(builtins, "profile"):
    builtins.profile = _memlens_profile


def _chain():
    here = os.path.dirname(os.path.abspath(__file__))
    saved = sys.path[:]
    sys.path[:] = [p for p in sys.path if os.path.abspath(p or os.curdir) != here]
    mine = sys.modules.pop("sitecustomize", None)
    try:
        try:
            __import__("sitecustomize")
        except ImportError:
            if mine is not None:
                sys.modules["sitecustomize"] = mine
    finally:
        sys.path[:] = saved


_chain()
