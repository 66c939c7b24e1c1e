import pytest

from shapes.grid import make_grid


@pytest.fixture
def grid():
    return make_grid(30)
