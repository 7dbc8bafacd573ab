package neigh

import (
	"raceroute/model/neigh/arp"
	"raceroute/model/neigh/nud"
	"raceroute/profile"
)

// This file is the neighbour table's garbage collection on the hosts
// with a `neigh-table:` (config Table): the periodic work, the forced
// GC of neigh_alloc(), and what removing an entry does. Hosts without
// one hold far fewer entries than the default gc_thresh1 (128), where
// neither collector removes anything.

// born gives entry sl the youngest rank of its table (the tail of the
// gc list).
func (m *Model) born(s *State, sl int) {
	h := m.tableKey(sl)
	if m.cfg.tableOf(h) < 0 {
		return
	}
	var n uint8
	for i := range m.cfg.Slots {
		if i != sl && s.Entries[i].Exists() && m.tableKey(i) == h {
			n++
		}
	}
	s.Entries[sl].Born = n + 1
}

// unlink removes entry sl from its table (neigh_cleanup_and_release()
// then neigh_destroy(), which purges the arp_queue): its queued packets
// are lost, and the younger entries move up the gc list.
func (m *Model) unlink(v *env, sl int) {
	e := &v.s.Entries[sl]
	if b := e.Born; b != 0 {
		h := m.tableKey(sl)
		for i := range m.cfg.Slots {
			if o := &v.s.Entries[i]; o.Born > b && m.tableKey(i) == h {
				o.Born--
			}
		}
	}
	*e = nud.Entry{Timer: nud.NoTimer}
	m.dropQueue(v, sl)
}

// entries counts host h's table as neigh_alloc() does, leaving out
// entry skip: every entry up to 4.19.y (tbl->entries), the gc list's
// from 5.0 (tbl->gc_entries); all tells neigh_periodic_work()'s
// tbl->entries, which counts every entry in every version.
func (m *Model) entries(s *State, t int, skip int, all bool) int32 {
	k := &m.cfg.Profile
	tb := &m.cfg.Tables[t]
	n := s.Tables[t].Stale + tb.Busy
	if all || k.NeighGC == profile.GCTableWalk {
		n += tb.Permanent
	}
	for i := range m.cfg.Slots {
		e := &s.Entries[i]
		if i == skip || m.tableKey(i) != tb.key() || !e.Exists() {
			continue
		}
		if all || nud.Counted(k, e) {
			n++
		}
	}
	return n
}

// alloc is neigh_alloc()'s threshold check for a new entry in slot sl
// (net/core/neighbour.c, read at 3.10.108, 4.19.1, 5.10.7, 6.12): with
// entries at gc_thresh3, or at gc_thresh2 and no forced GC for 5 s,
// neigh_forced_gc() runs; when it frees nothing and the table is at
// gc_thresh3 the allocation fails ("neighbor table overflow!"). except
// is an entry the forced GC must not take (one created already, -1
// none). It reports whether the entry may be allocated.
func (m *Model) alloc(v *env, sl, except int) bool {
	t := m.cfg.tableOf(m.tableKey(sl))
	if t < 0 {
		return true
	}
	tb := &m.cfg.Tables[t]
	ts := &v.s.Tables[t]
	n := m.entries(v.s, t, sl, false)
	if n < tb.Thresh3 && (n < tb.Thresh2 || v.now <= ts.LastFlush+5000) {
		return true
	}
	if v.rec != nil {
		m.describeForced(v, t, sl, n)
	}
	shrunk := m.forcedGC(v, t, n+1, except)
	ok := shrunk > 0 || n < tb.Thresh3
	if v.rec != nil && !ok {
		m.describeOverflow(v, sl)
	}
	return ok
}

// forcedGC is neigh_forced_gc() on table t holding count entries (the
// new one included, as gc_entries is incremented before the call): up
// to 4.19.y a walk of the whole table, from 5.0 the gc list from its
// head (the stale background entries first, then the scenario's in
// creation order) until gc_entries - gc_thresh2 are removed. It returns
// how many it removed; tbl->last_flush := now.
func (m *Model) forcedGC(v *env, t int, count int32, except int) int32 {
	k := &m.cfg.Profile
	tb := &m.cfg.Tables[t]
	ts := &v.s.Tables[t]
	ts.LastFlush = v.now
	if k.NeighGC == profile.GCTableWalk {
		shrunk := ts.Stale
		ts.Stale = 0
		for sl := range m.cfg.Slots {
			if sl == except || m.tableKey(sl) != tb.key() {
				continue
			}
			if r := nud.Forced(m.dev(v, m.cfg.Slots[sl].Iface), &v.s.Entries[sl]); r != nud.GCKeep {
				m.evict(v, sl, r, true)
				shrunk++
			}
		}
		return shrunk
	}
	maxClean := count - tb.Thresh2
	var shrunk int32
	// The stale background entries: removable once not updated for 5 s.
	if ts.Stale > 0 {
		if v.now-5000 > -tb.StaleAge {
			take := ts.Stale
			if maxClean > 0 {
				take = min(take, maxClean)
			} else {
				take = 1
			}
			ts.Stale -= take
			shrunk += take
		}
		if shrunk >= maxClean {
			return shrunk
		}
	}
	for rank := uint8(1); rank <= MaxEntries; rank++ {
		sl := m.slotOfRank(v.s, tb.key(), rank)
		if sl < 0 {
			break
		}
		e := &v.s.Entries[sl]
		if sl == except || nud.Referenced(e) || nud.GCExempt(k, e) {
			continue
		}
		if r := nud.Forced(m.dev(v, m.cfg.Slots[sl].Iface), e); r != nud.GCKeepRecent {
			m.evict(v, sl, r, true)
			shrunk++
			rank-- // the younger entries moved up
		}
		if shrunk >= maxClean {
			break
		}
	}
	return shrunk
}

