package examples

import (
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestDefFunc(t *testing.T) {
	if got := DefFunc(); len(got) != 8 {
		t.Fatalf("len = %d, want 8", len(got))
	}
}

// words stands in for the English word list the tutorial downloads.
func words(n int) string {
	var b strings.Builder
	for i := range n {
		b.WriteString("word")
		b.WriteByte(byte('a' + i%26))
		b.WriteByte('\n')
	}
	return b.String()
}

func TestParseURLAndList(t *testing.T) {
	body := words(20000)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte(body))
	}))
	defer srv.Close()

	wordExtract := &BaseExtr{Dir: t.TempDir(), Client: srv.Client()}
	n, err := wordExtract.ParseURL(srv.URL + "/words.txt")
	if err != nil || n != len(body) {
		t.Fatalf("ParseURL = %d, %v; want %d", n, err, len(body))
	}
	array := []string{"five", "four", "three", "two", "one"}
	if err := wordExtract.ParseList(array); err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(filepath.Join(wordExtract.Dir, "wordParsing.txt"))
	if err != nil || string(got) != "fivefourthreetwoone" {
		t.Errorf("wordParsing.txt = %q, %v", got, err)
	}
}

func TestLoadBuffer(t *testing.T) {
	if b := LoadBuffer(64 << 20); len(b) != 64<<20 || b[4096] != 0 || b[8192*3] != 0 {
		t.Fatalf("LoadBuffer: %d bytes", len(b))
	}
}
