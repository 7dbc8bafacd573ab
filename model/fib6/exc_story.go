package fib6

import (
	"fmt"

	"raceroute/model/fib6/exception"
	"raceroute/trace"
)

// The story of ICMP entries: each describe function turns one decision
// of exc.go into story lines, only when a story is recorded.

// entryHome says where entry id lives, for the story.
func (m *Model) entryHome(id uint8) string {
	if m.routes[id].exc {
		return "the exception table of " + m.RouteText(m.routes[id].parent)
	}
	return "the fib6 tree at " + m.shortPrefix(m.routes[id].node)
}

// describeICMP tells one step w of ICMP actor a (s is the state after it).
func (m *Model) describeICMP(rec trace.Recorder, a int, s *State, w icmpWhy) {
	c := m.x.msgs[m.actors[a].msg]
	e := trace.Event{Label: trace.LabelLookup, Op: trace.OpNone}
	fn := "ip6_update_pmtu"
	if c.Kind == Redirect {
		fn = "rt6_do_redirect"
	}
	if w.rt != 0 {
		e.Object = m.shortPrefix(m.routes[w.rt].node)
	}
	switch w.kind {
	case icmpIgnored:
		what := "no route (ip6_null_entry)"
		if w.rt != 0 {
			what = m.RouteText(w.rt)
		}
		e.Text = fmt.Sprintf("%s -> %s", c, what)
		e.Outcome = trace.OutcomeIgnored
		if c.Kind == Redirect && w.rt != 0 && m.routes[w.rt].err == 0 {
			e.Reason = "ignored: __ip6_route_redirect() takes only a gateway route (the redirect must come from the current first hop)"
		} else {
			e.Reason = fmt.Sprintf("ignored: the lookup gives dst.error, and %s updates nothing (a reject route or no route)", fn)
		}
	case icmpNoMTU:
		e.Text = fmt.Sprintf("%s -> %s", c, m.RouteText(w.rt))
		e.Reason = "ignored: the entry already has this next hop or an MTU at or below it (__ip6_rt_update_pmtu: mtu >= dst_mtu)"
		e.Outcome = trace.OutcomeIgnored
	case icmpHold:
		e.Text = fmt.Sprintf("%s -> %s", c, m.RouteText(w.rt))
		e.Reason = fmt.Sprintf("%s: the lookup matched %s; the entry is copied from it outside the lock", fn, m.shortPrefix(m.routes[w.rt].node))
		e.Window = trace.Window{Edge: trace.WindowOpen, Name: unlocked}
	case icmpAlloc:
		e.Text = "alloc " + m.RouteText(w.rt)
		fn := "ip6_rt_cache_alloc()"
		if m.p.ClonesOnLookup() {
			// 3.x: the lookup of ip6_update_pmtu() clones (1a), and
			// ip6_rt_update_pmtu() sets the clone's mtu and expires.
			fn = "the lookup's rt6_alloc_clone() or rt6_alloc_cow() (the message's mtu or gateway set on the copy)"
		}
		e.Reason = fmt.Sprintf("%s from %s, not in place yet (no lock held)", fn, m.RouteText(w.parent))
		e.Related = m.shortPrefix(m.routes[w.parent].node)
	case icmpUpdated:
		e.Label, e.Op, e.Text = trace.LabelCache, trace.OpAdd, m.RouteText(w.rt)
		e.Reason = fmt.Sprintf("%s: updated in place in %s (was %s)", c, m.entryHome(w.rt), m.RouteText(w.old))
		e.State = m.excNodeState(s, w.rt)
	case icmpInserted:
		e.Label, e.Op, e.Text = trace.LabelCache, trace.OpAdd, m.RouteText(w.rt)
		e.Window = trace.Window{Edge: trace.WindowClose, Name: unlocked}
		if m.routes[w.rt].exc {
			e.Reason = fmt.Sprintf("rt6_insert_exception() into %s (4.15+: not a route of the tree)", m.entryHome(w.rt))
		} else {
			e.Reason = fmt.Sprintf("ip6_ins_rt() -> fib6_add(): an RTF_CACHE route of %s, pruning nothing (to 4.14)", m.entryHome(w.rt))
		}
		if cover := m.covering(s, m.routes[w.rt].dst); cover != 0 && cover != w.parent {
			e.Reason += fmt.Sprintf("; made from %s, but %s now covers %s", m.RouteText(w.parent), m.RouteText(cover), c.Dst)
			e.Related = m.shortPrefix(m.routes[cover].node)
		}
		e.State = m.excNodeState(s, w.rt)
	case icmpOrphaned:
		e.Label, e.Op, e.Text = trace.LabelCache, trace.OpAdd, m.RouteText(w.rt)
		e.Window = trace.Window{Edge: trace.WindowClose, Name: unlocked}
		e.Reason = fmt.Sprintf("rt6_insert_exception() into the table of %s, which left the FIB after the lookup; its bucket is not marked flushed (%s), so the entry goes in, where no lookup, dump or GC reaches it", m.RouteText(w.parent), m.p.ExceptionGuard)
	case icmpRefused:
		e.Label, e.Op, e.Text = trace.LabelCache, trace.OpNone, m.RouteText(w.rt)
		e.Window = trace.Window{Edge: trace.WindowClose, Name: unlocked}
		e.Outcome = trace.OutcomeIgnored
		e.Reason = fmt.Sprintf("refused -EINVAL: %s left the FIB after the lookup and its delete marked the bucket flushed (rt6_insert_exception: exception_bucket_flushed, 4.15-5.2)", m.RouteText(w.parent))
	case icmpDuplicate:
		e.Label, e.Op, e.Text = trace.LabelCache, trace.OpNone, m.RouteText(w.rt)
		e.Outcome = trace.OutcomeIgnored
		e.Reason = "ip6_ins_rt() -EEXIST: an entry with this next hop is there"
	}
	m.emitOn(rec, a, e)
}

