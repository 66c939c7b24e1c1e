from pkg.textutil import tally, tokens


def test_tokens():
    assert tokens("Hello, world! Hello.") == ["hello", "world", "hello"]


def test_tokens_many():
    text = " ".join("word%d" % i for i in range(5000))
    assert len(tokens(text)) == 5000


def test_arithmetic():
    assert 2 + 2 == 4


def test_tally_is_wrong():
    # Fails on purpose: memlens still shows what tally did before the assert.
    assert tally(["ab", "cde"]) == 6
