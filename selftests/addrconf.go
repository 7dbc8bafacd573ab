package selftests

import (
	"fmt"
	"net/netip"
	"slices"
	"strconv"
	"strings"

	"raceroute/kernel"
	"raceroute/model/fib6"
	"raceroute/selftests/cases"
)

// This file follows what addrconf and a device's state changes do to the
// IPv6 table of the modelled namespace: the prefix routes of addresses
// (added, deleted, their metric changed, their peer changed), link down
// (dead multipath legs) and up with keep_addr_on_down, unregister, and
// `ip -6 route get fibmatch` (by oif, of local addresses). Read in
// Debian's linux-source 6.12.117 and 5.10.262 net/ipv6/addrconf.c (the
// functions named are the same in both for what is used here) and
// route.c (fib6_ifdown(), find_match()); kernels before 5.10 were not
// read, so there these events stay not expressible (notRead).

// fibAddr is an IPv6 address of a device, as addrconf holds it.
type fibAddr struct {
	pfx    netip.Prefix // the address and its prefix length
	peer   netip.Addr   // the peer of a point-to-point address, if any
	metric uint32       // IFA_RT_PRIORITY, 0 if none
	nodad  bool         // IFA_F_NODAD
}

// routeMetric is the metric of the address's prefix routes:
// addrconf_prefix_route() uses `metric ? : IP6_RT_PRIO_ADDRCONF`.
func (a fibAddr) routeMetric() uint32 {
	if a.metric != 0 {
		return a.metric
	}
	return 256
}

// notRead says why an event is not expressible on an older kernel.
const notRead = " (not read before 5.10)"

// readAt reports whether the profile's line is one whose addrconf and
// fib6_ifdown() were read: otherwise an address or link event in a case
// is not expressible.
func (w *fibWorld) readAt() bool {
	l, err := LineOf(w.p)
	return err == nil && !l.Less(cases.Line{Major: 5, Minor: 10})
}

// addrCmd is an `ip -6 address add|change|replace|del|flush` command.
type addrCmd struct {
	verb string
	dev  string
	addr fibAddr
}

// parseAddrCmd reads `[dev DEV] ADDR[/LEN] [peer PEER[/LEN]] [metric N]
// [nodad]`, or `flush dev DEV`. Without a length the prefix is the
// peer's length, else 128 (iproute2's ipaddr_modify()). family is 4 for
// an IPv4 address (not this table). missing names what the runner does
// not follow.
func parseAddrCmd(verb string, args []string) (c addrCmd, family int, missing string, err error) {
	c.verb = verb
	var local, peer string
	for i := 0; i < len(args); i++ {
		kw := args[i]
		switch kw {
		case "nodad":
			c.addr.nodad = true
			continue
		case "dev", "peer", "metric", "priority", "local":
			if i+1 >= len(args) {
				return c, 0, "", fmt.Errorf("%q wants a value", kw)
			}
			v := args[i+1]
			i++
			switch kw {
			case "dev":
				c.dev = v
			case "peer":
				peer = v
			case "local":
				local = v
			default:
				n, err := strconv.ParseUint(v, 10, 32)
				if err != nil {
					return c, 0, "", fmt.Errorf("metric %q: %w", v, err)
				}
				c.addr.metric = uint32(n)
			}
		default:
			if local != "" {
				return c, 0, "the address attribute " + kw, nil
			}
			local = kw
		}
	}
	if c.dev == "" {
		return c, 0, "", fmt.Errorf("no device")
	}
	if verb == "flush" {
		if local != "" || peer != "" {
			return c, 6, "ip address flush of a prefix", nil
		}
		return c, 6, "", nil
	}
	if local == "" {
		return c, 0, "", fmt.Errorf("no address")
	}
	pfx, err := addrPrefix(local)
	if err != nil {
		return c, 0, "", err
	}
	if pfx.Addr().Is4() {
		return c, 4, "", nil
	}
	if peer != "" {
		pp, err := addrPrefix(peer)
		if err != nil {
			return c, 0, "", err
		}
		c.addr.peer = pp.Addr()
		if !hasLen(local) {
			pfx = netip.PrefixFrom(pfx.Addr(), pp.Bits())
		}
	}
	c.addr.pfx = pfx
	return c, 6, "", nil
}

