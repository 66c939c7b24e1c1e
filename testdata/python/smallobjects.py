import os

try:
    profile
except NameError:  # plain python, to measure what the program itself takes
    def profile(f):
        return f


def rss():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


@profile
def build(n):
    rows = [{"id": i, "name": "user%d" % i} for i in range(n)]
    return rows


before = rss()
rows = build(200000)
print("grew", rss() - before)
