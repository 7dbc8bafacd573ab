package fib6

import (
	"fmt"
	"strings"

	"raceroute/kernel"

	"raceroute/profile"
	"raceroute/trace"
)

// This file tells the story: each describe function turns one kernel
// step's decision into story lines, and runs only when a story is
// recorded.

// emitOn records e as actor a's, with the drawing fields e carries: the
// node it is about (Object, one timeline lane per node: the /80 a route
// change writes, the /128 a clone lives in), the node's routes after it
// (State), windows and outcome.
func (m *Model) emitOn(rec trace.Recorder, a int, e trace.Event) {
	e.Actor = "init"
	if a >= 0 {
		e.Actor = m.names[a]
	}
	rec.Record(e)
}

func (m *Model) shortPrefix(n int) string { return m.u.Nodes[n].Prefix.String() }

// nodeState is what node n holds in s, for the timeline: its routes in
// list order, or "no route".
func (m *Model) nodeState(s *State, n int) string {
	var out []string
	for _, id := range s.Slots[n] {
		if id != 0 {
			out = append(out, m.RouteText(id))
		}
	}
	if len(out) == 0 {
		return "no route"
	}
	return strings.Join(out, "; ")
}

// unlocked is the timeline's name for a lookup's lock-free window: from
// the match under the read lock to the insert under the write lock.
const unlocked = "unlocked"

// verdict says what happens to a packet that uses route id.
func (m *Model) verdict(id uint8) string {
	if id == 0 {
		return "dropped: no route, ip6_null_entry " + kernel.ENETUNREACH.String()
	}
	ri := &m.routes[id]
	if ri.err != 0 {
		return "dropped: " + ri.err.String()
	}
	if ri.r.Gateway.IsValid() {
		return fmt.Sprintf("sent via %s dev %s", ri.r.Gateway, ri.r.Dev)
	}
	return "sent on-link dev " + ri.r.Dev
}

// cacheReason explains what a just-inserted clone means.
func (m *Model) cacheReason(s *State, id uint8) string {
	c := &m.routes[id]
	cover := m.covering(s, c.dst)
	why := fmt.Sprintf("fib6_add() of an RTF_CACHE route prunes nothing; cloned from %s", m.RouteText(c.parent))
	if cover != 0 && cover != c.parent {
		why += fmt.Sprintf(", but %s now covers %s", m.RouteText(cover), m.u.Dsts[c.dst].Addr)
	}
	return why
}

func (m *Model) describeOthers(s *State, n int, id uint8) string {
	var out []string
	for _, o := range s.Slots[n] {
		if o != 0 && o != id {
			out = append(out, m.RouteText(o))
		}
	}
	if len(out) == 0 {
		return "nothing"
	}
	return strings.Join(out, "; ")
}