func hasLen(s string) bool { return strings.Contains(s, "/") }

// addrPrefix reads ADDR or ADDR/LEN (a host prefix without a length).
func addrPrefix(s string) (netip.Prefix, error) {
	if hasLen(s) {
		p, err := netip.ParsePrefix(s)
		if err != nil {
			return p, fmt.Errorf("address %q: %w", s, err)
		}
		return p, nil
	}
	a, err := netip.ParseAddr(s)
	if err != nil {
		return netip.Prefix{}, fmt.Errorf("address %q: %w", s, err)
	}
	return netip.PrefixFrom(a, a.BitLen()), nil
}

// addressRequest runs one address command: the exit status iproute2
// gives, or what the runner lacks.
func (w *fibWorld) addressRequest(c addrCmd) (int, string) {
	d := w.devs[c.dev]
	if d == nil {
		return 1, "" // Cannot find device
	}
	if !d.up {
		return 0, capAddrconf + " on a device that is down"
	}
	i := slices.IndexFunc(d.addrs, func(a fibAddr) bool { return a.pfx.Addr() == c.addr.pfx.Addr() })
	switch c.verb {
	case "flush":
		// iproute2 dumps the device's addresses and deletes each.
		for len(d.addrs) > 0 {
			if miss := w.delAddress(c.dev, 0); miss != "" {
				return 0, miss
			}
		}
		return 0, ""
	case "delete":
		// inet6_addr_del(): the address with this prefix length.
		if i < 0 || d.addrs[i].pfx.Bits() != c.addr.pfx.Bits() {
			return 2, "" // -EADDRNOTAVAIL
		}
		return 0, w.delAddress(c.dev, i)
	case "add":
		if i >= 0 {
			return 2, "" // inet6_rtm_newaddr(): NLM_F_EXCL, -EEXIST
		}
		return 0, w.addAddress(c.dev, c.addr)
	case "change", "replace":
		// inet6_rtm_newaddr(): no such address: inet6_addr_add(),
		// whatever the flags.
		if i < 0 {
			return 0, w.addAddress(c.dev, c.addr)
		}
		return 0, w.modifyAddress(c.dev, i, c.addr)
	}
	return 0, "ip address " + c.verb
}

// addAddress mirrors inet6_addr_add(): the address, then its prefix
// route (addrconf_prefix_route(), proto kernel, in the device's L3
// table), and, for a peer address, the peer's /128 route that
// __ipv6_ifa_notify(RTM_NEWADDR) adds once DAD is over (at once here:
// the set-ups use nodad or dummies, which skip DAD).
func (w *fibWorld) addAddress(dev string, a fibAddr) string {
	d := w.devs[dev]
	d.addrs = append(d.addrs, a)
	if miss := w.prefixRoute(dev, a.pfx.Masked(), a.routeMetric()); miss != "" {
		return miss
	}
	if a.peer.IsValid() {
		return w.prefixRoute(dev, netip.PrefixFrom(a.peer, 128), a.routeMetric())
	}
	return ""
}

// prefixRoute is addrconf_prefix_route(): ip6_route_add() without a
// netlink header, so fib6_add_rt2node() neither refuses an equal metric
// nor replaces; a route already there with this device is -EEXIST,
// ignored.
func (w *fibWorld) prefixRoute(dev string, p netip.Prefix, metric uint32) string {
	r := fib6.Route{Type: fib6.Unicast, Prefix: p, Dev: dev, Proto: kernel.ProtoKernel, Metric: metric, MetricSet: true, Table: w.devs[dev].table}
	errno, miss := w.insert(fib6.Op{Kind: fib6.OpAppend, Route: r})
	if errno == 0 && miss == "" {
		w.setMTU(r, 0)
	}
	return miss
}

