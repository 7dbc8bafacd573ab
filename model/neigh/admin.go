package neigh

import (
	"raceroute/explore"
	"raceroute/model/neigh/nud"
	"raceroute/profile"
)

// This file runs the ip neigh agents: each command is one step, the
// RTM_NEWNEIGH or RTM_DELNEIGH it sends handled by neigh_add() or
// neigh_delete() under RTNL in one go (net/core/neighbour.c).

// AdminSwitches names the switches only the ip neigh agents and the
// garbage-collected tables read: a scenario without either does not
// depend on them.
func AdminSwitches() []string {
	return []string{"neigh-del-removes", "neigh-ext-learned", "neigh-gc", "neigh-managed", "neigh-use-update"}
}

// initAdmin sets the initial state of the agents and tables.
func (m *Model) initAdmin(s *State) {
	for i := range s.AdminAt {
		s.AdminAt[i] = -1
	}
	for i, t := range m.cfg.Tables {
		s.Tables[i] = TableState{NextGC: -1, LastFlush: -1 << 30, Stale: t.Stale}
		// The scenario's initial entries were created in the order the
		// file lists them (the gc list's order), after the background.
		var n uint8
		for sl := range m.cfg.Slots {
			if e := &s.Entries[sl]; e.Exists() && m.tableKey(sl) == t.key() {
				n++
				e.Born = n
			}
		}
	}
}

// tableKey names the table entry sl is in (Table.key): the kernel keeps
// arp_tbl and nd_tbl apart, each with its own entries, thresholds and
// periodic work (net/ipv4/arp.c, net/ipv6/ndisc.c), so a host's IPv4 and
// IPv6 entries never count against or collect each other.
func (m *Model) tableKey(sl int) int {
	f := &m.cfg.Ifaces[m.cfg.Slots[sl].Iface]
	return tableKey(f.Host, f.V6())
}

// pendingAdmin fills st for an agent's next command or a table's next
// periodic GC; false when there is none.
func (m *Model) pendingAdmin(s *State, ac *actor, st *explore.Step) bool {
	var w Window
	drawn := int32(-1)
	if ac.kind == actAdmin {
		a := &m.cfg.Admins[ac.idx]
		if int(s.AdminIdx[ac.idx]) >= len(a.Cmds) {
			return false
		}
		w, drawn = a.Cmds[s.AdminIdx[ac.idx]].At, s.AdminAt[ac.idx]
	} else {
		ts := &s.Tables[ac.idx]
		if ts.NextGC >= 0 {
			st.Earliest, st.Latest = explore.Time(ts.NextGC), explore.Time(ts.NextGC)
			return true
		}
		w = m.cfg.Tables[ac.idx].Phase
	}
	if m.cfg.DrawTimes {
		if drawn >= 0 {
			w = Window{drawn, drawn}
		} else {
			w.Max, st.Outcomes = w.Min, int(w.Max-w.Min)+1
		}
	}
	st.Earliest, st.Latest = explore.Time(w.Min), explore.Time(w.Max)
	return true
}

// AdminErr is what an ip neigh command got back.
type AdminErr uint8

// Errors of neigh_add() and neigh_delete().
const (
	AdminOK      AdminErr = iota
	AdminENOENT           // change or del of no entry
	AdminEEXIST           // add of an existing entry
	AdminENOBUFS          // the table is full (neigh_alloc(): neighbour table overflow)
	AdminEINVAL           // a valid state without an lladdr for an entry that has none
)

// adminWhy is what one command did to one entry, for the story.
type adminWhy struct {
	cmd     *AdminCmd
	sl      int
	err     AdminErr
	created bool
	use     bool // NTF_USE or NTF_MANAGED: neigh_event_send()
	managed bool // NTF_MANAGED
	demoted bool // NTF_USE dropped PERMANENT (neigh-use-update)
	send    nud.SendWhy
	admin   nud.AdminWhy
	removed bool // neigh_remove_one() after the delete
	queued  bool // a packet waited in the entry's queue
	old     nud.Entry
}

// fireAdmin runs agent ai's next command.
func (m *Model) fireAdmin(v *env, ai int, outcome int) {
	a := &m.cfg.Admins[ai]
	s := v.s
	if m.cfg.DrawTimes && s.AdminAt[ai] < 0 {
		s.AdminAt[ai] = v.now + int32(outcome)
		return
	}
	cmd := &a.Cmds[s.AdminIdx[ai]]
	s.AdminIdx[ai]++
	s.AdminAt[ai] = -1
	switch cmd.Op {
	case AdminDel:
		m.adminDel(v, cmd, cmd.Slot)
	case AdminFlush:
		// ip neigh flush: a dump, then RTM_DELNEIGH for each entry whose
		// state the filter keeps (a NONE entry matches no filter).
		any := false
		for sl, slot := range m.cfg.Slots {
			e := &s.Entries[sl]
			if slot.Iface == cmd.Iface && e.Exists() && (e.State&cmd.State != 0 || (e.State == NUDNone && cmd.FlushNone)) {
				any = true
				m.adminDel(v, cmd, sl)
			}
		}
		if !any && v.rec != nil {
			m.describeAdmin(v, &adminWhy{cmd: cmd, sl: -1})
		}
	default:
		m.adminNew(v, cmd)
	}
}

