# memory_profiler's documented style: no import, run as
#   python -m memory_profiler bareprofile.py
# where `profile` is a builtin. memlens makes it one too.


@profile
def build(n):
    parts = [str(i) for i in range(n)]
    joined = ",".join(parts)
    return len(joined)


print("built", build(1000))
