package fib6

import (
	"fmt"
	"net/netip"
	"time"

	"raceroute/explore"
	"raceroute/kernel"
	"raceroute/model/fib6/exception"
	"raceroute/trace"
)

// This file is the route-cache entries that ICMPv6 messages make: a
// Packet Too Big (ip6_update_pmtu()) or a Redirect (rt6_do_redirect())
// for a destination, where each kernel keeps them (package exception
// holds the per-version rules), how route changes flush or orphan them,
// and the garbage collector's run. A model without such actors carries
// none of it: Model.x is nil and every hook returns at once.

// ICMPKind is the ICMPv6 message that makes a route-cache entry.
type ICMPKind uint8

// ICMPv6 messages the model knows.
const (
	PacketTooBig ICMPKind = iota + 1 // type 2: the path to Dst takes at most MTU bytes
	Redirect                         // type 137: send to Dst via Target
)

func (k ICMPKind) String() string {
	return [...]string{"?", "Packet Too Big", "Redirect"}[k]
}

// ICMP is one ICMPv6 message arriving for a destination.
type ICMP struct {
	Kind ICMPKind
	Dst  netip.Addr
	// MTU is a Packet Too Big's MTU, 1280 (IPV6_MIN_MTU) to 1499: the
	// model's devices have MTU 1500, and __ip6_rt_update_pmtu() ignores
	// an MTU at or above the route's.
	MTU uint16
	// Target is a Redirect's better first hop, a link-local address on
	// the route's device (rt6_do_redirect() refuses any other, unless the
	// target is Dst itself: on-link, which the model does not take).
	Target netip.Addr
}

func (c ICMP) String() string {
	if c.Kind == Redirect {
		return fmt.Sprintf("Redirect for %s to %s", c.Dst, c.Target)
	}
	return fmt.Sprintf("Packet Too Big for %s mtu %d", c.Dst, c.MTU)
}

// GCRun is one run of the IPv6 route garbage collector (fib6_run_gc()
// from the gc_interval timer), After the other actors are done, nothing
// using the entries since.
type GCRun struct {
	After   time.Duration
	Sysctls exception.Sysctls
}

// MaxExc is the number of (route, destination) pairs whose exception
// tables a state can hold.
const MaxExc = 8

// excState is the part of State that ICMP actors use: the live
// exception-table entries, the entries left in unlinked routes, and each
// actor's view of the route its lookup holds. Its bytes are encoded only
// when the model has such actors.
type excState struct {
	// Live is pair k's entry (a route id) in the exception table of its
	// route while the route is in the table, 0 for none.
	Live [MaxExc]uint8
	// Orphan has bit k set once an entry of pair k sits in the table of a
	// route object no longer in the FIB: a replace that did not flush it,
	// or a late insert into a route deleted meanwhile.
	Orphan uint8
	// Stale has actor a's bit set when the route its lookup holds was
	// unlinked since; Refuse, when that unlink also marked the route's
	// bucket flushed (rt6_insert_exception() will return -EINVAL).
	Stale, Refuse [MaxActors / 8]uint8
}

// excModel is what the model knows of ICMP actors and their entries.
type excModel struct {
	home  exception.Home
	msgs  []ICMP   // the messages: each ICMP actor's, then Config.ICMP's
	keys  []excKey // every entry a run can make, with its route id
	pairs []excPair
	// looked marks the destinations of flows and warm-up lookups: a
	// clone-on-lookup model makes lookup clones only for them, not for
	// those that only ICMP messages name.
	looked map[netip.Addr]bool
}

type excKey struct {
	parent uint8
	dst    int
	kind   ICMPKind
	mtu    uint16
	target netip.Addr
	id     uint8
}

type excPair struct {
	parent uint8
	dst    int
}

// actor kinds beyond agents and flows (actorInfo.kind).
const (
	kindICMP = iota + 1
	kindGC
)

