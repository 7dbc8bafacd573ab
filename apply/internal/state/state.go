// Package state reads what the kernel holds for the route writer
// (package apply): a namespace's links, its nexthop objects (each
// described by a Spec, the comparable key of what it holds) and the
// routes of both families, decoded into route.Route values, the
// writer's own (of its protocol, in its tables) apart from the keys
// other protocols' routes hold; and, on kernels that clone on lookup,
// the IPv6 route-cache entries that contradict their routes. The
// planner (apply/internal/plan) computes from it; the writer reads it
// back to check what it wrote.
package state

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"maps"
	"net/netip"
	"slices"
	"strings"

	"golang.org/x/sys/unix"

	"raceroute/apply/internal/rtnl"
	"raceroute/apply/route"
	"raceroute/kernel"
)

// Installed is a route as the kernel holds it.
type Installed struct {
	route.Route // normalised; next hops resolved through its nexthop object
	// wire is the route as read (Wire), for a route without a nexthop
	// object; one with keeps only the scope and flags beside the fields
	// above, for a dump of 200,000 routes on objects is 30 MB of copies.
	wire *rtnl.Route
	// NHID is the nexthop object the route uses, 0 for none.
	NHID  uint32
	flags uint32
	// Seq numbers the routes of Ours from 0 (State.PutOurs), so that a
	// plan can mark them in a slice rather than a map (State.NumOurs
	// bounds it).
	Seq   int32
	Proto kernel.Proto
	scope uint8
	// (In this order the fields pack into 120 bytes, not 128: 1.6 MB
	// less new memory at 200,000 routes.)
}

// Wire is the route as read, what a delete must name: for a route on a
// nexthop object, the fields a delete of it names (family, destination,
// table, protocol, scope, type, flags, metric, object), rebuilt from
// the decoded route, which holds them as dumped (the kernel dumps a
// masked destination, its table, type and metric).
func (in *Installed) Wire() rtnl.Route {
	if in.wire != nil {
		return *in.wire
	}
	w := rtnl.Route{Family: unix.AF_INET, Dst: in.Dst, Table: in.Table, Protocol: uint8(in.Proto), Scope: in.scope, Type: uint8(in.Type),
		Flags: in.flags, Priority: in.Metric, HasPriority: true, NHID: in.NHID}
	if !in.Dst.Addr().Is4() {
		w.Family = unix.AF_INET6
	}
	return w
}

// SetWire records w as the route read (Wire); in's NHID must be w's.
func (in *Installed) SetWire(w rtnl.Route) { in.setWire(&w, nil) }

// setWire records w, copied into slab (a new route when nil) unless the
// route is on an object.
func (in *Installed) setWire(w *rtnl.Route, slab *[]rtnl.Route) {
	in.wire, in.scope, in.flags = nil, w.Scope, w.Flags
	if w.NHID != 0 {
		return
	}
	if slab == nil {
		c := *w
		in.wire = &c
		return
	}
	if len(*slab) == cap(*slab) {
		*slab = make([]rtnl.Route, 0, 1024)
	}
	*slab = append(*slab, *w)
	in.wire = &(*slab)[len(*slab)-1]
}

// Spec is what a nexthop object holds, as a comparable key: one next
// hop (family, device, gateway, onlink) or a group (its members' specs
// and weights, sorted).
type Spec string

// Object is a nexthop object as the kernel holds it.
type Object struct {
	Wire  rtnl.Nexthop
	Spec  Spec // "" for an object the writer cannot describe (blackhole, FDB)
	Proto kernel.Proto
}

// Key is a route's replace key (route.Key) packed for the maps that
// hold 200,000 routes: no pointer (netip.Addr keeps its zone in a
// handle), so that it hashes and compares as 28 bytes of memory rather
// than field by field.
type Key struct {
	addr          [16]byte
	table, metric uint32
	// meta is the prefix length, and keyV6 for an IPv6 destination (one
	// word: a struct without padding is compared as memory).
	meta uint32
}

const keyV6 = 1 << 8

