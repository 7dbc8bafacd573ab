package view

import (
	"iter"
	"math"
	"net/netip"
	"time"

	"raceroute/trace"
)

// routeStore holds the view's non-cache routes by FIB node. Almost every
// node of a storm holds one route, and it is kept packed in one: 24
// bytes without pointers and without a slice of its own, beside the
// routes of the nodes next to it (packednodes.go), so that a node costs
// no allocation of its own and nothing for the collector to scan. The family, table and destination are the node's key; the
// fields routes share (type, source, gateway, device, protocol, scope,
// error, expiry, use count, MTU, nexthop: a storm's routes share one
// set, as the kernel's share a fib_info) are kept once in attrs, counted
// by the routes that use them, as fib_create_info() shares a fib_info
// between routes (net/ipv4/fib_semantics.c); the metric and the time are
// the route's own. A node holding several routes (IPv6 keeps routes of
// one prefix side by side) or a route that does not pack back to itself
// is kept whole in many. A node is in at most one of the two maps.
type routeStore struct {
	one  packedNodes
	many map[NodeKey][]RouteEntry
	// attrs are the shared fields of packed routes (a trace.Route less
	// family, table, destination and metric), by index; attrIdx indexes
	// them, lastAttr is the index last stored (a storm's routes share
	// one), and freeAttrs are the indexes no route uses.
	attrs     []sharedAttrs
	attrIdx   map[trace.Route]uint32
	lastAttr  uint32
	freeAttrs []uint32
	// locs are the locations of packed routes' times, by index less
	// one (0 stands for the zero Time).
	locs []*time.Location
}

// sharedAttrs is one set of shared fields and how many packed routes
// use it.
type sharedAttrs struct {
	r    trace.Route
	refs int
}

// packedEntry is a RouteEntry less the fields its node's key holds,
// without pointers.
type packedEntry struct {
	sinceSec  int64 // Since: Unix seconds and nanoseconds, and location
	attrs     uint32
	metric    uint32
	sinceNsec int32
	sinceLoc  uint16 // index into routeStore.locs plus one; 0: the zero Time
}

// spot says where the store holds a node.
type spot uint8

const (
	spotNone spot = iota // nowhere: the node holds no route
	spotOne              // packed, in one
	spotMany             // whole, in many
)

func newRouteStore() routeStore {
	return routeStore{
		one:     newPackedNodes(),
		many:    map[NodeKey][]RouteEntry{},
		attrIdx: map[trace.Route]uint32{},
	}
}

// get returns the routes of node pk and where they are kept; a packed
// route is unpacked into buf. The slice is valid until the next set.
func (s *routeStore) get(pk NodeKey, buf *[1]RouteEntry) ([]RouteEntry, spot) {
	if p, ok := s.one.get(pk); ok {
		buf[0] = s.unpack(pk, p)
		return buf[:], spotOne
	}
	if len(s.many) > 0 {
		if es, ok := s.many[pk]; ok {
			return es, spotMany
		}
	}
	return nil, spotNone
}

// set makes es the routes of node pk, which get found at from; es may
// be the slice get returned, and is not kept.
func (s *routeStore) set(pk NodeKey, from spot, es []RouteEntry) {
	var p packedEntry
	packed := false
	if len(es) == 1 {
		p, packed = s.pack(pk, &es[0])
	}
	if from == spotOne {
		var old packedEntry
		if packed {
			old, _ = s.one.put(pk, p)
		} else {
			old, _ = s.one.del(pk)
		}
		s.release(old.attrs) // after pack took its count: they may be the same
	} else if packed {
		s.one.put(pk, p)
	}
	switch {
	case len(es) > 0 && !packed:
		// A copy, into the node's own array when it has one: es may be
		// get's buf, which must not escape (the common add packs it).
		s.many[pk] = append(s.many[pk][:0], es...)
	case from == spotMany:
		delete(s.many, pk)
	}
}

// nodes yields every node holding routes, with its routes (valid until
// the next call of the loop).
func (s *routeStore) nodes() iter.Seq2[NodeKey, []RouteEntry] {
	return func(yield func(NodeKey, []RouteEntry) bool) {
		var buf [1]RouteEntry
		for pk, p := range s.one.all() {
			buf[0] = s.unpack(pk, p)
			if !yield(pk, buf[:]) {
				return
			}
		}
		for pk, es := range s.many {
			if !yield(pk, es) {
				return
			}
		}
	}
}

