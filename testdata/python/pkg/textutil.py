"""Text helpers. Running this file calls nothing: memlens runs a function
here through the tests that reach it."""


def tokens(text):
    words = []
    for raw in text.split():
        word = raw.strip(".,;:!?").lower()
        if word:
            words.append(word)
    return words


def count_words(text):
    counts = {}
    for word in tokens(text):
        counts[word] = counts.get(word, 0) + 1
    return counts


def tally(items):
    total = 0
    for item in items:
        total += len(item)
    return total


def shout(text):
    return text.upper() + "!"


def banner():
    line = "=" * 40
    return line
