package view

import (
	"net/netip"

	"raceroute/kernel"
	"raceroute/trace"
)

// The kernel removes routes itself when a link goes down (IFF_UP
// cleared) or goes away:
//   - for IPv6, addrconf_ifdown() and rt6_sync_down_dev()
//     (net/ipv6/addrconf.c, route.c) delete every route through it,
//     announced one by one after the link's own message (before
//     RTM_DELLINK when it goes away);
//   - for IPv4, fib_netdev_event() -> fib_disable_ip() ->
//     fib_sync_down_dev() and fib_flush() (net/ipv4/fib_frontend.c,
//     fib_semantics.c) remove them, all but the local routes of its
//     addresses, without any RTM_DELROUTE: the view drops them itself.
// A trace of routes alone (`ip monitor route`) shows no link: there a
// link's own IPv6 routes stand for its events, as the kernel adds
// `fe80::/64 dev X proto kernel` and `multicast ff00::/8 dev X table
// local` when X comes up (addrconf_add_dev() -> addrconf_add_mroute(),
// and the link-local prefix route, net/ipv6/addrconf.c) and removes them
// only when it goes down (addrconf_ifdown()). Recorded on Linux 6.18 in
// watch/testdata/link-flap.log; docs/kernel-notes-watch.md has the rest.

// rtprotKernel is RTPROT_KERNEL, the protocol of the kernel's own routes.
const rtprotKernel = 2

// KernelOwned reports whether the kernel itself made the route: proto
// kernel, or a local, broadcast, anycast or multicast route of the local
// table (older kernels show some of them without a protocol).
func KernelOwned(r trace.Route) bool {
	if r.Proto == rtprotKernel {
		return true
	}
	switch r.Type {
	case kernel.RouteLocal, kernel.RouteBroadcast, kernel.RouteAnycast, kernel.RouteMulticast:
		return r.Table == trace.TableLocal
	}
	return false
}

// linkMarker reports whether r is one of the IPv6 routes the kernel keeps
// for a link while it is up: fe80::/64 or the multicast ff00::/8.
func linkMarker(r trace.Route) bool {
	if r.Family != 6 || !KernelOwned(r) {
		return false
	}
	switch r.Dst {
	case linkLocalPrefix:
		return r.Type == kernel.RouteUnicast || r.Type == 0
	case multicastPrefix:
		// addrconf_add_mroute(): RTN_MULTICAST since "ipv6: set
		// multicast flag on the multicast route" (2021), unicast before.
		return r.Type == kernel.RouteMulticast || r.Type == kernel.RouteUnicast || r.Type == 0
	}
	return false
}

var (
	linkLocalPrefix = netip.MustParsePrefix("fe80::/64")
	multicastPrefix = netip.MustParsePrefix("ff00::/8")
)

// markerSeen infers a link's events from its own routes (linkMarker),
// changes seen as they happened, when the trace shows none of the link's
// messages: their delete says it went down, their return that it came
// back.
func (v *View) markerSeen(r *trace.Record) {
	if !linkMarker(r.Route) {
		return
	}
	name := RouteDev(r.Route)
	st, down := v.links[name]
	switch {
	case r.Action == trace.ActionDel && !down:
		v.linkDown(name, r, true)
	case r.Action == trace.ActionNew && down && st.Inferred:
		delete(v.links, name)
		v.ch.Up, v.ch.UpFrom = name, st
	}
}

// applyLink follows links going down, coming up and going away.
func (v *View) applyLink(r *trace.Record) {
	l := r.Link
	name := Dev(l.Name, l.Index)
	if name == "" {
		return
	}
	if r.Action == trace.ActionDel {
		v.linkDown(name, r, false)
		v.linkGone(l)
		delete(v.links, name)
		v.ch.Gone = true
		return
	}
	st, down := v.links[name]
	switch {
	case !l.Up && !down:
		v.linkDown(name, r, false)
	case l.Up && down:
		delete(v.links, name)
		v.ch.Up, v.ch.UpFrom = name, st
	}
}

// linkDown marks link name down from r on, and drops its IPv4 routes as
// the kernel removes them, without a message.
func (v *View) linkDown(name string, r *trace.Record, inferred bool) {
	v.links[name] = Link{At: r.Time, Line: r.Line, Inferred: inferred}
	v.ch.Down = name
	v.routes.deleteFunc(func(x *RouteEntry) bool {
		// fib_sync_down_dev() skips the nexthops of scope
		// RT_SCOPE_NOWHERE, which the local routes of the link's own
		// addresses have: those stay while it is down.
		if x.Route.Family != 4 || RouteDev(x.Route) != name || x.Route.Type == kernel.RouteLocal {
			return false
		}
		v.ch.Silent = append(v.ch.Silent, x.Route)
		return true
	}, v.nodeLeft)
}

// nodeLeft counts a node the store's deleteFunc changed that held routes
// and holds left of them now.
func (v *View) nodeLeft(pk NodeKey, left int) { v.countNode(pk, true, left > 0) }

// linkGone drops what the kernel removes with a link without always
// announcing it: its routes, cache entries and neighbour entries.
func (v *View) linkGone(l trace.Link) {
	on := func(dev string, ifindex int) bool {
		return dev != "" && dev == l.Name || ifindex != 0 && ifindex == l.Index
	}
	v.routes.deleteFunc(func(x *RouteEntry) bool { return on(x.Route.Dev, x.Route.Ifindex) }, v.nodeLeft)
	for k, c := range v.cache {
		if on(c.Route.Dev, c.Route.Ifindex) {
			delete(v.cache, k)
		}
	}
	for k, n := range v.neighs {
		if on(n.Neigh.Dev, n.Neigh.Ifindex) {
			delete(v.neighs, k)
		}
	}
}