// KeyOf packs a route key (of a valid destination).
func KeyOf(k route.Key) Key {
	a := k.Dst.Addr()
	meta := uint32(k.Dst.Bits())
	if !a.Is4() {
		meta |= keyV6
	}
	return Key{addr: a.As16(), table: k.Table, metric: k.Metric, meta: meta}
}

// WireKey is the key of a dumped route, as its decoded (normalised)
// Route has it: the destination masked, table 0 as main, an IPv6
// metric 0 as 1024 (route.Route.Normalise).
func WireKey(r *rtnl.Route) Key {
	n := route.Route{Dst: r.Dst, Table: r.Table, Metric: r.Priority}
	n.Dst = n.Dst.Masked()
	if n.Table == 0 {
		n.Table = unix.RT_TABLE_MAIN
	}
	if n.Metric == 0 && !n.Dst.Addr().Is4() {
		n.Metric = 1024
	}
	return KeyOf(n.Key())
}

// Route unpacks k.
func (k Key) Route() route.Key {
	a := netip.AddrFrom16(k.addr)
	if k.meta&keyV6 == 0 {
		a = a.Unmap()
	}
	return route.Key{Table: k.table, Dst: netip.PrefixFrom(a, int(k.meta&0xff)), Metric: k.metric}
}

// Hash mixes k into 64 bits (splitmix64's finaliser, a round per word),
// for sums that compare sets of keys.
func (k Key) Hash() uint64 {
	mix := func(x uint64) uint64 {
		x ^= x >> 30
		x *= 0xbf58476d1ce4e5b9
		x ^= x >> 27
		x *= 0x94d049bb133111eb
		return x ^ x>>31
	}
	h := mix(uint64(k.table)<<32 | uint64(k.metric))
	h = mix(h ^ binary.BigEndian.Uint64(k.addr[:8]))
	h = mix(h ^ binary.BigEndian.Uint64(k.addr[8:]))
	return mix(h ^ uint64(k.meta))
}

// State is what the writer read of a namespace.
type State struct {
	// Ours are the routes of the writer's protocol in its tables (read
	// once sealed: Read seals it, and Seal).
	Ours *Index
	// ours6 are the IPv6 routes of Ours by key while a dump files them,
	// for the siblings of a multipath route that kernels before 4.11
	// dump one by one.
	ours6 map[Key]*Installed
	// Foreign are the keys of the writer's tables held by routes of
	// other protocols (also where one of ours is at the same key, as
	// IPv6 allows), with the route for messages.
	Foreign map[Key]string
	// Nexthops are every nexthop object, by id; nil when the kernel has
	// none (before 5.3).
	Nexthops map[uint32]*Object
	// NHRefs counts, per nexthop object, the routes (of any protocol)
	// and groups that use it.
	NHRefs map[uint32]int
	// Links maps interface names to indices, Names back.
	Links map[string]int
	Names map[int]string
	// cache6 are the IPv6 route-cache entries the dumps listed (on
	// kernels whose lookups clone into the tree); routes6 every IPv6
	// route of the writer's tables, for the routes that cover them.
	cache6  []rtnl.Route
	routes6 []rtnl.Route
	// objHops are the normalised next hops of each object routes use.
	objHops map[uint32][]route.Nexthop
	// NexthopErr is why the kernel has no nexthop objects, when it has
	// none.
	NexthopErr error
	// slab is the chunk the next Installed is taken from (one
	// allocation a few thousand routes, not one a route); wires the one
	// the wire routes of those without an object are copied to.
	slab  []Installed
	wires []rtnl.Route
	// seq is the Seq of the next route put in Ours.
	seq int32
	// held is Held's cursor.
	held Cursor
	// oursOn counts the routes of Ours on each nexthop object as they
	// are put in; onStale: a key came twice (one route of ours put over
	// another, dropped when Ours was sealed), the counts are made again
	// from Ours.
	oursOn  map[uint32]int
	onStale bool
}

// OursOn counts the routes of Ours that use each nexthop object, by id.
func (st *State) OursOn() map[uint32]int {
	if st.oursOn == nil || st.onStale {
		st.oursOn, st.onStale = map[uint32]int{}, false
		for in := range st.Ours.All() {
			if in.NHID != 0 {
				st.oursOn[in.NHID]++
			}
		}
	}
	return st.oursOn
}