// excActors is New's first part for ICMP and GC actors: each ICMP
// actor's destination joins the universe (its /128 node holds the
// entries in the tree), and the messages are listed.
func (m *Model) excActors(cfg Config) error {
	need := len(cfg.ICMP) > 0
	for _, a := range cfg.Actors {
		need = need || a.ICMP != nil || a.GC != nil
	}
	if !need {
		return nil
	}
	m.x = &excModel{home: exception.Where(m.p), looked: map[netip.Addr]bool{}}
	for _, a := range cfg.Actors {
		if a.Dst.IsValid() {
			m.x.looked[a.Dst] = true
		}
	}
	for _, w := range cfg.Warm {
		m.x.looked[w] = true
	}
	add := func(c ICMP, where string) error {
		switch {
		case c.Kind == PacketTooBig && (c.MTU < 1280 || c.MTU >= 1500):
			return fmt.Errorf("%s: mtu %d: want 1280 (IPV6_MIN_MTU) to 1499 (the devices' MTU is 1500)", where, c.MTU)
		case c.Kind == Redirect && (!c.Target.IsValid() || !c.Target.IsLinkLocalUnicast()):
			return fmt.Errorf("%s: target %s: want a link-local unicast address (rt6_do_redirect refuses others)", where, c.Target)
		case c.Kind != PacketTooBig && c.Kind != Redirect:
			return fmt.Errorf("%s: unknown ICMPv6 message kind %d", where, c.Kind)
		}
		for _, o := range m.x.msgs {
			if o.Dst == c.Dst && o.Kind != c.Kind {
				return fmt.Errorf("%s: a Packet Too Big and a Redirect for the same destination %s: the model does not combine them in one entry", where, c.Dst)
			}
		}
		if _, err := m.u.Dst(MainTable, c.Dst); err != nil {
			return fmt.Errorf("%s: %w", where, err)
		}
		m.x.msgs = append(m.x.msgs, c)
		return nil
	}
	for i := range cfg.Actors {
		a := &cfg.Actors[i]
		if a.ICMP != nil {
			if err := add(*a.ICMP, "actor "+a.Name); err != nil {
				return err
			}
		}
	}
	for _, c := range cfg.ICMP {
		if err := add(c, "initial "+c.String()); err != nil {
			return err
		}
	}
	return nil
}

// excEntries is New's second part, once every user route is interned:
// the entries each message can make from each route covering its
// destination (ip6_rt_cache_alloc(): a /128 RTF_CACHE copy, metric 0),
// and the exception tables' pairs.
func (m *Model) excEntries() error {
	nUser := len(m.routes)
	for _, c := range m.x.msgs {
		d, _ := m.u.Dst(MainTable, c.Dst)
		for id := 1; id < nUser; id++ {
			ri := m.routes[id]
			if ri.isCache() || ri.r.Table != MainTable || !ri.r.Prefix.Contains(c.Dst) || ri.err != 0 {
				continue
			}
			if ri.r.Prefix.Bits() == 128 {
				return fmt.Errorf("%s: route %s is a /128 of its own: the model does not take an ICMP entry for a host route (3.x changes the route itself)", c, ri.r)
			}
			if c.Kind == Redirect && !ri.r.Gateway.IsValid() {
				continue // __ip6_route_redirect() looks only at RTF_GATEWAY routes
			}
			if _, err := m.excEntry(uint8(id), d, c); err != nil {
				return err
			}
		}
	}
	if m.x.home != exception.InExceptionTable {
		return nil
	}
	for _, k := range m.x.keys {
		if m.pairOf(k.parent, k.dst) < 0 {
			if len(m.x.pairs) >= MaxExc {
				return fmt.Errorf("more than %d (route, destination) exception tables", MaxExc)
			}
			m.x.pairs = append(m.x.pairs, excPair{k.parent, k.dst})
		}
	}
	return nil
}

// keyOf is the key of the entry message c makes for dst d from route
// parent.
func keyOf(c ICMP, parent uint8, d int) excKey {
	k := excKey{parent: parent, dst: d, kind: c.Kind}
	if c.Kind == PacketTooBig {
		k.mtu = c.MTU
	} else {
		k.target = c.Target
	}
	return k
}

// excEntry returns (interning) the entry message c makes for dst d from
// route parent.
func (m *Model) excEntry(parent uint8, d int, c ICMP) (uint8, error) {
	k := keyOf(c, parent, d)
	if id := m.findEntry(k); id != 0 {
		return id, nil
	}
	if len(m.routes) >= 255 {
		return 0, fmt.Errorf("more than 254 distinct routes and clones")
	}
	ri := m.makeClone(parent, d)
	ri.icmp, ri.mtu = c.Kind, k.mtu
	ri.exc = m.x.home == exception.InExceptionTable
	if c.Kind == Redirect {
		// rt6_do_redirect() (3.10.108 to 6.12): RTF_GATEWAY|RTF_UP|
		// RTF_DYNAMIC|RTF_CACHE, rt6i_gateway the target, protocol
		// RTPROT_REDIRECT.
		ri.r.Gateway, ri.r.Proto = c.Target, kernel.Proto(1)
		ri.flags = rtfGateway | rtfCache
	}
	m.routes = append(m.routes, ri)
	k.id = uint8(len(m.routes) - 1)
	m.x.keys = append(m.x.keys, k)
	return k.id, nil
}