// prefixRouteOf is addrconf_get_prefix_route(pfx, plen, dev, 0,
// RTF_DEFAULT, no_gw): the first route at exactly that prefix, in the
// device's table, on the device (and without a gateway, if noGW).
func (w *fibWorld) prefixRouteOf(dev string, p netip.Prefix, noGW bool) (fib6.Route, bool) {
	for _, r := range w.table {
		if r.Table == w.devs[dev].table && r.Prefix == p && r.Dev == dev && (!noGW || !r.Gateway.IsValid()) {
			return r, true
		}
	}
	return fib6.Route{}, false
}

func (w *fibWorld) delRoute(r fib6.Route) string {
	r.MetricSet = true
	_, miss := w.insert(fib6.Op{Kind: fib6.OpDel, Route: r})
	return miss
}

// delAddress mirrors ipv6_del_addr(): check_cleanup_prefix_route() keeps
// the prefix route while another permanent address of the device has the
// same prefix, else cleanup_prefix_route() deletes it; then
// __ipv6_ifa_notify(RTM_DELADDR) deletes a peer's /128 route.
func (w *fibWorld) delAddress(dev string, i int) string {
	d := w.devs[dev]
	a := d.addrs[i]
	d.addrs = slices.Delete(d.addrs, i, i+1)
	shared := slices.ContainsFunc(d.addrs, func(o fibAddr) bool { return o.pfx.Masked() == a.pfx.Masked() })
	if !shared {
		if r, ok := w.prefixRouteOf(dev, a.pfx.Masked(), true); ok {
			if miss := w.delRoute(r); miss != "" {
				return miss
			}
		}
	}
	if a.peer.IsValid() {
		if r, ok := w.prefixRouteOf(dev, netip.PrefixFrom(a.peer, 128), false); ok {
			return w.delRoute(r)
		}
	}
	return ""
}

// modifyAddress mirrors inet6_addr_modify() (5.10 and 6.12): a new peer
// deletes the old peer's route (cleanup_prefix_route(..., true, true));
// a metric given replaces rt_priority; then modify_prefix_route() for
// the address and, with a peer, for the peer: a route whose metric
// differs is deleted and added again with the new one, a missing route
// (-ENOENT) is added.
func (w *fibWorld) modifyAddress(dev string, i int, n fibAddr) string {
	d := w.devs[dev]
	a := &d.addrs[i]
	if n.peer.IsValid() && n.peer != a.peer {
		if a.peer.IsValid() {
			// cleanup_prefix_route() looks the peer up with the address's
			// prefix length.
			if r, ok := w.prefixRouteOf(dev, netip.PrefixFrom(a.peer, a.pfx.Bits()).Masked(), true); ok {
				if miss := w.delRoute(r); miss != "" {
					return miss
				}
			}
		}
		a.peer = n.peer
	}
	if n.metric != 0 {
		a.metric = n.metric
	}
	if miss := w.modifyPrefixRoute(dev, a.pfx.Addr(), a.pfx.Bits(), a.routeMetric()); miss != "" {
		return miss
	}
	if a.peer.IsValid() {
		return w.modifyPrefixRoute(dev, a.peer, a.pfx.Bits(), a.routeMetric())
	}
	return ""
}

// modifyPrefixRoute is modify_prefix_route() with the -ENOENT fallback of
// its caller: addr/plen's prefix route gets metric, or is added.
func (w *fibWorld) modifyPrefixRoute(dev string, addr netip.Addr, plen int, metric uint32) string {
	p := netip.PrefixFrom(addr, plen).Masked()
	r, ok := w.prefixRouteOf(dev, p, true)
	if ok && r.Metric == metric {
		return ""
	}
	if ok {
		if miss := w.delRoute(r); miss != "" {
			return miss
		}
	}
	return w.prefixRoute(dev, p, metric)
}

// isLocal reports whether gw is an address of a device in table's L3
// domain.
func (w *fibWorld) isLocal(gw netip.Addr, table uint32) bool {
	_, _, ok := w.localAddr(gw, table)
	return ok
}

// localAddr finds the device and address of a local address in table's
// L3 domain.
func (w *fibWorld) localAddr(x netip.Addr, table uint32) (string, fibAddr, bool) {
	for name, d := range w.devs {
		if d.table != table {
			continue
		}
		for _, a := range d.addrs {
			if a.pfx.Addr() == x {
				return name, a, true
			}
		}
	}
	return "", fibAddr{}, false
}

