// Command wordcount counts the words of its input files (or stdin) and
// prints the most frequent ones.
package main

import (
	"bufio"
	"flag"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
)

// Count reads r and counts each lower-cased word.
func Count(r io.Reader) (map[string]int, error) {
	counts := make(map[string]int)
	sc := bufio.NewScanner(r)
	sc.Split(bufio.ScanWords)
	for sc.Scan() {
		w := strings.ToLower(strings.Trim(sc.Text(), ".,;:!?\"'()"))
		if w != "" {
			counts[w]++
		}
	}
	return counts, sc.Err()
}

type entry struct {
	word string
	n    int
}

// Top returns the n most frequent words, ties in alphabetical order.
func Top(counts map[string]int, n int) []entry {
	es := make([]entry, 0, len(counts))
	for w, c := range counts {
		es = append(es, entry{w, c})
	}
	sort.Slice(es, func(i, j int) bool {
		if es[i].n != es[j].n {
			return es[i].n > es[j].n
		}
		return es[i].word < es[j].word
	})
	return es[:min(n, len(es))]
}

const sample = `It was the best of times, it was the worst of times, it was the age of
wisdom, it was the age of foolishness, it was the epoch of belief, it was the
epoch of incredulity, it was the season of Light, it was the season of Darkness.`

func main() {
	top := flag.Int("top", 5, "how many words to print")
	flag.Parse()
	var r io.Reader = strings.NewReader(sample)
	if flag.NArg() > 0 {
		var readers []io.Reader
		for _, name := range flag.Args() {
			f, err := os.Open(name)
			if err != nil {
				fmt.Fprintln(os.Stderr, err)
				os.Exit(1)
			}
			defer f.Close()
			readers = append(readers, f)
		}
		r = io.MultiReader(readers...)
	}
	counts, err := Count(r)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	for _, e := range Top(counts, *top) {
		fmt.Printf("%6d %s\n", e.n, e.word)
	}
}
