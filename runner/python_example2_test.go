package runner

import (
	"bufio"
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// The seed's Example 2 fetches this URL with requests; the tests answer it
// from wordsProxy and never let a request reach the internet.
const (
	wordsHost = "raw.githubusercontent.com"
	wordsPath = "/dwyl/english-words/master/words.txt"
)

// debianPython has python3-requests and python3-memory-profiler (see .ci/run).
const debianPython = "/usr/bin/python3"

// wordsProxy is an HTTPS man-in-the-middle proxy for Example 2: it accepts
// CONNECT to raw.githubusercontent.com:443 only, terminates TLS there with a
// leaf signed by its own CA (CAFile), and answers the word list's path with
// Body. Every other request is refused and recorded, so a test can prove
// nothing tried to go elsewhere.
type wordsProxy struct {
	URL    string // http://127.0.0.1:PORT
	CAFile string // PEM of the CA that signed the leaf
	Body   []byte

	leaf tls.Certificate

	mu      sync.Mutex
	served  int
	refused []string
}

func startWordsProxy(t *testing.T, bodySize int) *wordsProxy {
	t.Helper()
	p := &wordsProxy{Body: wordList(bodySize)}
	caPEM, leaf, err := newCAAndLeaf(wordsHost)
	if err != nil {
		t.Fatal(err)
	}
	p.leaf = leaf
	p.CAFile = filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(p.CAFile, caPEM, 0o644); err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	p.URL = "http://" + ln.Addr().String()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go p.handle(c)
		}
	}()
	return p
}

// Env is what a Python process needs to go through the proxy and trust it.
// Both spellings of every proxy variable are set, as urllib prefers the
// lower-case ones and the caller's environment may carry either.
func (p *wordsProxy) Env() []string {
	var env []string
	for _, v := range []string{"HTTPS_PROXY", "HTTP_PROXY", "ALL_PROXY"} {
		env = append(env, v+"="+p.URL, strings.ToLower(v)+"="+p.URL)
	}
	return append(env, "NO_PROXY=", "no_proxy=",
		"REQUESTS_CA_BUNDLE="+p.CAFile, "CURL_CA_BUNDLE="+p.CAFile, "SSL_CERT_FILE="+p.CAFile)
}

// check fails t unless exactly `want` word-list requests were served and
// nothing else was asked for.
func (p *wordsProxy) check(t *testing.T, want int) {
	t.Helper()
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(p.refused) > 0 {
		t.Errorf("requests that were not for the word list (refused): %q", p.refused)
	}
	if p.served != want {
		t.Errorf("the proxy served the word list %d times, want %d", p.served, want)
	}
}

func (p *wordsProxy) refuse(what string, w io.Writer) {
	p.mu.Lock()
	p.refused = append(p.refused, what)
	p.mu.Unlock()
	io.WriteString(w, "HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
}

func (p *wordsProxy) handle(c net.Conn) {
	defer c.Close()
	req, err := http.ReadRequest(bufio.NewReader(c))
	if err != nil {
		return
	}
	if req.Method != http.MethodConnect || req.Host != wordsHost+":443" {
		p.refuse(req.Method+" "+req.RequestURI, c)
		return
	}
	// The client speaks TLS only after this answer, so nothing is buffered yet.
	if _, err := io.WriteString(c, "HTTP/1.1 200 Connection established\r\n\r\n"); err != nil {
		return
	}
	tc := tls.Server(c, &tls.Config{Certificates: []tls.Certificate{p.leaf}})
	defer tc.Close()
	br := bufio.NewReader(tc)
	for {
		req, err := http.ReadRequest(br)
		if err != nil {
			return
		}
		io.Copy(io.Discard, req.Body)
		if req.Method != http.MethodGet || req.URL.Path != wordsPath {
			p.refuse(req.Method+" https://"+wordsHost+req.URL.RequestURI(), tc)
			return
		}
		p.mu.Lock()
		p.served++
		p.mu.Unlock()
		resp := &http.Response{
			StatusCode: http.StatusOK, ProtoMajor: 1, ProtoMinor: 1,
			// With a charset, requests decodes .text without guessing
			// (guessing over megabytes is slow), as with the real server.
			Header:        http.Header{"Content-Type": {"text/plain; charset=utf-8"}},
			ContentLength: int64(len(p.Body)),
			Body:          io.NopCloser(bytes.NewReader(p.Body)),
		}
		if err := resp.Write(tc); err != nil {
			return
		}
	}
}

// newCAAndLeaf makes a throwaway CA (returned as PEM) and a serving
// certificate for host signed by it.
func newCAAndLeaf(host string) ([]byte, tls.Certificate, error) {
	now := time.Now()
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, tls.Certificate{}, err
	}
	caTmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "memlens test CA"},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(24 * time.Hour),
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign | x509.KeyUsageDigitalSignature,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		return nil, tls.Certificate{}, err
	}
	ca, err := x509.ParseCertificate(caDER)
	if err != nil {
		return nil, tls.Certificate{}, err
	}
	leafKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, tls.Certificate{}, err
	}
	leafTmpl := &x509.Certificate{
		SerialNumber: big.NewInt(2),
		Subject:      pkix.Name{CommonName: host},
		DNSNames:     []string{host},
		NotBefore:    now.Add(-time.Hour),
		NotAfter:     now.Add(24 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	leafDER, err := x509.CreateCertificate(rand.Reader, leafTmpl, ca, &leafKey.PublicKey, caKey)
	if err != nil {
		return nil, tls.Certificate{}, err
	}
	caPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: caDER})
	return caPEM, tls.Certificate{Certificate: [][]byte{leafDER}, PrivateKey: leafKey}, nil
}

