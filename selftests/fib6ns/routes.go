package fib6ns

import (
	"cmp"
	"fmt"
	"net/netip"
	"slices"
	"strings"

	"raceroute/kernel"
	"raceroute/model/fib6"
	"raceroute/selftests/ipcmd"
	"raceroute/selftests/verdict"
)

// RouteRequest is one RTM_NEWROUTE or RTM_DELROUTE of a single-path
// route: its nexthop checked as ip6_route_info_create() does, then the
// model's answer.
func (ns *NS) RouteRequest(op fib6.Op, mtu uint32) (kernel.Errno, string) {
	if op.Kind != fib6.OpDel {
		r, errno, miss := ns.createNexthop(op.Route)
		if miss != "" || errno != 0 {
			return errno, miss
		}
		op.Route = r
	}
	errno, miss := ns.insert(op)
	if errno == 0 && miss == "" && op.Kind != fib6.OpDel {
		ns.setMTU(op.Route, mtu)
	}
	return errno, miss
}

// setMTU records the RTAX_MTU of a route just made
// (ip_fib_metrics_init() from the request's RTA_METRICS; none: 0).
func (ns *NS) setMTU(r fib6.Route, mtu uint32) {
	if mtu == 0 {
		delete(ns.mtu, r)
		return
	}
	ns.mtu[r] = mtu
}

// createNexthop checks a new route's nexthop and fills in its device, as
// ip6_route_info_create() -> fib6_nh_init() -> ip6_validate_gw() ->
// ip6_route_check_nh() do (net/ipv6/route.c, read at 6.12; 4.19's
// ip6_route_check_nh() refuses the same cases through rt6_lookup()): a
// gateway may not be an address of the device's L3 domain ("Gateway can
// not be a local address", -EINVAL; __ipv6_chk_addr_and_flags() skips
// addresses whose device has another l3mdev master, read in mainline's
// addrconf.c, so an address in a VRF is a valid gateway from main); a
// global gateway must resolve to a
// device route, on the device given if one is (-EHOSTUNREACH: the lookup
// finds no route, a reject route or a gateway route, or another
// device); the device must exist and be up. Link-local gateways are not
// looked up by the kernel either way and are not modelled.
func (ns *NS) createNexthop(r fib6.Route) (fib6.Route, kernel.Errno, string) {
	if r.Type != fib6.Unicast {
		return r, 0, ""
	}
	if gw := r.Gateway; gw.IsValid() {
		if gw.IsLinkLocalUnicast() {
			return r, 0, verdict.CapGatewayVal + " of a link-local gateway"
		}
		dev, ok := ns.gatewayDev(gw, r.Dev)
		if !ok {
			return r, kernel.EHOSTUNREACH, ""
		}
		r.Dev = dev
		if d := ns.Devs[dev]; d != nil && ns.isLocal(gw, d.Table) {
			return r, kernel.EINVAL, ""
		}
	}
	if d := ns.Devs[r.Dev]; d == nil || !d.Up {
		return r, 0, "device checks (fib6_nh_init: no device, or down)"
	}
	return r, 0, ""
}

// insert puts one request to a fresh model holding the table as it
// stands, and keeps the table it leaves.
func (ns *NS) insert(op fib6.Op) (kernel.Errno, string) {
	m, err := fib6.New(fib6.Config{Profile: ns.Profile, Routes: ns.Table, Listed: true, Actors: []fib6.Actor{{Name: "script", Ops: []fib6.Op{op}}}})
	if err != nil {
		return 0, "the model's capacity (" + err.Error() + ")"
	}
	s := m.Init()
	ans, err := m.Exec(&s, op)
	if err != nil {
		return 0, err.Error()
	}
	ns.Table = ns.Table[:0]
	for _, r := range m.Table(&s) {
		if !r.Cache {
			ns.Table = append(ns.Table, r.Route)
		}
	}
	dumpOrder(ns.Table)
	ns.forgetDead()
	return ans.Err, ""
}

