// Command pairs prints how many ordered pairs its arguments make.
package main

import (
	"fmt"
	"os"

	"example.com/memlens/testdata/xpkg/lib"
)

func main() {
	fmt.Println(len(lib.Pairs(os.Args[1:])), "pairs")
}
