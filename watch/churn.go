package watch

import (
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"time"

	"raceroute/kernel"
	"raceroute/trace"
)

// The kernel removes routes itself, and no writer can change those
// atomically:
//   - when a link goes down (IFF_UP cleared) or goes away: for IPv6,
//     addrconf_ifdown() and rt6_sync_down_dev() (net/ipv6/addrconf.c,
//     route.c) delete every route through it, announced one by one after
//     the link's own message (before RTM_DELLINK when it goes away); for
//     IPv4, fib_netdev_event() -> fib_disable_ip() -> fib_sync_down_dev()
//     and fib_flush() (net/ipv4/fib_frontend.c, fib_semantics.c) remove
//     them, all but the local routes of its addresses, without any
//     RTM_DELROUTE;
//   - its own routes (proto kernel: prefix, local, anycast, multicast
//     ff00::/8, broadcast) come and go with links and addresses.
// A trace of routes alone (`ip monitor route`) shows no link: there a
// link's own IPv6 routes stand for its events, as the kernel adds
// `fe80::/64 dev X proto kernel` and `multicast ff00::/8 dev X table
// local` when X comes up (addrconf_add_dev() -> addrconf_add_mroute(),
// and the link-local prefix route, net/ipv6/addrconf.c) and removes them
// only when it goes down (addrconf_ifdown()).
// When the link comes back up the kernel adds its own routes again; other
// writers' routes stay gone until their writer adds them. Such churn is
// reported as kernel-route-churn (info), never as a non-atomic change
// (recorded on Linux 6.18 in testdata/link-flap.log).

// rtprotKernel is RTPROT_KERNEL, the protocol of the kernel's own routes.
const rtprotKernel = 2

// maxChurnObjects bounds the routes a kernel-route-churn finding lists.
const maxChurnObjects = 12

// kernelOwned reports whether the kernel itself made the route: proto
// kernel, or a local, broadcast, anycast or multicast route of the local
// table (older kernels show some of them without a protocol).
func kernelOwned(r trace.Route) bool {
	if r.Proto == rtprotKernel {
		return true
	}
	switch r.Type {
	case kernel.RouteLocal, kernel.RouteBroadcast, kernel.RouteAnycast, kernel.RouteMulticast:
		return r.Table == trace.TableLocal
	}
	return false
}

// routeDev names a route's device as links are named.
func routeDev(r trace.Route) string { return devOf(r.Dev, r.Ifindex) }

// linkState is a link that went down, and the routes the kernel removed
// with it since.
type linkState struct {
	down     bool
	inferred bool      // from its own routes: the trace shows no link events
	at       time.Time // when it went down
	line     int
	removed  []trace.Route
	silent   int // of removed, the IPv4 routes the kernel removed unannounced
}

