def helper(n):
    return [0] * n


def compute():
    xs = helper(100)
    ys = [x + 1 for x in xs]
    return len(ys)


def needs(a):
    return a


class Box:
    def fill(self):
        return [1] * 10


def outer():
    def inner():
        return [2] * 5
    return inner()


if __name__ == "__main__":
    Box().fill()
    outer()
