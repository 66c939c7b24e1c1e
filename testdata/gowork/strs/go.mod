module example.com/memlens/gowork/strs

go 1.26.0