// describeAdd tells fib6_add()'s decision w on route id (the table s is
// as it left it, before the prune).
func (m *Model) describeAdd(rec trace.Recorder, actor int, s *State, id uint8, flags int, w addWhy) {
	ri := &m.routes[id]
	node := m.shortPrefix(ri.node)
	refused := func(reason string) {
		m.emitOn(rec, actor, trace.Event{Label: trace.LabelRoute, Op: trace.OpNone, Text: ri.r.String(), Reason: reason,
			Object: node, Outcome: trace.OutcomeIgnored})
	}
	switch w.res {
	case addExcl:
		refused(fmt.Sprintf("refused -EEXIST: NLM_F_EXCL and %s has the same metric (fib6_add_rt2node)", m.RouteText(w.other)))
	case addDuplicate:
		if !ri.isCache() {
			refused("refused -EEXIST: the same route is already there (fib6_add_rt2node)")
		}
	case addNoTarget:
		refused("refused -ENOENT: NLM_F_REPLACE without NLM_F_CREATE and no route to replace")
	case addReplaced:
		why := fmt.Sprintf("NLM_F_REPLACE: took the place of %s", m.RouteText(w.other))
		if m.p.IPv6Replace != profile.ReplaceFirstSameMetric && qualifyECMP(&m.routes[w.other]) != qualifyECMP(ri) {
			why += " (no route of the same ECMP kind: fallback to the first at this metric)"
		}
		why += m.siblingsReplaced(w)
		m.emitOn(rec, actor, trace.Event{Label: trace.LabelRoute, Op: trace.OpAdd, Text: ri.r.String(), Reason: why,
			Object: node, State: m.nodeState(s, ri.node)})
	case addInserted:
		e := trace.Event{Label: trace.LabelRoute, Op: trace.OpAdd, Text: m.RouteText(id), Object: node, State: m.nodeState(s, ri.node)}
		if !ri.isCache() && m.p.ClonesOnLookup() && m.clonesBelow(s, ri.node) == 0 {
			e.Reason = fmt.Sprintf("fib6_prune_clones() from %s will find no clone below it", node)
		}
		if ri.isCache() {
			// The late insert under the write lock ends the lookup's
			// lock-free window; the clone shadows whatever covers its
			// destination now, when that is not the route it came from.
			e.Label, e.Reason = trace.LabelCache, m.cacheReason(s, id)
			e.Window = trace.Window{Edge: trace.WindowClose, Name: unlocked}
			if cover := m.covering(s, ri.dst); cover != 0 && cover != ri.parent {
				e.Related = m.shortPrefix(m.routes[cover].node)
			}
		} else if flags&flagReplace != 0 {
			e.Reason = "NLM_F_REPLACE found no route to replace"
			if m.p.IPv6Replace == profile.ReplaceECMPQuirk {
				e.Reason += " of the same ECMP kind (rt6_qualify_for_ecmp differs, 4.2-5.5)"
			}
			e.Reason += "; NLM_F_CREATE: added beside " + m.describeOthers(s, ri.node, id)
		} else if r := m.siblingsJoined(s, id); r != "" {
			e.Reason = r
		}
		m.emitOn(rec, actor, e)
	}
}

// describePrune tells the clones a prune from root removed; cause is the
// change that pruned (s is the table after the prune).
func (m *Model) describePrune(rec trace.Recorder, actor int, s *State, pr *pruned, root int, cause string) {
	for _, id := range pr.ids[:pr.n] {
		n := m.routes[id].node
		m.emitOn(rec, actor, trace.Event{Label: trace.LabelCache, Op: trace.OpDel, Text: m.RouteText(id),
			Reason: fmt.Sprintf("pruned: the %s at %s walks its subtree (fib6_prune_clones)", cause, m.shortPrefix(root)),
			Object: m.shortPrefix(n), State: m.nodeState(s, n), Related: m.shortPrefix(root)})
	}
}

// describeDel tells a delete of op that removed route id (0: none); s is
// the table after it.
func (m *Model) describeDel(rec trace.Recorder, actor int, s *State, op opInfo, id uint8, why string) {
	node := m.shortPrefix(op.node)
	if id == 0 {
		m.emitOn(rec, actor, trace.Event{Label: trace.LabelRoute, Op: trace.OpNone, Text: op.op.Route.String(),
			Reason: "delete refused -ESRCH: no such route (ip6_route_del)", Object: node, Outcome: trace.OutcomeIgnored})
		return
	}
	label := trace.LabelRoute
	if m.routes[id].isCache() {
		label = trace.LabelCache
	}
	if why == "" && label == trace.LabelRoute && !m.routedAt(s, op.node) {
		why = fmt.Sprintf("fib6_del(): %s holds no route now; a lookup under it backtracks to %s (fib6_lookup)", node, m.coverText(s, op.node))
	}
	m.emitOn(rec, actor, trace.Event{Label: label, Op: trace.OpDel, Text: m.RouteText(id), Reason: why, Object: node, State: m.nodeState(s, op.node)})
}