// wordList is a newline-separated list of distinct lower-case words, at
// least size bytes long, like dwyl's words.txt.
func wordList(size int) []byte {
	var b bytes.Buffer
	b.Grow(size + 16)
	for i := 0; b.Len() < size; i++ {
		w := strconv.FormatInt(int64(i)+26*26*26, 26) // at least 4 letters
		for _, r := range w {
			if r <= '9' {
				b.WriteByte(byte('a' + r - '0'))
			} else {
				b.WriteByte(byte('k' + r - 'a'))
			}
		}
		b.WriteByte('\n')
	}
	return b.Bytes()
}

// example2Dir copies the seed's Example 2 into a temporary directory: the
// script writes url.txt and wordParsing.txt into its working directory, and
// the repository must not be written.
func example2Dir(t *testing.T) string {
	t.Helper()
	src := filepath.Join(pyTestdata, "example2")
	dir := t.TempDir()
	for _, name := range []string{"main2.py", "memoryexample.py"} {
		data, err := os.ReadFile(filepath.Join(src, name))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func needDebianRequests(t *testing.T) {
	t.Helper()
	if err := exec.Command(debianPython, "-c", "import requests").Run(); err != nil {
		t.Skipf("%s cannot import requests (apt-get install python3-requests): %v", debianPython, err)
	}
}

// example2Body is big enough that the fetch shows in RSS, small enough that
// the script's character-by-character writelines stays quick.
const example2Body = 3 << 20

// TestProfilePythonExample2 runs the seed's Example 2 unchanged: main2.py
// imports baseExtr, whose @profile methods fetch the word list with requests
// (from wordsProxy) and write files.
func TestProfilePythonExample2(t *testing.T) {
	needDebianRequests(t)
	proxy := startWordsProxy(t, example2Body)
	dir := example2Dir(t)
	r := profilePy(t, Request{Dir: dir, Target: "main2.py", Python: debianPython, Env: proxy.Env()})
	if r.Status != "ok" {
		t.Fatalf("status %s (%s)\n%s", r.Status, r.Message, r.Output)
	}
	proxy.check(t, 1)

	want := []struct {
		name string
		occ  map[int]uint64
	}{
		// memory_profiler's counts: the decorator row gets the entry
		// reading, a for over 5 words runs its header 6 times, and the
		// with statement's line runs again when the block exits.
		{"baseExtr.parseURL", map[int]uint64{17: 1, 21: 1, 22: 2, 24: 1}},
		{"baseExtr.parseList", map[int]uint64{8: 1, 12: 1, 14: 6, 16: 5}},
	}
	if len(r.Functions) != len(want) {
		t.Fatalf("%d functions, want %d (one table per decorated method): %+v", len(r.Functions), len(want), r.Functions)
	}
	for i, w := range want {
		f := &r.Functions[i]
		if f.Name != w.name || f.Calls != 1 || filepath.Base(f.File) != "memoryexample.py" {
			t.Errorf("function %d = %s (%d calls) in %s, want %s called once in memoryexample.py", i, f.Name, f.Calls, f.File, w.name)
			continue
		}
		got := occurrences(f)
		if fmt.Sprint(got) != fmt.Sprint(w.occ) {
			t.Errorf("%s occurrences %v, want %v", f.Name, got, w.occ)
		}
	}

	url, _ := r.Function("baseExtr.parseURL")
	fetch, _ := url.Line(21)
	if !strings.Contains(fetch.Content, "requests.get(url).text") {
		t.Fatalf("line 21 is %q, not the fetch", fetch.Content)
	}
	// .text keeps the whole body as a str (1 byte a character for ASCII).
	if fetch.AllocBytes < int64(len(proxy.Body)) {
		t.Errorf("the fetch line allocated %d B, want at least the %d B body", fetch.AllocBytes, len(proxy.Body))
	}
	// The body is held twice on the way (bytes, then str): RSS must see it.
	if fetch.IncrementBytes < int64(len(proxy.Body))/2 {
		t.Errorf("the fetch line's RSS increment is %d B, want at least half the %d B body", fetch.IncrementBytes, len(proxy.Body))
	}

	for name, content := range map[string][]byte{"url.txt": proxy.Body, "wordParsing.txt": []byte("fivefourthreetwoone")} {
		got, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			t.Errorf("the script's %s is not in its working directory: %v", name, err)
		} else if !bytes.Equal(got, content) {
			t.Errorf("%s holds %d B, want %d B", name, len(got), len(content))
		}
	}
}
