package fib6

import (
	"fmt"
	"raceroute/kernel"
	"strings"

	"raceroute/profile"
	"raceroute/trace"
)

// This file tells the story: each describe function turns one kernel
// step's decision into story lines, and runs only when a story is
// recorded.

func (m *Model) emit(rec trace.Recorder, a int, label trace.Label, op trace.Op, text, reason string) {
	name := "init"
	if a >= 0 {
		name = m.names[a]
	}
	rec.Record(trace.Event{Actor: name, Label: label, Op: op, Text: text, Reason: reason})
}

func (m *Model) shortPrefix(n int) string { return m.nodes[n].prefix.String() }

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
		why += fmt.Sprintf(", but %s now covers %s", m.RouteText(cover), m.dsts[c.dst].addr)
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
	switch w.res {
	case addExcl:
		m.emit(rec, actor, trace.LabelRoute, trace.OpNone, ri.r.String(),
			fmt.Sprintf("refused -EEXIST: NLM_F_EXCL and %s has the same metric (fib6_add_rt2node)", m.RouteText(w.other)))
	case addDuplicate:
		if !ri.isCache() {
			m.emit(rec, actor, trace.LabelRoute, trace.OpNone, ri.r.String(),
				"refused -EEXIST: the same route is already there (fib6_add_rt2node)")
		}
	case addNoTarget:
		m.emit(rec, actor, trace.LabelRoute, trace.OpNone, ri.r.String(),
			"refused -ENOENT: NLM_F_REPLACE without NLM_F_CREATE and no route to replace")
	case addReplaced:
		why := fmt.Sprintf("NLM_F_REPLACE: took the place of %s", m.RouteText(w.other))
		if m.p.IPv6Replace != profile.ReplaceFirstSameMetric && qualifyECMP(&m.routes[w.other]) != qualifyECMP(ri) {
			why += " (no route of the same ECMP kind: fallback to the first at this metric)"
		}
		m.emit(rec, actor, trace.LabelRoute, trace.OpAdd, ri.r.String(), why)
	case addInserted:
		label, why := trace.LabelRoute, ""
		if !ri.isCache() && m.p.ClonesOnLookup() && m.clonesBelow(s, ri.node) == 0 {
			why = fmt.Sprintf("fib6_prune_clones() from %s will find no clone below it", m.shortPrefix(ri.node))
		}
		if ri.isCache() {
			label = trace.LabelCache
			why = m.cacheReason(s, id)
		} else if flags&flagReplace != 0 {
			why = "NLM_F_REPLACE found no route to replace"
			if m.p.IPv6Replace == profile.ReplaceECMPQuirk {
				why += " of the same ECMP kind (rt6_qualify_for_ecmp differs, 4.2-5.5)"
			}
			why += "; NLM_F_CREATE: added beside " + m.describeOthers(s, ri.node, id)
		}
		m.emit(rec, actor, label, trace.OpAdd, m.RouteText(id), why)
	}
}

// describePrune tells the clones a prune from root removed; cause is the
// change that pruned.
func (m *Model) describePrune(rec trace.Recorder, actor int, pr *pruned, root int, cause string) {
	for _, id := range pr.ids[:pr.n] {
		m.emit(rec, actor, trace.LabelCache, trace.OpDel, m.RouteText(id),
			fmt.Sprintf("pruned: the %s at %s walks its subtree (fib6_prune_clones)", cause, m.shortPrefix(root)))
	}
}

// describeDel tells a delete of op that removed route id (0: none).
func (m *Model) describeDel(rec trace.Recorder, actor int, op opInfo, id uint8) {
	if id == 0 {
		m.emit(rec, actor, trace.LabelRoute, trace.OpNone, op.op.Route.String(), "delete refused -ESRCH: no such route (ip6_route_del)")
		return
	}
	label := trace.LabelRoute
	if m.routes[id].isCache() {
		label = trace.LabelCache
	}
	m.emit(rec, actor, label, trace.OpDel, m.RouteText(id), "")
}

// describeLookup tells one step w of flow a's lookup.
func (m *Model) describeLookup(rec trace.Recorder, a int, w lookupWhy) {
	addr := m.dsts[m.actors[a].dst].addr
	what := "no route: ip6_null_entry"
	if w.rt != 0 {
		what = m.RouteText(w.rt)
	}
	switch w.kind {
	case lookupUse:
		if w.rt != 0 && m.routes[w.rt].isCache() {
			what = "cache hit " + what
		}
		m.emit(rec, a, trace.LabelLookup, trace.OpNone, fmt.Sprintf("%s -> %s", addr, what), m.verdict(w.rt))
	case lookupHold:
		m.emit(rec, a, trace.LabelLookup, trace.OpNone, fmt.Sprintf("%s -> %s", addr, what),
			fmt.Sprintf("ip6_pol_route: matched at %s under the read lock; releases the lock to clone it", m.shortPrefix(m.routes[w.rt].node)))
	case lookupAlloc:
		parent := m.routes[w.rt].parent
		fn := "rt6_alloc_clone"
		if m.routes[parent].flags&(rtfGateway|rtfNonexthop) == 0 {
			fn = "rt6_alloc_cow"
		}
		m.emit(rec, a, trace.LabelLookup, trace.OpNone, "alloc "+what,
			fmt.Sprintf("%s from %s, not in the table yet (no lock held)", fn, m.RouteText(parent)))
	case lookupRetry:
		m.emit(rec, a, trace.LabelLookup, trace.OpNone, "insert "+what,
			"fib6_add() -EEXIST: an equal clone got in first; relookup")
	case lookupGiveUp:
		m.emit(rec, a, trace.LabelLookup, trace.OpNone, "insert "+what,
			"fib6_add() -EEXIST for the third time: the packet uses the uninserted copy; "+m.verdict(w.rt))
	case lookupPerCPU:
		m.emit(rec, a, trace.LabelLookup, trace.OpNone, fmt.Sprintf("%s -> %s", addr, what),
			m.verdict(w.rt)+" (per-CPU copy: 4.2+ lookups insert no clone)")
	}
}
