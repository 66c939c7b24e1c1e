@profile
def comp(n):
    d = [bytearray(1000) for i in range(n)]
    total = sum(len(b) for b in d)
    return total


@profile
def rec(n):
    if n == 0:
        return []
    keep = b"k" * (1 << 20)
    rest = rec(n - 1)
    rest.append(keep)
    return rest


print("comprehension", comp(8000), len(rec(5)))
