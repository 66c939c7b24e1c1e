import sys


def longest(words):
    best = ""
    for w in words:
        if len(w) > len(best):
            best = w
    return best


if __name__ == "__main__":
    print("longest", longest(sys.argv[1:]))
