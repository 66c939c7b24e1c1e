from memory_profiler import profile


@profile
def parse(items):
    out = []
    for s in items:
        out.append(int(s))
    return out


parse(["1", "2", "x", "4"])
