package nl

import (
	"net/netip"
	"reflect"
	"testing"
	"time"

	"raceroute/kernel"
	"raceroute/trace"
)

// noPointers reports the first field path of t that holds a pointer.
func noPointers(t reflect.Type, path string) string {
	switch t.Kind() {
	case reflect.Struct:
		for i := range t.NumField() {
			if p := noPointers(t.Field(i).Type, path+"."+t.Field(i).Name); p != "" {
				return p
			}
		}
		return ""
	case reflect.Array:
		return noPointers(t.Elem(), path+"[]")
	case reflect.Bool, reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Float32, reflect.Float64:
		return ""
	}
	return path
}

// The packed table's keys and values hold no pointers, so the collector
// does not scan it.
func TestPackedRouteHasNoPointers(t *testing.T) {
	for _, v := range []any{routeKey{}, packedRoute{}} {
		if p := noPointers(reflect.TypeOf(v), reflect.TypeOf(v).Name()); p != "" {
			t.Errorf("%s holds a pointer", p)
		}
	}
}

// packs are the routes the round trip is checked on; the last ones do
// not pack and are kept whole.
func packCases() (packs, odd []trace.Route) {
	base := trace.Route{Family: 4, Table: 254, Type: kernel.RouteUnicast, Dst: netip.MustParsePrefix("10.64.0.1/32"),
		Gateway: netip.MustParseAddr("10.9.0.2"), Dev: "va", Ifindex: 2, Metric: 1024, Proto: 4}
	with := func(f func(*trace.Route)) trace.Route { r := base; f(&r); return r }
	packs = []trace.Route{
		base,
		{},
		with(func(r *trace.Route) { r.Gateway, r.Dev, r.Src = netip.Addr{}, "", netip.MustParseAddr("10.9.0.1") }),
		with(func(r *trace.Route) {
			r.Family, r.Dst, r.Gateway = 6, netip.MustParsePrefix("2001:db8::/48"), netip.MustParseAddr("fe80::1")
			r.Cloned, r.Expires, r.Used, r.MTU, r.Error = true, 299*time.Second+5, 7, 1280, -113
			r.Type, r.Scope, r.NHID, r.Dev = kernel.RouteUnreachable, 253, 42, "eth0"
		}),
		// The IPv4-mapped form is an IPv6 address, and stays one.
		with(func(r *trace.Route) {
			r.Family, r.Dst, r.Gateway = 6, netip.MustParsePrefix("::ffff:10.0.0.0/104"), netip.MustParseAddr("::ffff:10.9.0.2")
		}),
		// An invalid prefix that keeps its address (a bad length).
		with(func(r *trace.Route) { r.Dst = netip.PrefixFrom(netip.MustParseAddr("10.1.2.3"), 33) }),
		with(func(r *trace.Route) { r.Dst = netip.Prefix{} }),
		with(func(r *trace.Route) { r.Ifindex, r.Error, r.MTU, r.Used = -1, -2147483648, 1<<40, -5 }),
	}
	odd = []trace.Route{
		with(func(r *trace.Route) { r.Family, r.Gateway = 6, netip.MustParseAddr("fe80::1%eth0") }),
		with(func(r *trace.Route) { r.Src = netip.MustParseAddr("fe80::2%va") }),
		with(func(r *trace.Route) { r.Ifindex = 1 << 40 }),
		with(func(r *trace.Route) { r.Error = 1 << 33 }),
		with(func(r *trace.Route) { r.Family = 300 }),
	}
	return packs, odd
}

// Every field of a route survives the table, packed or not; a key is
// held once whether its route packs or not.
func TestRouteTableRoundTrip(t *testing.T) {
	// A new field of trace.Route must be packed too (routeTable.pack,
	// unpack) and added to packCases.
	if n := reflect.TypeOf(trace.Route{}).NumField(); n != 17 {
		t.Fatalf("trace.Route has %d fields, routeTable packs 17", n)
	}
	packs, odd := packCases()
	for i, r := range append(packs, odd...) {
		tb := newRouteTable()
		tb.set(&r)
		got, ok := tb.get(keyOfRoute(&r))
		if !ok || got != r {
			t.Errorf("case %d: stored %+v, got %+v (%v)", i, r, got, ok)
		}
		if packed := len(tb.packed) == 1; packed != (i < len(packs)) {
			t.Errorf("case %d: packed %v, want %v", i, packed, i < len(packs))
		}
		n := 0
		for k, x := range tb.all() {
			n++
			if k != keyOfRoute(&r) || x != r {
				t.Errorf("case %d: all yields %+v under %+v", i, x, k)
			}
		}
		if n != 1 || tb.len() != 1 || !tb.has(keyOfRoute(&r)) {
			t.Errorf("case %d: %d routes yielded, len %d", i, n, tb.len())
		}
		c := tb.clone()
		tb.del(keyOfRoute(&r))
		if tb.len() != 0 || tb.has(keyOfRoute(&r)) {
			t.Errorf("case %d: left after delete", i)
		}
		if got, ok := c.get(keyOfRoute(&r)); !ok || got != r {
			t.Errorf("case %d: the clone lost %+v to the original's delete: %+v", i, r, got)
		}
	}
	// The same key, once with a zone (kept whole), then without (packed),
	// then with again: one route, the last.
	zoned := odd[0]
	plain := zoned
	plain.Gateway = netip.MustParseAddr("fe80::1")
	tb := newRouteTable()
	for i, r := range []trace.Route{zoned, plain, zoned, plain} {
		tb.set(&r)
		if got, ok := tb.get(keyOfRoute(&r)); tb.len() != 1 || !ok || got != r {
			t.Errorf("step %d: %d routes, got %+v, want %+v", i, tb.len(), got, r)
		}
	}
}

// FuzzRouteTable checks the round trip of routes built from fuzzed
// fields.
func FuzzRouteTable(f *testing.F) {
	f.Add(uint8(4), uint32(254), []byte{10, 0, 0, 1}, 32, []byte{10, 9, 0, 2}, "va", int64(2), uint32(1024), int64(0), false, "")
	f.Add(uint8(6), uint32(100), []byte{0x20, 1, 0xd, 0xb8, 15: 1}, 128, []byte{0xfe, 0x80, 15: 1}, "", int64(-1), uint32(1), int64(-113), true, "eth0")
	f.Fuzz(func(t *testing.T, fam uint8, table uint32, dst []byte, bits int, gw []byte, dev string, ifindex int64, metric uint32, n int64, cloned bool, zone string) {
		addr := func(b []byte) netip.Addr {
			a, _ := netip.AddrFromSlice(b)
			return a
		}
		g := addr(gw)
		if g.Is6() {
			g = g.WithZone(zone)
		}
		r := trace.Route{Family: int(fam), Table: table, Type: kernel.RouteType(n), Dst: netip.PrefixFrom(addr(dst), bits),
			Src: addr(dst), Gateway: g, Dev: dev, Ifindex: int(ifindex), Metric: metric, Proto: kernel.Proto(n >> 8),
			Scope: uint8(n >> 16), Cloned: cloned, Error: kernel.Errno(n), Expires: time.Duration(n), Used: int(n), MTU: int(-n), NHID: uint32(n)}
		tb := newRouteTable()
		tb.set(&r)
		if got, ok := tb.get(keyOfRoute(&r)); !ok || got != r {
			t.Fatalf("stored %+v, got %+v (%v)", r, got, ok)
		}
	})
}
