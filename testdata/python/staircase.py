# Grows memory in steps and frees it, slowly enough (a step every 100 ms)
# for the memory timeline's samples to find each line: the editors'
# timeline tests profile climb.
import time

from memory_profiler import profile


@profile
def climb():
    blocks = []
    for i in range(3):
        blocks.append(b"x" * (16 << 20))
        time.sleep(0.1)
    n = len(blocks)
    del blocks
    time.sleep(0.1)
    return n


print("climbed", climb())
