import ctypes
import mmap

from memory_profiler import profile

SIZE = 64 << 20  # 64 MiB of RSS that the traced (Python) heap never sees


def address(m):
    return ctypes.addressof(ctypes.c_char.from_buffer(m))


@profile
def touch():
    a = mmap.mmap(-1, SIZE)
    ctypes.memset(address(a), 1, SIZE)  # one C call: no line event while it runs
    b = mmap.mmap(-1, SIZE)
    for i in range(0, SIZE, 4096):  # a byte a page
        b[i] = 1
    return a, b


@profile
def fill_last(m):
    ctypes.memset(address(m), 1, SIZE)  # the frame's last line: read as it returns


maps = touch()
c = mmap.mmap(-1, SIZE)
fill_last(c)
print("touched", (sum(len(m) for m in maps) + len(c)) >> 20, "MiB")