// linkDown mirrors NETDEV_DOWN: fib6_ifdown() (route.c, 5.10 and 6.12)
// deletes every single-path route through the device; of a multipath
// route with a leg on it, if every leg is on the device or already dead
// (rt6_multipath_dead_count()) the whole route goes
// (rt6_multipath_flush()), else its legs on the device are flagged
// RTNH_F_DEAD|RTNH_F_LINKDOWN (rt6_multipath_nh_flags_set()) and stay;
// addrconf_ifdown() drops the device's addresses unless keep_addr_on_down
// (all, or the device's) is set.
func (w *fibWorld) linkDown(dev string) string {
	d := w.devs[dev]
	gone := map[fib6.Route]bool{}
	for _, g := range w.groups() {
		uses, dead := false, 0
		for _, r := range g {
			uses = uses || r.Dev == dev
			if r.Dev == dev || w.dead[r] {
				dead++
			}
		}
		switch {
		case !uses:
		case dead == len(g):
			for _, r := range g {
				gone[r] = true
			}
		default:
			for _, r := range g {
				if r.Dev == dev {
					w.dead[r] = true
				}
			}
		}
	}
	legs := map[fib6.Route]bool{}
	for _, g := range w.groups() {
		for _, r := range g {
			legs[r] = true
		}
	}
	w.table = slices.DeleteFunc(w.table, func(r fib6.Route) bool {
		return gone[r] || r.Dev == dev && !legs[r]
	})
	w.forgetDead()
	if !w.keepAddr && !d.keepAddr {
		d.addrs = nil
	}
	d.up = false
	return ""
}

// linkUp mirrors NETDEV_UP: rt6_sync_up(dev, RTNH_F_DEAD) clears the
// dead flag (and linkdown, with carrier) of the legs through the device,
// and for the addresses it kept addrconf_permanent_addr() ->
// fixup_permanent_addr() adds each one's prefix route again with its
// metric (a peer's route would come back after DAD, through
// __ipv6_ifa_notify(): not followed).
func (w *fibWorld) linkUp(dev string) string {
	d := w.devs[dev]
	if d.up {
		return ""
	}
	d.up = true
	for r := range w.dead {
		if r.Dev == dev {
			delete(w.dead, r)
		}
	}
	for _, a := range d.addrs {
		if a.peer.IsValid() {
			return capLinkEvents + " (admin up of a device with a peer address)"
		}
		if miss := w.prefixRoute(dev, a.pfx.Masked(), a.routeMetric()); miss != "" {
			return miss
		}
	}
	return ""
}

// unregister mirrors NETDEV_UNREGISTER: fib6_ifdown() deletes every route
// through the device, each ECMP leg on its own (the rest of the group
// stays: "In IPv6 we do not flush the entire multipath route"), and the
// device goes with its addresses; a veth takes its peer with it
// (veth_dellink()).
func (w *fibWorld) unregister(dev string) {
	d := w.devs[dev]
	w.dropRoutes(dev)
	delete(w.devs, dev)
	if d.peer != "" && w.devs[d.peer] != nil {
		w.dropRoutes(d.peer)
		delete(w.devs, d.peer)
	}
}

func (w *fibWorld) dropRoutes(dev string) {
	w.table = slices.DeleteFunc(w.table, func(r fib6.Route) bool { return r.Dev == dev })
	w.forgetDead()
}

// forgetDead drops the dead flags and metrics of routes no longer in the
// table.
func (w *fibWorld) forgetDead() {
	for r := range w.dead {
		if !slices.Contains(w.table, r) {
			delete(w.dead, r)
		}
	}
	for r := range w.mtu {
		if !slices.Contains(w.table, r) {
			delete(w.mtu, r)
		}
	}
}

// groups are the table's ECMP sibling groups of two legs or more, each in
// list order.
func (w *fibWorld) groups() [][]fib6.Route {
	var out [][]fib6.Route
	seen := map[fib6.Route]bool{}
	for _, r := range w.table {
		if seen[r] || !ecmp(r) {
			continue
		}
		var g []fib6.Route
		for _, o := range w.table {
			if siblings(r, o) {
				g = append(g, o)
				seen[o] = true
			}
		}
		if len(g) > 1 {
			out = append(out, g)
		}
	}
	return out
}

