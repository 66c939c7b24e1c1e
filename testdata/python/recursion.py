from memory_profiler import profile


@profile
def build(n):
    if n == 0:
        return []
    rest = build(n - 1)
    return rest + [n] * 100


print(len(build(5)))
