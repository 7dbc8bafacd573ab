package view

import (
	"net/netip"
	"slices"

	"raceroute/trace"
)

// tableKey names one routing table of one family.
type tableKey struct {
	family int
	table  uint32
}

// NodeKey is a Key as maps of a storm's routes hold it: the destination
// as 16 bytes, its kind and length, without pointers, so that a lookup
// hashes 32 plain bytes (a netip.Prefix is hashed field by field) and
// the collector does not scan the map's keys. Distinct Keys have
// distinct NodeKeys (Key.Node, NodeKey.Key).
type NodeKey struct {
	dst    [16]byte
	family int
	table  uint32
	bits   int16
	kind   uint8 // of the destination's address: 0 none, 4 or 6
}

// Node returns the NodeKey of k.
func (k Key) Node() NodeKey {
	a := k.Dst.Addr()
	nk := NodeKey{dst: a.As16(), family: k.Family, table: k.Table, bits: int16(k.Dst.Bits())}
	switch {
	case a.Is4():
		nk.kind = 4
	case a.Is6():
		nk.kind = 6
	default:
		nk.dst = [16]byte{}
	}
	return nk
}

// Key returns the Key of a NodeKey.
func (nk NodeKey) Key() Key {
	k := Key{Family: nk.family, Table: nk.table}
	switch nk.kind {
	case 4:
		k.Dst = netip.PrefixFrom(netip.AddrFrom16(nk.dst).Unmap(), int(nk.bits))
	case 6:
		k.Dst = netip.PrefixFrom(netip.AddrFrom16(nk.dst), int(nk.bits))
	}
	return k
}

// SameRoute reports whether a and b are the same route of one FIB node:
// same metric, gateway and device (IPv6 keeps such routes side by side).
func SameRoute(a, b trace.Route) bool {
	return a.Metric == b.Metric && a.Gateway == b.Gateway && RouteDev(a) == RouteDev(b)
}

// covers reports whether prefix p contains every address of q.
func covers(p, q netip.Prefix) bool {
	return p.Bits() <= q.Bits() && p.Contains(q.Addr())
}

// applyRoute applies a non-cache route record: the route goes into or
// out of its FIB node, the clones the kernel prunes with the change go,
// and a link's own IPv6 routes say whether it went down or came back in
// a trace without link events (links.go).
func (v *View) applyRoute(r *trace.Record) {
	rt := r.Route
	pk := KeyOf(rt).Node()
	change := IsChange(r)
	switch r.Action {
	case trace.ActionDel:
		var buf [1]RouteEntry
		es, at := v.routes.get(pk, &buf)
		i := slices.IndexFunc(es, func(x RouteEntry) bool { return SameRoute(x.Route, rt) })
		if i < 0 && rt.Family == 4 {
			i = slices.IndexFunc(es, func(x RouteEntry) bool { return x.Route.Metric == rt.Metric })
		}
		if i >= 0 {
			es = slices.Delete(es, i, i+1)
			v.setRoutes(pk, at, es)
		}
		v.ch.Left = len(es)
		if change && !r.Inferred {
			v.markerSeen(r)
		}
		v.pruneClones(rt)
	case trace.ActionNew:
		v.addRoute(pk, r)
		if change {
			v.pruneClones(rt)
			v.markerSeen(r)
		}
	}
}

// addRoute puts a route into its FIB node as the kernel would: an IPv4
// route replaces the one with its key; an IPv6 route replaces one with
// the same metric, gateway and device, or all of its metric on
// NLM_F_REPLACE, and otherwise joins them (fib6_add_rt2node()).
func (v *View) addRoute(pk NodeKey, r *trace.Record) {
	rt := r.Route
	entry := RouteEntry{Route: rt, Since: r.Time}
	var buf [1]RouteEntry
	es, at := v.routes.get(pk, &buf)
	switch {
	case rt.Family == 4 || r.Replace:
		// The common replace of a storm, one route of the key: in place.
		if len(es) == 1 && es[0].Route.Metric == rt.Metric {
			es[0] = entry
			v.setRoutes(pk, at, es)
			return
		}
		es = slices.DeleteFunc(es, func(x RouteEntry) bool { return x.Route.Metric == rt.Metric })
	default:
		if i := slices.IndexFunc(es, func(x RouteEntry) bool { return SameRoute(x.Route, rt) }); i >= 0 {
			entry.Since = es[i].Since
			es[i] = entry
			v.setRoutes(pk, at, es)
			return
		}
	}
	if len(es) == 0 {
		es = buf[:0] // the common add, a node's first route: no slice of its own
	}
	v.setRoutes(pk, at, append(es, entry))
}

