module example.com/memlens/testdata

go 1.26.0
