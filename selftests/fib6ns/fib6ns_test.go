package fib6ns

import (
	"slices"
	"strings"
	"testing"

	"raceroute/model/fib6"
)

// TestDumpOrder checks the walk order listings use: inner prefixes
// before the prefix holding them, disjoint ones by address, list order
// at one prefix.
func TestDumpOrder(t *testing.T) {
	lines := []string{
		"default via 2001:db8:1::1 dev eth0",
		"2001:db8:2::/64 dev eth1",
		"2001:db8:1::/64 dev eth0 proto kernel metric 256",
		"2001:db8:1:0:5::/80 via 2001:db8:1::9 dev eth0",
		"2001:db8:2::/64 via 2001:db8:2::8 dev eth1",
		"2001:db8:2:0:5::/80 via 2001:db8:2::9 dev eth1",
	}
	var rs []fib6.Route
	for _, l := range lines {
		r, err := fib6.ParseRoute(l)
		if err != nil {
			t.Fatal(err)
		}
		rs = append(rs, r)
	}
	dumpOrder(rs)
	var got []string
	for _, r := range rs {
		got = append(got, r.String())
	}
	want := []string{
		"2001:db8:1:0:5::/80 via 2001:db8:1::9 dev eth0 metric 1024",
		"2001:db8:1::/64 dev eth0 proto kernel metric 256",
		"2001:db8:2:0:5::/80 via 2001:db8:2::9 dev eth1 metric 1024",
		"2001:db8:2::/64 dev eth1 metric 1024",
		"2001:db8:2::/64 via 2001:db8:2::8 dev eth1 metric 1024",
		"default via 2001:db8:1::1 dev eth0 metric 1024",
	}
	if !slices.Equal(got, want) {
		t.Errorf("order\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

// FuzzParseAddrCmd feeds ip address lines, and the ip route lines of
// ipcmd's FuzzParseRouteArgs, to ParseAddrCmd: an error or a result,
// never a panic, and an IPv6 address it accepts has a prefix and a
// device.
func FuzzParseAddrCmd(f *testing.F) {
	for _, s := range []string{
		"2001:db8:104::/64 nexthop via 2001:db8:101::2 nexthop via 2001:db8:103::2",
		"2001:db8:104::/64 nexthop via inet6 2001:db8:101::2 dev veth1 weight 2",
		"2001:db8:102::/64 dsfield 0x04 via 2001:db8:101::2",
		"unreachable 2001:db8:104::/64 metric 512 table 100",
		"default nexthop",
		"dev dummy2 2001:db8:104::1 peer 2001:db8:104::2 metric 260",
		"dev dummy1 2001:db8:104::1/64 metric 257 nodad",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, line string) {
		c, fam, miss, err := ParseAddrCmd("change", strings.Fields(line))
		if err == nil && miss == "" && fam == 6 && (!c.addr.Prefix.IsValid() || c.dev == "") {
			t.Errorf("%q: address %v on %q", line, c.addr.Prefix, c.dev)
		}
	})
}
