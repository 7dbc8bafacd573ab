package nl

import (
	"iter"
	"maps"
	"math"
	"net/netip"
	"slices"
	"time"

	"raceroute/kernel"
	"raceroute/trace"
)

// routeTable holds a view's routes by key. A route is kept packed, as a
// value without pointers (addresses as 16 bytes and a kind, the device
// name as an index into the table's names), so that the collector never
// scans a storm's table of routes (a trace.Route holds three pointers:
// its addresses' zones and its device name) and each route takes about
// half the memory. The rare route that does not pack (an address with a
// zone, a value beyond the packed field's range) is kept whole in odd;
// a key is in at most one of the two maps.
type routeTable struct {
	packed map[routeKey]packedRoute
	odd    map[routeKey]trace.Route
	// devs are the device names routes were stored with, by index; devs[0]
	// is "". devIdx indexes them.
	devs    []string
	devIdx  map[string]uint32
	lastDev uint32 // the index last stored: a storm's routes share a device
}

// packedRoute is a trace.Route less the fields its routeKey holds
// (family, table, metric, destination, cache flag), without pointers.
type packedRoute struct {
	src, gw [16]byte
	expires int64
	used    int64
	mtu     int64
	ifindex int32
	errno   int32
	nhid    uint32
	dev     uint32 // index into routeTable.devs
	typ     kernel.RouteType
	proto   kernel.Proto
	scope   uint8
	dstKind addrKind
	srcKind addrKind
	gwKind  addrKind
}

// addrKind says what a packed address is: none (the zero Addr), IPv4 or
// IPv6 without a zone.
type addrKind uint8

const (
	addrNone addrKind = iota
	addrV4
	addrV6
)

func newRouteTable() routeTable {
	return routeTable{
		packed: map[routeKey]packedRoute{},
		odd:    map[routeKey]trace.Route{},
		devs:   []string{""},
		devIdx: map[string]uint32{"": 0},
	}
}

// packAddr packs an address; false for one with a zone.
func packAddr(a netip.Addr) ([16]byte, addrKind, bool) {
	switch {
	case !a.IsValid():
		return [16]byte{}, addrNone, true
	case a.Zone() != "":
		return [16]byte{}, 0, false
	case a.Is4():
		return a.As16(), addrV4, true
	}
	return a.As16(), addrV6, true
}

func unpackAddr(b [16]byte, k addrKind) netip.Addr {
	switch k {
	case addrV4:
		return netip.AddrFrom16(b).Unmap()
	case addrV6:
		return netip.AddrFrom16(b)
	}
	return netip.Addr{}
}

// fits32 reports whether v fits an int32.
func fits32(v int) bool { return v >= math.MinInt32 && v <= math.MaxInt32 }

// pack packs r (its key holds the rest); false when it does not pack.
func (t *routeTable) pack(r *trace.Route) (packedRoute, bool) {
	src, sk, ok1 := packAddr(r.Src)
	gw, gk, ok2 := packAddr(r.Gateway)
	_, dk, ok3 := packAddr(r.Dst.Addr())
	if !ok1 || !ok2 || !ok3 || r.Family < 0 || r.Family > math.MaxUint8 || !fits32(r.Ifindex) || !fits32(int(r.Error)) {
		return packedRoute{}, false
	}
	dev, ok := t.lastDev, t.devs[t.lastDev] == r.Dev
	if !ok {
		dev, ok = t.devIdx[r.Dev]
	}
	if !ok {
		if len(t.devs) > math.MaxUint32 {
			return packedRoute{}, false
		}
		dev = uint32(len(t.devs))
		t.devs = append(t.devs, r.Dev)
		t.devIdx[r.Dev] = dev
	}
	t.lastDev = dev
	return packedRoute{
		src: src, gw: gw, srcKind: sk, gwKind: gk, dstKind: dk,
		expires: int64(r.Expires), used: int64(r.Used), mtu: int64(r.MTU),
		ifindex: int32(r.Ifindex), errno: int32(r.Error), nhid: r.NHID, dev: dev,
		typ: r.Type, proto: r.Proto, scope: r.Scope,
	}, true
}

// unpack rebuilds the route of key k packed as p.
func (t *routeTable) unpack(k routeKey, p packedRoute) trace.Route {
	dst := netip.Prefix{}
	if a := unpackAddr(k.dst, p.dstKind); a.IsValid() {
		dst = netip.PrefixFrom(a, int(k.bits))
	}
	return trace.Route{
		Family: int(k.family), Table: k.table, Type: p.typ, Dst: dst,
		Src: unpackAddr(p.src, p.srcKind), Gateway: unpackAddr(p.gw, p.gwKind),
		Dev: t.devs[p.dev], Ifindex: int(p.ifindex), Metric: k.metric, Proto: p.proto, Scope: p.scope,
		Cloned: k.cloned, Error: kernel.Errno(p.errno), Expires: time.Duration(p.expires), Used: int(p.used),
		MTU: int(p.mtu), NHID: p.nhid,
	}
}

// set stores r under its key, replacing what the key held.
func (t *routeTable) set(r *trace.Route) {
	k := keyOfRoute(r)
	if p, ok := t.pack(r); ok {
		t.packed[k] = p
		if len(t.odd) > 0 {
			delete(t.odd, k)
		}
		return
	}
	delete(t.packed, k)
	t.odd[k] = *r
}

// del removes the route of key k.
func (t *routeTable) del(k routeKey) {
	delete(t.packed, k)
	if len(t.odd) > 0 {
		delete(t.odd, k)
	}
}

// get returns the route of key k.
func (t *routeTable) get(k routeKey) (trace.Route, bool) {
	if p, ok := t.packed[k]; ok {
		return t.unpack(k, p), true
	}
	r, ok := t.odd[k]
	return r, ok
}

// has reports whether the table holds a route of key k.
func (t *routeTable) has(k routeKey) bool {
	if _, ok := t.packed[k]; ok {
		return true
	}
	_, ok := t.odd[k]
	return ok
}

func (t *routeTable) len() int { return len(t.packed) + len(t.odd) }

// all yields every route with its key, in no particular order.
func (t *routeTable) all() iter.Seq2[routeKey, trace.Route] {
	return func(yield func(routeKey, trace.Route) bool) {
		for k, p := range t.packed {
			if !yield(k, t.unpack(k, p)) {
				return
			}
		}
		for k, r := range t.odd {
			if !yield(k, r) {
				return
			}
		}
	}
}

// deleteFunc removes the routes for which del returns true.
func (t *routeTable) deleteFunc(del func(*trace.Route) bool) {
	for k, p := range t.packed {
		if r := t.unpack(k, p); del(&r) {
			delete(t.packed, k)
		}
	}
	maps.DeleteFunc(t.odd, func(_ routeKey, r trace.Route) bool { return del(&r) })
}

// clone returns a copy of the table.
func (t *routeTable) clone() routeTable {
	return routeTable{packed: maps.Clone(t.packed), odd: maps.Clone(t.odd), devs: slices.Clone(t.devs), devIdx: maps.Clone(t.devIdx), lastDev: t.lastDev}
}