// adminNew is neigh_add() for add, replace and change.
func (m *Model) adminNew(v *env, cmd *AdminCmd) {
	sl := cmd.Slot
	e := &v.s.Entries[sl]
	w := adminWhy{cmd: cmd, sl: sl, old: *e, queued: m.hasQueue(v.s, sl)}
	k := &m.cfg.Profile
	switch {
	case !e.Exists() && cmd.Op == AdminChange:
		w.err = AdminENOENT // no NLM_F_CREATE
	case !e.Exists():
		// neigh_add() -> __neigh_lookup_errno() / ___neigh_create() ->
		// neigh_alloc(); from 5.0 a PERMANENT or extern_learn entry is
		// exempt_from_gc and skips the threshold check.
		exempt := k.NeighGC != profile.GCTableWalk && (cmd.State&nud.Permanent != 0 || (cmd.Ext && k.NeighExtLearned))
		if !exempt && !m.alloc(v, sl, -1) {
			w.err = AdminENOBUFS
			break
		}
		*e = nud.Create(v.now)
		m.born(v.s, sl)
		w.created = true
	case cmd.Op == AdminAdd:
		w.err = AdminEEXIST // NLM_F_EXCL
	}
	if w.err == AdminOK {
		ll := uint8(0)
		if cmd.LL >= 0 {
			ll = uint8(cmd.LL + 1)
		}
		dev := m.dev(v, m.cfg.Slots[sl].Iface)
		switch {
		case cmd.Managed:
			// NTF_MANAGED (neigh-managed, 5.16): __neigh_update() with
			// NEIGH_UPDATE_F_MANAGED takes the flag and drops PERMANENT,
			// the lladdr and state unread; then neigh_event_send(neigh,
			// NULL), as for NTF_USE (neigh_add(), 6.12).
			w.use, w.managed = true, true
			w.demoted = nud.Managed(k, e, cmd.Ext)
			w.send = nud.EventSend(dev, e)
		case cmd.Use:
			// NTF_USE: neigh_event_send(neigh, NULL): no packet, the
			// state machine's transmit rules (a probe from NONE/FAILED).
			w.use = true
			w.demoted = nud.Use(k, e, cmd.Ext)
			w.send = nud.EventSend(dev, e)
		default:
			w.admin = nud.AdminUpdate(dev, e, ll, cmd.State, cmd.Ext)
			if w.admin.NoLL {
				w.err = AdminEINVAL
			}
		}
	}
	if v.rec != nil {
		m.describeAdmin(v, &w)
	}
	switch {
	case w.use && w.send.Rule == nud.SendResolve:
		m.solicit(v, sl)
	case w.admin.Invalidated:
		m.dropQueue(v, sl)
	case w.admin.Flush:
		m.flushQueue(v, sl)
	}
}

// adminDel is neigh_delete(): __neigh_update(NULL, NUD_FAILED,
// OVERRIDE|ADMIN) (the timer deleted; from INCOMPLETE or PROBE the queue
// dropped), then from 4.14 neigh_remove_one() unlinks the entry, which
// is unreferenced now (the neigh-del-removes switch); before, it stays
// FAILED until garbage collection.
func (m *Model) adminDel(v *env, cmd *AdminCmd, sl int) {
	e := &v.s.Entries[sl]
	w := adminWhy{cmd: cmd, sl: sl, old: *e}
	if !e.Exists() {
		w.err = AdminENOENT
	} else {
		w.admin = nud.AdminUpdate(m.dev(v, m.cfg.Slots[sl].Iface), e, 0, nud.Failed, false)
		if w.admin.Invalidated {
			m.dropQueue(v, sl)
		}
		if m.cfg.Profile.NeighDelRemoves {
			w.removed = true
			m.unlink(v, sl)
		}
	}
	if v.rec != nil {
		m.describeAdmin(v, &w)
	}
}

// hasQueue reports whether a packet waits in entry sl's queue.
func (m *Model) hasQueue(s *State, sl int) bool {
	for fi := range m.cfg.Flows {
		if s.Flows[fi].Queued != 0 && m.flowSlot[fi] == sl {
			return true
		}
	}
	return false
}
