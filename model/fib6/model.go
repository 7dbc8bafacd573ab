package fib6

import (
	"fmt"
	"net/netip"
	"unsafe"

	"raceroute/kernel"
	"raceroute/model/fib6/exception"
	"raceroute/model/fib6/nexthop"
	"raceroute/model/fib6/prefixtree"

	"raceroute/explore"
	"raceroute/profile"
	"raceroute/trace"
)

// Capacity of a state. A scenario that needs more is refused when the
// model is built, never truncated at run time.
const (
	MaxNodes  = 24 // prefixes (table, prefix) that can ever hold a route
	MaxSlots  = 4  // routes one node can hold at once
	MaxActors = 16
)

// netlink request flags (include/uapi/linux/netlink.h).
const (
	flagReplace = 0x100 // NLM_F_REPLACE
	flagExcl    = 0x200 // NLM_F_EXCL
	flagCreate  = 0x400 // NLM_F_CREATE
	flagAppend  = 0x800 // NLM_F_APPEND
)

// OpKind is a route change as iproute2 names it.
type OpKind uint8

// Route changes and the netlink flags iproute2 sends with them.
const (
	OpAdd     OpKind = iota + 1 // ip route add: NLM_F_CREATE|NLM_F_EXCL
	OpDel                       // ip route del
	OpReplace                   // ip route replace: NLM_F_CREATE|NLM_F_REPLACE
	OpChange                    // ip route change: NLM_F_REPLACE
	OpAppend                    // ip route append: NLM_F_CREATE|NLM_F_APPEND
	// OpHeal is a route writer's heal of the route cache under a prefix
	// (apply's, re6st's workaround): once no lookup of a destination
	// under the prefix is between its match and its insert, every clone
	// there that contradicts the route covering it is deleted
	// (RTM_DELROUTE with RTM_F_CLONED). Its Route carries the prefix only.
	OpHeal
	// OpNexthopAdd, OpNexthopReplace and OpNexthopDel change a nexthop
	// object (`ip nexthop add|replace|del`, RTM_NEWNEXTHOP /
	// RTM_DELNEXTHOP, 5.3 and later): their Nexthop says which (nexthops.go).
	OpNexthopAdd
	OpNexthopReplace
	OpNexthopDel
)

func (k OpKind) String() string {
	return [...]string{"?", "add", "del", "replace", "change", "append", "heal", "nexthop add", "nexthop replace", "nexthop del"}[k]
}

func (k OpKind) flags() int {
	switch k {
	case OpAdd:
		return flagCreate | flagExcl
	case OpReplace:
		return flagCreate | flagReplace
	case OpChange:
		return flagReplace
	case OpAppend:
		return flagCreate | flagAppend
	}
	return 0
}

// Op is one route change of a routing agent.
type Op struct {
	Kind  OpKind
	Route Route
	// Nexthop is the object a nexthop op writes (for OpNexthopDel, its
	// ID alone).
	Nexthop nexthop.Nexthop
}

func (o Op) String() string {
	switch o.Kind {
	case OpHeal:
		return "heal " + o.Route.Prefix.String()
	case OpNexthopDel:
		return fmt.Sprintf("nexthop del id %d", o.Nexthop.ID)
	case OpNexthopAdd, OpNexthopReplace:
		return o.Kind.String() + " " + o.Nexthop.String()
	}
	return o.Kind.String() + " " + o.Route.String()
}

// Actor is a routing agent (Ops), a packet flow (Dst, Packets), an
// ICMPv6 message arriving (ICMP, exc.go) or the route garbage
// collector's run (GC).
type Actor struct {
	Name    string
	Ops     []Op
	Dst     netip.Addr
	Packets int
	ICMP    *ICMP
	GC      *GCRun
}

