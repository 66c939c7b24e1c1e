// Command tool prints the ordered pairs of its arguments and their tally:
// the only way lib.Pairs and lib.Tally get run besides cmd/pairs.
package main

import (
	"fmt"
	"os"
	"strings"

	"example.com/memlens/testdata/xpkg/lib"
)

func main() {
	pairs := lib.Pairs(os.Args[1:])
	fmt.Println(strings.Join(pairs, " "))
	fmt.Println(len(lib.Tally(pairs)), "distinct")
}
