package apply

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"strings"

	"golang.org/x/sys/unix"

	"raceroute/apply/internal/rtnl"
	"raceroute/kernel"
)

// installed is a route as the kernel holds it.
type installed struct {
	Route // normalised; next hops resolved through its nexthop object
	proto kernel.Proto
	// nhid is the nexthop object the route uses, 0 for none.
	nhid uint32
	// wire is the route as read: what a delete must name.
	wire rtnl.Route
}

// nhSpec is what a nexthop object holds, as a comparable key: one next
// hop (family, device, gateway, onlink) or a group (its members' specs
// and weights, sorted).
type nhSpec string

// nhObject is a nexthop object as the kernel holds it.
type nhObject struct {
	wire  rtnl.Nexthop
	spec  nhSpec // "" for an object the writer cannot describe (blackhole, FDB)
	proto kernel.Proto
}

// state is what the writer read of a namespace.
type state struct {
	// ours are the routes of the writer's protocol in its tables.
	ours map[Key]*installed
	// foreign are the keys of the writer's tables held by routes of
	// other protocols (also where one of ours is at the same key, as
	// IPv6 allows), with the route for messages.
	foreign map[Key]string
	// nexthops are every nexthop object, by id; nil when the kernel has
	// none (before 5.3).
	nexthops map[uint32]*nhObject
	// nhRefs counts, per nexthop object, the routes (of any protocol)
	// and groups that use it.
	nhRefs map[uint32]int
	// links maps interface names to indices and back.
	links map[string]int
	names map[int]string
	// cache6 are the IPv6 route-cache entries the dumps listed (on
	// kernels whose lookups clone into the tree); routes6 every IPv6
	// route of the writer's tables, for the routes that cover them.
	cache6  []rtnl.Route
	routes6 []rtnl.Route
	// nexthopErr is why the kernel has no nexthop objects, when it has
	// none.
	nexthopErr error
}

// read dumps links, nexthop objects and the routes of both families.
func read(ctx context.Context, c *rtnl.Conn, proto kernel.Proto, tables map[uint32]bool) (*state, error) {
	st := &state{ours: map[Key]*installed{}, foreign: map[Key]string{}, nhRefs: map[uint32]int{},
		links: map[string]int{}, names: map[int]string{}}
	if err := dumpRetry(ctx, c, unix.RTM_GETLINK, rtnl.LinkDumpRequest(), "links", func() {
		clear(st.links)
		clear(st.names)
	}, func(typ uint16, b []byte) error {
		if typ != unix.RTM_NEWLINK {
			return nil
		}
		l, err := rtnl.ParseLink(b)
		if err != nil {
			return err
		}
		st.links[l.Name], st.names[l.Index] = l.Index, l.Name
		return nil
	}); err != nil {
		return nil, err
	}
	st.nexthops = map[uint32]*nhObject{}
	err := dumpRetry(ctx, c, unix.RTM_GETNEXTHOP, rtnl.NexthopDumpRequest(), "nexthop objects", func() { clear(st.nexthops) },
		func(typ uint16, b []byte) error {
			if typ != unix.RTM_NEWNEXTHOP {
				return nil
			}
			n, err := rtnl.ParseNexthop(b)
			if err != nil {
				return err
			}
			st.nexthops[n.ID] = &nhObject{wire: n, proto: kernel.Proto(n.Protocol)}
			return nil
		})
	var ke *rtnl.KernelError
	switch {
	case err == nil:
	case errors.As(err, &ke) && (ke.Errno == unix.EOPNOTSUPP || ke.Errno == unix.EINVAL):
		// rtnetlink_rcv_msg() answers a message type it has no handler
		// for with EOPNOTSUPP: a kernel before 5.3.
		st.nexthops, st.nexthopErr = nil, err
	default:
		return nil, err
	}
	for _, o := range st.nexthops {
		o.spec = st.specOf(&o.wire)
		for _, m := range o.wire.Group {
			st.nhRefs[m.ID]++
		}
	}
	for _, af := range []uint8{unix.AF_INET, unix.AF_INET6} {
		what := fmt.Sprintf("IPv%d routes", map[uint8]int{unix.AF_INET: 4, unix.AF_INET6: 6}[af])
		var rs []rtnl.Route
		if err := dumpRetry(ctx, c, unix.RTM_GETROUTE, rtnl.RouteDumpRequest(af, false), what, func() { rs = rs[:0] },
			func(typ uint16, b []byte) error {
				if typ != unix.RTM_NEWROUTE {
					return nil
				}
				r, err := rtnl.ParseRoute(b)
				if err != nil {
					return err
				}
				if r.Family == af {
					rs = append(rs, r)
				}
				return nil
			}); err != nil {
			return nil, err
		}
		for i := range rs {
			st.add(&rs[i], proto, tables)
		}
	}
	return st, nil
}

