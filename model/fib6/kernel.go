package fib6

import (
	"fmt"

	"raceroute/model/profile"
	"raceroute/trace"
)

// qualifyECMP mirrors rt6_qualify_for_ecmp() (4.2): a route may be an
// ECMP sibling when it has a gateway and is neither from RA nor dynamic.
func qualifyECMP(ri *rinfo) bool { return ri.flags&rtfGateway != 0 }

func sameNexthop(a, b *rinfo) bool { return a.r.Dev == b.r.Dev && a.r.Gateway == b.r.Gateway }

// occupied returns the mask of nodes that hold at least one route
// (fn_flags & RTN_RTINFO).
func (m *Model) occupied(s *State) uint64 {
	var mask uint64
	for n := range m.nodes {
		if s.Slots[n][0] != 0 {
			mask |= 1 << uint(n)
		}
	}
	return mask
}

// fib6Add mirrors fib6_add() and fib6_add_rt2node() (net/ipv6/ip6_fib.c)
// for one node: walk the node's routes in list order; at an equal metric
// NLM_F_EXCL gives -EEXIST, NLM_F_REPLACE picks the route to replace (per
// profile), and a route with the same device and gateway gives -EEXIST;
// a new route goes after every route of lower or equal metric. On success
// a non-cache route prunes the clones below its node
// (fib6_prune_clones(), before 4.2). It returns 0 or a negative errno.
func (m *Model) fib6Add(s *State, id uint8, flags int, rec trace.Recorder, actor int) int {
	ri := &m.routes[id]
	n := ri.node
	slots := &s.Slots[n]
	replace := flags&flagReplace != 0
	create := flags&flagCreate != 0
	canECMP := qualifyECMP(ri)
	ins, found, fallback := 0, -1, -1
loop:
	for i := 0; i < MaxSlots && slots[i] != 0; i++ {
		it := &m.routes[slots[i]]
		if it.r.Metric == ri.r.Metric {
			if flags&flagExcl != 0 {
				if rec != nil {
					m.emit(rec, actor, trace.LabelRoute, trace.OpNone, ri.r.String(),
						fmt.Sprintf("refused -EEXIST: NLM_F_EXCL and %s has the same metric (fib6_add_rt2node)", m.RouteText(slots[i])))
				}
				return errEEXIST
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
				if !ri.isCache() {
					if rec != nil {
						m.emit(rec, actor, trace.LabelRoute, trace.OpNone, ri.r.String(),
							"refused -EEXIST: the same route is already there (fib6_add_rt2node)")
					}
				}
				return errEEXIST
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
	if replace && found >= 0 {
		old := slots[found]
		slots[found] = id
		if rec != nil {
			why := fmt.Sprintf("NLM_F_REPLACE: took the place of %s", m.RouteText(old))
			if m.p.IPv6Replace != profile.ReplaceFirstSameMetric && qualifyECMP(&m.routes[old]) != canECMP {
				why += " (no route of the same ECMP kind: fallback to the first at this metric)"
			}
			m.emit(rec, actor, trace.LabelRoute, trace.OpAdd, ri.r.String(), why)
		}
		m.pruneClones(s, n, rec, actor, "replace")
		return 0
	}
	if replace && !create {
		m.emit(rec, actor, trace.LabelRoute, trace.OpNone, ri.r.String(),
			"refused -ENOENT: NLM_F_REPLACE without NLM_F_CREATE and no route to replace")
		return errENOENT
	}
	if slots[MaxSlots-1] != 0 {
		panic(fmt.Sprintf("fib6: node %s over capacity (New checks this)", m.nodes[n].prefix))
	}
	copy(slots[ins+1:], slots[ins:MaxSlots-1])
	slots[ins] = id
	if rec != nil {
		label, why := trace.LabelRoute, ""
		if !ri.isCache() && m.p.ClonesOnLookup() && m.clonesBelow(s, n) == 0 {
			why = fmt.Sprintf("fib6_prune_clones() from %s will find no clone below it", m.shortPrefix(n))
		}
		if ri.isCache() {
			label = trace.LabelCache
			why = m.cacheReason(s, id)
		} else if replace {
			why = "NLM_F_REPLACE found no route to replace"
			if m.p.IPv6Replace == profile.ReplaceECMPQuirk {
				why += " of the same ECMP kind (rt6_qualify_for_ecmp differs, 4.2-5.5)"
			}
			why += "; NLM_F_CREATE: added beside " + m.describeOthers(s, n, id)
		}
		if rec != nil {
			m.emit(rec, actor, label, trace.OpAdd, m.RouteText(id), why)
		}
	}
	if !ri.isCache() {
		m.pruneClones(s, n, rec, actor, "add")
	}
	return 0
}

// clonesBelow counts the clones a prune from node n would remove.
func (m *Model) clonesBelow(s *State, n int) int {
	t := *s
	return m.pruneClones(&t, n, nil, -1, "")
}

// cacheReason explains what a just-inserted clone means.
func (m *Model) cacheReason(s *State, id uint8) string {
	c := &m.routes[id]
	cover := m.covering(s, c.dst)
	why := fmt.Sprintf("fib6_add() of an RTF_CACHE route prunes nothing; cloned from %s", m.RouteText(c.parent))
	if cover != 0 && cover != c.parent {
		why += fmt.Sprintf(", but %s now covers %s", m.RouteText(cover), m.dsts[c.dst].addr)
	}
	return why
}

func (m *Model) describeOthers(s *State, n int, id uint8) string {
	var out string
	for _, o := range s.Slots[n] {
		if o != 0 && o != id {
			if out != "" {
				out += "; "
			}
			out += m.RouteText(o)
		}
	}
	if out == "" {
		return "nothing"
	}
	return out
}

// pruneClones mirrors fib6_prune_clones() (before 4.2): a walk from node
// root with w->prune set, whose fib6_prune_clone() removes every
// RTF_CACHE route it visits. fib6_walk_continue() does not descend below
// a non-root node that holds routes (RTN_RTINFO): that node's own routes
// are visited, its subtree is not.
// It returns the number of clones removed.
func (m *Model) pruneClones(s *State, root int, rec trace.Recorder, actor int, cause string) int {
	if !m.p.ClonesOnLookup() {
		return 0
	}
	occ := m.occupied(s)
	pruned := m.removeCache(s, root, rec, actor, root, cause)
	ni := &m.nodes[root]
	for i, q := range ni.desc {
		if occ&ni.between[i] == 0 {
			pruned += m.removeCache(s, q, rec, actor, root, cause)
		}
	}
	return pruned
}

func (m *Model) removeCache(s *State, n int, rec trace.Recorder, actor, root int, cause string) int {
	removed := 0
	slots := &s.Slots[n]
	for i := 0; i < MaxSlots && slots[i] != 0; {
		if !m.routes[slots[i]].isCache() {
			i++
			continue
		}
		id := slots[i]
		copy(slots[i:], slots[i+1:])
		slots[MaxSlots-1] = 0
		removed++
		if rec != nil {
			m.emit(rec, actor, trace.LabelCache, trace.OpDel, m.RouteText(id),
				fmt.Sprintf("pruned: the %s at %s walks its subtree (fib6_prune_clones)", cause, m.shortPrefix(root)))
		}
	}
	return removed
}

// fib6Del mirrors ip6_route_del() and fib6_del() (3.16): the first route
// at the node whose device (if given), gateway (if given) and metric (if
// non-zero) match is deleted, after fib6_prune_clones() at its node.
// Before 4.2 the match does not skip RTF_CACHE entries (a delete of a
// /128 can hit a clone); 4.2 added that filter.
//
// ip6_route_del() matches under the read lock and deletes under the write
// lock; the model makes this one step, which is exact while no other
// actor deletes the same route (lookups only ever insert clones at /128
// nodes, which a match at a shorter prefix does not read).
func (m *Model) fib6Del(s *State, op opInfo, rec trace.Recorder, actor int) int {
	want := op.op.Route
	slots := &s.Slots[op.node]
	for i := 0; i < MaxSlots && slots[i] != 0; i++ {
		it := &m.routes[slots[i]]
		if it.isCache() && !m.p.ClonesOnLookup() {
			continue
		}
		if want.Dev != "" && it.r.Dev != want.Dev {
			continue
		}
		if want.Gateway.IsValid() && it.r.Gateway != want.Gateway {
			continue
		}
		if want.MetricSet && want.Metric != 0 && it.r.Metric != want.Metric {
			continue
		}
		id := slots[i]
		if !it.isCache() {
			m.pruneClones(s, op.node, rec, actor, "delete")
		}
		// Pruning never removes this (non-cache) route, but may shift
		// clones sitting before it in the same list: find it again.
		for j := 0; j < MaxSlots; j++ {
			if slots[j] == id {
				copy(slots[j:], slots[j+1:])
				slots[MaxSlots-1] = 0
				break
			}
		}
		label := trace.LabelRoute
		if it.isCache() {
			label = trace.LabelCache
		}
		if rec != nil {
			m.emit(rec, actor, label, trace.OpDel, m.RouteText(id), "")
		}
		return 0
	}
	if rec != nil {
		m.emit(rec, actor, trace.LabelRoute, trace.OpNone, want.String(),
			"delete refused -ESRCH: no such route (ip6_route_del)")
	}
	return errESRCH
}

func (m *Model) applyOp(s *State, a int, op opInfo, rec trace.Recorder) {
	if op.op.Kind == OpDel {
		m.fib6Del(s, op, rec, a)
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
	for _, n := range m.dsts[d].path {
		if id := s.Slots[n][0]; id != 0 {
			return id
		}
	}
	return 0
}

// covering is the route a lookup for dst d would find if there were no
// clones: the first non-cache route of the deepest node that has one.
func (m *Model) covering(s *State, d int) uint8 {
	for _, n := range m.dsts[d].path {
		for _, id := range s.Slots[n] {
			if id != 0 && !m.routes[id].isCache() {
				return id
			}
		}
	}
	return 0
}

// verdict says what happens to a packet that uses route id.
func (m *Model) verdict(id uint8) string {
	if id == 0 {
		return "dropped: no route, ip6_null_entry " + errnoName(errNetUnr)
	}
	ri := &m.routes[id]
	if ri.err != 0 {
		return "dropped: " + errnoName(ri.err)
	}
	if ri.r.Gateway.IsValid() {
		return fmt.Sprintf("sent via %s dev %s", ri.r.Gateway, ri.r.Dev)
	}
	return "sent on-link dev " + ri.r.Dev
}

// lookupMatch is the first step of ip6_pol_route() (3.16): under
// read_lock_bh(&table->tb6_lock), match; an RTF_CACHE entry, the null
// entry or a /128 route (DST_HOST) is used as it is; any other route is
// held and the lock released to clone it.
func (m *Model) lookupMatch(s *State, a int, rec trace.Recorder) {
	d := m.actors[a].dst
	addr := m.dsts[d].addr
	rt := m.match(s, d)
	if rt == 0 || m.routes[rt].isCache() || m.routes[rt].r.Prefix.Bits() == 128 {
		s.Sent[a]++
		s.Tries[a] = 0 // `attempts` is local to one ip6_pol_route() call
		if rec != nil {
			what := "no route: ip6_null_entry"
			if rt != 0 {
				what = m.RouteText(rt)
				if m.routes[rt].isCache() {
					what = "cache hit " + what
				}
			}
			m.emit(rec, a, trace.LabelLookup, trace.OpNone, fmt.Sprintf("%s -> %s", addr, what), m.verdict(rt))
		}
		return
	}
	s.Reg[a], s.PC[a] = rt, 1
	if rec != nil {
		m.emit(rec, a, trace.LabelLookup, trace.OpNone,
			fmt.Sprintf("%s -> %s", addr, m.RouteText(rt)),
			fmt.Sprintf("ip6_pol_route: matched at %s under the read lock; releases the lock to clone it", m.shortPrefix(m.routes[rt].node)))
	}
}

// lookupAlloc is the second step: outside the lock, rt6_alloc_cow() (a
// route with neither RTF_GATEWAY nor RTF_NONEXTHOP) or rt6_alloc_clone()
// makes the /128 RTF_CACHE copy, metric 0, error included.
func (m *Model) lookupAlloc(s *State, a int, rec trace.Recorder) {
	parent := s.Reg[a]
	c := m.clone[parent][m.actors[a].dst]
	s.Reg[a], s.PC[a] = c, 2
	if rec != nil {
		fn := "rt6_alloc_clone"
		if m.routes[parent].flags&(rtfGateway|rtfNonexthop) == 0 {
			fn = "rt6_alloc_cow"
		}
		m.emit(rec, a, trace.LabelLookup, trace.OpNone, "alloc "+m.RouteText(c),
			fmt.Sprintf("%s from %s, not in the table yet (no lock held)", fn, m.RouteText(parent)))
	}
}

// lookupInsert is the third step: under write_lock_bh, ip6_ins_rt() ->
// fib6_add(); on -EEXIST someone inserted first and the lookup starts
// again, at most 3 attempts, after which the uninserted copy is used.
func (m *Model) lookupInsert(s *State, a int, rec trace.Recorder) {
	c := s.Reg[a]
	err := m.fib6Add(s, c, flagCreate, rec, a)
	if err == 0 {
		s.Sent[a]++
		s.PC[a], s.Reg[a], s.Tries[a] = 0, 0, 0
		return
	}
	s.Tries[a]++
	if s.Tries[a] < 3 {
		s.PC[a], s.Reg[a] = 0, 0
		if rec != nil {
			m.emit(rec, a, trace.LabelLookup, trace.OpNone, "insert "+m.RouteText(c),
				"fib6_add() -EEXIST: an equal clone got in first; relookup")
		}
		return
	}
	s.Sent[a]++
	s.PC[a], s.Reg[a], s.Tries[a] = 0, 0, 0
	if rec != nil {
		m.emit(rec, a, trace.LabelLookup, trace.OpNone, "insert "+m.RouteText(c),
			"fib6_add() -EEXIST for the third time: the packet uses the uninserted copy; "+m.verdict(c))
	}
}

// lookupNoClone is a whole lookup from 4.2 on: the match is used through
// a per-CPU or uncached copy and nothing is inserted into the tree.
func (m *Model) lookupNoClone(s *State, a int, rec trace.Recorder) {
	d := m.actors[a].dst
	rt := m.match(s, d)
	s.Sent[a]++
	if rec != nil {
		what := "no route: ip6_null_entry"
		if rt != 0 {
			what = m.RouteText(rt)
		}
		m.emit(rec, a, trace.LabelLookup, trace.OpNone, fmt.Sprintf("%s -> %s", m.dsts[d].addr, what),
			m.verdict(rt)+" (per-CPU copy: 4.2+ lookups insert no clone)")
	}
}

// lookupWhole runs a complete lookup with no concurrency (warm-up).
func (m *Model) lookupWhole(s *State, d int) {
	if !m.p.ClonesOnLookup() {
		return
	}
	for tries := 0; tries < 3; tries++ {
		rt := m.match(s, d)
		if rt == 0 || m.routes[rt].isCache() || m.routes[rt].r.Prefix.Bits() == 128 {
			return
		}
		if m.fib6Add(s, m.clone[rt][d], flagCreate, nil, -1) == 0 {
			return
		}
	}
}
