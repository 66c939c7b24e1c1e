// Package examples holds Go versions of the memory_profiler tutorial's
// examples: DefFunc (Example 1) and the word extractor (Example 2).
package examples

import (
	"bufio"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
)

// repeat returns a slice holding n copies of v, like Python's [v] * n.
func repeat(v, n int) []int {
	s := make([]int, n)
	for i := range s {
		s[i] = v
	}
	return s
}

// DefFunc is Example 1: build three lists, drop two, return the small one.
func DefFunc() []int {
	var1 := repeat(1, 6*6*6*6)
	var2 := repeat(1, 2*2*2)
	var3 := repeat(2, 4*6*6*6)
	var3 = nil
	var1 = nil
	_, _ = var1, var3
	return var2
}

// BaseExtr is Example 2's base extractor: it writes what it parses to
// files in Dir.
type BaseExtr struct {
	Dir    string
	Client *http.Client
}

// ParseList writes each word of array to wordParsing.txt.
func (b *BaseExtr) ParseList(array []string) error {
	sampleFile, err := os.Create(filepath.Join(b.Dir, "wordParsing.txt"))
	if err != nil {
		return err
	}
	defer sampleFile.Close()
	w := bufio.NewWriter(sampleFile)
	for _, parsedWords := range array {
		if _, err := w.WriteString(parsedWords); err != nil {
			return err
		}
	}
	return w.Flush()
}

// ParseURL fetches url and writes the response body to url.txt.
func (b *BaseExtr) ParseURL(url string) (int, error) {
	resp, err := b.Client.Get(url)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return 0, fmt.Errorf("fetch %s: %s", url, resp.Status)
	}
	response, err := io.ReadAll(resp.Body)
	if err != nil {
		return 0, err
	}
	sampleFile, err := os.Create(filepath.Join(b.Dir, "url.txt"))
	if err != nil {
		return 0, err
	}
	defer sampleFile.Close()
	n, err := sampleFile.Write(response)
	return n, err
}

// LoadBuffer allocates an n-byte buffer and writes every page of it, as
// reading a large file into memory does: its memory shows in RSS, not only
// in the allocation counts.
func LoadBuffer(n int) []byte {
	buf := make([]byte, n)
	for i := 0; i < len(buf); i += 4096 {
		buf[i] = byte(i)
	}
	return buf
}
