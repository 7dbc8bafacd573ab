package fib6host

import (
	"fmt"
	"net/netip"
	"time"

	"raceroute/explore"
	"raceroute/lab/liverun"
	"raceroute/live/nl"
	"raceroute/trace"
)

// The no-gap property live: the model's NoGap (model/fib6/props.go) is
// an invariant, "PREFIX holds a route (not a clone) at every step". The
// lab judges it on the kernel's own order of changes: the RTM_NEWROUTE
// and RTM_DELROUTE events of the prefix's table, as the host's netlink
// subscription received them (one socket: the kernel's notification
// order, inet6_rt_notify() called under the table lock in
// fib6_add_rt2node() and fib6_del_route()), replayed on a view of the
// routes at the prefix from the subscription's first dump on. The
// window runs from the first route's appearance at the prefix to the
// end; the kernel's dump when the actors start must hold a route there
// (the model checks its initial state too), and the replay must end
// where the kernel's dump at the end is, or the lab cannot judge.

// gapRoute identifies a route at one prefix: what a delete matches
// (ip6_route_del(): device, gateway, metric, protocol, or for a route on
// a nexthop object its id) and its type.
type gapRoute struct {
	typ     uint8
	gateway netip.Addr
	ifindex int
	metric  uint32
	proto   uint8
	nhid    uint32
}

// gapKey is r's identity. A route on a nexthop object is its object's
// id: the gateway and device the kernel lists with it are the object's
// (nexthop_compat_mode), which a nexthop replace changes without the
// route changing.
func gapKey(r trace.Route) gapRoute {
	if r.NHID != 0 {
		return gapRoute{typ: uint8(r.Type), metric: r.Metric, proto: uint8(r.Proto), nhid: r.NHID}
	}
	return gapRoute{typ: uint8(r.Type), gateway: r.Gateway, ifindex: r.Ifindex, metric: r.Metric, proto: uint8(r.Proto)}
}

// qualifiesECMP mirrors rt6_qualify_for_ecmp() (include/net/ip6_route.h,
// 6.12: !RTF_ADDRCONF && !f6i->nh && a gateway) for the routes the lab
// writes (no addrconf routes).
func (g gapRoute) qualifiesECMP() bool { return g.gateway.IsValid() && g.nhid == 0 }

// gapView is the list of routes at the prefix, in the kernel's order
// (metric, then insertion).
type gapView []gapRoute

// apply folds one route event into the view: each route it stands for
// (nl.Siblings: a multipath message, RTA_MULTIPATH, is a route and its
// ECMP siblings; __ip6_del_rt_siblings() sends one RTM_DELROUTE for all
// of them, fib6_add_rt2node() an RTM_NEWROUTE of the whole set when a
// sibling is appended, 6.12).
func (v gapView) apply(r *trace.Record) gapView {
	for i, rt := range nl.Siblings(*r) {
		v = v.applyOne(r.Action, r.Replace && i == 0, rt)
	}
	return v
}

// applyOne folds one route of an event into the view. A new route with
// NLM_F_REPLACE took the place of the first route of its metric whose
// ECMP kind matches it, or else of the first route of its metric
// (fib6_add_rt2node(), 6.x, with e404b8c7cfb3's fallback), and when the
// route it replaced had ECMP siblings, they went with it ("Replacing an
// ECMP route, remove all siblings": every later route of the metric that
// qualifies for ECMP, 6.12); the kernel sends no RTM_DELROUTE for the
// routes replaced.
func (v gapView) applyOne(action trace.Action, replace bool, rt trace.Route) gapView {
	k := gapKey(rt)
	if action == trace.ActionDel {
		for i, x := range v {
			if x == k {
				return append(v[:i:i], v[i+1:]...)
			}
		}
		return v
	}
	for _, x := range v {
		if x == k {
			return v // the subscription's dump and an event both had it
		}
	}
	if replace {
		first := -1
		for i, x := range v {
			if x.metric != k.metric {
				continue
			}
			if x.qualifiesECMP() == k.qualifiesECMP() {
				first = i
				break
			}
			if first < 0 {
				first = i
			}
		}
		if first >= 0 {
			old := v[first]
			out := append(gapView(nil), v[:first]...)
			out = append(out, k)
			for _, x := range v[first+1:] {
				if old.qualifiesECMP() && x.metric == old.metric && x.qualifiesECMP() {
					continue // a sibling of the route replaced
				}
				out = append(out, x)
			}
			return out
		}
	}
	i := 0
	for i < len(v) && v[i].metric <= k.metric {
		i++
	}
	out := append(gapView(nil), v[:i]...)
	out = append(out, k)
	return append(out, v[i:]...)
}

