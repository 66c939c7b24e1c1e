import sys

from tool.words import longest

if __name__ == "__main__":
    print("longest", longest(sys.argv[1:] or ["a", "bb"]))