// Config is everything a model is built from.
type Config struct {
	Profile profile.Profile
	// Routes are the initial routes, in the order they were added (each
	// as `ip -6 route add` adds it: NLM_F_CREATE|NLM_F_EXCL).
	Routes []Route
	// Listed reads Routes as a table listed by `ip -6 route`, in its
	// order, instead: each route is linked after the routes of its prefix
	// with a lower or equal metric, as fib6_add_rt2node() links a route
	// added with NLM_F_CREATE alone, so that two routes of one metric at
	// one prefix (a dev-only route beside a gateway route, as the 4.2-5.5
	// replace leaves them) come back in their order instead of failing
	// with -EEXIST. With Exec and Table, it runs a script's requests one
	// at a time on the table each leaves.
	Listed bool
	// Warm are destinations looked up once, in order, before the actors
	// start: on clone-on-lookup kernels they leave clones in the cache,
	// as earlier traffic does.
	Warm []netip.Addr
	// ICMP are messages handled, in order, after the warm-up and before
	// the actors start (the entries they leave are there at the start).
	ICMP   []ICMP
	Actors []Actor
	// Nexthops are the nexthop objects made before the routes (`ip
	// nexthop add`, in order); a route uses one by its `nhid`. Only on
	// kernels with nexthop objects (nexthop-objects=yes, 5.3).
	Nexthops []nexthop.Nexthop
}

// localTable is RT_TABLE_LOCAL.
const localTable = 255

// route flags, after include/uapi/linux/ipv6_route.h.
const (
	rtfGateway   = 0x0002
	rtfCache     = 0x01000000
	rtfReject    = 0x0200
	rtfNonexthop = 0x00200000
)

// rinfo is one route the model may ever hold: a user route or a clone.
type rinfo struct {
	r      Route // for clones: the /128, gateway, device, metric 0
	node   int
	flags  uint32
	err    kernel.Errno // dst.error
	parent uint8        // clones: the route cloned
	dst    int          // clones: index of the destination
	// ICMP entries (exc.go): the message that made it, a Packet Too
	// Big's mtu (RTF_EXPIRES), and whether it lives in its route's
	// exception table rather than in the tree.
	icmp ICMPKind
	mtu  uint16
	exc  bool
}

func (ri *rinfo) isCache() bool { return ri.flags&rtfCache != 0 }

// Model is the IPv6 FIB of one host under a kernel profile, with its
// actors. It implements explore.Model[State].
type Model struct {
	p      profile.Profile
	u      prefixtree.Universe
	routes []rinfo   // index 0 unused: slot value 0 is empty
	clone  [][]uint8 // clone[route][dst]: clone route id, 0 if none
	actors []actorInfo
	names  []string
	init   State
	// x is the ICMP actors' part (exc.go), nil without them; treeCache
	// says RTF_CACHE routes can sit in the tree (fib6_prune_clones()
	// has work): clone-on-lookup, or PMTU and redirect entries to 4.14.
	x         *excModel
	treeCache bool
	nh        nhTable // nexthop objects (nexthops.go); empty without them
	// groups lists the interchangeable actors (reduce.go), two or more
	// each, groupMask their actors' bits (grouped, all of them); class is
	// each actor's seed in ClassFingerprint: its group's, or its own.
	groups    [][]int
	groupMask []uint64
	// groupOf is each grouped actor's index into groups.
	groupOf [MaxActors]uint8
	grouped uint64
	class   []uint64
	// regKey masks the bytes of Reg that FutureKey keeps: the ICMP
	// actors', whose insert's footprint depends on the route held.
	regKey [2]uint64
}

type actorInfo struct {
	name    string
	ops     []opInfo
	dst     int // flows: index into dsts; -1 for agents
	packets int
	kind    uint8 // 0 agents and flows; kindICMP, kindGC (exc.go)
	msg     int   // kindICMP: index into x.msgs
	gc      GCRun // kindGC
	// future[pc] is what an agent's ops from pc on write (reduce.go).
	future []uint64
	// step[pc] is the step Pending gives for PC pc: an agent's op pc, a
	// flow's lookup step pc (agents and flows only; initSteps).
	step []explore.Step
	// heals is whether an agent has a heal op (which Pending may hold).
	heals bool
}

