package nl

import (
	"fmt"
	"maps"
	"net/netip"
	"slices"
	"strings"

	"raceroute/trace"
)

// routeKey identifies a route the way the kernel's replace does: table,
// destination, TOS and metric (fib_table_insert, fib6_add_rt2node), plus
// the device for cache entries, which hang off their parent route. It
// holds the destination as 16 bytes and its length (-1: invalid), not as
// a netip.Prefix, so that it is 32 bytes without pointers: a storm's
// table of routes is hashed, compared and scanned by the collector for
// every event.
type routeKey struct {
	dst     [16]byte
	table   uint32
	metric  uint32
	ifindex int32 // cache entries only
	bits    int16
	family  uint8
	cloned  bool
}
type neighKey struct {
	ifindex int
	addr    netip.Addr
}

type addrKey struct {
	ifindex int
	prefix  netip.Prefix
}

func keyOfRoute(r *trace.Route) routeKey {
	// A prefix has no zone (netip.PrefixFrom), and the family tells an
	// IPv4 destination from its IPv4-mapped IPv6 form.
	k := routeKey{dst: r.Dst.Addr().As16(), bits: int16(r.Dst.Bits()), family: uint8(r.Family), table: r.Table, metric: r.Metric, cloned: r.Cloned}
	if r.Cloned {
		k.ifindex = int32(r.Ifindex)
	}
	return k
}

// View is the state of a namespace's tables, as a dump reads it or a
// subscription follows it: every link, address, route (and route-cache
// entry) and neighbour. Records change it (Apply); two views compare
// (Diff, Differences).
type View struct {
	links  map[int]trace.Link
	addrs  map[addrKey]trace.Addr
	routes routeTable
	neighs map[neighKey]trace.Neigh
}

func newView() *View {
	return &View{
		links:  map[int]trace.Link{},
		addrs:  map[addrKey]trace.Addr{},
		routes: newRouteTable(),
		neighs: map[neighKey]trace.Neigh{},
	}
}

// ViewOf builds a view from records (a dump), applying them in order.
func ViewOf(recs []trace.Record) *View {
	v := newView()
	for i := range recs {
		v.Apply(&recs[i])
	}
	return v
}

// Clone returns a copy of the view.
func (v *View) Clone() *View {
	c := newView()
	for k, x := range v.links {
		c.links[k] = x
	}
	for k, x := range v.addrs {
		c.addrs[k] = x
	}
	c.routes = v.routes.clone()
	for k, x := range v.neighs {
		c.neighs[k] = x
	}
	return c
}

// Apply folds one record into the view: an ActionNew record adds or
// replaces its object, an ActionDel removes it. Records of other kinds
// are ignored.
func (v *View) Apply(r *trace.Record) {
	switch r.Kind {
	case trace.KindLink:
		if r.Action == trace.ActionDel {
			delete(v.links, r.Link.Index)
		} else {
			v.links[r.Link.Index] = r.Link
		}
	case trace.KindAddr:
		k := addrKey{r.Addr.Ifindex, r.Addr.Prefix}
		if r.Action == trace.ActionDel {
			delete(v.addrs, k)
		} else {
			v.addrs[k] = r.Addr
		}
	case trace.KindRoute:
		if r.Action == trace.ActionDel {
			v.routes.del(keyOfRoute(&r.Route))
		} else {
			v.routes.set(&r.Route)
		}
	case trace.KindNeigh:
		k := neighKey{r.Neigh.Ifindex, r.Neigh.Addr}
		if r.Action == trace.ActionDel {
			delete(v.neighs, k)
		} else {
			v.neighs[k] = r.Neigh
		}
	}
}

// DeleteRoutes removes the routes (cache entries included) for which
// del returns true.
func (v *View) DeleteRoutes(del func(*trace.Route) bool) { v.routes.deleteFunc(del) }

// Link returns the link of that index, if the view holds it.
func (v *View) Link(index int) (trace.Link, bool) {
	l, ok := v.links[index]
	return l, ok
}

// FillDev sets the device name of a record's route, neighbour or
// address from the view's links.
func (v *View) FillDev(r *trace.Record) {
	switch r.Kind {
	case trace.KindRoute:
		r.Route.Dev = v.links[r.Route.Ifindex].Name
	case trace.KindNeigh:
		r.Neigh.Dev = v.links[r.Neigh.Ifindex].Name
	case trace.KindAddr:
		r.Addr.Dev = v.links[r.Addr.Ifindex].Name
	}
}

