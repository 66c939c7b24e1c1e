module example.com/memlens/goreplace/lib

go 1.22