func (m *Model) findEntry(k excKey) uint8 {
	for _, o := range m.x.keys {
		if o.parent == k.parent && o.dst == k.dst && o.kind == k.kind && o.mtu == k.mtu && o.target == k.target {
			return o.id
		}
	}
	return 0
}

// entryFor is the entry message mi makes from route parent (0 if none).
func (m *Model) entryFor(mi int, parent uint8) uint8 {
	c := m.x.msgs[mi]
	return m.findEntry(keyOf(c, parent, m.dstOf(c.Dst)))
}

func (m *Model) dstOf(a netip.Addr) int {
	for d := range m.u.Dsts {
		if m.u.Dsts[d].Table == MainTable && m.u.Dsts[d].Addr == a {
			return d
		}
	}
	return -1
}

func (m *Model) pairOf(parent uint8, d int) int {
	for k, p := range m.x.pairs {
		if p.parent == parent && p.dst == d {
			return k
		}
	}
	return -1
}

// icmpWhy is what one step of an ICMP message decided.
type icmpWhy struct {
	kind   icmpKind
	rt     uint8 // the route matched, or the entry made or changed
	old    uint8 // an entry changed in place: what it was
	parent uint8
}

type icmpKind uint8

const (
	icmpIgnored   icmpKind = iota + 1 // rt: the route that made the message do nothing
	icmpNoMTU                         // the MTU is not below the entry's
	icmpHold                          // rt held, to copy outside the lock
	icmpAlloc                         // rt allocated
	icmpInserted                      // rt in the tree or the exception table
	icmpUpdated                       // rt replaced old in place
	icmpOrphaned                      // rt went into an unlinked route's table
	icmpRefused                       // -EINVAL: the route's bucket is flushed
	icmpDuplicate                     // a redirect entry with the same next hop is there
)

// icmpMatch is the lookup of ip6_update_pmtu() (ip6_route_output()) or of
// ip6_redirect() (ip6_route_redirect()) under the table's lock (3.x,
// 4.x) or RCU (4.15 on), and what it decides at once: a reject route or
// the null entry gives dst.error and no update; an RTF_CACHE entry found
// (in the tree, or by rt6_find_cached_rt() in the matched route's
// exception table) is updated in place (rt6_do_update_pmtu(), or the
// redirect's new entry in its place); any other route is held, to be
// copied outside the lock (hold).
func (m *Model) icmpMatch(s *State, mi int) icmpWhy {
	c := m.x.msgs[mi]
	d := m.dstOf(c.Dst)
	rt := m.match(s, d)
	if rt == 0 || m.routes[rt].err != 0 {
		return icmpWhy{kind: icmpIgnored, rt: rt}
	}
	ri := &m.routes[rt]
	if ri.isCache() {
		w := m.icmpUpdate(mi, rt, ri.parent)
		if w.kind == icmpUpdated {
			m.swapSlot(s, m.u.Dsts[d].Node, rt, w.rt)
		}
		return w
	}
	if c.Kind == Redirect && !ri.r.Gateway.IsValid() {
		return icmpWhy{kind: icmpIgnored, rt: rt}
	}
	if m.x.home == exception.InExceptionTable {
		if k := m.pairOf(rt, d); k >= 0 && s.X.Live[k] != 0 {
			w := m.icmpUpdate(mi, s.X.Live[k], rt)
			if w.kind == icmpUpdated {
				s.X.Live[k] = w.rt
			}
			return w
		}
	}
	return icmpWhy{kind: icmpHold, rt: rt}
}

// icmpUpdate decides the change of entry e (whose route is parent) in
// place, which the caller makes when the kind is icmpUpdated:
// rt6_do_update_pmtu() when the MTU is lower than the entry's
// (__ip6_rt_update_pmtu(): mtu >= dst_mtu(dst) returns), or the
// redirect's entry in its place.
func (m *Model) icmpUpdate(mi int, e, parent uint8) icmpWhy {
	c := m.x.msgs[mi]
	if c.Kind == PacketTooBig && m.routes[e].mtu != 0 && m.routes[e].mtu <= c.MTU {
		return icmpWhy{kind: icmpNoMTU, rt: e}
	}
	id := m.entryFor(mi, parent)
	if id == 0 || id == e {
		return icmpWhy{kind: icmpNoMTU, rt: e}
	}
	return icmpWhy{kind: icmpUpdated, rt: id, old: e, parent: parent}
}