// linkMarker reports whether r is one of the IPv6 routes the kernel keeps
// for a link while it is up: fe80::/64 or the multicast ff00::/8.
func linkMarker(r trace.Route) bool {
	if r.Family != 6 || !kernelOwned(r) {
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

// linkMarkerSeen infers a link's events from its own routes (linkMarker)
// when the trace shows none of the link's messages: their delete says it
// went down, their return that it came back.
func (e *Engine) linkMarkerSeen(r trace.Record, out []Finding) []Finding {
	if !linkMarker(r.Route) {
		return out
	}
	name := routeDev(r.Route)
	st := e.links[name]
	switch {
	case r.Action == trace.ActionDel && st == nil:
		e.linkDown(name, r)
		e.links[name].inferred = true
	case r.Action == trace.ActionNew && st != nil && st.down && st.inferred:
		delete(e.links, name)
		if len(st.removed) > 0 {
			out = append(out, e.linkChurn(name, st, r))
		}
	}
	return out
}

// observeLink follows links going down and up.
func (e *Engine) observeLink(r trace.Record, out []Finding) []Finding {
	l := r.Link
	name := devOf(l.Name, l.Index)
	if name == "" {
		return out
	}
	if r.Action == trace.ActionDel {
		e.linkDown(name, r)
		e.linkGone(l)
		delete(e.links, name)
		return out
	}
	st := e.links[name]
	switch {
	case !l.Up && (st == nil || !st.down):
		e.linkDown(name, r)
	case l.Up && st != nil && st.down:
		delete(e.links, name)
		if len(st.removed) > 0 && !r.Initial {
			out = append(out, e.linkChurn(name, st, r))
		}
	}
	return out
}

// linkDown marks link name down from r on. The deletes of its routes
// already seen are the kernel's (it announces some before the link's
// message; in a trace without times, those since the last add count),
// and its IPv4 routes go from the view, as the kernel removes them
// without a message.
func (e *Engine) linkDown(name string, r trace.Record) {
	st := &linkState{down: true, at: r.Time, line: r.Line}
	e.links[name] = st
	mark := func(d *deletion) {
		if d != nil && d.link == "" && d.retr == nil && routeDev(d.route) == name {
			d.link = name
			st.removed = append(st.removed, d.route)
		}
	}
	for _, d := range e.dels {
		mark(d)
	}
	for _, d := range e.zeroRun {
		mark(d)
	}
	for pk, es := range e.routes {
		if pk.family != 4 {
			continue
		}
		e.setRoutes(pk, slices.DeleteFunc(es, func(x routeEntry) bool {
			// fib_sync_down_dev() skips the nexthops of scope
			// RT_SCOPE_NOWHERE, which the local routes of the link's
			// own addresses have: those stay while it is down.
			if routeDev(x.route) != name || x.route.Type == kernel.RouteLocal {
				return false
			}
			st.removed = append(st.removed, x.route)
			st.silent++
			return true
		}))
	}
}

// linkChurn reports the routes the kernel removed with a link that went
// down and came back up (r).
func (e *Engine) linkChurn(name string, st *linkState, r trace.Record) Finding {
	rs := slices.Clone(st.removed)
	slices.SortFunc(rs, compareRoutes)
	var own, others []string
	for _, x := range rs {
		if kernelOwned(x) {
			own = append(own, routeObject(x))
		} else {
			others = append(others, routeObject(x))
		}
	}
	var when string
	switch {
	case !st.at.IsZero() && !r.Time.IsZero():
		when = fmt.Sprintf("went down at %s and came back up at %s, %s later", fmtTime(st.at), fmtTime(r.Time), fmtGap(r.Time.Sub(st.at)))
	default:
		when = fmt.Sprintf("went down%s and came back up%s", lineRef(st.line), lineRef(r.Line))
	}
	if st.inferred {
		when += " (the trace shows no link events: the kernel's fe80::/64 and ff00::/8 routes of the link went and came back with it)"
	}
	ev := fmt.Sprintf("%s %s; with it the kernel removed %d route(s) through it", name, when, len(rs))
	if st.silent > 0 {
		ev += fmt.Sprintf(" (%d of them IPv4 routes, removed without a message)", st.silent)
	}
	if len(own) > 0 {
		ev += fmt.Sprintf("; its own (proto kernel) routes, which it adds again as the link and its addresses come back: %s", quoteList(own))
	}
	if len(others) > 0 {
		ev += fmt.Sprintf("; routes of other writers, gone until their writer adds them again: %s", quoteList(others))
	}
	objs := []string{"dev " + name}
	for _, x := range rs {
		if len(objs) > maxChurnObjects {
			objs = append(objs, fmt.Sprintf("... and %d more", len(rs)-maxChurnObjects))
			break
		}
		objs = append(objs, routeObject(x))
	}
	return Finding{
		Detector: DetectorKernelChurn,
		Severity: SeverityInfo,
		Time:     r.Time,
		Objects:  objs,
		Evidence: ev,
		Advice: "Nothing for a writer to change: the kernel removed these routes because the link went down, and no writer can replace them atomically; this is not a non-atomic route change. " +
			"If the link should not flap, find out why it went down (`ip -s link show dev " + name + "`, the peer, the driver's log); a daemon whose routes went with the link adds them again when it sees the link back.",
	}
}

// kernelRouteChurn reports one of the kernel's own routes deleted and
// added again (d, r) with no link seen going down around it.
func (e *Engine) kernelRouteChurn(d *deletion, r trace.Record, gap string) Finding {
	ev := fmt.Sprintf("the kernel deleted its own route `%s` at %s and added it again %s later", routeObject(d.route), fmtTime(d.at), gap)
	if r.Time.IsZero() {
		ev = fmt.Sprintf("the kernel deleted its own route `%s`%s and added it again as the next route event%s (the trace has no timestamps)",
			routeObject(d.route), lineRef(d.line), lineRef(r.Line))
	}
	ev += fmt.Sprintf(": it makes such routes for links and addresses, and removes and re-adds them when a link or an address of %s goes down and comes back "+
		"(no link event shows %s going down, so likely one of its addresses went and came back; a recording of `ip monitor route` alone shows neither)", routeDev(d.route), routeDev(d.route))
	return Finding{
		Detector: DetectorKernelChurn,
		Severity: SeverityInfo,
		Time:     r.Time,
		Objects:  []string{routeObject(r.Route)},
		Evidence: ev,
		Advice: "Nothing for a writer to change: no writer made this change, and NLM_F_REPLACE does not apply to the kernel's own routes. " +
			"To see what went down, record links and addresses too (`ip -ts monitor label`, or `raceroute watch`).",
	}
}

// quoteList renders objects as "`a`, `b`".
func quoteList(objs []string) string {
	return "`" + strings.Join(objs, "`, `") + "`"
}
