package fib6

import (
	"fmt"

	"raceroute/kernel"

	"raceroute/profile"
	"raceroute/trace"
)

// qualifyECMP mirrors rt6_qualify_for_ecmp() (4.2): a route may be an
// ECMP sibling when it has a gateway and is neither from RA nor dynamic.
func qualifyECMP(ri *rinfo) bool { return ri.flags&rtfGateway != 0 }

// sameNexthop mirrors rt6_duplicate_nexthop(): the same device and
// gateway, or (5.3) the same nexthop object (nexthop_cmp()).
func sameNexthop(a, b *rinfo) bool {
	return a.r.Dev == b.r.Dev && a.r.Gateway == b.r.Gateway && a.r.NHID == b.r.NHID
}

// occupied returns the mask of nodes that hold at least one route
// (fn_flags & RTN_RTINFO).
func (m *Model) occupied(s *State) uint64 {
	var mask uint64
	for n := range m.u.Nodes {
		if s.Slots[n][0] != 0 {
			mask |= 1 << uint(n)
		}
	}
	return mask
}

// addRes is what fib6_add_rt2node() made of a new route.
type addRes uint8

const (
	addInserted  addRes = iota // linked into the node's list at addWhy.at
	addReplaced                // NLM_F_REPLACE: took the place of addWhy.other
	addExcl                    // -EEXIST: NLM_F_EXCL and addWhy.other has the same metric
	addDuplicate               // -EEXIST: the same route (device, gateway) is there
	addNoTarget                // -ENOENT: NLM_F_REPLACE without NLM_F_CREATE, nothing to replace
)

// addWhy is what fib6_add_rt2node() decided for a route.
type addWhy struct {
	res   addRes
	at    int   // the list position inserted at or replaced
	other uint8 // the route replaced, or the one in the way
	// gone lists the ECMP siblings a replace removed with the route it
	// replaced; kept says the replaced route had siblings and they stay
	// (3.x).
	gone [MaxSlots]uint8
	kept bool
}

// addErrno is fib6_add()'s return value for each result.
var addErrno = [...]kernel.Errno{addExcl: kernel.EEXIST, addDuplicate: kernel.EEXIST, addNoTarget: kernel.ENOENT}

// addPlace mirrors fib6_add_rt2node() (net/ipv6/ip6_fib.c) deciding for
// route id at its node: walk the node's routes in list order; at an equal
// metric NLM_F_EXCL gives -EEXIST, NLM_F_REPLACE picks the route to
// replace (per profile), and a route with the same device and gateway
// gives -EEXIST; a new route goes after every route of lower or equal
// metric.
func (m *Model) addPlace(s *State, id uint8, flags int) addWhy {
	ri := &m.routes[id]
	slots := &s.Slots[ri.node]
	replace := flags&flagReplace != 0
	canECMP := qualifyECMP(ri)
	ins, found, fallback := 0, -1, -1
loop:
	for i := 0; i < MaxSlots && slots[i] != 0; i++ {
		it := &m.routes[slots[i]]
		if it.r.Metric == ri.r.Metric {
			if flags&flagExcl != 0 {
				return addWhy{res: addExcl, at: i, other: slots[i]}
			}
			if replace {
				switch m.p.IPv6Replace {
				case profile.ReplaceFirstSameMetric:
					// 3.16: the first route with the same metric, whatever its
					// gateway or device.
					found = i
					break loop
				case profile.ReplaceECMPQuirk, profile.ReplaceFixed:
					// 4.2: `if (rt_can_ecmp == rt6_qualify_for_ecmp(iter))`
					// found; else only an ECMP-able new route remembers a
					// fallback. 5.6 ("ipv6: Fix route replacement with
					// dev-only route") remembers the fallback always.
					if canECMP == qualifyECMP(it) {
						found = i
						break loop
					}
					if fallback < 0 && (canECMP || m.p.IPv6Replace == profile.ReplaceFixed) {
						fallback = i
					}
					ins = i + 1
					continue
				}
			}
			if sameNexthop(it, ri) {
				return addWhy{res: addDuplicate, at: i, other: slots[i]}
			}
		}
		if it.r.Metric > ri.r.Metric {
			break
		}
		ins = i + 1
	}
	if found < 0 && fallback >= 0 {
		found = fallback
	}
	switch {
	case replace && found >= 0:
		return addWhy{res: addReplaced, at: found, other: slots[found]}
	case replace && flags&flagCreate == 0:
		return addWhy{res: addNoTarget}
	}
	return addWhy{res: addInserted, at: ins}
}