// RenameDev gives the objects on ifindex their link's new name.
func (v *View) RenameDev(ifindex int, name string) {
	var renamed []trace.Route
	for _, r := range v.routes.all() {
		if r.Ifindex == ifindex {
			r.Dev = name
			renamed = append(renamed, r)
		}
	}
	for i := range renamed {
		v.routes.set(&renamed[i])
	}
	for k, n := range v.neighs {
		if n.Ifindex == ifindex {
			n.Dev = name
			v.neighs[k] = n
		}
	}
	for k, a := range v.addrs {
		if a.Ifindex == ifindex {
			a.Dev = name
			v.addrs[k] = a
		}
	}
}

// sameRoute compares routes, ignoring the counters and timers that
// change without an event (expiry, use count).
func sameRoute(a, b trace.Route) bool {
	a.Expires, b.Expires = 0, 0
	a.Used, b.Used = 0, 0
	return a == b
}

// sameNeigh compares neighbour entries, ignoring ages, probe counts and
// the device name (the ifindex identifies the device).
func sameNeigh(a, b trace.Neigh) bool {
	a.Confirmed, a.Used, a.Updated, a.Probes, a.Dev = 0, 0, 0, 0, ""
	b.Confirmed, b.Used, b.Updated, b.Probes, b.Dev = 0, 0, 0, 0, ""
	return a == b
}

// Diff returns the records that turn v into w: deletions of what w
// lacks, then additions and changes, links first on add and last on
// delete. Counters and ages that change without events are ignored.
func (v *View) Diff(w *View) []trace.Record {
	var dels, adds []trace.Record
	for k, x := range v.neighs {
		if _, ok := w.neighs[k]; !ok {
			dels = append(dels, trace.Record{Kind: trace.KindNeigh, Action: trace.ActionDel, Neigh: x})
		}
	}
	for k, x := range v.routes.all() {
		if !w.routes.has(k) {
			dels = append(dels, trace.Record{Kind: trace.KindRoute, Action: trace.ActionDel, Route: x})
		}
	}
	for k, x := range v.addrs {
		if _, ok := w.addrs[k]; !ok {
			dels = append(dels, trace.Record{Kind: trace.KindAddr, Action: trace.ActionDel, Addr: x})
		}
	}
	for k, x := range v.links {
		if _, ok := w.links[k]; !ok {
			dels = append(dels, trace.Record{Kind: trace.KindLink, Action: trace.ActionDel, Link: x})
		}
	}
	for k, x := range w.links {
		if o, ok := v.links[k]; !ok || o != x {
			adds = append(adds, trace.Record{Kind: trace.KindLink, Action: trace.ActionNew, Link: x})
		}
	}
	for k, x := range w.addrs {
		if o, ok := v.addrs[k]; !ok || o != x {
			adds = append(adds, trace.Record{Kind: trace.KindAddr, Action: trace.ActionNew, Addr: x})
		}
	}
	for k, x := range w.routes.all() {
		if o, ok := v.routes.get(k); !ok || !sameRoute(o, x) {
			adds = append(adds, trace.Record{Kind: trace.KindRoute, Action: trace.ActionNew, Route: x})
		}
	}
	for k, x := range w.neighs {
		if o, ok := v.neighs[k]; !ok || !sameNeigh(o, x) {
			adds = append(adds, trace.Record{Kind: trace.KindNeigh, Action: trace.ActionNew, Neigh: x})
		}
	}
	return append(dels, adds...)
}

// Differences lists, one line each, how v differs from w ("-" only in
// v, "+" only in w or changed there), sorted; empty when they hold the
// same state. Counters and ages that change without events are ignored.
func (v *View) Differences(w *View) []string {
	var out []string
	for _, r := range v.Diff(w) {
		sign := "+"
		if r.Action == trace.ActionDel {
			sign = "-"
		}
		out = append(out, sign+" "+describe(&r))
	}
	slices.Sort(out)
	return out
}

// Records lists the view's objects as ActionNew records: links,
// addresses, routes, neighbours.
func (v *View) Records() []trace.Record { return newView().Diff(v) }

