package neigh

import (
	"fmt"

	"raceroute/model/neigh/nud"
	"raceroute/profile"
	"raceroute/trace"
)

// The words of the ip neigh agents and of garbage collection; as story.go,
// they run only when a story is recorded.

var adminErrText = [...]string{
	AdminENOENT:  "RTNETLINK answers: No such file or directory (ENOENT: no entry, and change carries no NLM_F_CREATE)",
	AdminEEXIST:  "RTNETLINK answers: File exists (EEXIST: add carries NLM_F_EXCL)",
	AdminENOBUFS: "RTNETLINK answers: No buffer space available (ENOBUFS: neigh_alloc(): neighbour table overflow)",
	AdminEINVAL:  "RTNETLINK answers: Invalid argument (EINVAL: a valid state needs an lladdr, and the entry has none)",
}

// describeAdmin tells what one command did.
func (m *Model) describeAdmin(v *env, w *adminWhy) {
	iface := w.cmd.Iface
	if w.sl < 0 {
		m.record(v, iface, trace.LabelNote, trace.OpNone, w.cmd.Text, "nothing to flush: no entry on the device matches")
		return
	}
	if w.err != AdminOK {
		m.recordOn(v, iface, w.sl, trace.LabelNote, w.cmd.Text, adminErrText[w.err], trace.OutcomeIgnored)
		return
	}
	e := &v.s.Entries[w.sl]
	var r string
	switch {
	case w.use:
		r = "NTF_USE: neigh_event_send() without a packet"
		switch {
		case w.managed:
			r = managedReason(w)
		case w.demoted:
			r += " after __neigh_update(NEIGH_UPDATE_F_USE) dropped PERMANENT (5.16)"
		}
		if why := w.send.Reason(m.dev(v, iface)); why != "" {
			r += ": " + why
		} else {
			r += ": " + w.send.Old.String() + ", nothing to do"
		}
	case w.cmd.Op == AdminDel || w.cmd.Op == AdminFlush:
		r = "neigh_delete(): __neigh_update(NUD_FAILED, OVERRIDE|ADMIN)" + m.adminTimer(&w.admin, &w.old)
		if w.admin.Invalidated {
			r += "; neigh_invalidate(): queued packets dropped"
		}
		if w.removed {
			r += "; neigh_remove_one(): entry unlinked (4.14)"
		} else {
			r += "; the entry stays in the table, FAILED, until garbage collection (before 4.14)"
		}
	default:
		r = m.adminReason(v, w, e)
	}
	m.recordOn(v, iface, w.sl, trace.LabelNote, w.cmd.Text, r, trace.OutcomeNone)
	if w.removed {
		ev := trace.Event{Label: trace.LabelNeigh, Op: trace.OpDel, Text: m.neighLine(w.sl, &w.old)}
		m.onEntry(v, w.sl, &ev)
		m.recordEv(v, iface, ev)
		return
	}
	if e.State != w.old.State || e.LL != w.old.LL || w.created {
		m.recordEntry(v, w.sl, "")
	}
}

// adminTimer says what the update did to the entry's timer.
func (m *Model) adminTimer(a *nud.AdminWhy, old *nud.Entry) string {
	if a.TimerDeleted {
		return fmt.Sprintf("; neigh_del_timer(): the %s timer is deleted", old.State)
	}
	return ""
}

// adminReason says what neigh_add()'s __neigh_update() did.
func (m *Model) adminReason(v *env, w *adminWhy, e *Entry) string {
	a := &w.admin
	r := "neigh_add(): __neigh_update(ADMIN|OVERRIDE)"
	if w.created {
		r = "neigh_add(): no entry, NLM_F_CREATE: created; __neigh_update(ADMIN|OVERRIDE)"
	}
	if a.ExtChanged {
		r += fmt.Sprintf("; NTF_EXT_LEARNED %s", map[bool]string{true: "set", false: "cleared"}[e.Flags&nud.FlagExtLearned != 0])
	}
	if a.Invalid {
		r += fmt.Sprintf(": %s is not a valid state: state := %s and nothing else%s", e.State, e.State, m.adminTimer(a, &w.old))
		if e.State&NUDInTimer != 0 {
			r += fmt.Sprintf("; no timer is armed: the entry stays %s, and no probe is sent", e.State)
		}
		if a.Invalidated {
			r += "; neigh_invalidate(): queued packets dropped"
		}
		return r
	}
	switch u := &a.Update; {
	case u.Res == nud.Same:
		if w.cmd.State == NUDStale && e.State != NUDStale {
			return r + fmt.Sprintf(": same lladdr, STALE asked: the old state %s is kept (same-lladdr-stale=%s)", e.State, m.cfg.Profile.SameLLStale)
		}
		return r + ": same lladdr and state: nothing changes"
	default:
		r += ": " + w.old.State.String() + " -> " + e.State.String()
		if w.old.State&NUDValid == 0 {
			r += " with lladdr " + m.macStr(e.LL)
		}
		if u.OldLL != e.LL && w.old.State&NUDValid != 0 {
			r += fmt.Sprintf(", lladdr %s -> %s", m.macStr(u.OldLL), m.macStr(e.LL))
		}
		r += m.adminTimer(a, &w.old)
		switch {
		case e.State == w.old.State && e.Timer != nud.NoTimer:
			r += fmt.Sprintf("; the state is unchanged, so its timer (due at t=%s) and probe count (%d) stay", nud.Secs(e.Timer), e.Probes)
		case e.Timer != nud.NoTimer && e.State == NUDReachable:
			r += fmt.Sprintf("; REACHABLE timer armed for reachable_time %s", nud.Dur(v.s.Ifs[m.cfg.Slots[w.sl].Iface].Reach))
		case e.Timer != nud.NoTimer:
			r += fmt.Sprintf("; %s timer armed to fire at once", e.State)
		case e.State&NUDInTimer == 0 && w.old.Timer != nud.NoTimer:
			r += "; no timer: " + e.State.String() + " waits for the next packet"
		}
		if a.Flush && w.queued {
			r += "; the entry is valid now: its queued packets leave to " + m.macStr(e.LL)
		}
	}
	return r
}