// fib6Add mirrors fib6_add() (net/ipv6/ip6_fib.c) for one node: addPlace
// decides; on success a non-cache route prunes the clones below its node
// (fib6_prune_clones(), before 4.2). It returns 0 or a negative errno.
func (m *Model) fib6Add(s *State, id uint8, flags int, rec trace.Recorder, actor int) kernel.Errno {
	ri := &m.routes[id]
	n := ri.node
	// ip6_route_info_create() (6.12) makes the table before anything
	// can fail: fib6_new_table(), or fib6_get_table() and then
	// fib6_new_table() for a request without NLM_F_CREATE.
	s.Tables |= m.u.Nodes[n].TableBit
	if ri.r.NHID != 0 && !m.nh.exists(s, ri.r.NHID) {
		// inet6_rtm_newroute() (6.12): "Nexthop id does not exist".
		if rec != nil {
			m.emitOn(rec, actor, trace.Event{Label: trace.LabelRoute, Op: trace.OpNone, Text: ri.r.String(), Object: m.shortPrefix(n),
				Reason: fmt.Sprintf("refused -EINVAL: nexthop id %d does not exist (inet6_rtm_newroute)", ri.r.NHID), Outcome: trace.OutcomeIgnored})
		}
		return kernel.EINVAL
	}
	w := m.addPlace(s, id, flags)
	slots := &s.Slots[n]
	switch w.res {
	case addReplaced:
		siblings := m.hasSiblings(s, n, w.other)
		slots[w.at] = id
		if siblings && m.p.IPv6Replace != profile.ReplaceFirstSameMetric {
			w.gone = m.dropSiblings(s, n, w.at)
		}
		w.kept = siblings && m.p.IPv6Replace == profile.ReplaceFirstSameMetric
	case addInserted:
		if slots[MaxSlots-1] != 0 {
			panic(fmt.Sprintf("fib6: node %s over capacity (New checks this)", m.u.Nodes[n].Prefix))
		}
		copy(slots[w.at+1:], slots[w.at:MaxSlots-1])
		slots[w.at] = id
	}
	if rec != nil {
		m.describeAdd(rec, actor, s, id, flags, w)
	}
	if w.res == addReplaced {
		m.excUnlinked(s, w.other, true, rec, actor)
	}
	if err := addErrno[w.res]; err != 0 {
		return err
	}
	if w.res == addReplaced || !ri.isCache() {
		var pr pruned
		m.pruneClones(s, n, &pr)
		if rec != nil {
			cause := "add"
			if w.res == addReplaced {
				cause = "replace"
			}
			m.describePrune(rec, actor, s, &pr, n, cause)
		}
	}
	return 0
}

// hasSiblings reports whether route id at node n has ECMP siblings
// (fib6_nsiblings > 0): fib6_add_rt2node() links every route that
// qualifies for ECMP to the others of the node with the same metric, so
// the siblings of such a route are exactly those.
func (m *Model) hasSiblings(s *State, n int, id uint8) bool {
	for _, o := range s.Slots[n] {
		if m.sibling(id, o) {
			return true
		}
	}
	return false
}

// sibling reports whether route o (a slot's value) is an ECMP sibling of
// route id at the same node: both qualify for ECMP, with one metric.
func (m *Model) sibling(id, o uint8) bool {
	if o == 0 || o == id {
		return false
	}
	ri, ro := &m.routes[id], &m.routes[o]
	return qualifyECMP(ri) && qualifyECMP(ro) && ro.r.Metric == ri.r.Metric
}

// dropSiblings is fib6_add_rt2node()'s "Replacing an ECMP route, remove
// all siblings" (since 27596472473a "ipv6: fix ECMP route replacement",
// 4.2; read at 4.2.8 and 6.12): after the route put at position at,
// every route of the same metric that qualifies for ECMP is unlinked.
func (m *Model) dropSiblings(s *State, n, at int) (gone [MaxSlots]uint8) {
	slots := &s.Slots[n]
	metric := m.routes[slots[at]].r.Metric
	k := 0
	for i := at + 1; i < MaxSlots && slots[i] != 0; {
		it := &m.routes[slots[i]]
		if it.r.Metric > metric {
			break
		}
		if !qualifyECMP(it) {
			i++
			continue
		}
		gone[k], k = slots[i], k+1
		copy(slots[i:], slots[i+1:])
		slots[MaxSlots-1] = 0
	}
	return gone
}