// OnLink lists the routes (cache entries included), neighbours and
// addresses on ifindex as ActionNew records, in a stable order.
func (v *View) OnLink(ifindex int) []trace.Record {
	var out []trace.Record
	for _, x := range v.routes.all() {
		if x.Ifindex == ifindex {
			out = append(out, trace.Record{Kind: trace.KindRoute, Action: trace.ActionNew, Route: x})
		}
	}
	for _, x := range v.neighs {
		if x.Ifindex == ifindex {
			out = append(out, trace.Record{Kind: trace.KindNeigh, Action: trace.ActionNew, Neigh: x})
		}
	}
	for _, x := range v.addrs {
		if x.Ifindex == ifindex {
			out = append(out, trace.Record{Kind: trace.KindAddr, Action: trace.ActionNew, Addr: x})
		}
	}
	slices.SortFunc(out, func(a, b trace.Record) int { return strings.Compare(describe(&a), describe(&b)) })
	return out
}

// Has reports whether the view holds the object of r (a link, address,
// route or neighbour with r's key), whatever its other fields; a nil
// view holds nothing.
func (v *View) Has(r *trace.Record) bool {
	if v == nil {
		return false
	}
	var ok bool
	switch r.Kind {
	case trace.KindLink:
		_, ok = v.links[r.Link.Index]
	case trace.KindAddr:
		_, ok = v.addrs[addrKey{r.Addr.Ifindex, r.Addr.Prefix}]
	case trace.KindRoute:
		ok = v.routes.has(keyOfRoute(&r.Route))
	case trace.KindNeigh:
		_, ok = v.neighs[neighKey{r.Neigh.Ifindex, r.Neigh.Addr}]
	}
	return ok
}

// Cache returns a view of v's route-cache entries alone.
func (v *View) Cache() *View {
	c := newView()
	for _, r := range v.routes.all() {
		if r.Cloned {
			c.routes.set(&r)
		}
	}
	return c
}

// NeighView returns a view of v's neighbour entries alone.
func (v *View) NeighView() *View {
	c := newView()
	maps.Copy(c.neighs, v.neighs)
	return c
}

// Len returns the number of objects in the view.
func (v *View) Len() int { return len(v.links) + len(v.addrs) + v.routes.len() + len(v.neighs) }

// RouteList returns the view's routes (cache entries included), sorted.
func (v *View) RouteList() []trace.Route {
	out := make([]trace.Route, 0, v.routes.len())
	for _, r := range v.routes.all() {
		out = append(out, r)
	}
	slices.SortFunc(out, func(a, b trace.Route) int { return strings.Compare(describeRoute(&a), describeRoute(&b)) })
	return out
}

// LinkList returns the view's links, by index.
func (v *View) LinkList() []trace.Link {
	out := make([]trace.Link, 0, len(v.links))
	for _, l := range v.links {
		out = append(out, l)
	}
	slices.SortFunc(out, func(a, b trace.Link) int { return a.Index - b.Index })
	return out
}

// describe renders a record's object compactly, for differences and logs.
func describe(r *trace.Record) string {
	switch r.Kind {
	case trace.KindLink:
		return fmt.Sprintf("link %d %s %s up=%v mtu %d master %d", r.Link.Index, r.Link.Name, r.Link.MAC, r.Link.Up, r.Link.MTU, r.Link.Master)
	case trace.KindAddr:
		return fmt.Sprintf("addr %s ifindex %d", r.Addr.Prefix, r.Addr.Ifindex)
	case trace.KindRoute:
		return describeRoute(&r.Route)
	case trace.KindNeigh:
		n := &r.Neigh
		return fmt.Sprintf("neigh %s ifindex %d lladdr %s state %#x router=%v", n.Addr, n.Ifindex, n.LLAddr, n.State, n.Router)
	}
	return fmt.Sprintf("record kind %d", r.Kind)
}

func describeRoute(r *trace.Route) string {
	c := ""
	if r.Cloned {
		c = " cache"
	}
	return fmt.Sprintf("route%s type %d %s via %s oif %d table %d metric %d proto %d scope %d src %s error %d",
		c, r.Type, r.Dst, r.Gateway, r.Ifindex, r.Table, r.Metric, r.Proto, r.Scope, r.Src, r.Error)
}
