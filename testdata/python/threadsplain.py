import threading

from memory_profiler import profile

keep = []


def fill(n):
    # Not profiled: these 8 MiB are the worker thread's, not run's.
    keep.append(b"x" * (n << 20))


@profile
def run():
    t = threading.Thread(target=fill, args=(8,))
    t.start()
    t.join()
    return len(keep[0])


print("filled", run())
