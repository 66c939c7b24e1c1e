import sys

from memory_profiler import profile

log = open(sys.argv[1], "w")  # memory_profiler's documented use: a log file


@profile(precision=4, stream=log)
def build(n):
    data = [0] * n
    big = bytearray(8 << 20)
    del big
    return len(data)


@profile
def other():  # no stream: memlens shows it, nothing is written by the script
    return 1


print("built", build(1000), build(2000), other())
