package route

import (
	"strings"
	"testing"
)

func TestParse(t *testing.T) {
	tests := []struct {
		in, out, err string
	}{
		{"unreachable 2001:67c:1254::/48 dev lo metric 1024 error -113 pref medium", "unreachable 2001:67c:1254::/48 dev lo metric 1024", ""},
		{"2001:67c:1254:e:10::/80 via fe80::a8b6:97ff:fe99:8ca8 dev re6stnet8 proto babel metric 1024", "2001:67c:1254:e:10::/80 via fe80::a8b6:97ff:fe99:8ca8 dev re6stnet8 proto babel metric 1024", ""},
		{"default via fe80::1 dev eth0", "default via fe80::1 dev eth0 metric 1024", ""},
		{"blackhole 2001:db8::/32", "blackhole 2001:db8::/32 dev lo metric 1024", ""},
		{"2001:db8::1 dev eth0 proto 42", "2001:db8::1 dev eth0 proto babel metric 1024", ""},
		{"2001:db8::/48 via 10.0.0.1 dev eth0", "", "not an IPv6 address"},
		{"2001:db8::1/48 dev eth0", "", "host bits set"},
		{"2001:db8::/48", "", "needs `via GW` or `dev DEV`"},
		{"2001:db8::/48 dev", "", "wants a value"},
		{"2001:db8::/48 dev eth0 metric -1", "", "metric"},
		{"2001:db8::/48 dev eth0 bogus 1", "", "unexpected \"bogus\""},
		{"unreachable 2001:db8::/48 via fe80::1", "", "takes no gateway"},
		{"", "", "empty route"},
		{"2001:db8::/48 nhid 7 proto static", "2001:db8::/48 nhid 7 proto static metric 1024", ""},
		{"2001:db8::/48 nhid 7 via fe80::1 dev eth0", "", "takes its next hop from the nexthop object"},
		{"2001:db8::/48 nhid 0", "", "not a nexthop id"},
		{"unreachable 2001:db8::/48 nhid 3", "", "takes no nexthop object"},
	}
	for _, tt := range tests {
		r, err := Parse(tt.in)
		if tt.err != "" {
			if err == nil || !strings.Contains(err.Error(), tt.err) {
				t.Errorf("Parse(%q) error %v, want one containing %q", tt.in, err, tt.err)
			}
			continue
		}
		if err != nil || r.String() != tt.out {
			t.Errorf("Parse(%q) = %q, %v; want %q", tt.in, r.String(), err, tt.out)
		}
	}
}

func FuzzParse(f *testing.F) {
	for _, s := range []string{
		"unreachable 2001:67c:1254::/48 dev lo metric 1024",
		"2001:67c:1254:e:10::/80 via fe80::a8b6:97ff:fe99:8ca8 dev re6stnet8 proto babel metric 1024",
		"default via inet6 fe80::1 dev eth0 table 100",
		"2001:db8::1 dev eth0 expires 3sec",
		"2001:db8::/64 nhid 12 metric 512",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		r, err := Parse(s)
		if err != nil {
			return
		}
		// What we render parses back to the same route.
		again, err := Parse(r.String())
		if err != nil {
			t.Fatalf("Parse(%q) rendered %q, which does not parse: %v", s, r.String(), err)
		}
		if again.Type != r.Type || again.Prefix != r.Prefix || again.Gateway != r.Gateway || again.Dev != r.Dev || again.Metric != r.Metric || again.Table != r.Table || again.Proto != r.Proto || again.NHID != r.NHID {
			t.Fatalf("round trip of %q: %+v vs %+v", s, again, r)
		}
	})
}
