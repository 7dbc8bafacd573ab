// Package fib6host plays a fib6 scenario live: it checks that the lab
// can host the scenario (Prepare), builds the scenario's host as a
// network namespace with a peer namespace per device (Build, which the
// window experiment uses too), plays its actors' route changes through
// netlink, a route writer's heal of the route cache as raceroute apply
// does it (heal.go) and its flows as ICMPv6 echo requests (ping.go),
// and judges the scenario's properties on the kernel's tables, no-gap
// on its route events (nogap.go). Package lab calls it.
package fib6host

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"strings"
	"sync"
	"time"

	"github.com/mdlayher/netlink"
	"golang.org/x/sys/unix"

	"raceroute/explore"
	"raceroute/kernel"
	"raceroute/lab/liverun"
	"raceroute/live/netns"
	"raceroute/live/nl"
	"raceroute/live/nl/write"
	"raceroute/model/fib6"
	"raceroute/scenario/fib6file"
	"raceroute/trace"
)

// A fib6 scenario live: the host is a namespace, each of its devices
// but lo a veth to a peer namespace that holds the gateways the routes
// name on that device and every destination the flows send to. The
// initial routes are added in order; the agents' route changes go
// through netlink with the flags `ip -6 route` sends (add
// NLM_F_CREATE|NLM_F_EXCL, replace NLM_F_CREATE|NLM_F_REPLACE, change
// NLM_F_REPLACE, append NLM_F_CREATE|NLM_F_APPEND); the flows are ICMPv6
// echo requests from a raw socket of the host, each one looked up by
// the kernel. All actors start together, as the untimed model's do.

// Plan is a fib6 scenario prepared for the lab.
type Plan struct {
	c       *fib6file.Compiled
	host    liverun.Host
	tag     string
	devs    []string                // the devices with a peer, in order
	gws     map[string][]netip.Addr // each device's gateways, for its peer
	dsts    []netip.Addr            // every flow and warm-up destination
	src     netip.Addr              // the host's own address (on lo): the flows' source
	hostLL  netip.Addr              // the host's link-local address on every device
	notes   []string
	timeout time.Duration // how long a flow waits for a reply
}

// Duration is about how long a run takes (it is untimed: building the
// host and peers, and the actors' operations).
func (r *Plan) Duration() time.Duration { return 3 * time.Second }

// Notes say where the live run departs from the model's reading of the
// scenario.
func (r *Plan) Notes() []string { return r.notes }

// labAddrs are candidates for the host's source address and link-local
// address: the first not used by the scenario is taken.
var (
	labSources = []string{"fdff:7272::1", "fdfe:7272::1", "fdfd:7272::1"}
	labLLs     = []string{"fe80::7272:1", "fe80::7272:2", "fe80::7272:3"}
)

// HostAddrs are the host's first candidate addresses (its source on lo
// and its link-local address), which a host no scenario constrains
// takes.
func HostAddrs() (src, ll netip.Addr) {
	return netip.MustParseAddr(labSources[0]), netip.MustParseAddr(labLLs[0])
}