type opInfo struct {
	op    Op
	node  int
	route uint8 // add/replace: the route to insert
}

// State is the FIB and the actors' program counters, as flat arrays of
// small integers: copy it by assignment, compare it with ==.
type State struct {
	// Slots lists each node's routes (route ids, 0 = empty) in the
	// kernel's list order: by metric, then insertion order.
	Slots [MaxNodes][MaxSlots]uint8
	// PC is each actor's program counter: agents, the next op; flows, the
	// step of the current lookup (0 match, 1 allocate, 2 insert).
	PC [MaxActors]uint8
	// Reg holds a flow's route matched (after step 0) or clone allocated
	// (after step 1).
	Reg [MaxActors]uint8
	// Tries counts a flow's insert attempts for the current packet.
	Tries [MaxActors]uint8
	// Sent counts a flow's packets looked up.
	Sent [MaxActors]uint8
	// Tables has bit i set once the model's i-th table other than main
	// and local exists: fib6_new_table() makes a table at its first
	// RTM_NEWROUTE and never frees it (ip6_route_info_create(), 6.12).
	Tables uint8
	// X is the ICMP entries' state (exc.go), encoded only when the model
	// has ICMP or GC actors.
	X excState
	// NH holds each nexthop object's definition now (an index into the
	// model's definitions, 0: no such object), NHLive each group's
	// members still in it (bit i: the model's i-th object).
	NH     [MaxNexthops]uint8
	NHLive [MaxNexthops]uint8
}

// stateBytes is the canonical encoding: State holds only uint8 arrays
// and bytes, so it has no padding and its bytes are canonical.
func stateBytes(s *State) []byte {
	return unsafe.Slice((*byte)(unsafe.Pointer(s)), unsafe.Sizeof(*s))
}

