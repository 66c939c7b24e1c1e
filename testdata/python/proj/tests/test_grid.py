from shapes import grid as g


def test_area(grid):
    assert g.area(grid) == 900


def test_empty():
    assert g.area([]) == 0
