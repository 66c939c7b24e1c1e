# -*- coding: latin-1 -*-
@profile
def cafe():
    s = "café" * 1000
    return len(s)


print("café", cafe())
