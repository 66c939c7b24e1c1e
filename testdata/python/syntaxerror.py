from memory_profiler import profile


@profile
def broken(:
    return 1
