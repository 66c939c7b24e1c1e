import unittest

from pkg import textutil


class WordStats(unittest.TestCase):
    def test_count_words(self):
        self.assertEqual(textutil.count_words("a b a"), {"a": 2, "b": 1})

    def test_strings(self):
        self.assertEqual("a" * 3, "aaa")


if __name__ == "__main__":
    unittest.main()
