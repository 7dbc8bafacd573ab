package view

import (
	"net/netip"
	"testing"
	"time"

	"raceroute/kernel"
	"raceroute/trace"
)

// The store gives back every route exactly as it was set: packed when it
// packs back to itself, whole otherwise (a time with a monotonic
// reading).
func TestRouteStoreRoundTrip(t *testing.T) {
	at := time.Date(2026, 12, 2, 12, 0, 0, 123456789, time.UTC)
	base := trace.Route{Family: 4, Table: trace.TableMain, Type: kernel.RouteUnicast, Dst: netip.MustParsePrefix("10.64.0.1/32"),
		Gateway: netip.MustParseAddr("10.9.0.2"), Dev: "veth-a", Ifindex: 2, Metric: 1024, Proto: kernel.ProtoBoot}
	with := func(f func(*RouteEntry)) RouteEntry {
		e := RouteEntry{Route: base, Since: at}
		f(&e)
		return e
	}
	for _, tc := range []struct {
		name string
		e    RouteEntry
		want spot
	}{
		{"storm route", with(func(*RouteEntry) {}), spotOne},
		{"no time", with(func(e *RouteEntry) { e.Since = time.Time{} }), spotOne},
		{"zero time elsewhere", with(func(e *RouteEntry) { e.Since = time.Time{}.In(time.FixedZone("X", 3600)) }), spotOne},
		{"local time", with(func(e *RouteEntry) { e.Since = at.Local() }), spotOne},
		{"fixed zone", with(func(e *RouteEntry) { e.Since = at.In(time.FixedZone("CET", 3600)) }), spotOne},
		{"year 1", with(func(e *RouteEntry) { e.Since = time.Date(1, 1, 1, 0, 0, 0, 1, time.UTC) }), spotOne},
		{"monotonic", with(func(e *RouteEntry) { e.Since = time.Now() }), spotMany},
		{"ipv6 every field", with(func(e *RouteEntry) {
			e.Route = trace.Route{Family: 6, Table: 100, Type: kernel.RouteUnreachable, Dst: netip.MustParsePrefix("2001:db8::/48"),
				Src: netip.MustParseAddr("2001:db8::1"), Gateway: netip.MustParseAddr("fe80::1"), Dev: "eth0", Ifindex: 7,
				Metric: 4294967295, Proto: 42, Scope: 253, Error: -101, Expires: 3 * time.Second, Used: 9, MTU: 1280, NHID: 12}
		}), spotOne},
		{"4in6", with(func(e *RouteEntry) {
			e.Route.Family, e.Route.Dst = 6, netip.MustParsePrefix("::ffff:10.64.0.1/128")
			e.Route.Gateway, e.Route.Src = netip.MustParseAddr("::ffff:10.9.0.2"), netip.MustParseAddr("::ffff:10.9.0.1")
		}), spotOne},
		{"host bits", with(func(e *RouteEntry) { e.Route.Dst = netip.PrefixFrom(netip.MustParseAddr("10.1.2.3"), 8) }), spotOne},
		{"no device name", with(func(e *RouteEntry) { e.Route.Dev = "" }), spotOne},
		{"zone", with(func(e *RouteEntry) {
			e.Route.Family, e.Route.Dst, e.Route.Gateway = 6, netip.MustParsePrefix("2001:db8::/64"), netip.MustParseAddr("fe80::1%eth0")
		}), spotOne},
		{"big use count", with(func(e *RouteEntry) { e.Route.Used = 1 << 40 }), spotOne},
		{"big ifindex", with(func(e *RouteEntry) { e.Route.Ifindex = -1 << 40 }), spotOne},
		{"no destination", with(func(e *RouteEntry) { e.Route.Dst = netip.Prefix{} }), spotOne},
		{"invalid prefix", with(func(e *RouteEntry) { e.Route.Dst = netip.PrefixFrom(netip.MustParseAddr("10.1.2.3"), 40) }), spotOne},
		{"cloned", with(func(e *RouteEntry) { e.Route.Cloned = true }), spotOne},
	} {
		s := newRouteStore()
		pk := KeyOf(tc.e.Route).Node()
		s.set(pk, spotNone, []RouteEntry{tc.e})
		var buf [1]RouteEntry
		es, at := s.get(pk, &buf)
		if len(es) != 1 || es[0] != tc.e {
			t.Errorf("%s: got %+v, want %+v", tc.name, es, tc.e)
		}
		if at != tc.want {
			t.Errorf("%s: kept at %d, want %d", tc.name, at, tc.want)
		}
	}
}

// A node moves between the packed and the whole map as it gains and
// loses routes, and is never in both.
func TestRouteStoreMoves(t *testing.T) {
	r1 := trace.Route{Family: 6, Table: trace.TableMain, Dst: netip.MustParsePrefix("2001:db8::/64"), Gateway: netip.MustParseAddr("fe80::1"), Dev: "eth0", Metric: 1024}
	r2 := r1
	r2.Gateway = netip.MustParseAddr("fe80::2")
	e1, e2 := RouteEntry{Route: r1}, RouteEntry{Route: r2}
	pk := KeyOf(r1).Node()
	s := newRouteStore()
	var buf [1]RouteEntry
	for i, step := range []struct {
		set  []RouteEntry
		want spot
	}{
		{[]RouteEntry{e1}, spotOne},
		{[]RouteEntry{e1, e2}, spotMany},
		{[]RouteEntry{e2}, spotOne},
		{[]RouteEntry{e2, e1}, spotMany},
		{nil, spotNone},
	} {
		_, from := s.get(pk, &buf)
		s.set(pk, from, step.set)
		es, at := s.get(pk, &buf)
		if at != step.want || len(es) != len(step.set) {
			t.Fatalf("step %d: %d routes at %d, want %d at %d", i, len(es), at, len(step.set), step.want)
		}
		for j := range es {
			if es[j] != step.set[j] {
				t.Errorf("step %d: route %d is %+v, want %+v", i, j, es[j], step.set[j])
			}
		}
		if n := s.one.n + len(s.many); n != len(step.set[:min(1, len(step.set))]) {
			t.Errorf("step %d: %d nodes in the maps", i, n)
		}
	}
}