// describeForced tells neigh_alloc()'s decision to run the forced GC of
// table t, holding n entries, for entry sl; the removals follow it.
func (m *Model) describeForced(v *env, t, sl int, n int32) {
	tb := &m.cfg.Tables[t]
	what := "every entry"
	if m.cfg.Profile.NeighGC != profile.GCTableWalk {
		what = "gc_entries: neither PERMANENT nor extern_learn"
	}
	r := fmt.Sprintf("neigh_alloc(): %d entries counted (%s): at gc_thresh3 %d, or at gc_thresh2 %d with no forced GC for 5 s: neigh_forced_gc()", n, what, tb.Thresh3, tb.Thresh2)
	if m.cfg.Profile.NeighGC == profile.GCTableWalk {
		r += " walks the whole table: every unreferenced entry but PERMANENT goes"
	} else {
		r += fmt.Sprintf(" walks the gc list from its oldest: FAILED or not updated for 5 s go, until %d are removed", n+1-tb.Thresh2)
	}
	slot := m.cfg.Slots[sl]
	m.record(v, slot.Iface, trace.LabelTimer, trace.OpNone, fmt.Sprintf("neigh %s dev %s: allocation", m.ipStr(slot.IP), m.cfg.Ifaces[slot.Iface].Name), r)
}

// describeOverflow tells a refused allocation for entry sl.
func (m *Model) describeOverflow(v *env, sl int) {
	slot := m.cfg.Slots[sl]
	m.recordOn(v, slot.Iface, -1, trace.LabelTimer, fmt.Sprintf("neigh %s dev %s: allocation refused", m.ipStr(slot.IP), m.cfg.Ifaces[slot.Iface].Name),
		"the table is at gc_thresh3 and the forced GC freed nothing: \"neighbor table overflow!\", no entry", trace.OutcomeLost)
}

// describePeriodic tells a periodic GC run that found the table at
// gc_thresh1 or above.
func (m *Model) describePeriodic(v *env, t int, n, bg int32) {
	tb := &m.cfg.Tables[t]
	iface := m.tableIface(tb)
	r := fmt.Sprintf("%d entries >= gc_thresh1 %d: unreferenced entries FAILED or unused for gc_stale_time go", n, tb.Thresh1)
	if bg > 0 {
		r += fmt.Sprintf("; %d stale background entries removed", bg)
	}
	m.record(v, iface, trace.LabelTimer, trace.OpNone, "neigh_periodic_work()", r)
}

var gcWhy = [...]string{
	nud.GCFailed: "FAILED",
	nud.GCStale:  "unused for longer than gc_stale_time",
	nud.GCUnref:  "unreferenced (no timer) and not PERMANENT: the table walk takes it",
	nud.GCOld:    "on the gc list, unreferenced and not updated for 5 s",
	nud.GCNoARP:  "NOARP",
}

// describeEvict tells a collector removing entry sl (old is the entry
// before).
func (m *Model) describeEvict(v *env, sl int, old *nud.Entry, r nud.GCRule, forced bool, flow int) {
	who := "neigh_periodic_work()"
	if forced {
		who = "neigh_forced_gc()"
	}
	reason := who + ": " + gcWhy[r]
	if r == nud.GCStale {
		reason += fmt.Sprintf(" (used %s s ago > %s)", nud.Secs(v.now-old.Used), nud.Dur(m.cfg.Ifaces[m.cfg.Slots[sl].Iface].Sysctl.GcStale))
	}
	out := trace.OutcomeNone
	if flow >= 0 {
		reason += fmt.Sprintf("; %s still sends to it: evicted in use", m.cfg.Flows[flow].Name)
		out = trace.OutcomeLost
	}
	ev := trace.Event{Label: trace.LabelNeigh, Op: trace.OpDel, Text: m.neighLine(sl, old), Reason: reason, Outcome: out}
	m.onEntry(v, sl, &ev)
	m.recordEv(v, m.cfg.Slots[sl].Iface, ev)
}