// clonesBelow counts the clones a prune from node n would remove.
func (m *Model) clonesBelow(s *State, n int) int {
	t, pr := *s, pruned{}
	m.pruneClones(&t, n, &pr)
	return pr.n
}

// pruned lists the clones a prune removed, in the walker's order.
type pruned struct {
	n   int
	ids [MaxNodes * MaxSlots]uint8
}

// pruneClones mirrors fib6_prune_clones() (to 4.14: fib6_add() and
// fib6_del() call it for a non-RTF_CACHE route, read at 3.10.108, 4.9 and
// 4.14.325; from 4.2 the tree's RTF_CACHE routes are PMTU and redirect
// entries only, exc.go; 4.15 has no such routes): a walk from node
// root with w->prune set, whose fib6_prune_clone() removes every
// RTF_CACHE route it visits. fib6_walk_continue() does not descend below
// a non-root node that holds routes (RTN_RTINFO): that node's own routes
// are visited, its subtree is not. The clones removed are listed in out.
func (m *Model) pruneClones(s *State, root int, out *pruned) {
	if !m.treeCache {
		return
	}
	occ := m.occupied(s)
	m.removeCache(s, root, out)
	ni := &m.u.Nodes[root]
	for i, q := range ni.Desc {
		if occ&ni.Between[i] == 0 {
			m.removeCache(s, q, out)
		}
	}
}

func (m *Model) removeCache(s *State, n int, out *pruned) {
	slots := &s.Slots[n]
	for i := 0; i < MaxSlots && slots[i] != 0; {
		if !m.routes[slots[i]].isCache() {
			i++
			continue
		}
		out.ids[out.n] = slots[i]
		out.n++
		copy(slots[i:], slots[i+1:])
		slots[MaxSlots-1] = 0
	}
}

// delMatch mirrors the match of ip6_route_del() (3.16): the first route
// at the node whose device (if given), gateway (if given) and metric (if
// non-zero) match, or 0. Before 4.2 the match does not skip RTF_CACHE
// entries (a delete of a /128 can hit a clone); 4.2 added that filter.
func (m *Model) delMatch(s *State, op opInfo) uint8 {
	want := op.op.Route
	for _, id := range s.Slots[op.node] {
		if id == 0 {
			break
		}
		it := &m.routes[id]
		if it.r.NHID != 0 || want.NHID != 0 {
			// ip6_route_del() (6.12): a route using a nexthop object is
			// matched by its id alone (no device or gateway test), and a
			// request with RTA_NH_ID skips every other route.
			if it.r.NHID == 0 || (want.NHID != 0 && it.r.NHID != want.NHID) ||
				(want.MetricSet && want.Metric != 0 && it.r.Metric != want.Metric) {
				continue
			}
			return id
		}
		switch {
		case it.isCache() && !m.p.ClonesOnLookup(),
			want.Dev != "" && it.r.Dev != want.Dev,
			want.Gateway.IsValid() && it.r.Gateway != want.Gateway,
			want.MetricSet && want.Metric != 0 && it.r.Metric != want.Metric:
			continue
		}
		return id
	}
	return 0
}

// fib6Del mirrors ip6_route_del() and fib6_del() (3.16): the route
// delMatch finds is deleted, after fib6_prune_clones() at its node.
//
// ip6_route_del() matches under the read lock and deletes under the write
// lock; the model makes this one step, which is exact while no other
// actor deletes the same route (lookups only ever insert clones at /128
// nodes, which a match at a shorter prefix does not read).
func (m *Model) fib6Del(s *State, op opInfo, rec trace.Recorder, actor int) kernel.Errno {
	id := m.delMatch(s, op)
	if id == 0 {
		if rec != nil {
			m.describeDel(rec, actor, s, op, 0, "")
		}
		return kernel.ESRCH
	}
	var pr pruned
	if !m.routes[id].isCache() {
		m.pruneClones(s, op.node, &pr)
	}
	// A delete without a gateway takes the matched route's ECMP siblings
	// with it from 4.11 (ip6_route_del() -> __ip6_del_rt_siblings(), read
	// at 4.11.0 and 6.12.0: "if gateway was specified only delete the one
	// hop"; inet6_rtm_delroute() sets fc_delete_all_nh for a request
	// without RTA_MULTIPATH, which is the only kind the model sends).
	gone := []uint8{id}
	if m.p.DelSiblings && !op.op.Route.Gateway.IsValid() {
		for _, o := range s.Slots[op.node] {
			if m.sibling(id, o) {
				gone = append(gone, o)
			}
		}
	}
	// Pruning never removes these (non-cache) routes, but may shift clones
	// sitting before them in the same list: find each again.
	for _, g := range gone {
		m.unlink(s, op.node, g)
	}
	if rec != nil {
		m.describePrune(rec, actor, s, &pr, op.node, "delete")
		for i, g := range gone {
			why := ""
			if i > 0 {
				why = sibDelReason(m.RouteText(id))
			}
			m.describeDel(rec, actor, s, op, g, why)
		}
	}
	for _, g := range gone {
		m.excUnlinked(s, g, false, rec, actor)
	}
	return 0
}