// The shared fields are counted by the packed routes that use them and
// forgotten with the last one: a table whose routes all differ (a
// storm of routes with expiry times) does not leave its fields behind.
func TestRouteStoreSharedCounts(t *testing.T) {
	s := newRouteStore()
	var buf [1]RouteEntry
	route := func(i int) (NodeKey, RouteEntry) {
		r := trace.Route{Family: 6, Table: trace.TableMain, Dst: netip.PrefixFrom(netip.AddrFrom16([16]byte{0x20, 1, 0xd, 0xb8, 15: byte(i)}), 128),
			Gateway: netip.MustParseAddr("fe80::1"), Dev: "eth0", Metric: 1024, Expires: time.Duration(i%3) * time.Second}
		return KeyOf(r).Node(), RouteEntry{Route: r}
	}
	for i := range 9 {
		pk, e := route(i)
		_, from := s.get(pk, &buf)
		s.set(pk, from, []RouteEntry{e})
	}
	if len(s.attrIdx) != 3 {
		t.Errorf("%d sets of shared fields for 3 expiry times, want 3", len(s.attrIdx))
	}
	for i := range 9 {
		pk, e := route(i)
		e.Route.Expires = time.Minute // replaced: each route now shares one set
		_, from := s.get(pk, &buf)
		s.set(pk, from, []RouteEntry{e})
	}
	if len(s.attrIdx) != 1 || len(s.freeAttrs) != 3 {
		t.Errorf("after the replaces: %d sets, %d free, want 1 and 3", len(s.attrIdx), len(s.freeAttrs))
	}
	for i := range 9 {
		pk, _ := route(i)
		_, from := s.get(pk, &buf)
		s.set(pk, from, nil)
	}
	if len(s.attrIdx) != 0 || s.one.n != 0 {
		t.Errorf("after the deletes: %d sets, %d nodes, want none", len(s.attrIdx), s.one.n)
	}
}

// Every node has one block and slot, and gets itself back from them;
// consecutive /32s share a block, and prefixes of other lengths,
// tables or families never do.
func TestBlockOf(t *testing.T) {
	keys := []Key{
		{4, 254, netip.MustParsePrefix("10.64.0.0/32")},
		{4, 254, netip.MustParsePrefix("10.64.0.7/32")},
		{4, 254, netip.MustParsePrefix("10.64.0.8/32")},
		{4, 254, netip.MustParsePrefix("10.64.0.0/31")},
		{4, 254, netip.MustParsePrefix("10.64.0.0/29")},
		{4, 254, netip.MustParsePrefix("0.0.0.0/0")},
		{4, 254, netip.MustParsePrefix("128.0.0.0/1")},
		{4, 100, netip.MustParsePrefix("10.64.0.0/32")},
		{4, 254, netip.PrefixFrom(netip.MustParseAddr("10.1.2.3"), 8)},
		{4, 254, netip.PrefixFrom(netip.MustParseAddr("10.1.2.3"), 40)},
		{6, 254, netip.MustParsePrefix("::ffff:10.64.0.0/128")},
		{6, 254, netip.MustParsePrefix("2001:db8::/48")},
		{6, 254, netip.MustParsePrefix("2001:db8:0:1::/48")},
		{6, 254, netip.MustParsePrefix("2001:db8::/64")},
		{6, 254, netip.MustParsePrefix("::/0")},
		{6, 254, netip.MustParsePrefix("8000::/1")},
		{6, 254, netip.MustParsePrefix("c000::/2")},
		{6, 254, netip.MustParsePrefix("e000::/3")},
		{4, 254, netip.Prefix{}},
	}
	type place struct {
		bk   NodeKey
		slot uint8
	}
	seen := map[place]Key{}
	for _, k := range keys {
		pk := k.Node()
		bk, slot := blockOf(pk)
		if back := nodeOf(bk, slot); back != pk {
			t.Errorf("%+v: back as %+v", k, back.Key())
		}
		if o, dup := seen[place{bk, slot}]; dup {
			t.Errorf("%+v and %+v share a slot", k, o)
		}
		seen[place{bk, slot}] = k
	}
	shared := func(a, b string) bool {
		x, _ := blockOf(Key{4, 254, netip.MustParsePrefix(a)}.Node())
		y, _ := blockOf(Key{4, 254, netip.MustParsePrefix(b)}.Node())
		return x == y
	}
	for _, tc := range []struct {
		a, b string
		want bool
	}{
		{"10.64.0.0/32", "10.64.0.7/32", true},
		{"10.64.0.7/32", "10.64.0.8/32", false},
		{"10.64.0.0/24", "10.64.7.0/24", true},
		{"10.64.0.0/24", "10.64.0.0/25", false},
	} {
		if got := shared(tc.a, tc.b); got != tc.want {
			t.Errorf("%s and %s in one block: %v, want %v", tc.a, tc.b, got, tc.want)
		}
	}
}
