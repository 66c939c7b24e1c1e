import time

from memory_profiler import profile


def build_slowly(parts):
    # Not profiled: allocates parts MiB over parts/10 seconds, so memlens's
    # periodic writes (every 0.25 s) happen while line 18 runs.
    chunks = []
    for _ in range(parts):
        chunks.append(b"x" * (1 << 20))
        time.sleep(0.1)
    return chunks


@profile
def load():
    data = build_slowly(8)
    return len(data)


print("loaded", load())