// New builds the model of cfg, or says why it cannot.
func New(cfg Config) (*Model, error) {
	m := &Model{p: cfg.Profile, routes: make([]rinfo, 1), u: *prefixtree.New(MaxNodes, [2]uint32{MainTable, localTable})}
	if len(cfg.Actors) > MaxActors {
		return nil, fmt.Errorf("%d actors: the model holds at most %d", len(cfg.Actors), MaxActors)
	}
	if err := m.excActors(cfg); err != nil {
		return nil, err
	}
	// Intern every route the run can hold.
	addRoute := func(r Route) (uint8, error) {
		for id := 1; id < len(m.routes); id++ {
			if !m.routes[id].isCache() && m.routes[id].r == r {
				return uint8(id), nil
			}
		}
		n, err := m.u.Node(r.Table, r.Prefix)
		if err != nil {
			return 0, err
		}
		ri := rinfo{r: r, node: n}
		if r.Type.Reject() {
			ri.flags = rtfReject | rtfNonexthop
			ri.err = m.rejectErr(r.Type)
		} else if r.Gateway.IsValid() {
			ri.flags = rtfGateway
		}
		if len(m.routes) >= 255 {
			return 0, fmt.Errorf("more than 254 distinct routes and clones")
		}
		m.routes = append(m.routes, ri)
		return uint8(len(m.routes) - 1), nil
	}
	if err := m.nh.build(m.p, cfg); err != nil {
		return nil, err
	}
	var initial []uint8
	for _, r := range cfg.Routes {
		id, err := addRoute(r)
		if err != nil {
			return nil, fmt.Errorf("route %s: %w", r, err)
		}
		initial = append(initial, id)
	}
	icmps := 0
	for _, a := range cfg.Actors {
		ai := actorInfo{name: a.Name, dst: -1, packets: a.Packets}
		switch {
		case a.ICMP != nil:
			ai.kind, ai.msg, ai.dst = kindICMP, icmps, m.dstOf(a.ICMP.Dst)
			icmps++
		case a.GC != nil:
			ai.kind, ai.gc = kindGC, *a.GC
		}
		if a.Dst.IsValid() {
			d, err := m.u.Dst(MainTable, a.Dst)
			if err != nil {
				return nil, fmt.Errorf("actor %s: %w", a.Name, err)
			}
			ai.dst = d
			if a.Packets < 1 || a.Packets > 255 {
				return nil, fmt.Errorf("actor %s: packets %d: want 1 to 255", a.Name, a.Packets)
			}
		}
		for _, op := range a.Ops {
			oi := opInfo{op: op}
			if op.Kind.isNexthop() {
				if op.Kind != OpNexthopDel {
					oi.route = m.nh.defOf(op.Nexthop) // the definition it writes
				}
				ai.ops = append(ai.ops, oi)
				continue
			}
			n, err := m.u.Node(op.Route.Table, op.Route.Prefix)
			if err != nil {
				return nil, fmt.Errorf("actor %s: %s: %w", a.Name, op, err)
			}
			oi.node = n
			if op.Kind != OpDel && op.Kind != OpHeal {
				if oi.route, err = addRoute(op.Route); err != nil {
					return nil, fmt.Errorf("actor %s: %s: %w", a.Name, op, err)
				}
			}
			ai.ops = append(ai.ops, oi)
		}
		if len(ai.ops) > 250 {
			return nil, fmt.Errorf("actor %s: %d ops: at most 250", a.Name, len(ai.ops))
		}
		m.actors = append(m.actors, ai)
		m.names = append(m.names, a.Name)
	}
	for _, w := range cfg.Warm {
		if _, err := m.u.Dst(MainTable, w); err != nil {
			return nil, fmt.Errorf("warm %s: %w", w, err)
		}
	}
	// Clones: on clone-on-lookup kernels a lookup for d may clone any
	// route that covers d (rt6_alloc_clone / rt6_alloc_cow).
	if m.p.ClonesOnLookup() {
		nUser := len(m.routes)
		m.clone = make([][]uint8, nUser)
		for id := 1; id < nUser; id++ {
			m.clone[id] = make([]uint8, len(m.u.Dsts))
			for d := range m.u.Dsts {
				ri := m.routes[id]
				if ri.r.Table != m.u.Dsts[d].Table || !ri.r.Prefix.Contains(m.u.Dsts[d].Addr) || ri.r.Prefix.Bits() == 128 || (m.x != nil && !m.x.looked[m.u.Dsts[d].Addr]) {
					continue
				}
				if len(m.routes) >= 255 {
					return nil, fmt.Errorf("more than 254 distinct routes and clones")
				}
				m.routes = append(m.routes, m.makeClone(uint8(id), d))
				m.clone[id][d] = uint8(len(m.routes) - 1)
			}
		}
	}
	if m.x != nil {
		if err := m.excEntries(); err != nil {
			return nil, err
		}
	}
	m.treeCache = m.p.ClonesOnLookup() || (m.x != nil && m.x.home == exception.InTree)
	m.u.Link()
	// Capacity: a node never holds more routes than could ever be put
	// there.
	for n := range m.u.Nodes {
		c := 0
		for id := 1; id < len(m.routes); id++ {
			if m.routes[id].node == n && !m.routes[id].exc {
				c++
			}
		}
		if c > MaxSlots {
			return nil, fmt.Errorf("prefix %s may hold %d routes at once: the model holds at most %d per prefix", m.u.Nodes[n].Prefix, c, MaxSlots)
		}
	}
	// The initial table, then the warm-up lookups.
	initFlags := flagCreate | flagExcl
	if cfg.Listed {
		initFlags = flagCreate
	}
	for i, d := range m.nh.initial {
		if w := m.newNexthop(&m.init, d, false); w.err != 0 {
			return nil, fmt.Errorf("nexthop %s: refused %s %s", cfg.Nexthops[i], w.err, w.ext)
		}
	}
	for i, id := range initial {
		flags := initFlags
		if !cfg.Listed && cfg.InitialKind(i) == OpAppend {
			flags = OpAppend.flags()
		}
		if err := m.fib6Add(&m.init, id, flags, nil, -1); err != 0 {
			return nil, fmt.Errorf("initial route %s: %s", m.routes[id].r, err)
		}
	}
	for _, w := range cfg.Warm {
		d, _ := m.u.Dst(MainTable, w)
		m.lookupWhole(&m.init, d)
	}
	for i := range cfg.ICMP {
		m.icmpWhole(&m.init, icmps+i)
	}
	m.initSteps()
	m.initReduction()
	return m, nil
}