// excNodeState is the state a timeline shows for entry id: its /128
// node's routes in the tree, or the entry itself in its table.
func (m *Model) excNodeState(s *State, id uint8) string {
	if m.routes[id].exc {
		return m.RouteText(id) + " (exception)"
	}
	return m.nodeState(s, m.routes[id].node)
}

// describeUnlinkedEntry tells what a route change did to entry e of the
// route it unlinked.
func (m *Model) describeUnlinkedEntry(rec trace.Recorder, a int, e uint8, f exception.Flush) {
	ev := trace.Event{Label: trace.LabelCache, Op: trace.OpDel, Text: m.RouteText(e), Reason: f.Why,
		Object: m.shortPrefix(m.routes[e].node), Related: m.shortPrefix(m.routes[m.routes[e].parent].node)}
	if f.Mark {
		ev.Reason += "; the bucket is marked flushed: a late insert for this route is refused"
	}
	if !f.Flush {
		ev.Op = trace.OpNone
		ev.Reason += fmt.Sprintf(" (out of every dump and lookup, it holds the route %s and its device)", m.RouteText(m.routes[e].parent))
	}
	m.emitOn(rec, a, ev)
}

// describeGC tells what the GC run did to entry id (0: it found none).
func (m *Model) describeGC(rec trace.Recorder, a int, id uint8, gone bool, why string) {
	if id == 0 {
		m.emitOn(rec, a, trace.Event{Label: trace.LabelTimer, Op: trace.OpNone, Text: "fib6_run_gc",
			Reason: "no route-cache entry aged out", Outcome: trace.OutcomeIgnored})
		return
	}
	e := trace.Event{Label: trace.LabelCache, Op: trace.OpNone, Text: m.RouteText(id), Reason: "GC: " + why,
		Object: m.shortPrefix(m.routes[id].node)}
	if gone {
		e.Op = trace.OpDel
	}
	m.emitOn(rec, a, e)
}
