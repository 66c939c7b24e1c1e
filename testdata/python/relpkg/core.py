from .util import words


def count(text):
    return len(words(text))


def selfcheck():
    text = "a b c " * 1000
    return count(text)