// dumpRetry runs a dump, again from a reset when the kernel marks it
// interrupted (at most 20 times).
func dumpRetry(ctx context.Context, c *rtnl.Conn, typ uint16, body []byte, what string, reset func(), fn func(uint16, []byte) error) error {
	for try := 0; ; try++ {
		reset()
		err := c.Dump(ctx, typ, body, fn)
		if !errors.Is(err, rtnl.ErrInterrupted) {
			if err != nil {
				return fmt.Errorf("dump %s: %w", what, err)
			}
			return nil
		}
		if try == 19 {
			return fmt.Errorf("dump %s: interrupted 20 times in a row: %w", what, err)
		}
	}
}

// add files one dumped route.
func (st *state) add(r *rtnl.Route, proto kernel.Proto, tables map[uint32]bool) {
	if r.NHID != 0 {
		st.nhRefs[r.NHID]++
	}
	if r.Flags&unix.RTM_F_CLONED != 0 {
		if r.Family == unix.AF_INET6 {
			st.cache6 = append(st.cache6, *r)
		}
		return
	}
	if !tables[r.Table] {
		return
	}
	if r.Family == unix.AF_INET6 {
		st.routes6 = append(st.routes6, *r)
	}
	in := st.decode(r)
	k := in.Key()
	if in.proto != proto {
		if _, ok := st.foreign[k]; !ok {
			st.foreign[k] = fmt.Sprintf("%s proto %s", in.Route, in.proto)
		}
		return
	}
	if prev, ok := st.ours[k]; ok && r.Family == unix.AF_INET6 && mergeSibling(prev, in) {
		// Kernels before 4.11 dump each sibling of an IPv6 multipath
		// route as its own message.
		return
	}
	st.ours[k] = in
}

// mergeSibling adds in's next hop to prev when both are gateway routes
// of one IPv6 multipath route.
func mergeSibling(prev, in *installed) bool {
	if prev.nhid != 0 || in.nhid != 0 || prev.Type != kernel.RouteUnicast || in.Type != kernel.RouteUnicast ||
		!qualifiesECMP(&prev.Route, false) || !qualifiesECMP(&in.Route, false) {
		return false
	}
	prev.Nexthops = append(prev.Nexthops, in.Nexthops...)
	slices.SortFunc(prev.Nexthops, compareNexthop)
	prev.wire.Multipath = append(prev.wire.Multipath, in.wire.Multipath...)
	if len(in.wire.Multipath) == 0 {
		prev.wire.Multipath = append(prev.wire.Multipath, rtnl.Hop{Ifindex: in.wire.Oif, Gateway: in.wire.Gateway, Weight: 1})
	}
	return true
}

// decode turns a dumped route into a normalised Route, its next hops
// resolved through its nexthop object when it uses one.
func (st *state) decode(r *rtnl.Route) *installed {
	in := &installed{proto: kernel.Proto(r.Protocol), nhid: r.NHID, wire: *r}
	in.Dst = r.Dst
	in.Type = kernel.RouteType(r.Type)
	in.Table = r.Table
	in.Metric = r.Priority
	in.Src = r.Prefsrc
	switch {
	case r.NHID != 0 && st.nexthops[r.NHID] != nil:
		in.Nexthops = st.hopsOf(st.nexthops[r.NHID])
	case len(r.Multipath) > 0:
		for _, h := range r.Multipath {
			in.Nexthops = append(in.Nexthops, Nexthop{Gateway: h.Gateway, Dev: st.names[h.Ifindex], Weight: h.Weight, Onlink: h.Flags&unix.RTNH_F_ONLINK != 0})
		}
	case r.Gateway.IsValid() || (r.Oif != 0 && !in.Type.Reject()):
		in.Nexthops = []Nexthop{{Gateway: r.Gateway, Dev: st.names[r.Oif], Weight: 1, Onlink: r.Flags&unix.RTNH_F_ONLINK != 0}}
	}
	in.Route = in.Route.normalise()
	return in
}

