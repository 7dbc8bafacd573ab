package state

import (
	"net/netip"
	"testing"

	"golang.org/x/sys/unix"

	"raceroute/apply/internal/rtnl"
	"raceroute/apply/route"
)

func pfx(s string) netip.Prefix { return netip.MustParsePrefix(s) }

func TestStaleClones(t *testing.T) {
	a := netip.MustParseAddr
	r := func(dst string, typ uint8, oif int, g string) rtnl.Route {
		x := rtnl.Route{Family: unix.AF_INET6, Dst: pfx(dst), Table: 254, Type: typ, Oif: oif}
		if g != "" {
			x.Gateway = a(g)
		}
		return x
	}
	routes := []rtnl.Route{r("2001:db8::/48", unix.RTN_UNREACHABLE, 1, ""), r("2001:db8:0:10::/80", unix.RTN_UNICAST, 3, "fe80::2")}
	cache := []rtnl.Route{
		r("2001:db8:0:10::1/128", unix.RTN_UNREACHABLE, 1, ""),    // the seed's clone: contradicts the /80
		r("2001:db8:0:10::2/128", unix.RTN_UNICAST, 3, "fe80::2"), // agrees
		r("2001:db8:0:10::3/128", unix.RTN_UNICAST, 2, "fe80::1"), // the old gateway
		r("2001:db8:0:20::1/128", unix.RTN_UNREACHABLE, 1, ""),    // agrees with the /48
		r("2001:db9::1/128", unix.RTN_UNICAST, 2, "fe80::1"),      // not under a changed prefix
	}
	got := staleClones(cache, routes, []route.Route{{Dst: pfx("2001:db8:0:10::/80"), Table: 254}, {Dst: pfx("2001:db8:0:20::/64"), Table: 254}})
	if len(got) != 2 || got[0].Dst != pfx("2001:db8:0:10::1/128") || got[1].Dst != pfx("2001:db8:0:10::3/128") {
		t.Fatalf("stale clones %v", got)
	}
}