// Prepare checks that the lab can host c on h, and says how: a Plan,
// or the reasons it cannot.
func Prepare(c *fib6file.Compiled, h liverun.Host) (*Plan, []string) {
	var why []string
	r := &Plan{c: c, host: h, tag: "host", gws: map[string][]netip.Addr{}, timeout: 50 * time.Millisecond}
	for _, d := range c.Devices {
		if !liverun.ValidIfName(d) {
			why = append(why, fmt.Sprintf("device %q: the kernel takes names of 1 to %d characters without '/', ':' or spaces (dev_valid_name())", d, liverun.IfNameMax))
		}
		if d != "lo" {
			r.devs = append(r.devs, d)
		}
	}
	if n := len(r.devs) + 1; n > liverun.MaxNamespaces {
		why = append(why, fmt.Sprintf("%d devices besides lo: the lab gives each a peer namespace, and builds at most %d namespaces", len(r.devs), liverun.MaxNamespaces))
	}
	why = append(why, unhosted(c)...)
	var all []fib6.Route
	all = append(all, c.Config.Routes...)
	if len(c.Config.ICMP) > 0 {
		why = append(why, "host icmp: the lab sends no ICMPv6 messages yet (TestExceptionRulesLive checks the kernel's decisions on them)")
	}
	for _, a := range c.Config.Actors {
		if a.ICMP != nil || a.GC != nil {
			why = append(why, fmt.Sprintf("actor %s: the lab sends no ICMPv6 messages and runs no GC at a chosen time yet (TestExceptionRulesLive checks the kernel's decisions on them)", a.Name))
		}
		for _, op := range a.Ops {
			if op.Kind == fib6.OpHeal {
				continue // a prefix, not a route: nothing to host
			}
			all = append(all, op.Route)
		}
	}
	for _, p := range c.Props {
		switch p.Kind {
		case "routes-at", "clones-kept", "clones-agree", "no-gap":
		case "no-blackhole":
		default:
			why = append(why, fmt.Sprintf("property %s: the lab judges routes-at, clones-kept and clones-agree on the kernel's tables at the end and no-gap and no-blackhole on its route events, not %s", p.Name, p.Kind))
		}
		all = append(all, p.Want...)
	}
	used := map[netip.Addr]bool{}
	for _, n := range nexthopDefs(c.Config) {
		// A nexthop object's gateway is hosted as a route's: answered
		// by the peer on its device (lo: unhosted).
		if !n.Gateway.IsValid() || n.Dev == "lo" {
			continue
		}
		used[n.Gateway] = true
		if !n.Gateway.IsLinkLocalUnicast() {
			why = append(why, fmt.Sprintf("nexthop %s: the gateway is not link-local, so the kernel takes the object only if a route makes the gateway reachable (nh_create_ipv6() -> fib6_nh_init()), which the model does not read; use a fe80:: gateway", n))
		} else if !containsAddr(r.gws[n.Dev], n.Gateway) {
			r.gws[n.Dev] = append(r.gws[n.Dev], n.Gateway)
		}
	}
	for _, rt := range all {
		if !rt.Gateway.IsValid() {
			continue
		}
		used[rt.Gateway] = true
		switch {
		case rt.Dev == "":
			why = append(why, fmt.Sprintf("route %s: a gateway route needs `dev` in the lab (a link-local gateway needs it, and the model does not resolve a gateway through the table)", rt))
		case rt.Dev == "lo":
			why = append(why, fmt.Sprintf("route %s: a gateway on lo has no peer to answer it", rt))
		case !rt.Gateway.IsLinkLocalUnicast():
			why = append(why, fmt.Sprintf("route %s: the gateway is not link-local, so the kernel takes the route only if another route makes the gateway reachable (ip6_validate_gw()), which the model does not read; use a fe80:: gateway", rt))
		default:
			if !containsAddr(r.gws[rt.Dev], rt.Gateway) {
				r.gws[rt.Dev] = append(r.gws[rt.Dev], rt.Gateway)
			}
		}
	}
	for _, a := range c.Config.Actors {
		if a.Dst.IsValid() && !containsAddr(r.dsts, a.Dst) {
			r.dsts = append(r.dsts, a.Dst)
		}
	}
	for _, w := range c.Config.Warm {
		if !containsAddr(r.dsts, w) {
			r.dsts = append(r.dsts, w)
		}
	}
	for _, d := range r.dsts {
		used[d] = true
	}
	covered := func(a netip.Addr) bool {
		for _, rt := range all {
			if rt.Prefix.Contains(a) {
				return true
			}
		}
		return used[a]
	}
	for _, s := range labSources {
		if a := netip.MustParseAddr(s); !covered(a) {
			r.src = a
			break
		}
	}
	for _, s := range labLLs {
		if a := netip.MustParseAddr(s); !used[a] {
			r.hostLL = a
			break
		}
	}
	if !r.src.IsValid() || !r.hostLL.IsValid() {
		why = append(why, fmt.Sprintf("the scenario's routes cover every address the lab can give its host (%s, %s)", strings.Join(labSources, ", "), strings.Join(labLLs, ", ")))
	}
	if len(why) > 0 {
		return nil, why
	}
	return r, nil
}

func containsAddr(list []netip.Addr, a netip.Addr) bool {
	for _, x := range list {
		if x == a {
			return true
		}
	}
	return false
}