// hasSibling reports whether r is an ECMP leg with a sibling in the table.
func (w *fibWorld) hasSibling(r fib6.Route) bool {
	for _, o := range w.table {
		if o != r && siblings(r, o) {
			return true
		}
	}
	return false
}

// fibmatch runs `ip -6 route get fibmatch DST` on the model:
// inet6_rtm_getroute() with RTM_F_FIB_MATCH prints the route the lookup
// matched (a multipath route whole), or fails with ip6_null_entry's
// -ENETUNREACH (exit 2); a reject route's match is not expressible.
//
// A local address matches its local route first (the local table's rule
// comes first): `local ADDR dev DEV proto kernel metric 0`, made by
// addrconf_f6i_alloc() and inserted by __ipv6_ifa_notify(RTM_NEWADDR)
// once DAD is over, at once for a nodad address or on a dummy
// (addrconf_dad_begin() skips DAD on IFF_NOARP devices), and never
// flagged linkdown (fib6_nh_init() and fib6_ifdown() skip RTF_LOCAL);
// an address still in DAD is not expressible.
//
// With an oif (RT6_LOOKUP_F_IFACE) or dead legs in the table the lookup
// is the runner's, as fib6_table_lookup() and find_match() make it (read
// at 6.12): the longest prefix holding a usable route (not dead, on the
// oif if one is given), backtracking to shorter ones, else
// ip6_null_entry.
func (w *fibWorld) fibmatch(dst netip.Addr, oif string) (int, string, string) {
	if dev, a, ok := w.localAddr(dst, fib6.MainTable); ok {
		d := w.devs[dev]
		if !d.up || !a.nodad && d.kind != "dummy" {
			return 0, "", capLookup + " of a local address during DAD or on a device that is down"
		}
		return 0, fmt.Sprintf("local %s dev %s proto kernel metric 0\n", dst, dev), ""
	}
	for p := range w.tainted {
		if p.Contains(dst) {
			return 0, "", capEarlierCase
		}
	}
	if oif != "" || len(w.dead) > 0 {
		return w.lookupIface(dst, oif)
	}
	m, err := fib6.New(fib6.Config{Profile: w.p, Routes: w.table, Listed: true, Actors: []fib6.Actor{{Name: "get", Dst: dst, Packets: 1}}})
	if err != nil {
		return 0, "", "the model's capacity (" + err.Error() + ")"
	}
	s := m.Init()
	l, err := m.Get(&s, dst)
	if err != nil {
		return 0, "", err.Error()
	}
	switch {
	case l.Null:
		return 2, "", ""
	case l.Err != 0:
		return 0, "", capLookup + " matching a reject route"
	}
	group := l.Group
	if len(group) == 0 {
		group = []fib6.Route{l.Route}
	}
	return 0, w.listLines(group)[0] + "\n", ""
}

// lookupIface is fibmatch's lookup by oif or past dead legs.
func (w *fibWorld) lookupIface(dst netip.Addr, oif string) (int, string, string) {
	if oif != "" && w.devs[oif] == nil {
		return 1, "", "" // Cannot find device
	}
	best := -1
	for i, r := range w.table {
		if r.Table != fib6.MainTable || !r.Prefix.Contains(dst) || w.dead[r] || oif != "" && r.Dev != oif {
			continue
		}
		if r.Type != fib6.Unicast {
			return 0, "", capLookup + " matching a reject route"
		}
		if best < 0 || r.Prefix.Bits() > w.table[best].Prefix.Bits() {
			best = i
		}
	}
	if best < 0 {
		return 2, "", "" // ip6_null_entry: -ENETUNREACH
	}
	r := w.table[best]
	group := []fib6.Route{r}
	for _, g := range w.groups() {
		if slices.Contains(g, r) {
			group = g
		}
	}
	return 0, w.listLines(group)[0] + "\n", ""
}
