module example.com/memlens/goreplace/app

go 1.22

require example.com/memlens/goreplace/lib v0.0.0

replace example.com/memlens/goreplace/lib => ../lib