// putOurs files in at key k, numbered, and counts it on its object.
func (st *State) putOurs(k Key, in *Installed) {
	in.Seq = st.seq
	st.seq++
	if st.Ours == nil {
		st.Ours = NewIndex(0)
	}
	st.Ours.Put(k, in)
	if k.meta&keyV6 != 0 {
		if st.ours6 == nil {
			st.ours6 = map[Key]*Installed{}
		}
		st.ours6[k] = in
	}
	if in.NHID != 0 && st.oursOn != nil {
		st.oursOn[in.NHID]++
	}
}

// PutOurs files in, a route of ours, at its key, and numbers it; Seal
// must be called before the state is read.
func (st *State) PutOurs(in *Installed) { st.putOurs(KeyOf(in.Key()), in) }

// Seal makes Ours readable after routes were put in (Read seals what it
// read); of a key put twice, the route put last stays.
func (st *State) Seal() {
	if st.Ours == nil {
		st.Ours = NewIndex(0)
	}
	if st.Ours.Seal() {
		st.onStale = true
	}
	st.ours6 = nil
}

// NumOurs bounds the Seq of the routes in Ours: each is below it.
func (st *State) NumOurs() int { return int(st.seq) }

// newInstalled returns a zero Installed from the slab.
func (st *State) newInstalled() *Installed {
	if len(st.slab) == cap(st.slab) {
		st.slab = make([]Installed, 0, 4096)
	}
	st.slab = st.slab[:len(st.slab)+1]
	return &st.slab[len(st.slab)-1]
}

// Read dumps links, nexthop objects and the routes of both families:
// in the tables, the routes of protocol proto are ours, those of any
// other protocol foreign. hint is how many routes of ours are expected
// (0 if unknown), to size the maps.
func Read(ctx context.Context, c *rtnl.Conn, proto kernel.Proto, tables map[uint32]bool, hint int) (*State, error) {
	st, err := ReadNexthops(ctx, c)
	if err != nil {
		return nil, err
	}
	groupRefs := maps.Clone(st.NHRefs)
	// Each route goes into the state as it is read (no list of them
	// first: 200,000 routes are 200,000 copies); an interrupted dump
	// starts the routes over.
	err = ScanRoutes(ctx, c, func() {
		st.Ours, st.ours6 = NewIndex(max(hint, st.Ours.Len())), nil
		st.seq, st.oursOn, st.onStale = 0, map[uint32]int{}, false
		clear(st.Foreign)
		st.NHRefs = maps.Clone(groupRefs)
		st.cache6, st.routes6 = nil, nil
	}, func(r *rtnl.Route) { st.add(r, proto, tables) })
	if err != nil {
		return nil, err
	}
	st.Seal()
	return st, nil
}

// ReadNexthops dumps links and nexthop objects, not routes: a State
// with no routes, its NHRefs counting groups' members only.
func ReadNexthops(ctx context.Context, c *rtnl.Conn) (*State, error) {
	st := &State{Ours: NewIndex(0), Foreign: map[Key]string{}, NHRefs: map[uint32]int{},
		Links: map[string]int{}, Names: map[int]string{}}
	if err := dumpRetry(ctx, c, unix.RTM_GETLINK, rtnl.LinkDumpRequest(), "links", func() {
		clear(st.Links)
		clear(st.Names)
	}, func(typ uint16, b []byte) error {
		if typ != unix.RTM_NEWLINK {
			return nil
		}
		l, err := rtnl.ParseLink(b)
		if err != nil {
			return err
		}
		st.Links[l.Name], st.Names[l.Index] = l.Index, l.Name
		return nil
	}); err != nil {
		return nil, err
	}
	st.Nexthops = map[uint32]*Object{}
	err := dumpRetry(ctx, c, unix.RTM_GETNEXTHOP, rtnl.NexthopDumpRequest(), "nexthop objects", func() { clear(st.Nexthops) },
		func(typ uint16, b []byte) error {
			if typ != unix.RTM_NEWNEXTHOP {
				return nil
			}
			n, err := rtnl.ParseNexthop(b)
			if err != nil {
				return err
			}
			st.Nexthops[n.ID] = &Object{Wire: n, Proto: kernel.Proto(n.Protocol)}
			return nil
		})
	var ke *rtnl.KernelError
	switch {
	case err == nil:
	case errors.As(err, &ke) && (ke.Errno == unix.EOPNOTSUPP || ke.Errno == unix.EINVAL):
		// rtnetlink_rcv_msg() answers a message type it has no handler
		// for with EOPNOTSUPP: a kernel before 5.3.
		st.Nexthops, st.NexthopErr = nil, err
	default:
		return nil, err
	}
	for _, o := range st.Nexthops {
		o.Spec = st.SpecOf(&o.Wire)
		for _, m := range o.Wire.Group {
			st.NHRefs[m.ID]++
		}
	}
	return st, nil
}