// Topology is a fib6 host built live: Host is its namespace, Ifidx
// its devices' ifindexes by name.
type Topology struct {
	Host   *netns.NS
	peers  map[string]*netns.NS // by the host's device
	Ifidx  map[string]int       // the host's devices' ifindexes
	byIdx  map[int]string
	src    netip.Addr
	hostLL netip.Addr
}

// Build creates the host and its peers: every peer holds its
// device's gateways and every destination, and routes back to the host
// through the host's link-local address.
func Build(ctx context.Context, run *netns.Run, tag string, devs []string, gws map[string][]netip.Addr, dsts []netip.Addr, src, hostLL netip.Addr) (*Topology, error) {
	t := &Topology{peers: map[string]*netns.NS{}, Ifidx: map[string]int{}, byIdx: map[int]string{}, src: src, hostLL: hostLL}
	host, err := run.Create(tag)
	if err != nil {
		return nil, err
	}
	t.Host = host
	if err := QuietIPv6(host); err != nil {
		return nil, err
	}
	if err := host.AddrAdd("lo", netip.PrefixFrom(src, 128)); err != nil {
		return nil, err
	}
	for k, d := range devs {
		peer, err := run.Create(fmt.Sprintf("%s-peer%d", tag, k))
		if err != nil {
			return nil, err
		}
		t.peers[d] = peer
		if err := QuietIPv6(peer); err != nil {
			return nil, err
		}
		if err := host.VethMAC(d, kernel.MAC{}, peer, "p0"); err != nil {
			return nil, err
		}
		if err := host.AddrAdd(d, netip.PrefixFrom(hostLL, 64)); err != nil {
			return nil, err
		}
		for _, g := range gws[d] {
			if err := peer.AddrAdd("p0", netip.PrefixFrom(g, 64)); err != nil {
				return nil, err
			}
		}
		for _, a := range dsts {
			if err := peer.AddrAdd("p0", netip.PrefixFrom(a, 128)); err != nil {
				return nil, err
			}
		}
		pidx, err := peer.LinkIndex("p0")
		if err != nil {
			return nil, err
		}
		back := trace.Route{Family: 6, Dst: netip.MustParsePrefix("::/0"), Gateway: hostLL, Ifindex: pidx, Table: unix.RT_TABLE_MAIN}
		if err := WriteRoutes(ctx, peer, write.OpAdd, back); err != nil {
			return nil, err
		}
	}
	for _, d := range append([]string{"lo"}, devs...) {
		idx, err := host.LinkIndex(d)
		if err != nil {
			return nil, err
		}
		t.Ifidx[d], t.byIdx[idx] = idx, d
	}
	return t, nil
}

// QuietIPv6 makes the namespace's IPv6 addresses usable at once and
// leaves only the addresses the lab gives: no duplicate address
// detection, no automatic link-local addresses, no router
// solicitations.
func QuietIPv6(ns *netns.NS) error {
	for _, c := range []string{"all", "default"} {
		for k, v := range map[string]string{"accept_dad": "0", "addr_gen_mode": "1", "router_solicitations": "0", "accept_ra": "0"} {
			if err := ns.Sysctl(fmt.Sprintf("net/ipv6/conf/%s/%s", c, k), v); err != nil {
				return err
			}
		}
	}
	return nil
}

// WriteRoutes applies one route operation in ns with its exact flags.
func WriteRoutes(ctx context.Context, ns *netns.NS, op write.Op, routes ...trace.Route) error {
	w, err := write.NewRouteWriter(nl.Options{Netns: ns.Name})
	if err != nil {
		return err
	}
	defer w.Close()
	_, err = w.Write(ctx, op, routes)
	return err
}

// traceRoute is a model route as the lab writes it to the host: its
// device by index, its metric only when the line gave one (a delete
// without a metric matches any, as fc_metric = 0 does).
func (t *Topology) traceRoute(r fib6.Route) trace.Route {
	tr := trace.Route{Family: 6, Table: r.Table, Type: r.Type, Dst: r.Prefix, Gateway: r.Gateway, Proto: r.Proto, Dev: r.Dev, Ifindex: t.Ifidx[r.Dev], NHID: r.NHID}
	if r.MetricSet {
		tr.Metric = r.Metric
	}
	if r.Type.Reject() && r.Dev == "" && r.NHID == 0 {
		tr.Ifindex, tr.Dev = t.Ifidx["lo"], "lo"
	}
	return tr
}