// unlink removes route id from node n's list, keeping the others' order.
func (m *Model) unlink(s *State, n int, id uint8) {
	slots := &s.Slots[n]
	for j := 0; j < MaxSlots; j++ {
		if slots[j] == id {
			copy(slots[j:], slots[j+1:])
			slots[MaxSlots-1] = 0
			return
		}
	}
}

func (m *Model) applyOp(s *State, a int, op opInfo, rec trace.Recorder) {
	switch op.op.Kind {
	case OpDel:
		m.fib6Del(s, op, rec, a)
		return
	case OpHeal:
		m.heal(s, op, rec, a)
		return
	case OpNexthopAdd, OpNexthopReplace, OpNexthopDel:
		m.nexthopOp(s, a, op, rec)
		return
	}
	m.fib6Add(s, op.route, op.op.Kind.flags(), rec, a)
}

// match mirrors fib6_lookup() and rt6_select() with BACKTRACK: the
// deepest node covering the destination that holds routes, and there the
// first route of the best metric. It returns 0 for ip6_null_entry.
//
// rt6_select() skips a gateway route whose neighbour is NUD_FAILED (with
// CONFIG_IPV6_ROUTER_PREF); the model assumes gateway neighbours are
// not failed.
func (m *Model) match(s *State, d int) uint8 {
	for _, n := range m.u.Dsts[d].Path {
		if id := s.Slots[n][0]; id != 0 {
			return id
		}
	}
	return 0
}

// covering is the route a lookup for dst d would find if there were no
// clones: the first non-cache route of the deepest node that has one.
func (m *Model) covering(s *State, d int) uint8 {
	for _, n := range m.u.Dsts[d].Path {
		for _, id := range s.Slots[n] {
			if id != 0 && !m.routes[id].isCache() {
				return id
			}
		}
	}
	return 0
}

// usedAsIs reports whether ip6_pol_route() (3.16) uses the match rt as it
// is: an RTF_CACHE entry, the null entry or a /128 route (DST_HOST); any
// other route is cloned.
func (m *Model) usedAsIs(rt uint8) bool {
	return rt == 0 || m.routes[rt].isCache() || m.routes[rt].r.Prefix.Bits() == 128
}

// lookupKind is what one step of a lookup did.
type lookupKind uint8

const (
	lookupUse      lookupKind = iota // the match is used as it is
	lookupHold                       // the match is held, to be cloned outside the lock
	lookupAlloc                      // a clone is allocated, not in the table yet
	lookupInserted                   // fib6_add() took the clone (its own story line)
	lookupRetry                      // fib6_add() -EEXIST: relookup
	lookupGiveUp                     // -EEXIST a third time: the uninserted copy is used
	lookupPerCPU                     // 4.2 on: the match through a per-CPU copy
)

// lookupWhy is what one step of a lookup decided: rt is the route
// matched, or the clone allocated or inserted.
type lookupWhy struct {
	kind lookupKind
	rt   uint8
}

// lookupMatch is the first step of ip6_pol_route() (3.16): under
// read_lock_bh(&table->tb6_lock), match; a route used as it is ends the
// lookup; any other is held and the lock released to clone it.
func (m *Model) lookupMatch(s *State, a int) lookupWhy {
	w := lookupWhy{rt: m.match(s, m.actors[a].dst)}
	if m.usedAsIs(w.rt) {
		s.Sent[a]++
		s.Tries[a] = 0 // `attempts` is local to one ip6_pol_route() call
		return w
	}
	w.kind = lookupHold
	s.Reg[a], s.PC[a] = w.rt, 1
	return w
}