// setRoutes makes es the routes of a FIB node the store had at from
// (spotNone: it held no routes), keeping the count of nodes by prefix
// length that lookup walks.
func (v *View) setRoutes(pk NodeKey, from spot, es []RouteEntry) {
	v.routes.set(pk, from, es)
	v.countNode(pk, from != spotNone, len(es) > 0)
}

// countNode keeps the count of nodes by prefix length for a node that
// held routes (had) or not and holds some now (has) or not.
func (v *View) countNode(pk NodeKey, had, has bool) {
	if had == has || pk.kind == 0 || pk.bits < 0 {
		return
	}
	l := v.lensOf(tableKey{pk.family, pk.table}, true)
	if had {
		l[pk.bits]--
	} else {
		l[pk.bits]++
	}
}

// lensOf returns the count of FIB nodes by prefix length of a table,
// made when create is set (else nil when there is none). The last table
// asked for is remembered: a storm's routes share one.
func (v *View) lensOf(tk tableKey, create bool) *[129]int32 {
	if v.lastLens != nil && v.lastTable == tk {
		return v.lastLens
	}
	l := v.lens[tk]
	if l == nil {
		if !create {
			return nil
		}
		l = new([129]int32)
		v.lens[tk] = l
	}
	v.lastTable, v.lastLens = tk, l
	return l
}

// Lookup returns the best routes for addr among prefixes of at most
// maxBits bits in a table: the longest prefix holding routes, and of its
// routes those of the lowest metric (fib6_lookup() then rt6_select()).
func (v *View) Lookup(family int, table uint32, addr netip.Addr, maxBits int) ([]RouteEntry, bool) {
	lens := v.lensOf(tableKey{family, table}, false)
	if lens == nil {
		return nil, false
	}
	for bits := min(maxBits, addr.BitLen()); bits >= 0; bits-- {
		if lens[bits] == 0 {
			continue
		}
		p, err := addr.Prefix(bits)
		if err != nil {
			return nil, false
		}
		var buf [1]RouteEntry
		es, _ := v.routes.get(Key{family, table, p}.Node(), &buf)
		if len(es) == 0 {
			continue
		}
		best := es[0].Route.Metric
		for _, x := range es[1:] {
			best = min(best, x.Route.Metric)
		}
		var out []RouteEntry
		for _, x := range es {
			if x.Route.Metric == best {
				out = append(out, x)
			}
		}
		return out, true
	}
	return nil, false
}

// pruneClones drops the cache entries the kernel removes when a route of
// prefix changed.Dst is added or deleted. IPv6 (before 4.2): fib6_add()
// and fib6_del() call fib6_prune_clones() on the route's node, a walk
// with prune set that removes every RTF_CACHE entry below the node but
// does not descend below a nearer node that holds routes of its own
// (fib6_walk_continue(), net/ipv6/ip6_fib.c). IPv4: any change flushes
// the whole route cache (rt_cache_flush() from fib_table_insert() and
// fib_table_delete()).
func (v *View) pruneClones(changed trace.Route) {
	if len(v.cache) == 0 {
		return
	}
	for k, c := range v.cache {
		cr := c.Route
		if cr.Family != changed.Family {
			continue
		}
		if changed.Family == 4 {
			delete(v.cache, k)
			continue
		}
		if cr.Table != changed.Table || !covers(changed.Dst, cr.Dst) {
			continue
		}
		if near, ok := v.Lookup(cr.Family, cr.Table, cr.Dst.Addr(), cr.Dst.Bits()-1); ok && near[0].Route.Dst.Bits() > changed.Dst.Bits() {
			continue // a nearer node with routes stops the walk
		}
		delete(v.cache, k)
	}
}

// applyCache applies a route-cache record.
func (v *View) applyCache(r *trace.Record) {
	k := KeyOf(r.Route)
	v.ch.PrevCache = v.cache[k]
	if r.Action == trace.ActionDel {
		delete(v.cache, k)
		return
	}
	rec := *r
	v.cache[k] = &rec
}

// Cache returns the route-cache entry of a destination.
func (v *View) Cache(k Key) (*trace.Record, bool) {
	c, ok := v.cache[k]
	return c, ok
}

// CacheLen returns the number of route-cache entries.
func (v *View) CacheLen() int { return len(v.cache) }

// CacheUnder returns the route-cache entries of the family and table of
// route changed whose destination lies in changed.Dst, sorted as
// CompareRoutes sorts their routes; nil when there are none.
func (v *View) CacheUnder(changed trace.Route) []*trace.Record {
	if len(v.cache) == 0 {
		return nil
	}
	var hit []*trace.Record
	for _, c := range v.cache {
		cr := c.Route
		if cr.Family == changed.Family && cr.Table == changed.Table && covers(changed.Dst, cr.Dst) {
			hit = append(hit, c)
		}
	}
	slices.SortFunc(hit, func(a, b *trace.Record) int { return CompareRoutes(a.Route, b.Route) })
	return hit
}