// opWrite is the writer operation of a model route change.
func opWrite(k fib6.OpKind) write.Op {
	switch k {
	case fib6.OpAdd:
		return write.OpAdd
	case fib6.OpDel:
		return write.OpDelete
	case fib6.OpReplace:
		return write.OpReplace
	case fib6.OpChange:
		return write.OpChange
	}
	return write.OpAppend
}

// dumpRoutes lists ns's IPv6 routes of every table in the kernel's dump
// order (the order of each node's route list), or, with cached, its
// route-cache entries (exceptions, dumped with RTM_F_CLONED), with
// their device names.
func dumpRoutes(ns *netns.NS, byIdx map[int]string, cached bool) ([]trace.Route, error) {
	c, err := netlink.Dial(unix.NETLINK_ROUTE, &netlink.Config{NetNS: ns.FD(), Strict: true})
	if err != nil {
		return nil, fmt.Errorf("dump routes in %s: %w", ns.Name, err)
	}
	defer c.Close()
	body := make([]byte, unix.SizeofRtMsg)
	body[0] = unix.AF_INET6
	if cached {
		f := uint32(unix.RTM_F_CLONED)
		body[8], body[9], body[10], body[11] = byte(f), byte(f>>8), byte(f>>16), byte(f>>24)
	}
	msgs, err := c.Execute(netlink.Message{Header: netlink.Header{Type: unix.RTM_GETROUTE, Flags: netlink.Request | netlink.Dump}, Data: body})
	if err != nil {
		return nil, fmt.Errorf("dump routes in %s: %w", ns.Name, err)
	}
	var out []trace.Route
	for _, m := range msgs {
		rec, ok, err := nl.Decode(uint16(m.Header.Type), m.Data)
		if err != nil {
			return nil, fmt.Errorf("dump routes in %s: %w", ns.Name, err)
		}
		if !ok || rec.Route.Cloned != cached {
			continue
		}
		for _, rt := range nl.Siblings(rec) {
			rt.Dev = byIdx[rt.Ifindex]
			out = append(out, rt)
		}
	}
	return out, nil
}

