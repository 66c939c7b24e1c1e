package workloads

import "testing"

func TestMapBuild(t *testing.T) {
	const n = 1_000_000
	m := MapBuild(n)
	if len(m) != n {
		t.Fatalf("len = %d, want %d", len(m), n)
	}
	if m["key-999999"] != 999999 {
		t.Errorf(`m["key-999999"] = %d`, m["key-999999"])
	}
}

func TestJSONRoundTrip(t *testing.T) {
	const n = 20_000
	encoded, quantity, err := JSONRoundTrip(n)
	if err != nil {
		t.Fatal(err)
	}
	if want := n * (1 + 2 + 3 + 4 + 5); quantity != want {
		t.Errorf("quantity = %d, want %d", quantity, want)
	}
	if encoded < n*200 {
		t.Errorf("encoded %d bytes for %d orders: too few", encoded, n)
	}
}

func TestBuildStrings(t *testing.T) {
	// Each line is "line I: 01234567" (16 bytes for I < 10): 17 bytes with
	// its newline in the builder, and 16+1+I+1+16 bytes joined.
	if got, want := BuildStrings(3), 3*17+(34+35+36); got != want {
		t.Errorf("BuildStrings(3) = %d, want %d", got, want)
	}
	if got := BuildStrings(50_000); got <= 0 {
		t.Errorf("BuildStrings(50000) = %d", got)
	}
}
