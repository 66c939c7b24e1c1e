import threading

from memory_profiler import profile

keep = []


@profile
def worker(n):
    block = b"x" * (n << 20)
    keep.append(block)


@profile
def run():
    t = threading.Thread(target=worker, args=(8,))
    t.start()
    t.join()
    small = [0] * 10
    return small


run()
print("threads done", len(keep[0]))
