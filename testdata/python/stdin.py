import sys


@profile
def load(stream):
    rows = []
    for line in stream:
        rows.append(line.split(","))
    return rows


if __name__ == "__main__":
    print("read", len(load(sys.stdin)), "rows")
