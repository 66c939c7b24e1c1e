import multiprocessing as mp


def child(n):
    return len(bytearray(n))


@profile
def run():
    ctx = mp.get_context("spawn")
    with ctx.Pool(2) as pool:
        return sum(pool.map(child, [10, 20]))


if __name__ == "__main__":
    print("spawned", run())
