package ipcmd

import (
	"strings"
	"testing"
)

// FuzzParseRouteArgs feeds ip route lines, multipath ones among them,
// and ip address lines to ParseRouteArgs: an error or a result, never a
// panic (fib6ns's FuzzParseAddrCmd feeds the same lines to its address
// parser).
func FuzzParseRouteArgs(f *testing.F) {
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
		ra, err := ParseRouteArgs(strings.Fields(line))
		if err == nil && ra.Family != 4 && ra.Family != 6 {
			t.Errorf("%q: family %d", line, ra.Family)
		}
	})
}
