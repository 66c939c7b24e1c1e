from memory_profiler import profile


# Each run of line 12 allocates a 4 MiB buffer and frees it within the line:
# only the traced heap's peak sees it. Profiled with a 1 ms timeline, the
# sampler thread reads and resets that peak hundreds of times meanwhile,
# and must never make a spike vanish.
@profile
def spikes(n):
    total = 0
    for i in range(n):
        total += len(b"y" * (4 << 20))
    return total


print("spiked", spikes(2000))