// lookupAlloc is the second step: outside the lock, rt6_alloc_cow() (a
// route with neither RTF_GATEWAY nor RTF_NONEXTHOP) or rt6_alloc_clone()
// makes the /128 RTF_CACHE copy, metric 0, error included.
func (m *Model) lookupAlloc(s *State, a int) lookupWhy {
	c := m.clone[s.Reg[a]][m.actors[a].dst]
	s.Reg[a], s.PC[a] = c, 2
	return lookupWhy{kind: lookupAlloc, rt: c}
}

// lookupInsert is the third step: under write_lock_bh, ip6_ins_rt() ->
// fib6_add(); on -EEXIST someone inserted first and the lookup starts
// again, at most 3 attempts, after which the uninserted copy is used.
func (m *Model) lookupInsert(s *State, a int, rec trace.Recorder) lookupWhy {
	w := lookupWhy{kind: lookupInserted, rt: s.Reg[a]}
	if m.fib6Add(s, w.rt, flagCreate, rec, a) != 0 {
		if s.Tries[a]++; s.Tries[a] < 3 {
			s.PC[a], s.Reg[a] = 0, 0
			return lookupWhy{kind: lookupRetry, rt: w.rt}
		}
		w.kind = lookupGiveUp
	}
	s.Sent[a]++
	s.PC[a], s.Reg[a], s.Tries[a] = 0, 0, 0
	return w
}

// lookupNoClone is a whole lookup from 4.2 on: the match is used through
// a per-CPU or uncached copy and nothing is inserted into the tree; from
// 4.15 an exception of the matched route for the destination is used
// instead (ip6_pol_route() -> rt6_find_cached_rt(), excLookup).
func (m *Model) lookupNoClone(s *State, a int) lookupWhy {
	s.Sent[a]++
	return lookupWhy{kind: lookupPerCPU, rt: m.excLookup(s, m.actors[a].dst)}
}

// lookupWhole runs a complete lookup with no concurrency (warm-up).
func (m *Model) lookupWhole(s *State, d int) {
	if !m.p.ClonesOnLookup() {
		return
	}
	for tries := 0; tries < 3; tries++ {
		rt := m.match(s, d)
		if m.usedAsIs(rt) || m.fib6Add(s, m.clone[rt][d], flagCreate, nil, -1) == 0 {
			return
		}
	}
}

// lookupInFlight reports whether a flow to a destination under node n is
// between its match and its insert (its clone allocated from what it
// matched, not yet in the table).
func (m *Model) lookupInFlight(s *State, n int) bool {
	for f := range m.actors {
		ai := &m.actors[f]
		if ai.dst >= 0 && m.u.Dsts[ai.dst].Mask&(1<<uint(n)) != 0 && s.PC[f] != 0 {
			return true
		}
	}
	return false
}

// heal is a route writer's repair, not a kernel function: for every
// destination under the op's node, the clones that contradict the route
// covering it (ClonesAgree's test) are deleted, as `ip -6 route del
// ADDR/128 ... cache` would delete each (ip6_route_del() matches the
// RTF_CACHE entry at the /128 node before 4.2). Pending enables it only
// once no lookup under the node is in flight: a writer that waits longer
// than a lookup's unlocked gap in ip6_pol_route() (3.16), which sleeps
// nowhere (GFP_ATOMIC allocation), before it reads the cache.
func (m *Model) heal(s *State, op opInfo, rec trace.Recorder, actor int) {
	removed := 0
	for d := range m.u.Dsts {
		if m.u.Dsts[d].Mask&(1<<uint(op.node)) == 0 {
			continue
		}
		slots := &s.Slots[m.u.Dsts[d].Node]
		for i := 0; i < MaxSlots && slots[i] != 0; {
			id := slots[i]
			if !m.routes[id].isCache() {
				i++
				continue
			}
			cover, ok := m.agrees(s, id)
			if ok {
				i++
				continue
			}
			copy(slots[i:], slots[i+1:])
			slots[MaxSlots-1] = 0
			removed++
			if rec != nil {
				m.describeHeal(rec, actor, s, op, id, cover)
			}
		}
	}
	if rec != nil && removed == 0 {
		m.describeHeal(rec, actor, s, op, 0, 0)
	}
}
