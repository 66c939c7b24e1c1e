from memory_profiler import profile

keep = []


@profile
def grow(times):
    for i in range(times):
        block = b"x" * (3 << 20)
        keep.append(block)
    spike = len(b"y" * (16 << 20))
    total = sum(len(b) for b in keep)
    return total + spike


grow(4)
print("kept", len(keep))