// Run builds the host in run, plays the actors together and judges the
// properties on the kernel's tables.
func (r *Plan) Run(ctx context.Context, run *netns.Run, o liverun.Options, res *liverun.Result) (err error) {
	rec := liverun.NewRecorder()
	defer func() { res.Events = rec.List() }()
	t, err := Build(ctx, run, r.tag, r.devs, r.gws, r.dsts, r.src, r.hostLL)
	if err != nil {
		return err
	}
	const hostName = "host"
	stop, err := rec.WatchNS(ctx, t.Host, hostName, []int{6}, 20*time.Millisecond, false)
	if err != nil {
		return err
	}
	defer func() {
		if e := stop(); e != nil && err == nil {
			err = e
		}
	}()
	if usesNexthops(r.c) {
		// Routes on nexthop objects are notified when their object goes
		// (__remove_nexthop_fib(): ip6_del_rt() with skip_notify =
		// !nexthop_compat_mode, 6.12): the replay of no-gap and
		// no-blackhole needs those RTM_DELROUTEs. 1 is the default; the
		// lab does not rely on it.
		if err := t.Host.Sysctl("net/ipv4/nexthop_compat_mode", "1"); err != nil {
			return err
		}
	}
	for _, n := range r.c.Config.Nexthops {
		if err := writeNexthop(ctx, t, nil, write.OpAdd, n); err != nil {
			return fmt.Errorf("initial nexthop %s: the kernel refused it: %w", n, err)
		}
		rec.Act(time.Now(), hostName, "[LAB]", "ip nexthop add %s (initial nexthop)", n)
	}
	for i, rt := range r.c.Config.Routes {
		tr := t.traceRoute(rt)
		op := opWrite(r.c.Config.InitialKind(i))
		if err := WriteRoutes(ctx, t.Host, op, tr); err != nil {
			return fmt.Errorf("initial route %s: the kernel refused it: %w", rt, err)
		}
		rec.Act(time.Now(), hostName, "[LAB]", "ip -6 route %s %s (initial route)", op, rt)
	}
	pinger, err := newPinger(t)
	if err != nil {
		return err
	}
	defer pinger.close()
	for _, w := range r.c.Config.Warm {
		res := pinger.ping(w, r.timeout)
		rec.Act(res.sent, hostName, "[LOOKUP]", "warm-up: echo request to %s: %s", w, res.describe())
	}
	before, err := dumpRoutes(t.Host, t.byIdx, true)
	if err != nil {
		return err
	}
	start, err := dumpRoutes(t.Host, t.byIdx, false)
	if err != nil {
		return err
	}
	t0 := time.Now()
	rec.Start(t0)
	var wg sync.WaitGroup
	var mu sync.Mutex
	var errs []error
	fail := func(e error) {
		mu.Lock()
		errs = append(errs, e)
		mu.Unlock()
	}
	gate := make(chan struct{})
	for _, a := range r.c.Config.Actors {
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() {
				if p := recover(); p != nil {
					fail(fmt.Errorf("actor %s: panic: %v", a.Name, p))
				}
			}()
			var w *write.RouteWriter
			if len(a.Ops) > 0 {
				var err error
				if w, err = write.NewRouteWriter(nl.Options{Netns: t.Host.Name}); err != nil {
					fail(err)
					return
				}
				defer w.Close()
			}
			<-gate
			for _, op := range a.Ops {
				if op.Kind == fib6.OpHeal {
					if err := heal(ctx, t, w, rec, a.Name, op.Route.Table, op.Route.Prefix); err != nil {
						fail(fmt.Errorf("actor %s: %w", a.Name, err))
						return
					}
					continue
				}
				var err error
				cmd := "ip -6 route"
				if isNexthopOp(op.Kind) {
					cmd = "ip"
					err = writeNexthop(ctx, t, w, nexthopWrite(op.Kind), op.Nexthop)
				} else {
					tr := t.traceRoute(op.Route)
					if op.Kind == fib6.OpDel && tr.Proto == kernel.ProtoBoot {
						// The parser's default, which `ip route del` does
						// not send: the delete matches any protocol, as
						// the model's delMatch does.
						tr.Proto = 0
					}
					_, err = w.Write(ctx, opWrite(op.Kind), []trace.Route{tr})
				}
				result := "ok"
				var re *write.RouteError
				var ne *write.NexthopError
				switch {
				case errors.As(err, &re):
					result = "refused: " + errnoText(re.Err)
				case errors.As(err, &ne):
					result = "refused: " + errnoText(ne.Err)
				case err != nil:
					fail(fmt.Errorf("actor %s: %s: %w", a.Name, op, err))
					return
				}
				rec.Act(time.Now(), a.Name, "[OP]", "%s %s: %s", cmd, op, result)
			}
			for k := 0; k < a.Packets; k++ {
				res := pinger.ping(a.Dst, r.timeout)
				rec.Act(res.sent, a.Name, "[LOOKUP]", "echo request %d to %s: %s", k+1, a.Dst, res.describe())
			}
		}()
	}
	close(gate)
	wg.Wait()
	if len(errs) > 0 {
		return errors.Join(errs...)
	}
	routes, err := dumpRoutes(t.Host, t.byIdx, false)
	if err != nil {
		return err
	}
	cache, err := dumpRoutes(t.Host, t.byIdx, true)
	if err != nil {
		return err
	}
	now := time.Now()
	rec.Act(now, hostName, "[READ]", "%d routes and %d route-cache entries in the kernel's tables at the end", len(routes), len(cache))
	for _, c := range cache {
		rec.Act(now, hostName, "[READ]", "cache: %s", c)
	}
	var events []liverun.Event
	for _, p := range r.c.Props {
		if (p.Kind == "no-gap" || p.Kind == "no-blackhole") && events == nil {
			if events, err = syncEvents(ctx, t, rec, hostName); err != nil {
				return err
			}
		}
		if p.Kind == "no-blackhole" {
			pr, err := judgeNoBlackhole(p.Name, unix.RT_TABLE_MAIN, p.Dst, events, hostName, t0, start, routes)
			if err != nil {
				return err
			}
			res.Properties = append(res.Properties, pr)
			continue
		}
		if p.Kind == "no-gap" {
			pr, err := judgeNoGap(p.Name, unix.RT_TABLE_MAIN, p.Prefix, events, hostName, t0, start, routes)
			if err != nil {
				return err
			}
			res.Properties = append(res.Properties, pr)
			continue
		}
		res.Properties = append(res.Properties, judgeFib6(p, routes, before, cache))
	}
	return nil
}

