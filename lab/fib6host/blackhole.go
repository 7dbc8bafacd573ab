package fib6host

import (
	"fmt"
	"net/netip"
	"sort"
	"time"

	"raceroute/explore"
	"raceroute/kernel"
	"raceroute/lab/liverun"
	"raceroute/trace"
)

// The no-blackhole property live: the model's NoBlackhole
// (model/fib6/blackhole.go) is an invariant, "a lookup for DST finds a
// usable route in every state". The lab judges it on the kernel's own
// order of route changes, as no-gap does (nogap.go): the views of every
// prefix of the table covering DST start at the kernel's dump when the
// actors started, and each RTM_NEWROUTE or RTM_DELROUTE received after
// that moves one view; after each, the lookup is the first route of the
// longest prefix that holds one (fib6_lookup() with backtracking;
// rt6_select() takes the first of the best metric, which the view's
// order is), and it must be a unicast route. The replay must end where
// the kernel's dump at the end is, or the lab cannot judge.

func judgeNoBlackhole(name string, table uint32, dst netip.Addr, events []liverun.Event, host string, t0 time.Time, start, end []trace.Route) (liverun.PropertyResult, error) {
	pr := liverun.PropertyResult{Name: name, Kind: explore.Invariant, Verdict: explore.Holds}
	at := func(t time.Time) string { return fmt.Sprintf("t=%.6f s", t.Sub(t0).Seconds()) }
	covers := func(r trace.Route) bool {
		return r.Family == 6 && !r.Cloned && r.Table == table && r.Dst.Contains(dst)
	}
	views := map[netip.Prefix]gapView{}
	for _, r := range start {
		if covers(r) {
			views[r.Dst] = append(views[r.Dst], gapKey(r))
		}
	}
	// lookup returns the prefix and route a packet to dst uses now
	// (ok false: none, ip6_null_entry).
	lookup := func() (netip.Prefix, gapRoute, bool) {
		best, bits := netip.Prefix{}, -1
		for p, v := range views {
			if len(v) > 0 && p.Bits() > bits {
				best, bits = p, p.Bits()
			}
		}
		if bits < 0 {
			return best, gapRoute{}, false
		}
		return best, views[best][0], true
	}
	usable := func() bool {
		_, r, ok := lookup()
		return ok && r.typ == uint8(kernel.RouteUnicast)
	}
	describe := func() string {
		p, r, ok := lookup()
		switch {
		case !ok:
			return "no route at all (ip6_null_entry)"
		case r.typ != uint8(kernel.RouteUnicast):
			return fmt.Sprintf("the %s route at %s", kernel.RouteType(r.typ), p)
		}
		return fmt.Sprintf("the route at %s", p)
	}
	var (
		bad, fixed *liverun.Event
		badText    string
		changes    int
	)
	if !usable() {
		pr.Verdict = explore.Violated
		pr.Explanation = fmt.Sprintf("when the actors started a packet to %s found %s (the kernel's dump then)", dst, describe())
	}
	for i := range events {
		e := &events[i]
		r := e.Record()
		if e.Host != host || r == nil || e.At().Before(t0) {
			continue
		}
		switch r.Kind {
		case trace.KindOverflow, trace.KindResync:
			return pr, fmt.Errorf("no-blackhole %s: the host's netlink subscription lost events at %s (ENOBUFS), so the order of the changes is not known", dst, at(e.At()))
		case trace.KindRoute:
		default:
			continue
		}
		if !covers(r.Route) {
			continue
		}
		changes++
		views[r.Route.Dst] = views[r.Route.Dst].apply(r)
		switch ok := usable(); {
		case bad == nil && !ok:
			bad, badText = e, describe()
		case bad != nil && fixed == nil && ok:
			fixed = e
		}
	}
	var prefixes []netip.Prefix
	for p := range views {
		prefixes = append(prefixes, p)
	}
	for _, r := range end {
		if covers(r) {
			if _, ok := views[r.Dst]; !ok {
				prefixes = append(prefixes, r.Dst)
			}
		}
	}
	sort.Slice(prefixes, func(i, j int) bool { return prefixes[i].String() < prefixes[j].String() })
	for _, p := range prefixes {
		if !views[p].same(atPrefix(end, table, p)) {
			return pr, fmt.Errorf("no-blackhole %s: the %d route events recorded, replayed, do not end at the kernel's routes at %s at the end (%s), so the lab cannot judge the order of the changes", dst, changes, p, listTrace(atPrefix(end, table, p)))
		}
	}
	switch {
	case pr.Verdict == explore.Violated:
	case bad != nil:
		pr.Verdict = explore.Violated
		msg := map[trace.Action]string{trace.ActionNew: "RTM_NEWROUTE", trace.ActionDel: "RTM_DELROUTE"}
		until := "to the end"
		if fixed != nil {
			until = fmt.Sprintf("for %d µs, until its %s of `%s` at %s", fixed.At().Sub(bad.At()).Microseconds(), msg[fixed.Record().Action], routeText(fixed.Record().Route), at(fixed.At()))
		}
		pr.Explanation = fmt.Sprintf("after the kernel's %s of `%s` at %s a packet to %s found %s, %s (times the lab received the events; %d route events of the prefixes covering it)",
			msg[bad.Record().Action], routeText(bad.Record().Route), at(bad.At()), dst, badText, until, changes)
	default:
		pr.Explanation = fmt.Sprintf("a packet to %s found a unicast route after every one of the kernel's %d route events of the prefixes covering it", dst, changes)
	}
	return pr, nil
}
