import functools

KEEP = []


def logged(func):
    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        return func(*args, **kwargs)
    return wrapper


@logged
@profile
def work(n):
    rows = [{"id": i, "name": "n%d" % i} for i in range(n)]
    KEEP.append(bytearray(100000))
    return len(rows)


class Box:
    @staticmethod
    @profile
    def make(
        n,
        fill=b"x",
    ):
        return fill * n


print("work", work(2000), len(Box.make(10)))
