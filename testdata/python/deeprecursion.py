import sys


@profile
def down(n):
    if n == 0:
        return 0
    return 1 + down(n - 1)


@profile
def after():
    x = [0] * 1000
    return len(x)


try:
    down(100000)
except RecursionError:
    print("recursion error caught")  # the trace function, a frame deeper, failed first (before 3.12)
print(after(), down(10))