// hopsOf lists the next hops of a nexthop object (of a group, each
// member's with its weight).
func (st *state) hopsOf(o *nhObject) []Nexthop {
	one := func(n *rtnl.Nexthop, w int) Nexthop {
		return Nexthop{Gateway: n.Gateway, Dev: st.names[n.Oif], Weight: w, Onlink: n.Flags&unix.RTNH_F_ONLINK != 0}
	}
	if len(o.wire.Group) == 0 {
		return []Nexthop{one(&o.wire, 1)}
	}
	var out []Nexthop
	for _, m := range o.wire.Group {
		if mo := st.nexthops[m.ID]; mo != nil {
			out = append(out, one(&mo.wire, m.Weight))
		}
	}
	return out
}

// specOf describes what a dumped nexthop object holds.
func (st *state) specOf(n *rtnl.Nexthop) nhSpec {
	if n.Blackhole || n.FDB {
		return ""
	}
	if len(n.Group) == 0 {
		return singleSpec(familyOf(n.Family), Nexthop{Gateway: n.Gateway, Dev: st.names[n.Oif], Onlink: n.Flags&unix.RTNH_F_ONLINK != 0})
	}
	var hops []Nexthop
	for _, m := range n.Group {
		mo := st.nexthops[m.ID]
		if mo == nil || len(mo.wire.Group) > 0 || mo.wire.Blackhole || mo.wire.FDB {
			return ""
		}
		hops = append(hops, Nexthop{Gateway: mo.wire.Gateway, Dev: st.names[mo.wire.Oif], Weight: m.Weight, Onlink: mo.wire.Flags&unix.RTNH_F_ONLINK != 0})
	}
	return groupSpec(hops, familyOf(n.Family))
}

func familyOf(af uint8) int {
	if af == unix.AF_INET6 {
		return 6
	}
	return 4
}

// singleSpec is the spec of one next hop's object: its family is the
// gateway's, or for a device-only next hop the route's (an IPv6 route
// cannot use an AF_INET nexthop object: fib6_check_nexthop()).
func singleSpec(fam int, h Nexthop) nhSpec {
	if h.Gateway.IsValid() {
		fam = 4
		if h.Gateway.Is6() {
			fam = 6
		}
	}
	return nhSpec(fmt.Sprintf("%d|%s|%s|%t", fam, h.Dev, h.Gateway, h.Onlink))
}

// groupSpec is the spec of a group of next hops (sorted, with weights).
func groupSpec(hops []Nexthop, fam int) nhSpec {
	hops = slices.Clone(hops)
	slices.SortFunc(hops, compareNexthop)
	parts := make([]string, len(hops))
	for i, h := range hops {
		parts[i] = fmt.Sprintf("%s*%d", singleSpec(fam, h), h.Weight)
	}
	return nhSpec("group{" + strings.Join(parts, ",") + "}")
}

// specFor is the spec of the object a route with these (normalised)
// next hops would use.
func specFor(fam int, hops []Nexthop) nhSpec {
	if len(hops) == 1 {
		h := hops[0]
		h.Weight = 0
		return singleSpec(fam, h)
	}
	return groupSpec(hops, fam)
}

// covering returns the route of routes that covers a (longest prefix, then
// lowest metric), ignoring cache entries.
func covering(routes []rtnl.Route, table uint32, a netip.Addr) *rtnl.Route {
	var best *rtnl.Route
	for i := range routes {
		r := &routes[i]
		if r.Table != table || !r.Dst.Contains(a) {
			continue
		}
		if best == nil || r.Dst.Bits() > best.Dst.Bits() || (r.Dst.Bits() == best.Dst.Bits() && r.Priority < best.Priority) {
			best = r
		}
	}
	return best
}