// describeHeal tells a heal of op that deleted the clone id, which
// contradicted cover (0: no route covers it); id 0: it found none.
func (m *Model) describeHeal(rec trace.Recorder, actor int, s *State, op opInfo, id, cover uint8) {
	node := m.shortPrefix(op.node)
	if id == 0 {
		m.emitOn(rec, actor, trace.Event{Label: trace.LabelRoute, Op: trace.OpNone, Text: op.op.String(),
			Reason: "no route-cache entry under it contradicts its route", Object: node, Outcome: trace.OutcomeIgnored})
		return
	}
	against := "no route covers it"
	if cover != 0 {
		against = "the route covering it is " + m.RouteText(cover)
	}
	n := m.routes[id].node
	m.emitOn(rec, actor, trace.Event{Label: trace.LabelCache, Op: trace.OpDel, Text: m.RouteText(id),
		Reason: fmt.Sprintf("healed: it contradicts the table (%s); deleted once the lookups under %s were done", against, node),
		Object: m.shortPrefix(n), State: m.nodeState(s, n), Related: node})
}

// describeLookup tells one step w of flow a's lookup. On the timeline
// the match opens the lookup's lock-free window (closed by the clone's
// insert, describeAdd, or by a failed insert here), the allocation is
// the clone's birth on its /128 node's lane, and a packet that a reject
// route or the null entry drops is marked lost.
func (m *Model) describeLookup(rec trace.Recorder, s *State, a int, w lookupWhy) {
	addr := m.u.Dsts[m.actors[a].dst].Addr
	e := trace.Event{Label: trace.LabelLookup, Op: trace.OpNone}
	what := "no route: ip6_null_entry"
	if w.rt != 0 {
		what = m.RouteText(w.rt)
		e.Object = m.shortPrefix(m.routes[w.rt].node)
	}
	// A route using a nexthop object forwards as the object does now.
	dropped, verdict := m.resolve(s, w.rt)
	if dropped && (w.kind == lookupUse || w.kind == lookupGiveUp || w.kind == lookupPerCPU) {
		e.Outcome = trace.OutcomeLost
	}
	switch w.kind {
	case lookupUse:
		if w.rt != 0 && m.routes[w.rt].isCache() {
			what = "cache hit " + what
		}
		e.Text, e.Reason = fmt.Sprintf("%s -> %s", addr, what), m.verdict(w.rt)
	case lookupHold:
		e.Text = fmt.Sprintf("%s -> %s", addr, what)
		e.Reason = fmt.Sprintf("ip6_pol_route: matched at %s under the read lock; releases the lock to clone it", m.shortPrefix(m.routes[w.rt].node))
		e.Window = trace.Window{Edge: trace.WindowOpen, Name: unlocked}
	case lookupAlloc:
		parent := m.routes[w.rt].parent
		fn := "rt6_alloc_clone"
		if m.routes[parent].flags&(rtfGateway|rtfNonexthop) == 0 {
			fn = "rt6_alloc_cow"
		}
		e.Text = "alloc " + what
		e.Reason = fmt.Sprintf("%s from %s, not in the table yet (no lock held)", fn, m.RouteText(parent))
		e.Related = m.shortPrefix(m.routes[parent].node)
	case lookupRetry:
		e.Text, e.Reason = "insert "+what, "fib6_add() -EEXIST: an equal clone got in first; relookup"
		e.Window = trace.Window{Edge: trace.WindowClose, Name: unlocked}
	case lookupGiveUp:
		e.Text = "insert " + what
		e.Reason = "fib6_add() -EEXIST for the third time: the packet uses the uninserted copy; " + m.verdict(w.rt)
		e.Window = trace.Window{Edge: trace.WindowClose, Name: unlocked}
	case lookupPerCPU:
		e.Text = fmt.Sprintf("%s -> %s", addr, what)
		e.Reason = verdict + " (per-CPU copy: 4.2+ lookups insert no clone)"
	default:
		return
	}
	m.emitOn(rec, a, e)
}

// dropped tells whether a packet using route id is dropped (as verdict
// says).
func (m *Model) dropped(id uint8) bool { return id == 0 || m.routes[id].err != 0 }
