import dataclasses


@dataclasses.dataclass
class Point:
    x: int
    y: int

    def norm(self):
        return (self.x ** 2 + self.y ** 2) ** 0.5


print("norm", Point(3, 4).norm())
