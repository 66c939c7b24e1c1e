module example.com/memlens/govendor/app

go 1.22

require example.com/memlens/govendor/dep v1.0.0
