def make_grid(n):
    rows = []
    for i in range(n):
        rows.append([i] * n)
    return rows


def area(grid):
    return sum(len(row) for row in grid)
