package nl

import (
	"net"
	"net/netip"
	"testing"

	"github.com/jsimonetti/rtnetlink/v2"
	"golang.org/x/sys/unix"

	"raceroute/kernel"
	"raceroute/trace"
)

func mustMarshal(t testing.TB, m interface{ MarshalBinary() ([]byte, error) }) []byte {
	t.Helper()
	b, err := m.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestDecodeMessages(t *testing.T) {
	hw := net.HardwareAddr{2, 0, 0, 0, 0, 7}
	mac, _ := kernel.MACFrom(hw)
	route6, err := EncodeRoute(&trace.Route{Family: 6, Dst: netip.MustParsePrefix("2001:db8::/48"), Gateway: netip.MustParseAddr("fe80::1"),
		Ifindex: 3, Metric: 1024, Proto: 42, Type: kernel.RouteUnicast})
	if err != nil {
		t.Fatal(err)
	}
	cache, err := EncodeRoute(&trace.Route{Family: 6, Dst: netip.MustParsePrefix("2001:db8::1/128"), Cloned: true, Ifindex: 3})
	if err != nil {
		t.Fatal(err)
	}
	route4, err := EncodeRoute(&trace.Route{Family: 4, Dst: netip.MustParsePrefix("0.0.0.0/0"), Gateway: netip.MustParseAddr("10.0.0.1"), Table: 1000})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		typ  uint16
		data []byte
		want trace.Record
		ok   bool
	}{
		{"ipv6 route", unix.RTM_NEWROUTE, route6, trace.Record{Kind: trace.KindRoute, Action: trace.ActionNew, Route: trace.Route{
			Family: 6, Table: 254, Type: 1, Dst: netip.MustParsePrefix("2001:db8::/48"), Gateway: netip.MustParseAddr("fe80::1"),
			Ifindex: 3, Metric: 1024, Proto: 42}}, true},
		{"ipv6 cache entry deleted", unix.RTM_DELROUTE, cache, trace.Record{Kind: trace.KindRoute, Action: trace.ActionDel, Route: trace.Route{
			Family: 6, Table: 254, Type: 1, Dst: netip.MustParsePrefix("2001:db8::1/128"), Ifindex: 3, Proto: 4, Cloned: true}}, true},
		{"ipv6 PMTU exception with its mtu", unix.RTM_NEWROUTE, mustMarshal(t, &rtnetlink.RouteMessage{Family: unix.AF_INET6, DstLength: 128,
			Table: 254, Protocol: 2, Type: 1, Flags: unix.RTM_F_CLONED, Attributes: rtnetlink.RouteAttributes{
				Dst: net.ParseIP("2001:db8::7"), OutIface: 3, Gateway: net.ParseIP("fe80::1"), Metrics: &rtnetlink.RouteMetrics{MTU: 1400}}}),
			trace.Record{Kind: trace.KindRoute, Action: trace.ActionNew, Route: trace.Route{Family: 6, Table: 254, Type: 1,
				Dst: netip.MustParsePrefix("2001:db8::7/128"), Gateway: netip.MustParseAddr("fe80::1"), Ifindex: 3, Proto: 2, Cloned: true, MTU: 1400}}, true},
		{"ipv4 default route, table above 255", unix.RTM_NEWROUTE, route4, trace.Record{Kind: trace.KindRoute, Action: trace.ActionNew, Route: trace.Route{
			Family: 4, Table: 1000, Type: 1, Dst: netip.MustParsePrefix("0.0.0.0/0"), Gateway: netip.MustParseAddr("10.0.0.1"), Proto: 4}}, true},
		{"neighbour", unix.RTM_NEWNEIGH, mustMarshal(t, &rtnetlink.NeighMessage{Family: unix.AF_INET, Index: 2, State: uint16(kernel.NUDStale), Flags: unix.NTF_ROUTER,
			Attributes: &rtnetlink.NeighAttributes{Address: net.ParseIP("10.0.0.2").To4(), LLAddress: hw}}),
			trace.Record{Kind: trace.KindNeigh, Action: trace.ActionNew, Neigh: trace.Neigh{Family: 4, Addr: netip.MustParseAddr("10.0.0.2"),
				LLAddr: mac, Ifindex: 2, State: kernel.NUDStale, Router: true}}, true},
		{"noarp neighbour skipped", unix.RTM_NEWNEIGH, mustMarshal(t, &rtnetlink.NeighMessage{Family: unix.AF_INET6, Index: 2, State: uint16(kernel.NUDNoARP),
			Attributes: &rtnetlink.NeighAttributes{Address: net.ParseIP("ff02::1")}}), trace.Record{}, false},
		{"bridge fdb entry skipped", unix.RTM_NEWNEIGH, mustMarshal(t, &rtnetlink.NeighMessage{Family: unix.AF_BRIDGE, Index: 2, State: uint16(kernel.NUDReachable),
			Attributes: &rtnetlink.NeighAttributes{LLAddress: hw}}), trace.Record{}, false},
		{"link", unix.RTM_NEWLINK, mustMarshal(t, &rtnetlink.LinkMessage{Index: 5, Flags: unix.IFF_UP,
			Attributes: &rtnetlink.LinkAttributes{Name: "eth0", Address: hw, MTU: 9000}}),
			trace.Record{Kind: trace.KindLink, Action: trace.ActionNew, Link: trace.Link{Index: 5, Name: "eth0", MAC: mac, Up: true, MTU: 9000}}, true},
		{"address", unix.RTM_DELADDR, mustMarshal(t, &rtnetlink.AddressMessage{Family: unix.AF_INET6, PrefixLength: 64, Index: 5,
			Attributes: &rtnetlink.AddressAttributes{Address: net.ParseIP("2001:db8::5")}}),
			trace.Record{Kind: trace.KindAddr, Action: trace.ActionDel, Addr: trace.Addr{Family: 6, Prefix: netip.MustParsePrefix("2001:db8::5/64"), Ifindex: 5}}, true},
		{"other message type", unix.RTM_NEWRULE, route6, trace.Record{}, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r, ok, err := Decode(tc.typ, tc.data)
			if err != nil || ok != tc.ok {
				t.Fatalf("Decode: ok=%v err=%v, want ok=%v", ok, err, tc.ok)
			}
			if !ok {
				return
			}
			if r.Kind != tc.want.Kind || r.Action != tc.want.Action || !sameRoute(r.Route, tc.want.Route) ||
				!sameNeigh(r.Neigh, tc.want.Neigh) || r.Link != tc.want.Link || r.Addr != tc.want.Addr {
				t.Errorf("Decode =\n%+v\nwant\n%+v", r, tc.want)
			}
		})
	}
	// Every truncation of a valid message is an error or a skip, never a panic.
	for _, tc := range tests {
		for i := range tc.data {
			Decode(tc.typ, tc.data[:i])
		}
	}
}