// ScanRoutes dumps the routes of both families, each to fn (which must
// not keep the pointer: the next route is parsed into the same place);
// when the kernel marks a dump interrupted, reset is called and the dump
// starts over (at most 20 times).
func ScanRoutes(ctx context.Context, c *rtnl.Conn, reset func(), fn func(*rtnl.Route)) error {
	for try := 0; ; try++ {
		reset()
		err := dumpRoutes(ctx, c, fn)
		if !errors.Is(err, rtnl.ErrInterrupted) {
			return err
		}
		if try == 19 {
			return fmt.Errorf("%w, 20 times in a row", err)
		}
	}
}

// dumpRoutes dumps the routes of both families to fn, which must not
// keep the pointer: every route is parsed into the same variable (a
// route each on the heap is 30 MB at 200,000 routes).
func dumpRoutes(ctx context.Context, c *rtnl.Conn, fn func(*rtnl.Route)) error {
	var r rtnl.Route
	for _, af := range []uint8{unix.AF_INET, unix.AF_INET6} {
		what := "IPv4 routes"
		if af == unix.AF_INET6 {
			what = "IPv6 routes"
		}
		err := c.Dump(ctx, unix.RTM_GETROUTE, rtnl.RouteDumpRequest(af, false), func(typ uint16, b []byte) error {
			if typ != unix.RTM_NEWROUTE {
				return nil
			}
			var err error
			if r, err = rtnl.ParseRoute(b); err != nil {
				return err
			}
			if r.Family == af {
				fn(&r)
			}
			return nil
		})
		if err != nil {
			return fmt.Errorf("dump %s: %w", what, err)
		}
	}
	return nil
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
func (st *State) add(r *rtnl.Route, proto kernel.Proto, tables map[uint32]bool) {
	if r.NHID != 0 {
		st.NHRefs[r.NHID]++
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
	if in.Proto != proto {
		if k := KeyOf(in.Key()); st.Foreign[k] == "" {
			st.Foreign[k] = fmt.Sprintf("%s proto %s", in.Route, in.Proto)
		}
		return
	}
	k := KeyOf(in.Key()) // WireKey(r), from the route decode normalised
	if r.Family == unix.AF_INET6 {
		// Kernels before 4.11 dump each sibling of an IPv6 multipath
		// route as its own message (looked up for IPv6 only: a lookup a
		// route is a tenth of reading 200,000).
		if prev, ok := st.ours6[k]; ok && mergeSibling(prev, in) {
			return
		}
	}
	st.putOurs(k, in)
}

// mergeSibling adds in's next hop to prev when both are gateway routes
// of one IPv6 multipath route.
func mergeSibling(prev, in *Installed) bool {
	if prev.NHID != 0 || in.NHID != 0 || prev.Type != kernel.RouteUnicast || in.Type != kernel.RouteUnicast ||
		!prev.QualifiesECMP(false) || !in.QualifiesECMP(false) {
		return false
	}
	prev.Nexthops = append(prev.Nexthops, in.Nexthops...)
	slices.SortFunc(prev.Nexthops, route.CompareNexthop)
	pw, iw := prev.wire, in.wire // routes without an object keep theirs
	pw.Multipath = append(pw.Multipath, iw.Multipath...)
	if len(iw.Multipath) == 0 {
		pw.Multipath = append(pw.Multipath, rtnl.Hop{Ifindex: iw.Oif, Gateway: iw.Gateway, Weight: 1})
	}
	return true
}

// decode turns a dumped route into a normalised Route, its next hops
// resolved through its nexthop object when it uses one.
func (st *State) decode(r *rtnl.Route) *Installed {
	in := st.newInstalled()
	*in = Installed{Proto: kernel.Proto(r.Protocol), NHID: r.NHID}
	in.setWire(r, &st.wires)
	in.Dst = r.Dst
	in.Type = kernel.RouteType(r.Type)
	in.Table = r.Table
	in.Metric = r.Priority
	in.Src = r.Prefsrc
	switch {
	case r.NHID != 0 && st.Nexthops[r.NHID] != nil:
		// The routes of an object share its next hops, normalised once
		// (read only: only mergeSibling appends, to routes without one).
		in.Route = in.Route.Normalise()
		hops, ok := st.objHops[r.NHID]
		if !ok {
			hops = (&route.Route{Nexthops: st.HopsOf(st.Nexthops[r.NHID])}).Normalise().Nexthops
			if st.objHops == nil {
				st.objHops = map[uint32][]route.Nexthop{}
			}
			st.objHops[r.NHID] = hops
		}
		in.Nexthops = hops
		return in
	case len(r.Multipath) > 0:
		for _, h := range r.Multipath {
			in.Nexthops = append(in.Nexthops, route.Nexthop{Gateway: h.Gateway, Dev: st.Names[h.Ifindex], Weight: h.Weight, Onlink: h.Flags&unix.RTNH_F_ONLINK != 0})
		}
	case r.Gateway.IsValid() || (r.Oif != 0 && !in.Type.Reject()):
		in.Nexthops = []route.Nexthop{{Gateway: r.Gateway, Dev: st.Names[r.Oif], Weight: 1, Onlink: r.Flags&unix.RTNH_F_ONLINK != 0}}
	}
	in.Route = in.Route.Normalise()
	return in
}

// HopsOf lists the next hops of a nexthop object (of a group, each
// member's with its weight).
func (st *State) HopsOf(o *Object) []route.Nexthop {
	one := func(n *rtnl.Nexthop, w int) route.Nexthop {
		return route.Nexthop{Gateway: n.Gateway, Dev: st.Names[n.Oif], Weight: w, Onlink: n.Flags&unix.RTNH_F_ONLINK != 0}
	}
	if len(o.Wire.Group) == 0 {
		return []route.Nexthop{one(&o.Wire, 1)}
	}
	var out []route.Nexthop
	for _, m := range o.Wire.Group {
		if mo := st.Nexthops[m.ID]; mo != nil {
			out = append(out, one(&mo.Wire, m.Weight))
		}
	}
	return out
}

// SpecOf describes what a dumped nexthop object holds.
func (st *State) SpecOf(n *rtnl.Nexthop) Spec {
	if n.Blackhole || n.FDB {
		return ""
	}
	if len(n.Group) == 0 {
		return SingleSpec(familyOf(n.Family), route.Nexthop{Gateway: n.Gateway, Dev: st.Names[n.Oif], Onlink: n.Flags&unix.RTNH_F_ONLINK != 0})
	}
	var hops []route.Nexthop
	for _, m := range n.Group {
		mo := st.Nexthops[m.ID]
		if mo == nil || len(mo.Wire.Group) > 0 || mo.Wire.Blackhole || mo.Wire.FDB {
			return ""
		}
		hops = append(hops, route.Nexthop{Gateway: mo.Wire.Gateway, Dev: st.Names[mo.Wire.Oif], Weight: m.Weight, Onlink: mo.Wire.Flags&unix.RTNH_F_ONLINK != 0})
	}
	return GroupSpec(hops, familyOf(n.Family))
}

func familyOf(af uint8) int {
	if af == unix.AF_INET6 {
		return 6
	}
	return 4
}

// SingleSpec is the spec of one next hop's object: its family is the
// gateway's, or for a device-only next hop the route's (an IPv6 route
// cannot use an AF_INET nexthop object: fib6_check_nexthop()).
func SingleSpec(fam int, h route.Nexthop) Spec {
	if h.Gateway.IsValid() {
		fam = 4
		if h.Gateway.Is6() {
			fam = 6
		}
	}
	return Spec(fmt.Sprintf("%d|%s|%s|%t", fam, h.Dev, h.Gateway, h.Onlink))
}

// GroupSpec is the spec of a group of next hops (sorted, with weights).
func GroupSpec(hops []route.Nexthop, fam int) Spec {
	hops = slices.Clone(hops)
	slices.SortFunc(hops, route.CompareNexthop)
	parts := make([]string, len(hops))
	for i, h := range hops {
		parts[i] = fmt.Sprintf("%s*%d", SingleSpec(fam, h), h.Weight)
	}
	return Spec("group{" + strings.Join(parts, ",") + "}")
}

// SpecFor is the spec of the object a route with these (normalised)
// next hops would use.
func SpecFor(fam int, hops []route.Nexthop) Spec {
	if len(hops) == 1 {
		h := hops[0]
		h.Weight = 0
		return SingleSpec(fam, h)
	}
	return GroupSpec(hops, fam)
}

// Held returns the route of ours at key k and the nexthop object it
// uses (0 for none); nil when none of ours is there. It looks up with a
// cursor of its own, fastest for keys in the order of Ours, so it is not
// for concurrent use.
func (st *State) Held(k route.Key) (*route.Route, uint32) {
	if st.held.ix != st.Ours {
		st.held = st.Ours.Cursor()
	}
	in := st.held.Get(KeyOf(k))
	if in == nil {
		return nil, 0
	}
	return &in.Route, in.NHID
}

// StaleClones lists the IPv6 route-cache entries the dumps listed under
// the prefixes of the changed routes that contradict the route covering
// them (see staleClones).
func (st *State) StaleClones(changed []route.Route) []rtnl.Route {
	return staleClones(st.cache6, st.routes6, changed)
}

// staleClones lists the route-cache entries under the changed routes'
// prefixes that contradict the route covering their destination: another
// type, or for unicast another device or gateway (a copy-on-write clone
// of a device route has its destination as gateway: rt6_alloc_cow(),
// 3.16). The model's ClonesAgree property judges clones the same way.
func staleClones(cache, routes []rtnl.Route, changed []route.Route) []rtnl.Route {
	var out []rtnl.Route
	for _, c := range cache {
		under := false
		for i := range changed {
			if changed[i].Table == c.Table && changed[i].Dst.Contains(c.Dst.Addr()) {
				under = true
				break
			}
		}
		if !under {
			continue
		}
		cov := covering(routes, c.Table, c.Dst.Addr())
		if cov == nil {
			if c.Type == unix.RTN_UNICAST {
				out = append(out, c)
			}
			continue
		}
		switch {
		case cov.Type != c.Type:
		case cov.Type != unix.RTN_UNICAST:
			continue
		case cov.Oif != c.Oif:
		case cov.Gateway.IsValid() && cov.Gateway != c.Gateway:
		case !cov.Gateway.IsValid() && c.Gateway.IsValid() && c.Gateway != c.Dst.Addr():
		default:
			continue
		}
		out = append(out, c)
	}
	return out
}

// IsGroup reports whether s is the spec of a group.
func IsGroup(s Spec) bool { return strings.HasPrefix(string(s), "group{") }

// SpecHop reads a single spec back into its next hop and family.
func SpecHop(s Spec) (route.Nexthop, int) {
	parts := strings.SplitN(string(s), "|", 4)
	h := route.Nexthop{Dev: parts[1], Onlink: parts[3] == "true", Weight: 1}
	if a, err := netip.ParseAddr(parts[2]); err == nil {
		h.Gateway = a
	}
	fam := 4
	if parts[0] == "6" {
		fam = 6
	}
	return h, fam
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
