import functools


class K:
    # @profile over decorators whose result has no code of its own.
    @profile
    @staticmethod
    def s(n):
        return [0] * n

    @profile
    @classmethod
    def c(cls, n):
        return [1] * n

    @profile
    @property
    def p(self):
        return [2] * 10

    @profile
    @functools.lru_cache(maxsize=None)
    def cached(self, n):
        return [3] * n


@profile
@functools.lru_cache(maxsize=None)
def fib(n):
    return n if n < 2 else fib(n - 1) + fib(n - 2)


print("decorated", len(K.s(5)), len(K.c(6)), len(K().p), len(K().cached(7)), fib(20))