func FuzzDecode(f *testing.F) {
	b, _ := EncodeRoute(&trace.Route{Family: 6, Dst: netip.MustParsePrefix("2001:db8::/48"), Gateway: netip.MustParseAddr("fe80::1"), Metric: 1})
	f.Add(uint16(unix.RTM_NEWROUTE), b)
	f.Add(uint16(unix.RTM_NEWNEIGH), []byte{10, 0, 0, 0, 2, 0, 0, 0, 4, 0, 0, 0, 20, 0, 1, 0})
	f.Fuzz(func(t *testing.T, typ uint16, data []byte) {
		Decode(typ, data) // must not panic
	})
}

func TestViewDiff(t *testing.T) {
	link := trace.Record{Kind: trace.KindLink, Action: trace.ActionNew, Link: trace.Link{Index: 2, Name: "va", Up: true}}
	rt := func(dst, gw string) trace.Record {
		return trace.Record{Kind: trace.KindRoute, Action: trace.ActionNew, Route: trace.Route{Family: 6, Table: 254,
			Dst: netip.MustParsePrefix(dst), Gateway: netip.MustParseAddr(gw), Ifindex: 2, Dev: "va", Metric: 1024}}
	}
	aged := rt("2001:db8::/64", "fe80::1")
	aged.Route.Expires, aged.Route.Used = 5e9, 7
	tests := []struct {
		name string
		a, b []trace.Record
		want []string
	}{
		{"equal", []trace.Record{link, rt("2001:db8::/64", "fe80::1")}, []trace.Record{link, rt("2001:db8::/64", "fe80::1")}, nil},
		{"ages ignored", []trace.Record{link, rt("2001:db8::/64", "fe80::1")}, []trace.Record{link, aged}, nil},
		{"missing", []trace.Record{link}, []trace.Record{link, rt("2001:db8::/64", "fe80::1")},
			[]string{"+ route type 0 2001:db8::/64 via fe80::1 oif 2 table 254 metric 1024 proto 0 scope 0 src invalid IP error 0"}},
		{"extra", []trace.Record{link, rt("2001:db8::/64", "fe80::1")}, []trace.Record{link},
			[]string{"- route type 0 2001:db8::/64 via fe80::1 oif 2 table 254 metric 1024 proto 0 scope 0 src invalid IP error 0"}},
		{"changed gateway", []trace.Record{link, rt("2001:db8::/64", "fe80::1")}, []trace.Record{link, rt("2001:db8::/64", "fe80::2")},
			[]string{"+ route type 0 2001:db8::/64 via fe80::2 oif 2 table 254 metric 1024 proto 0 scope 0 src invalid IP error 0"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := ViewOf(tc.a).Differences(ViewOf(tc.b))
			if len(got) != len(tc.want) {
				t.Fatalf("Differences = %q, want %q", got, tc.want)
			}
			for i := range got {
				if got[i] != tc.want[i] {
					t.Errorf("Differences[%d] = %q, want %q", i, got[i], tc.want[i])
				}
			}
		})
	}
	// A diff applied to its source gives its target.
	a := ViewOf([]trace.Record{link, rt("2001:db8::/64", "fe80::1"), rt("2001:db8:1::/64", "fe80::1")})
	b := ViewOf([]trace.Record{link, rt("2001:db8::/64", "fe80::2"), rt("2001:db8:2::/64", "fe80::1")})
	for _, r := range a.Diff(b) {
		a.Apply(&r)
	}
	if d := a.Differences(b); len(d) != 0 {
		t.Errorf("after applying the diff: %q", d)
	}
}