func (m *Model) swapSlot(s *State, n int, from, to uint8) {
	for i, id := range s.Slots[n] {
		if id == from {
			s.Slots[n][i] = to
			return
		}
	}
}

// icmpInsert puts entry id into place. In the tree (to 4.14):
// ip6_ins_rt() -> fib6_add() under the write lock, which prunes nothing
// for an RTF_CACHE route; a route already there with the same device and
// gateway makes fib6_add_rt2node() return -EEXIST, after giving it the
// new entry's expires and pmtu (4.14.325; 3.10.108 relooks up and updates
// the clone it finds). In the exception table (4.15 on):
// rt6_insert_exception() into the table of the route the lookup held:
// -EINVAL when that route's bucket was marked flushed since (refuse),
// into a route no longer in the FIB when it was unlinked since (stale),
// else replacing any entry of the same destination, then
// fib6_update_sernum().
func (m *Model) icmpInsert(s *State, mi int, id uint8, stale, refuse bool, a int) icmpWhy {
	ri := &m.routes[id]
	w := icmpWhy{kind: icmpInserted, rt: id, parent: ri.parent}
	if m.x.home == exception.InExceptionTable {
		k := m.pairOf(ri.parent, ri.dst)
		switch {
		case refuse:
			w.kind = icmpRefused
		case stale:
			w.kind = icmpOrphaned
			s.X.Orphan |= 1 << uint(k)
		default:
			s.X.Live[k] = id
		}
		return w
	}
	if p := m.addPlace(s, id, flagCreate); p.res == addDuplicate {
		if m.x.msgs[mi].Kind == Redirect {
			return icmpWhy{kind: icmpDuplicate, rt: p.other}
		}
		u := m.icmpUpdate(mi, p.other, m.routes[p.other].parent)
		if u.kind == icmpUpdated {
			m.swapSlot(s, ri.node, p.other, u.rt)
		}
		return u
	}
	m.fib6Add(s, id, flagCreate, nil, a) // its story line is describeICMP's
	return w
}

// icmpWhole runs message mi to its end with nothing in between (the
// messages made before the actors start).
func (m *Model) icmpWhole(s *State, mi int) {
	w := m.icmpMatch(s, mi)
	if w.kind == icmpHold {
		m.icmpInsert(s, mi, m.entryFor(mi, w.rt), false, false, -1)
	}
}

// excPending is the next step of ICMP or GC actor a, if it has one.
func (m *Model) excPending(s *State, a int) (explore.Step, bool) {
	ai := &m.actors[a]
	st := explore.Step{Actor: a, Latest: explore.Never, Outcomes: 1}
	if ai.kind == kindGC {
		if s.PC[a] != 0 {
			return st, false
		}
		for o := range m.actors {
			if o != a && m.actorPending(s, o) {
				return st, false // the run comes after every other actor
			}
		}
		st.Footprint.Write = 1<<uint(len(m.u.Nodes)) - 1
		return st, true
	}
	if s.PC[a] == 0 && s.Sent[a] > 0 {
		return st, false
	}
	d := &m.u.Dsts[ai.dst]
	switch s.PC[a] {
	case 0: // the lookup reads the path (and the tables hanging off it)
		st.Footprint.Read = d.Mask
	case 1: // ip6_rt_cache_alloc() outside any lock
	case 2: // the insert writes the /128 node, or the held route's table
		st.Footprint.Write = 1 << uint(d.Node)
		if m.x.home == exception.InExceptionTable {
			st.Footprint.Write |= 1 << uint(m.routes[m.routes[s.Reg[a]].parent].node)
		}
	}
	return st, true
}

// actorPending reports whether actor o has a step left (for the GC's
// wait): agents their ops, flows and ICMP actors their packets.
func (m *Model) actorPending(s *State, o int) bool {
	ai := &m.actors[o]
	switch {
	case ai.kind == kindGC:
		return false
	case ai.kind == kindICMP:
		return s.PC[o] != 0 || s.Sent[o] == 0
	case ai.dst < 0:
		return int(s.PC[o]) < len(ai.ops)
	}
	return s.PC[o] != 0 || int(s.Sent[o]) < ai.packets
}

func bit(b []uint8, a int) bool { return b[a/8]&(1<<uint(a%8)) != 0 }

func setBit(b []uint8, a int, v bool) {
	if v {
		b[a/8] |= 1 << uint(a%8)
	} else {
		b[a/8] &^= 1 << uint(a%8)
	}
}