// slotOfRank is the entry of table h (tableKey) at gc-list rank r, or -1.
func (m *Model) slotOfRank(s *State, h int, r uint8) int {
	for sl := range m.cfg.Slots {
		if s.Entries[sl].Born == r && m.tableKey(sl) == h {
			return sl
		}
	}
	return -1
}

// fireGC is neigh_periodic_work() on table t (net/core/neighbour.c, read
// at 3.10.108, 4.19.1, 6.12): nothing while the table holds fewer than
// gc_thresh1 entries; else every entry nud.Periodic allows is removed.
// It runs again base_reachable_time/2 later (the table's default parms).
func (m *Model) fireGC(v *env, t int, outcome int) {
	ts := &v.s.Tables[t]
	tb := &m.cfg.Tables[t]
	if m.cfg.DrawTimes && ts.NextGC < 0 {
		ts.NextGC = v.now + int32(outcome)
		return
	}
	ts.NextGC = v.now + tb.Period
	n := m.entries(v.s, t, -1, true)
	if n < tb.Thresh1 {
		return
	}
	var bg int32
	if ts.Stale > 0 && v.now > -tb.StaleAge+m.bgParms(tb).GcStale {
		bg, ts.Stale = ts.Stale, 0
	}
	if v.rec != nil {
		m.describePeriodic(v, t, n, bg)
	}
	for sl := range m.cfg.Slots {
		if m.tableKey(sl) != tb.key() {
			continue
		}
		if r := nud.Periodic(m.dev(v, m.cfg.Slots[sl].Iface), &v.s.Entries[sl]); r != nud.GCKeep {
			m.evict(v, sl, r, false)
		}
	}
}

// bgParms are the parameters of the background entries: those of the
// host's first interface of the table's family.
func (m *Model) bgParms(tb *Table) *nud.Parms {
	return &m.cfg.Ifaces[m.tableIface(tb)].Sysctl.Parms
}

// tableIface is the host's first interface of tb's family (the host's
// first interface if it has none of it).
func (m *Model) tableIface(tb *Table) int {
	ifs := m.cfg.Hosts[tb.Host].Ifaces
	for _, i := range ifs {
		if m.cfg.Ifaces[i].V6() == tb.V6 {
			return i
		}
	}
	return ifs[0]
}

// evict removes entry sl by garbage collection, and marks the
// not-evicted-in-use watches of the flows that still send through it.
func (m *Model) evict(v *env, sl int, r nud.GCRule, forced bool) {
	old := v.s.Entries[sl]
	inUse := -1
	for wi, w := range m.cfg.Watches {
		if w.Kind != WatchEvicted || m.flowSlot[w.Flow] != sl {
			continue
		}
		if fs := &v.s.Flows[w.Flow]; fs.Sent > 0 && fs.Done == 0 {
			inUse = w.Flow
			if v.s.GoodSince[wi] < 0 {
				v.s.GoodSince[wi] = v.now
			}
		}
	}
	m.unlink(v, sl)
	if v.rec != nil {
		m.describeEvict(v, sl, &old, r, forced, inUse)
	}
}

// stuck reports whether entry sl is stuck: in a state whose way out is
// its timer, with no timer armed (an INCOMPLETE written by ip neigh, say),
// or FAILED while a flow sends to it and the device sends no probe to
// retry (mcast_solicit + app_solicit = 0: __neigh_event_send() keeps it
// FAILED and drops each packet).
func (m *Model) stuck(s *State, sl int) bool {
	e := &s.Entries[sl]
	if e.State&NUDInTimer != 0 {
		return e.Timer == nud.NoTimer
	}
	if e.State != NUDFailed {
		return false
	}
	p := &m.cfg.Ifaces[m.cfg.Slots[sl].Iface].Sysctl.Parms
	if p.McastSolicit+p.AppSolicit != 0 {
		return false
	}
	for fi := range m.cfg.Flows {
		if m.flowSlot[fi] == sl && s.Flows[fi].Done == 0 {
			return true
		}
	}
	return false
}

// watchStuck updates no-stuck-entry watch wi's streak.
func (m *Model) watchStuck(s *State, wi int) {
	w := &m.cfg.Watches[wi]
	sl := int(m.slotOf[w.Iface][w.IP])
	switch st := m.stuck(s, sl); {
	case st && s.GoodSince[wi] < 0:
		s.GoodSince[wi] = s.Now
	case !st && s.GoodSince[wi] >= 0:
		s.Longest[wi] = max(s.Longest[wi], s.Now-s.GoodSince[wi])
		s.GoodSince[wi] = -1
	}
}

// arpCreated runs neigh_alloc()'s check for entry sl, which arp_process()
// has just created (neigh_event_ns(), or arp_accept): when the table
// refuses it, the entry is undone and nothing is flushed.
func (m *Model) arpCreated(v *env, sl int, w *arp.Why) bool {
	if !m.alloc(v, sl, sl) {
		v.s.Entries[sl] = nud.Entry{Timer: nud.NoTimer}
		w.Flush = false
		return false
	}
	m.born(v.s, sl)
	return true
}