func (m *Model) makeClone(parent uint8, d int) rinfo {
	pr := m.routes[parent]
	dst := m.u.Dsts[d]
	c := rinfo{node: dst.Node, parent: parent, dst: d, err: pr.err}
	c.r = Route{Type: pr.r.Type, Prefix: netip.PrefixFrom(dst.Addr, 128), Dev: pr.r.Dev, Table: pr.r.Table, MetricSet: true}
	// ip6_rt_copy() copies flags, gateway, device and dst.error and sets
	// metric 0; rt6_alloc_clone() / rt6_alloc_cow() add RTF_CACHE. A
	// copy-on-write clone of a route with neither RTF_GATEWAY nor
	// RTF_NONEXTHOP (a device route) takes the destination as its
	// gateway (rt6_alloc_cow(), 3.16).
	c.flags = pr.flags | rtfCache
	c.r.Gateway = pr.r.Gateway
	if pr.flags&(rtfGateway|rtfNonexthop) == 0 {
		c.r.Gateway = dst.Addr
	}
	return c
}

// rejectErr is dst.error of a reject route (ip6_route_add(), 3.16;
// ip6_route_info_create() later).
func (m *Model) rejectErr(t Type) kernel.Errno {
	switch t {
	case Blackhole:
		return kernel.EINVAL
	case Prohibit:
		return kernel.EACCES
	case Throw:
		return kernel.EAGAIN
	}
	return m.p.UnreachableErr
}

// Actors names the actors.
func (m *Model) Actors() []string { return m.names }

// Init returns the initial state.
func (m *Model) Init() State { return m.init }

// Clock returns 0: IPv6 FIB scenarios are untimed.
func (m *Model) Clock(*State) explore.Time { return 0 }

// Encode appends the canonical encoding of s.
func (m *Model) Encode(s *State, buf []byte) []byte {
	b := stateBytes(s)
	nodes := len(m.u.Nodes) * MaxSlots
	buf = append(buf, b[:nodes]...)
	acts := len(m.actors)
	off := int(unsafe.Offsetof(s.PC))
	for i := 0; i < perActorArrays; i++ {
		base := off + i*MaxActors
		buf = append(buf, b[base:base+acts]...)
	}
	buf = append(buf, s.Tables)
	if m.x != nil {
		off := unsafe.Offsetof(s.X)
		buf = append(buf, b[off:off+unsafe.Sizeof(s.X)]...)
	}
	if n := len(m.nh.ids); n > 0 {
		buf = append(buf, s.NH[:n]...)
		buf = append(buf, s.NHLive[:n]...)
	}
	return buf
}

// perActorArrays is the number of [MaxActors]uint8 arrays from State.PC to
// State.Tables: every field between them is one (TestEncodingCoversEveryField
// checks that each is encoded).
const perActorArrays = int((unsafe.Offsetof(State{}.Tables) - unsafe.Offsetof(State{}.PC)) / MaxActors)

// Pending appends each unfinished actor's next step.
func (m *Model) Pending(s *State, buf []explore.Step) []explore.Step {
	for a := range m.actors {
		ai := &m.actors[a]
		if ai.kind != 0 {
			if st, ok := m.excPending(s, a); ok {
				buf = append(buf, st)
			}
			continue
		}
		pc := int(s.PC[a])
		if ai.dst < 0 {
			if pc >= len(ai.step) {
				continue
			}
			if ai.heals && ai.ops[pc].op.Kind == OpHeal && m.lookupInFlight(s, ai.ops[pc].node) {
				continue // the heal waits for lookups between match and insert
			}
		} else if pc == 0 && int(s.Sent[a]) >= ai.packets {
			continue
		}
		buf = append(buf, ai.step[pc])
	}
	return buf
}