// markerTable holds the route syncEvents adds: a table no scenario's
// property reads (they read the main table).
const markerTable = 7272

// syncEvents returns the recorded events once the host's subscription
// has received every route event the kernel sent before the final
// dumps: it adds a marker route to markerTable and waits for its
// event, which the kernel sends after all earlier ones on the same
// socket.
func syncEvents(ctx context.Context, t *Topology, rec *liverun.Recorder, host string) ([]liverun.Event, error) {
	marker := trace.Route{Family: 6, Table: markerTable, Type: kernel.RouteUnreachable, Dst: netip.MustParsePrefix("::/0"), Ifindex: t.Ifidx["lo"], Dev: "lo", Metric: fib6.DefaultMetric}
	if err := WriteRoutes(ctx, t.Host, write.OpAdd, marker); err != nil {
		return nil, fmt.Errorf("marker route for the end of the events: %w", err)
	}
	rec.Act(time.Now(), host, "[LAB]", "ip -6 route add %s (marks the end of the events)", marker)
	deadline := time.Now().Add(2 * time.Second)
	for {
		events := rec.List()
		for _, e := range events {
			if r := e.Record(); r != nil && e.Host == host && r.Kind == trace.KindRoute && r.Action == trace.ActionNew && r.Route.Table == markerTable {
				return events, nil
			}
		}
		if time.Now().After(deadline) {
			return nil, fmt.Errorf("the host's netlink subscription did not report the marker route within 2 s")
		}
		if err := liverun.SleepUntil(ctx, time.Now().Add(time.Millisecond)); err != nil {
			return nil, err
		}
	}
}

// judgeFib6 evaluates one fib6 property on the kernel's tables at the
// end (routes, cache) and its cache after the warm-up (before).
func judgeFib6(p fib6file.PropSpec, routes, before, cache []trace.Route) liverun.PropertyResult {
	pr := liverun.PropertyResult{Name: p.Name, Kind: explore.Final, Verdict: explore.Holds}
	switch p.Kind {
	case "routes-at":
		var got []trace.Route
		for _, rt := range routes {
			if rt.Table == p.Table && rt.Dst == p.Prefix && rt.Metric == p.Metric {
				got = append(got, rt)
			}
		}
		ok := len(got) == len(p.Want)
		for i := 0; ok && i < len(got); i++ {
			ok = sameRoute(got[i], p.Want[i])
		}
		if !ok {
			pr.Verdict = explore.Violated
		}
		pr.Explanation = fmt.Sprintf("the kernel's routes for %s metric %d: %s; wanted exactly %s", p.Prefix, p.Metric, listTrace(got), listModel(p.Want))
	case "clones-kept":
		var under, missing []trace.Route
		for _, c := range before {
			if p.Prefix.Contains(c.Dst.Addr()) {
				under = append(under, c)
				if !containsRoute(cache, c) {
					missing = append(missing, c)
				}
			}
		}
		switch {
		case len(under) == 0:
			pr.Explanation = fmt.Sprintf("no route-cache entries under %s after the warm-up (the kernel lists none: it does not clone on lookup)", p.Prefix)
		case len(missing) == 0:
			pr.Explanation = fmt.Sprintf("the %d route-cache entries under %s survived", len(under), p.Prefix)
		default:
			pr.Verdict = explore.Violated
			pr.Explanation = fmt.Sprintf("route-cache entries under %s were removed: %s", p.Prefix, listTrace(missing))
		}
	case "clones-agree":
		var bad []string
		for _, c := range cache {
			cover, ok := covering(routes, c)
			if agrees(c, cover, ok) {
				continue
			}
			what := "no route covers it"
			if ok {
				what = fmt.Sprintf("the route that covers it is `%s`", cover)
			}
			bad = append(bad, fmt.Sprintf("the kernel's cache entry `%s` contradicts its table: %s", c, what))
		}
		switch {
		case len(bad) > 0:
			pr.Verdict = explore.Violated
			pr.Explanation = strings.Join(bad, "\n")
		case len(cache) == 0:
			pr.Explanation = "no route-cache entries at the end (the kernel lists none)"
		default:
			pr.Explanation = fmt.Sprintf("all %d route-cache entries the kernel lists agree with the routes covering their destinations", len(cache))
		}
	}
	return pr
}

