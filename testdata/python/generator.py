from memory_profiler import profile


@profile
def squares(n):
    for i in range(n):
        yield [i] * 1000
    done = True


total = 0
for chunk in squares(4):
    total += len(chunk)
print("total", total)
