# Loops written on one line: each iteration is an occurrence of the line,
# as memory_profiler (sys.settrace) counts it, on every Python version.


def fill(n):
    xs = []
    for i in range(n): xs.append(bytearray(1000))
    while len(xs) > 2: xs.pop()
    total = 0
    for x in xs: total += len(x)
    return total


print("filled", fill(5))