// MultipathAdd mirrors ip6_route_multipath_add() (net/ipv6/route.c, read
// at 6.12; the same steps at 4.19.108 and RHEL 8's 4.18.0-240): every
// leg is made first (ip6_route_info_create(), so an invalid gateway
// fails the request with nothing changed), must qualify for ECMP ("Device
// only routes can not be added for IPv6 using the multipath API",
// -EINVAL) and must not repeat a leg (ip6_route_info_append(), -EEXIST);
// then each leg is inserted as a single route, the first with the
// request's flags and the others with NLM_F_EXCL and NLM_F_REPLACE
// cleared and NLM_F_CREATE set, so that they join the first as ECMP
// siblings; if one fails, the legs inserted before it are deleted
// again. NLM_F_APPEND changes only the notification (fib6_add_rt2node()
// reads it for nlflags alone, 4.19 and 6.12), so the later legs run as
// appends.
func (ns *NS) MultipathAdd(op fib6.Op, legs []ipcmd.Nexthop, mtu uint32) (kernel.Errno, string) {
	var routes []fib6.Route
	for _, l := range legs {
		r := op.Route
		r.Gateway, r.Dev = l.GW, l.Dev
		if r.Dev == "" && !r.Gateway.IsValid() {
			return kernel.EINVAL, "" // no gateway, no device: not a nexthop
		}
		r, errno, miss := ns.createNexthop(r)
		if miss != "" || errno != 0 {
			return errno, miss
		}
		if !r.Gateway.IsValid() {
			return kernel.EINVAL, "" // rt6_qualify_for_ecmp() is false
		}
		for _, o := range routes {
			if o.Dev == r.Dev && o.Gateway == r.Gateway {
				return kernel.EEXIST, "" // rt6_duplicate_nexthop()
			}
		}
		routes = append(routes, r)
	}
	for i, r := range routes {
		kind := op.Kind
		if i > 0 {
			kind = fib6.OpAppend
		}
		errno, miss := ns.insert(fib6.Op{Kind: kind, Route: r})
		if miss != "" {
			return 0, miss
		}
		if errno != 0 {
			for _, done := range routes[:i] {
				if _, miss := ns.insert(fib6.Op{Kind: fib6.OpDel, Route: done}); miss != "" {
					return 0, miss
				}
			}
			return errno, ""
		}
		ns.setMTU(r, mtu) // every leg gets the request's metrics (r_cfg is a copy of cfg)
	}
	return 0, ""
}

// ListLines prints routes as `ip -6 route` does. ECMP siblings (the
// gateway routes of one prefix and metric, rt6_qualify_for_ecmp()) are
// one route with RTA_MULTIPATH: rt6_fill_node() puts the first route's
// nexthop and each sibling's in it, and fib6_dump_node() skips the
// siblings after it (both since 4.11, beb1afac518d "net: ipv6: Add
// support to dump multipath routes via RTA_MULTIPATH attribute"; read at
// 6.12); iproute2 prints the head line, then a tab-indented `nexthop via
// GW dev DEV weight 1 ` line per nexthop (weight = rtnh_hops + 1), each
// with its flags.
func (ns *NS) ListLines(rs []fib6.Route) []string {
	var lines []string
	done := make([]bool, len(rs))
	for i, r := range rs {
		if done[i] {
			continue
		}
		var group []fib6.Route
		if ECMP(r) {
			for j := i; j < len(rs); j++ {
				if !done[j] && siblings(r, rs[j]) {
					group = append(group, rs[j])
					done[j] = true
				}
			}
		}
		if len(group) < 2 {
			lines = append(lines, r.String()+ns.nhFlags(r)+ns.metricsText(r))
			continue
		}
		head := r
		head.Gateway, head.Dev = netip.Addr{}, ""
		var b strings.Builder
		b.WriteString(head.String())
		b.WriteString(ns.metricsText(r)) // the first leg's: rt6_fill_node() of the route dumped
		for _, g := range group {
			fmt.Fprintf(&b, "\n\tnexthop via %s dev %s weight 1%s ", g.Gateway, g.Dev, ns.nhFlags(g))
		}
		lines = append(lines, b.String())
	}
	return lines
}

