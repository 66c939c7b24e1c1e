import sys

from memory_profiler import profile


@profile
def check(ok):
    buf = [0] * 1000
    if not ok:
        sys.exit(3)
    return buf


check(True)
check(False)
print("not reached")
