// Package workloads holds the allocation-heavy functions that `make bench`
// profiles to compare memlens with `go test -memprofilerate=1` and with a
// plain `go test`. Each is sized so that one run takes long enough (a few
// hundred milliseconds) for the profiler's cost to dominate process start-up.
package workloads

import (
	"encoding/json"
	"strconv"
	"strings"
)

// MapBuild fills a map with n string keys ("key-0" … "key-(n-1)") and
// returns it; the bench uses n = 1,000,000.
func MapBuild(n int) map[string]int {
	m := make(map[string]int)
	for i := 0; i < n; i++ {
		k := "key-" + strconv.Itoa(i)
		m[k] = i
	}
	return m
}

// Order is the record JSONRoundTrip encodes and decodes.
type Order struct {
	ID       int               `json:"id"`
	Customer string            `json:"customer"`
	Items    []Item            `json:"items"`
	Tags     []string          `json:"tags"`
	Meta     map[string]string `json:"meta"`
}

// Item is one line of an Order.
type Item struct {
	SKU      string  `json:"sku"`
	Quantity int     `json:"quantity"`
	Price    float64 `json:"price"`
}

// JSONRoundTrip encodes n orders to JSON and decodes each back, returning the
// total number of encoded bytes and the sum of the decoded quantities.
func JSONRoundTrip(n int) (encoded int, quantity int, err error) {
	for i := 0; i < n; i++ {
		o := Order{
			ID:       i,
			Customer: "customer-" + strconv.Itoa(i%97),
			Tags:     []string{"fast", "gift", strconv.Itoa(i % 7)},
			Meta:     map[string]string{"source": "web", "batch": strconv.Itoa(i / 100)},
		}
		for j := 0; j < 5; j++ {
			o.Items = append(o.Items, Item{SKU: "sku-" + strconv.Itoa(i*5+j), Quantity: j + 1, Price: float64(j) * 1.25})
		}
		data, err := json.Marshal(o)
		if err != nil {
			return 0, 0, err
		}
		encoded += len(data)
		var back Order
		if err := json.Unmarshal(data, &back); err != nil {
			return 0, 0, err
		}
		for _, it := range back.Items {
			quantity += it.Quantity
		}
	}
	return encoded, quantity, nil
}

// BuildStrings builds n lines of text three ways (concatenation,
// strings.Builder, strings.Join) and returns the total length of the results.
func BuildStrings(n int) int {
	total := 0
	var b strings.Builder
	parts := make([]string, 0, 16)
	for i := 0; i < n; i++ {
		s := "line " + strconv.Itoa(i) + ": "
		for j := 0; j < 8; j++ {
			s += strconv.Itoa(j)
		}
		b.WriteString(s)
		b.WriteByte('\n')
		parts = append(parts[:0], s, strings.Repeat("-", i%16), strings.ToUpper(s))
		total += len(strings.Join(parts, "|"))
	}
	total += len(b.String())
	return total
}
