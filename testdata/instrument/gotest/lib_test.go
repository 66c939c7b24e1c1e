package gotest

import (
	"fmt"
	"testing"
)

//memlens:profile
func TestWords(t *testing.T) {
	for i := 0; i < 3; i++ {
		if got := Words("a b c"); len(got) != 3 {
			t.Errorf("got %v", got)
		}
	}
}

//memlens:profile
func ExampleWords() {
	fmt.Println(Words("x y"))
	// Output: [X Y]
}