// nhFlags is the nexthop flags iproute2 prints after a route or nexthop:
// RTNH_F_LINKDOWN is set on a route through a device without carrier
// when it is made (fib6_nh_init()) or when the carrier goes
// (fib6_ifdown() at NETDEV_CHANGE, via rt6_sync_down_dev() while
// !addrconf_link_ready()), and cleared when it comes back
// (rt6_sync_up(dev, RTNH_F_LINKDOWN)); so it is there exactly while the
// device has no carrier (read at 6.12; local and anycast routes, which
// never get it, are in the local table, not held here), and on a dead
// ECMP leg (LinkDown). iproute2's print_rt_flags() prints dead first.
func (ns *NS) nhFlags(r fib6.Route) string {
	f := ""
	if ns.dead[r] {
		f = " dead"
	}
	if d := ns.Devs[r.Dev]; ns.dead[r] || d != nil && d.NoCarrier {
		f += " linkdown"
	}
	return f
}

// metricsText is the RTA_METRICS iproute2 prints after the flags (and
// `pref`): here only mtu.
func (ns *NS) metricsText(r fib6.Route) string {
	if m := ns.mtu[r]; m != 0 {
		return fmt.Sprintf(" mtu %d", m)
	}
	return ""
}

// ECMP mirrors rt6_qualify_for_ecmp() for the routes a script adds: a
// unicast route with a gateway.
func ECMP(r fib6.Route) bool { return r.Type == fib6.Unicast && r.Gateway.IsValid() }

// siblings reports whether a and b are legs of one ECMP route: both
// qualify, at one table, prefix and metric (fib6_add_rt2node()).
func siblings(a, b fib6.Route) bool {
	return ECMP(a) && ECMP(b) && a.Table == b.Table && a.Prefix == b.Prefix && a.Metric == b.Metric
}

// dumpOrder sorts routes as the kernel's dump walks the tree, table by
// table: fib6_walk_continue() (net/ipv6/ip6_fib.c) visits a node's 0
// branch, then its 1 branch, then the node itself, so a prefix comes
// after the prefixes inside it and disjoint prefixes come in address
// order; at one prefix the list order stays (the sort is stable).
func dumpOrder(rs []fib6.Route) {
	slices.SortStableFunc(rs, func(a, b fib6.Route) int {
		if a.Table != b.Table {
			return cmp.Compare(a.Table, b.Table)
		}
		if a.Prefix == b.Prefix {
			return 0
		}
		switch {
		case a.Prefix.Bits() > b.Prefix.Bits() && b.Prefix.Contains(a.Prefix.Addr()):
			return -1 // a is inside b
		case b.Prefix.Bits() > a.Prefix.Bits() && a.Prefix.Contains(b.Prefix.Addr()):
			return 1
		}
		return a.Prefix.Addr().Compare(b.Prefix.Addr())
	})
}

// gatewayDev is the device ip6_route_check_nh() finds for a gateway:
// the lookup (main table, RT6_LOOKUP_F_IFACE with the device given, if
// any) takes the longest prefix that has a route (on that device), the
// first in list order there, and that route must be a device route: not
// a reject route, no gateway of its own.
func (ns *NS) gatewayDev(gw netip.Addr, dev string) (string, bool) {
	best := -1
	for i, r := range ns.Table {
		if r.Table != fib6.MainTable || !r.Prefix.Contains(gw) || dev != "" && r.Dev != dev {
			continue
		}
		if best < 0 || r.Prefix.Bits() > ns.Table[best].Prefix.Bits() {
			best = i
		}
	}
	if best < 0 || ns.Table[best].Type != fib6.Unicast || ns.Table[best].Gateway.IsValid() {
		return "", false
	}
	return ns.Table[best].Dev, true
}