// excFire fires ICMP or GC actor a's step.
func (m *Model) excFire(s *State, a int, rec trace.Recorder) {
	ai := &m.actors[a]
	if ai.kind == kindGC {
		s.PC[a] = 1
		m.gcRun(s, ai.gc, rec, a)
		return
	}
	var w icmpWhy
	switch s.PC[a] {
	case 0:
		w = m.icmpMatch(s, ai.msg)
		if w.kind == icmpHold {
			s.PC[a], s.Reg[a] = 1, w.rt
			setBit(s.X.Stale[:], a, false)
			setBit(s.X.Refuse[:], a, false)
		} else {
			s.Sent[a]++
		}
	case 1:
		w = icmpWhy{kind: icmpAlloc, rt: m.entryFor(ai.msg, s.Reg[a]), parent: s.Reg[a]}
		s.PC[a], s.Reg[a] = 2, w.rt
	default:
		w = m.icmpInsert(s, ai.msg, s.Reg[a], bit(s.X.Stale[:], a), bit(s.X.Refuse[:], a), a)
		s.PC[a], s.Reg[a] = 0, 0
		setBit(s.X.Stale[:], a, false)
		setBit(s.X.Refuse[:], a, false)
		s.Sent[a]++
	}
	if rec != nil {
		m.describeICMP(rec, a, s, w)
	}
}

// excUnlinked is told that route id left the FIB (a delete, or the old
// route of a replace): ICMP actors whose lookup holds it see it stale,
// and in the exception table its entries are flushed (or, by a replace
// that does not flush, left with the unlinked route).
func (m *Model) excUnlinked(s *State, id uint8, replace bool, rec trace.Recorder, a int) {
	if m.x == nil || m.x.home != exception.InExceptionTable {
		return
	}
	f := exception.OnDelete(m.p)
	if replace {
		f = exception.OnReplace(m.p)
	}
	for o := range m.actors {
		if m.actors[o].kind != kindICMP || s.PC[o] == 0 {
			continue
		}
		held := s.Reg[o]
		if s.PC[o] == 2 {
			held = m.routes[held].parent
		}
		if held == id {
			setBit(s.X.Stale[:], o, true)
			if f.Mark {
				setBit(s.X.Refuse[:], o, true)
			}
		}
	}
	for k, p := range m.x.pairs {
		if p.parent != id || s.X.Live[k] == 0 {
			continue
		}
		e := s.X.Live[k]
		s.X.Live[k] = 0
		if !f.Flush {
			s.X.Orphan |= 1 << uint(k)
		}
		if rec != nil {
			m.describeUnlinkedEntry(rec, a, e, f)
		}
	}
}

// gcRun is fib6_run_gc() from the GC timer, r.After after the actors:
// fib6_age() on the entries in the tree (to 4.14), rt6_age_exceptions()
// on the tables of the routes in the FIB (4.15 on); an entry left with an
// unlinked route is reached by neither.
func (m *Model) gcRun(s *State, r GCRun, rec trace.Recorder, a int) {
	removed := 0
	if m.x.home == exception.InExceptionTable {
		for k := range m.x.pairs {
			if e := s.X.Live[k]; e != 0 && m.gcAged(r, e, rec, a, &removed) {
				s.X.Live[k] = 0
			}
		}
	} else {
		for n := range m.u.Nodes {
			slots := &s.Slots[n]
			for i := 0; i < MaxSlots && slots[i] != 0; {
				if m.routes[slots[i]].isCache() && m.gcAged(r, slots[i], rec, a, &removed) {
					copy(slots[i:], slots[i+1:])
					slots[MaxSlots-1] = 0
					continue
				}
				i++
			}
		}
	}
	if rec != nil && removed == 0 {
		m.describeGC(rec, a, 0, false, "")
	}
}

// gcAged reports whether the GC run r removes entry id, counting it.
func (m *Model) gcAged(r GCRun, id uint8, rec trace.Recorder, a int, removed *int) bool {
	expires := m.routes[id].mtu != 0
	gone := exception.Aged(r.Sysctls, expires, r.After)
	if rec != nil {
		m.describeGC(rec, a, id, gone, exception.AgedWhy(r.Sysctls, expires, r.After))
	}
	if gone {
		*removed++
	}
	return gone
}

// excLookup is the entry a lookup for dst d uses now, or the route when
// there is none: the tree's match, or the matched route's exception.
func (m *Model) excLookup(s *State, d int) uint8 {
	rt := m.match(s, d)
	if m.x == nil || m.x.home != exception.InExceptionTable || rt == 0 {
		return rt
	}
	if k := m.pairOf(rt, d); k >= 0 && s.X.Live[k] != 0 {
		return s.X.Live[k]
	}
	return rt
}
