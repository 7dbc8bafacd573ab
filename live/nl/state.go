package nl

import (
	"fmt"
	"net/netip"
	"slices"
	"strings"

	"raceroute/trace"
)

// routeKey identifies a route the way the kernel's replace does: table,
// destination, TOS and metric (fib_table_insert, fib6_add_rt2node), plus
// the device for cache entries, which hang off their parent route.
type routeKey struct {
	family  int
	table   uint32
	dst     netip.Prefix
	metric  uint32
	cloned  bool
	ifindex int // cache entries only
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
	k := routeKey{family: r.Family, table: r.Table, dst: r.Dst, metric: r.Metric, cloned: r.Cloned}
	if r.Cloned {
		k.ifindex = r.Ifindex
	}
	return k
}

// View is the state a subscription knows: every link, address, route
// (and route-cache entry) and neighbour of the namespace.
type View struct {
	links  map[int]trace.Link
	addrs  map[addrKey]trace.Addr
	routes map[routeKey]trace.Route
	neighs map[neighKey]trace.Neigh
}

func newView() *View {
	return &View{
		links:  map[int]trace.Link{},
		addrs:  map[addrKey]trace.Addr{},
		routes: map[routeKey]trace.Route{},
		neighs: map[neighKey]trace.Neigh{},
	}
}

// ViewOf builds a view from records (a dump), applying them in order.
func ViewOf(recs []trace.Record) *View {
	v := newView()
	for i := range recs {
		v.apply(&recs[i])
	}
	return v
}

// clone returns a deep enough copy (records' slices are never mutated).
func (v *View) clone() *View {
	c := newView()
	for k, x := range v.links {
		c.links[k] = x
	}
	for k, x := range v.addrs {
		c.addrs[k] = x
	}
	for k, x := range v.routes {
		c.routes[k] = x
	}
	for k, x := range v.neighs {
		c.neighs[k] = x
	}
	return c
}

// apply folds one record into the view.
func (v *View) apply(r *trace.Record) {
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
		k := keyOfRoute(&r.Route)
		if r.Action == trace.ActionDel {
			delete(v.routes, k)
		} else {
			v.routes[k] = r.Route
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

// renameDev gives the objects on ifindex their link's new name.
func (v *View) renameDev(ifindex int, name string) {
	for k, r := range v.routes {
		if r.Ifindex == ifindex {
			r.Dev = name
			v.routes[k] = r
		}
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

// diff returns the records that turn v into w: deletions of what w lacks,
// then additions and changes, links first on add and last on delete.
func (v *View) diff(w *View) []trace.Record {
	var dels, adds []trace.Record
	for k, x := range v.neighs {
		if _, ok := w.neighs[k]; !ok {
			dels = append(dels, trace.Record{Kind: trace.KindNeigh, Action: trace.ActionDel, Neigh: x})
		}
	}
	for k, x := range v.routes {
		if _, ok := w.routes[k]; !ok {
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
	for k, x := range w.routes {
		if o, ok := v.routes[k]; !ok || !sameRoute(o, x) {
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
// v, "+" only in w, "~" changed), sorted; empty when they hold the same
// state. Counters and ages that change without events are ignored.
func (v *View) Differences(w *View) []string {
	var out []string
	for _, r := range v.diff(w) {
		sign := "+"
		if r.Action == trace.ActionDel {
			sign = "-"
		}
		out = append(out, sign+" "+describe(&r))
	}
	slices.Sort(out)
	return out
}

// Len returns the number of objects in the view.
func (v *View) Len() int { return len(v.links) + len(v.addrs) + len(v.routes) + len(v.neighs) }

// RouteList returns the view's routes (cache entries included), sorted.
func (v *View) RouteList() []trace.Route {
	out := make([]trace.Route, 0, len(v.routes))
	for _, r := range v.routes {
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