// Routes that differ in one part of the replace key are different
// routes of the view; a route with the same key replaces the one there.
func TestViewRouteKeys(t *testing.T) {
	base := trace.Route{Family: 4, Table: 254, Dst: netip.MustParsePrefix("10.0.0.0/8"), Gateway: netip.MustParseAddr("10.9.0.2"), Ifindex: 2, Metric: 1024}
	with := func(f func(*trace.Route)) trace.Route { r := base; f(&r); return r }
	distinct := []trace.Route{
		base,
		with(func(r *trace.Route) { r.Table = 100 }),
		with(func(r *trace.Route) { r.Metric = 20 }),
		with(func(r *trace.Route) { r.Dst = netip.MustParsePrefix("10.0.0.0/9") }),
		with(func(r *trace.Route) { r.Dst = netip.MustParsePrefix("11.0.0.0/8") }),
		// The IPv4-mapped form of the destination, as an IPv6 route.
		with(func(r *trace.Route) { r.Family, r.Dst = 6, netip.MustParsePrefix("::ffff:10.0.0.0/104") }),
		with(func(r *trace.Route) { r.Family, r.Dst = 6, netip.MustParsePrefix("::ffff:10.0.0.0/8") }),
		with(func(r *trace.Route) { r.Dst = netip.Prefix{} }),
		with(func(r *trace.Route) { r.Cloned = true }),
		with(func(r *trace.Route) { r.Cloned, r.Ifindex = true, 3 }),
	}
	same := []trace.Route{
		with(func(r *trace.Route) { r.Gateway = netip.MustParseAddr("10.9.0.3") }),
		with(func(r *trace.Route) { r.Ifindex = 3 }), // not a cache entry: the device is no part of the key
	}
	var recs []trace.Record
	for _, r := range append(distinct, same...) {
		recs = append(recs, trace.Record{Kind: trace.KindRoute, Action: trace.ActionNew, Route: r})
	}
	v := ViewOf(recs)
	if got := v.RouteList(); len(got) != len(distinct) {
		t.Fatalf("view holds %d routes, want %d: %+v", len(got), len(distinct), got)
	}
	for _, r := range distinct[1:] {
		if !v.Has(&trace.Record{Kind: trace.KindRoute, Route: r}) {
			t.Errorf("route %+v missing", r)
		}
	}
	del := trace.Record{Kind: trace.KindRoute, Action: trace.ActionDel, Route: same[1]}
	v.Apply(&del)
	if v.Has(&trace.Record{Kind: trace.KindRoute, Route: base}) || len(v.RouteList()) != len(distinct)-1 {
		t.Errorf("deleting by key left %+v", v.RouteList())
	}
}
