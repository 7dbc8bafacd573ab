package nexthop

import (
	"strings"
	"testing"
)

func TestParse(t *testing.T) {
	tests := []struct{ in, out, err string }{
		{"id 1 via fe80::1 dev eth0", "id 1 via fe80::1 dev eth0", ""},
		{"id 2 dev eth1 proto static", "id 2 dev eth1", ""},
		{"id 3 blackhole", "id 3 blackhole", ""},
		{"id 10 group 1/2,3", "id 10 group 1/2", ""},
		{"id 10 group 1/1", "", "twice"},
		{"id 10 group 10/1", "", "contain itself"},
		{"id 0 dev eth0", "", "not a number"},
		{"id 1", "", "exactly one of them"},
		{"id 1 blackhole dev eth0", "", "exactly one of them"},
		{"id 1 via fe80::1", "", "needs `dev`"},
		{"id 1 via 10.0.0.1 dev eth0", "", "not an IPv6 address"},
		{"1 dev eth0", "", "want id N"},
		{"id 1 dev", "", "wants a value"},
		{"id 1 dev eth0 colour red", "", "unexpected \"colour\""},
		{"id 9 group 1/2/3/4/5/6/7/8/9", "", "at most 8"},
	}
	for _, tt := range tests {
		n, err := Parse(tt.in)
		if tt.err != "" {
			if err == nil || !strings.Contains(err.Error(), tt.err) {
				t.Errorf("Parse(%q) error %v, want one containing %q", tt.in, err, tt.err)
			}
			continue
		}
		if err != nil || n.String() != tt.out {
			t.Errorf("Parse(%q) = %q, %v; want %q", tt.in, n.String(), err, tt.out)
		}
	}
}

func FuzzParse(f *testing.F) {
	for _, s := range []string{"id 1 via fe80::1 dev eth0", "id 3 blackhole", "id 10 group 1/2,4", "id 2 dev lo"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		n, err := Parse(s)
		if err != nil {
			return
		}
		// What we render parses back to the same object.
		again, err := Parse(n.String())
		if err != nil {
			t.Fatalf("Parse(%q) rendered %q, which does not parse: %v", s, n.String(), err)
		}
		if !again.Same(n) {
			t.Fatalf("round trip of %q: %+v vs %+v", s, again, n)
		}
	})
}
