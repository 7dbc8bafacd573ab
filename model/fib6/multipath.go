package fib6

import (
	"fmt"
	"strings"
)

// This file holds what the model adds for IPv6 multipath (ECMP) routes
// beyond fib6_add_rt2node()'s sibling handling in kernel.go: how an
// initial table lists one, and how a story names a replace's effect on
// siblings.

// InitialKind says how New adds the i-th initial route of c: as `ip -6
// route append` (NLM_F_CREATE|NLM_F_APPEND) when an earlier initial route
// at its table, prefix and metric qualifies for ECMP together with it,
// so that a multipath route listed one next hop a line (as `ip -6 route`
// printed them before 4.11, and as a user writes them) becomes one set of
// siblings (fib6_add_rt2node() links a route added without NLM_F_EXCL to
// the others of its metric); else as `ip -6 route add`
// (NLM_F_CREATE|NLM_F_EXCL). The live lab adds them the same way.
func (c Config) InitialKind(i int) OpKind {
	r := c.Routes[i]
	for _, o := range c.Routes[:i] {
		if o.Table == r.Table && o.Prefix == r.Prefix && o.Metric == r.Metric && userQualifiesECMP(o) && userQualifiesECMP(r) {
			return OpAppend
		}
	}
	return OpAdd
}

// userQualifiesECMP is rt6_qualify_for_ecmp() for a route as a user
// writes it: a gateway, no nexthop object (5.3: !f6i->nh), no
// RTF_ADDRCONF or RTF_DYNAMIC (routes from RAs and redirects, which no
// user adds). Read at 3.10.108, 4.2.8, 4.11.0, 4.19.1 (ip6_fib.c /
// ip6_route.h: (flags & (RTF_GATEWAY|RTF_ADDRCONF|RTF_DYNAMIC)) ==
// RTF_GATEWAY) and 5.6.4, 6.12.0 (ip6_route.h: !(fib6_flags &
// RTF_ADDRCONF) && !f6i->nh && fib_nh_gw_family).
func userQualifiesECMP(r Route) bool { return r.Type == Unicast && r.Gateway.IsValid() && r.NHID == 0 }

// sibDelReason says why a delete took sibling routes with the one it
// matched (ip6_route_del() -> __ip6_del_rt_siblings(), 4.11).
func sibDelReason(matched string) string {
	return fmt.Sprintf("an ECMP sibling of %s: a delete without a gateway removes every next hop of the multipath route (__ip6_del_rt_siblings, 4.11)", matched)
}

// siblingsReplaced tells what a replace did to the siblings of the route
// it replaced.
func (m *Model) siblingsReplaced(w addWhy) string {
	var gone []string
	for _, g := range w.gone {
		if g != 0 {
			gone = append(gone, m.RouteText(g))
		}
	}
	switch {
	case len(gone) > 0:
		return "; Replacing an ECMP route, remove all siblings (fib6_add_rt2node, 4.2 on): " + strings.Join(gone, "; ") + " went with it"
	case w.kept:
		return "; its ECMP siblings stay: 3.x replaces only this one route and leaves the others of the set in the table (fixed in 4.2 by 27596472473a \"ipv6: fix ECMP route replacement\")"
	}
	return ""
}

// siblingsJoined tells, for route id just inserted, which ECMP siblings
// it joined (fib6_add_rt2node(): a route added without NLM_F_EXCL at the
// metric of routes that qualify for ECMP, as it does, becomes their
// sibling), or why a route beside others of its metric did not.
func (m *Model) siblingsJoined(s *State, id uint8) string {
	ri := &m.routes[id]
	if ri.isCache() {
		return ""
	}
	var sib, other []string
	for _, o := range s.Slots[ri.node] {
		switch {
		case o == 0 || o == id || m.routes[o].r.Metric != ri.r.Metric:
		case m.sibling(id, o):
			sib = append(sib, m.RouteText(o))
		default:
			other = append(other, m.RouteText(o))
		}
	}
	switch {
	case len(sib) > 0:
		return fmt.Sprintf("an ECMP sibling of %s (fib6_add_rt2node: same metric, both qualify for ECMP): a multipath route of %d next hops", strings.Join(sib, "; "), len(sib)+1)
	case len(other) > 0:
		return fmt.Sprintf("beside %s at the same metric, not an ECMP sibling (rt6_qualify_for_ecmp: a route without a gateway, or with a nexthop object, never is)", strings.Join(other, "; "))
	}
	return ""
}
