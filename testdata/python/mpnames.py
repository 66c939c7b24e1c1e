import logging
import sys

from memory_profiler import LogFile, memory_usage, profile


@profile
def fill():
    data = [0] * 100000
    return len(data)


# memory_profiler's way to log its tables: a LogFile (a logger) as stdout.
logging.basicConfig(filename=sys.argv[1], level=logging.INFO, format="%(message)s")
sys.stdout = LogFile("memory_profile_log", reportIncrementFlag=False)
print("filled %d %s" % (fill(), memory_usage(-1)[0] > 0))
sys.stdout = sys.__stdout__
