from memory_profiler import profile


class Grid:
    def __init__(self, n):
        self.n = n

    @profile
    def cells(self):
        rows = [[0] * self.n for _ in range(self.n)]
        return rows

    @classmethod
    @profile
    def square(cls, n):
        g = cls(n)
        return g

    @staticmethod
    @profile
    def area(n):
        a = n * n
        return a


g = Grid.square(50)
print(len(g.cells()), Grid.area(7))
