"""A package that is not a script: its functions run through its tests
(test_textutil.py for pytest, test_wordstats.py for pytest and unittest)."""