// same reports whether the view holds exactly routes (as sets).
func (v gapView) same(routes []trace.Route) bool {
	if len(v) != len(routes) {
		return false
	}
	for _, r := range routes {
		found := false
		for _, x := range v {
			found = found || x == gapKey(r)
		}
		if !found {
			return false
		}
	}
	return true
}

// atPrefix lists the routes of a dump at table and prefix.
func atPrefix(routes []trace.Route, table uint32, prefix netip.Prefix) []trace.Route {
	var out []trace.Route
	for _, r := range routes {
		if r.Family == 6 && !r.Cloned && r.Table == table && r.Dst == prefix {
			out = append(out, r)
		}
	}
	return out
}

// judgeNoGap judges no-gap for prefix in table on the host's recorded
// events (in the order received), the kernel's dump when the actors
// started (start) and at the end (end). t0 is the timeline's origin,
// for the times it names. An error means the events cannot decide: the
// subscription lost some, or their replay does not end at the kernel's
// dump.
func judgeNoGap(name string, table uint32, prefix netip.Prefix, events []liverun.Event, host string, t0 time.Time, start, end []trace.Route) (liverun.PropertyResult, error) {
	pr := liverun.PropertyResult{Name: name, Kind: explore.Invariant, Verdict: explore.Holds}
	at := func(t time.Time) string { return fmt.Sprintf("t=%.6f s", t.Sub(t0).Seconds()) }
	var (
		view               gapView
		seen               bool // a route appeared at the prefix
		emptied            *liverun.Event
		gaps, changes      int
		firstDel, firstAdd *liverun.Event
		firstGap           time.Duration
	)
	for i := range events {
		e := &events[i]
		r := e.Record()
		if e.Host != host || r == nil {
			continue
		}
		switch r.Kind {
		case trace.KindOverflow, trace.KindResync:
			return pr, fmt.Errorf("no-gap %s: the host's netlink subscription lost events at %s (ENOBUFS), so the order of the changes is not known", prefix, at(e.At()))
		case trace.KindRoute:
		default:
			continue
		}
		if r.Route.Family != 6 || r.Route.Cloned || r.Route.Table != table || r.Route.Dst != prefix {
			continue
		}
		changes++
		view = view.apply(r)
		switch {
		case len(view) > 0 && emptied != nil:
			gaps++
			if firstDel == nil {
				firstDel, firstAdd, firstGap = emptied, e, e.At().Sub(emptied.At())
			}
			emptied = nil
		case len(view) > 0:
			seen = true
		case seen && emptied == nil:
			emptied = e
		}
	}
	if !view.same(atPrefix(end, table, prefix)) {
		return pr, fmt.Errorf("no-gap %s: the %d route events recorded, replayed, do not end at the kernel's routes there at the end (%s), so the lab cannot judge the order of the changes", prefix, changes, listTrace(atPrefix(end, table, prefix)))
	}
	switch {
	case len(atPrefix(start, table, prefix)) == 0:
		pr.Verdict = explore.Violated
		pr.Explanation = fmt.Sprintf("%s held no route when the actors started (the kernel's dump then)", prefix)
	case firstDel != nil:
		pr.Verdict = explore.Violated
		pr.Explanation = fmt.Sprintf("%s held no route for %d µs: the kernel's RTM_DELROUTE of `%s` at %s emptied it and its RTM_NEWROUTE of `%s` at %s refilled it (times the lab received them; %d gap(s) in %d route events of the prefix)",
			prefix, firstGap.Microseconds(), routeText(firstDel.Record().Route), at(firstDel.At()), routeText(firstAdd.Record().Route), at(firstAdd.At()), gaps, changes)
	case emptied != nil:
		pr.Verdict = explore.Violated
		pr.Explanation = fmt.Sprintf("%s held no route from the kernel's RTM_DELROUTE of `%s` at %s to the end", prefix, routeText(emptied.Record().Route), at(emptied.At()))
	default:
		pr.Explanation = fmt.Sprintf("%s held a route at every one of the kernel's %d route events of the prefix, from its first route to the end", prefix, changes)
	}
	return pr, nil
}
