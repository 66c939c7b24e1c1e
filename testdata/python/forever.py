import time

from memory_profiler import profile


@profile
def spin():
    n = 0
    while True:
        n += 1
        time.sleep(0.01)


print("spinning", flush=True)
spin()
