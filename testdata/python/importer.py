from plainfunc import Box, helper


def compute():  # plainfunc has a compute too, which runs first
    return len(helper(10))


def main():
    import plainfunc
    plainfunc.compute()
    print("importer", compute(), len(Box().fill()))


main()