// sameRoute compares a route the kernel lists with a model route: type,
// prefix, gateway, protocol and table, and the device unless the route
// rejects (the kernel puts every reject route on lo).
//
// A route on a nexthop object is compared by its object's id: the
// kernel lists the object's next hop with it too (rt6_fill_node() ->
// rt6_fill_node_nexthop() under nexthop_compat_mode, 6.12), which the
// model's route does not name, and lists it as RTN_BLACKHOLE when its
// object is a blackhole (rtm_type from nexthop_is_blackhole()), where
// the model's route keeps the type it was written with.
func sameRoute(k trace.Route, m fib6.Route) bool {
	if k.Dst != m.Prefix || k.Proto != m.Proto || k.Table != m.Table || k.NHID != m.NHID {
		return false
	}
	if m.NHID != 0 {
		return k.Type == m.Type || m.Type == kernel.RouteUnicast && k.Type == kernel.RouteBlackhole
	}
	if k.Type != m.Type {
		return false
	}
	if k.Gateway != m.Gateway {
		return false
	}
	return m.Type.Reject() || m.Dev == "" || k.Dev == m.Dev
}

func containsRoute(list []trace.Route, r trace.Route) bool {
	for _, x := range list {
		if x.Dst == r.Dst && x.Gateway == r.Gateway && x.Ifindex == r.Ifindex && x.Table == r.Table {
			return true
		}
	}
	return false
}

// covering is the route a lookup of cache entry c's destination would
// match now: the longest prefix of c's table that contains it, at its
// best metric, first in list order.
func covering(routes []trace.Route, c trace.Route) (trace.Route, bool) {
	var best trace.Route
	found := false
	for _, r := range routes {
		if r.Table != c.Table || !r.Dst.Contains(c.Dst.Addr()) || r.Type == kernel.RouteLocal || r.Type == kernel.RouteMulticast {
			continue
		}
		if !found || r.Dst.Bits() > best.Dst.Bits() || r.Dst.Bits() == best.Dst.Bits() && r.Metric < best.Metric {
			best, found = r, true
		}
	}
	return best, found
}

// agrees mirrors the model's agrees(): a cache entry agrees with the
// route covering it when both have the same type and, for unicast, the
// same device and gateway (an entry of a route without a gateway names
// none, or its own destination).
func agrees(c, cover trace.Route, ok bool) bool {
	if !ok {
		return c.Type.Reject()
	}
	if cover.Type != c.Type || !cover.Type.Reject() && cover.Ifindex != c.Ifindex {
		return false
	}
	switch {
	case cover.Type.Reject():
		return true
	case cover.Gateway.IsValid():
		return cover.Gateway == c.Gateway
	}
	return !c.Gateway.IsValid() || c.Gateway == c.Dst.Addr()
}

func listTrace(rs []trace.Route) string {
	if len(rs) == 0 {
		return "none"
	}
	parts := make([]string, len(rs))
	for i, r := range rs {
		parts[i] = "`" + routeText(r) + "`"
	}
	return strings.Join(parts, ", ")
}

// routeText is r as the lab reports it: trace's text, and the nexthop
// object it uses.
func routeText(r trace.Route) string {
	if r.NHID == 0 {
		return r.String()
	}
	return fmt.Sprintf("%s nhid %d", r, r.NHID)
}

func listModel(rs []fib6.Route) string {
	if len(rs) == 0 {
		return "none"
	}
	parts := make([]string, len(rs))
	for i, r := range rs {
		parts[i] = "`" + r.String() + "`"
	}
	return strings.Join(parts, ", ")
}