// initSteps computes each agent's and flow's steps by PC (Pending), with
// their footprints. An agent's op: fib6_add()/fib6_del() write the node
// and may prune clones anywhere below it (fib6_prune_clones() in 3.16);
// a heal deletes clones below it. The steps that start and end a lookup
// under it (match, insert) touch the same nodes, so the heal's waiting
// is seen by the partial-order reduction. RTM_NEWNEXTHOP /
// RTM_DELNEXTHOP run under RTNL and may change or delete every route
// that uses the object. A flow's lookup, ip6_pol_route() in 3.16
// (lookupMatch, lookupAlloc, lookupInsert): step 0, fib6_lookup() under
// the read lock, reads the path; step 1, the allocation outside the
// lock, touches no table node; step 2, fib6_add() of the clone, writes
// its /128 node. From 4.2 a lookup is step 0 alone (lookupNoClone).
func (m *Model) initSteps() {
	for a := range m.actors {
		ai := &m.actors[a]
		if ai.kind != 0 {
			continue
		}
		base := explore.Step{Actor: a, Latest: explore.Never, Outcomes: 1}
		if ai.dst < 0 {
			ai.step = make([]explore.Step, len(ai.ops))
			for pc, op := range ai.ops {
				st := base
				if op.op.Kind.isNexthop() {
					st.Footprint.Write = m.allNodes()
				} else {
					st.Footprint.Write = 1<<uint(op.node) | m.u.Nodes[op.node].DescMask
				}
				ai.step[pc] = st
				ai.heals = ai.heals || op.op.Kind == OpHeal
			}
			continue
		}
		d := &m.u.Dsts[ai.dst]
		ai.step = []explore.Step{base, base, base}
		ai.step[0].Footprint.Read = d.Mask
		ai.step[2].Footprint.Write = 1 << uint(d.Node)
	}
}

// Fire executes actor st.Actor's step.
func (m *Model) Fire(s *State, st explore.Step, at explore.Time, _ int, rec trace.Recorder) {
	a := st.Actor
	ai := &m.actors[a]
	if ai.kind != 0 {
		m.excFire(s, a, rec)
		return
	}
	if ai.dst < 0 {
		op := ai.ops[s.PC[a]]
		s.PC[a]++
		m.applyOp(s, a, op, rec)
		return
	}
	var w lookupWhy
	switch {
	case !m.p.ClonesOnLookup():
		w = m.lookupNoClone(s, a)
	case s.PC[a] == 0:
		w = m.lookupMatch(s, a)
	case s.PC[a] == 1:
		w = m.lookupAlloc(s, a)
	default:
		w = m.lookupInsert(s, a, rec)
	}
	if rec != nil {
		m.describeLookup(rec, s, a, w)
	}
}

// RouteText renders route id as `ip -6 route` (or its cache line) does.
func (m *Model) RouteText(id uint8) string {
	ri := &m.routes[id]
	if !ri.isCache() {
		return ri.r.String()
	}
	s := ri.r.String() + " cache"
	if ri.mtu != 0 {
		s += fmt.Sprintf(" expires mtu %d", ri.mtu)
	}
	if ri.err != 0 {
		s += fmt.Sprintf(" error %d", ri.err)
	}
	return s
}

var _ explore.Model[State] = (*Model)(nil)

// Switches names the profile switches the model reads (profile/facts.yaml):
// a profile's unknown settings among them are resolved before a check.
func Switches() []string {
	return []string{"ipv6-cache", "ipv6-replace", "unreachable-error", "ipv6-del-siblings", "nexthop-objects"}
}

// ExceptionSwitches names the switches the model reads only for ICMP and
// GC actors (exc.go): a scenario without them does not depend on them.
func ExceptionSwitches() []string {
	return []string{"exception-guard", "exception-flush-on-replace", "exceptions-in-dump"}
}
