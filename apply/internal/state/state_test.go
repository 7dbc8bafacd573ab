package state

import (
	"net/netip"
	"reflect"
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

// A dumped route keeps its wire route: whole without a nexthop object;
// on one, the fields a delete names (the rest the kernel expands from
// the object is not kept, and a delete does not name it).
func TestWireKept(t *testing.T) {
	a := netip.MustParseAddr
	st := &State{Foreign: map[Key]string{}, NHRefs: map[uint32]int{},
		Names: map[int]string{3: "va"}, Nexthops: map[uint32]*Object{7: {Wire: rtnl.Nexthop{ID: 7, Family: unix.AF_INET, Oif: 3, Gateway: a("10.9.0.2")}}}}
	tables := map[uint32]bool{254: true}
	plain := rtnl.Route{Family: unix.AF_INET, Dst: pfx("10.1.0.0/16"), Table: 254, Protocol: 250, Scope: unix.RT_SCOPE_UNIVERSE, Type: unix.RTN_UNICAST,
		Flags: unix.RTNH_F_ONLINK, Priority: 5, HasPriority: true, Prefsrc: a("10.9.0.1"), Oif: 3, Gateway: a("10.9.0.2")}
	onObj := rtnl.Route{Family: unix.AF_INET6, Dst: pfx("2001:db8::/48"), Table: 254, Protocol: 250, Scope: unix.RT_SCOPE_UNIVERSE, Type: unix.RTN_UNICAST,
		Flags: unix.RTNH_F_ONLINK, Priority: 1024, HasPriority: true, NHID: 7, Oif: 3, Gateway: a("fe80::1")}
	for _, r := range []rtnl.Route{plain, onObj} {
		st.add(&r, 250, tables)
		r.Dst = pfx("10.99.0.0/16") // add must have copied what it keeps
	}
	if got := st.Ours.Get(KeyOf(route.Key{Table: 254, Dst: pfx("10.1.0.0/16"), Metric: 5})).Wire(); !reflect.DeepEqual(got, plain) {
		t.Errorf("the route without an object: Wire %+v, want %+v", got, plain)
	}
	want := onObj
	want.Oif, want.Gateway = 0, netip.Addr{}
	if got := st.Ours.Get(KeyOf(route.Key{Table: 254, Dst: pfx("2001:db8::/48"), Metric: 1024})).Wire(); !reflect.DeepEqual(got, want) {
		t.Errorf("the route on object 7: Wire %+v, want %+v", got, want)
	}
}