// deleteFunc removes the routes for which del returns true, and calls
// changed with every node it changed and the count of its routes left.
func (s *routeStore) deleteFunc(del func(*RouteEntry) bool, changed func(pk NodeKey, left int)) {
	var buf [1]RouteEntry
	for pk, p := range s.one.all() {
		buf[0] = s.unpack(pk, p)
		if del(&buf[0]) {
			s.one.del(pk)
			s.release(p.attrs)
			changed(pk, 0)
		}
	}
	for pk, es := range s.many {
		n := 0
		for i := range es {
			if !del(&es[i]) {
				es[n] = es[i]
				n++
			}
		}
		if n == len(es) {
			continue
		}
		clear(es[n:])
		s.set(pk, spotMany, es[:n]) // into one, not iterated again, or out of many
		changed(pk, n)
	}
}

// pack packs the route of node pk, holding a count of its shared
// fields; false when its time does not unpack to itself (one with a
// monotonic reading, or past 65,535 locations), and the store then keeps
// it whole. The rest unpacks to itself by construction: the shared
// fields are a whole trace.Route, and the family, table and destination
// come back from the node's key (TestNodeKeyRoundTrip).
func (s *routeStore) pack(pk NodeKey, e *RouteEntry) (packedEntry, bool) {
	p := packedEntry{metric: e.Route.Metric}
	if t := e.Since; t != (time.Time{}) {
		loc := t.Location()
		i := len(s.locs) - 1
		for i >= 0 && s.locs[i] != loc {
			i--
		}
		if i < 0 {
			if len(s.locs) >= math.MaxUint16 {
				return packedEntry{}, false
			}
			s.locs = append(s.locs, loc)
			i = len(s.locs) - 1
		}
		p.sinceSec, p.sinceNsec, p.sinceLoc = t.Unix(), int32(t.Nanosecond()), uint16(i+1)
		if s.since(p) != t {
			return packedEntry{}, false
		}
	}
	shared := e.Route
	shared.Family, shared.Table, shared.Dst, shared.Metric = 0, 0, netip.Prefix{}, 0
	p.attrs = s.acquire(&shared)
	return p, true
}

// acquire returns the index of the shared fields r, counting one more
// route that uses them.
func (s *routeStore) acquire(r *trace.Route) uint32 {
	i := s.lastAttr
	if int(i) >= len(s.attrs) || s.attrs[i].refs == 0 || s.attrs[i].r != *r {
		var ok bool
		if i, ok = s.attrIdx[*r]; !ok {
			if n := len(s.freeAttrs); n > 0 {
				i = s.freeAttrs[n-1]
				s.freeAttrs = s.freeAttrs[:n-1]
				s.attrs[i] = sharedAttrs{r: *r}
			} else {
				i = uint32(len(s.attrs))
				s.attrs = append(s.attrs, sharedAttrs{r: *r})
			}
			s.attrIdx[*r] = i
		}
		s.lastAttr = i
	}
	s.attrs[i].refs++
	return i
}

// release counts one route less that uses the shared fields of index i,
// and forgets them when none does.
func (s *routeStore) release(i uint32) {
	a := &s.attrs[i]
	if a.refs--; a.refs == 0 {
		delete(s.attrIdx, a.r)
		a.r = trace.Route{}
		s.freeAttrs = append(s.freeAttrs, i)
	}
}

// unpack rebuilds the route of node pk packed as p.
func (s *routeStore) unpack(pk NodeKey, p packedEntry) RouteEntry {
	k := pk.Key()
	e := RouteEntry{Route: s.attrs[p.attrs].r}
	e.Route.Family, e.Route.Table, e.Route.Dst, e.Route.Metric = k.Family, k.Table, k.Dst, p.metric
	e.Since = s.since(p)
	return e
}

// since returns the time of the route packed as p.
func (s *routeStore) since(p packedEntry) time.Time {
	if p.sinceLoc == 0 {
		return time.Time{}
	}
	return time.Unix(p.sinceSec, int64(p.sinceNsec)).In(s.locs[p.sinceLoc-1])
}
