"""Grows memory in steps and frees it, for memlens's timeline: run fills
three batches of 16 MiB (each a call of batch, about 160 ms), holding them
150 ms after each, then drops everything. With an argument it ends early
instead, after a batch of 8 MiB: "raise" raises, "forever" works until
killed."""
import sys
import time

from memory_profiler import profile

PIECE = 1 << 20


def work(seconds):
    """Keeps a CPU busy for seconds."""
    end = time.perf_counter() + seconds
    while time.perf_counter() < end:
        pass


def fill():
    """A piece of 1 MiB (zeroed, so resident), taking 10 ms."""
    p = bytearray(PIECE)
    work(0.01)
    return p


@profile
def batch(n):
    """n pieces of 1 MiB over about n x 10 ms, all on one line."""
    out = []
    for i in range(n):
        out.append(fill())
    return out


@profile
def run():
    kept = []
    for _ in range(3):
        kept.extend(batch(16))
        work(0.15)
    n = len(kept)
    del kept[:]
    work(0.15)
    return n


@profile
def early(mode):
    kept = batch(8)
    if mode == "raise":
        raise RuntimeError("%d MiB and no way out" % len(kept))
    while True:
        work(0.15)


if __name__ == "__main__":
    if len(sys.argv) > 1:
        early(sys.argv[1])
    print(run(), "MiB held at the peak")
