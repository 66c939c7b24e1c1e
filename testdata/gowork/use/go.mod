module example.com/memlens/gowork/use

go 1.26.0
