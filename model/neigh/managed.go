package neigh

import (
	"fmt"

	"raceroute/explore"
	"raceroute/model/neigh/nud"
	"raceroute/trace"
)

// This file is neigh_managed_work() (net/core/neighbour.c, 5.16,
// commit 7482e3841d52; read at 6.6.9, 6.8 and 6.12): a deferrable work
// of each table, queued at neigh_table_init() and then every
// INTERVAL_PROBE_TIME_MS of the table's default parms (DELAY_PROBE_TIME
// in 5.16 to 5.18; 5 s by default in both), which calls
// neigh_event_send_probe(n, NULL, false) on every entry of the table's
// managed_list: the entries an ip neigh agent wrote with `managed`.

// MaxManagedInterval bounds the managed work's interval: its phase is
// kept in 15 bits of the state.
const MaxManagedInterval = 1<<15 - 2

// ManagedWork is the neigh_managed_work() of host Host's arp_tbl (V6:
// nd_tbl). The model keeps one: the state holds the schedule of one.
type ManagedWork struct {
	Host int
	V6   bool
	// Interval is interval_probe_time_ms of the table's default parms
	// (5000).
	Interval int32
	// Phase is the window of its first run after t=0: the work runs
	// since the table's initialisation, so anywhere in [0, Interval).
	Phase Window
}

// DefaultManaged is host h's managed work with the default interval.
func DefaultManaged(h int, v6 bool) *ManagedWork {
	return &ManagedWork{Host: h, V6: v6, Interval: 5000, Phase: Window{0, 4999}}
}

func (c *Config) validateManaged() error {
	w := c.Managed
	if w == nil {
		return nil
	}
	if w.Host < 0 || w.Host >= len(c.Hosts) {
		return fmt.Errorf("managed work: no host %d", w.Host)
	}
	if w.Interval <= 0 || w.Interval > MaxManagedInterval || w.Phase.Min < 0 || w.Phase.Max < w.Phase.Min || w.Phase.Max >= w.Interval {
		return fmt.Errorf("managed work of host %d: bad interval %d or phase [%d, %d]", w.Host, w.Interval, w.Phase.Min, w.Phase.Max)
	}
	for _, a := range c.Admins {
		for i, cm := range a.Cmds {
			if !cm.Managed {
				continue
			}
			f := &c.Ifaces[c.Slots[cm.Slot].Iface]
			if f.Host != w.Host || f.V6() != w.V6 {
				return fmt.Errorf("ip neigh agent %s: command %d: managed entries of one table only (host %d's), the model keeps one neigh_managed_work()", a.Name, i+1, w.Host)
			}
		}
	}
	return nil
}

// managedSched is the managed work's schedule: 0 before its first run
// is placed; else (phase+1)<<1 | ran, where the work runs at phase +
// k*Interval and ran says it has run at the state's Now.
type managedSched uint16

func (p managedSched) placed() bool { return p != 0 }
func (p managedSched) phase() int32 { return int32(p>>1) - 1 }
func (p managedSched) ran() bool    { return p&1 != 0 }

// later is p once time has moved on: the run at the old Now is past.
func (p managedSched) later() managedSched { return p &^ 1 }

func sched(phase int32, ran bool) managedSched {
	p := managedSched(phase+1) << 1
	if ran {
		p |= 1
	}
	return p
}

// nextManaged is the managed work's next run at or after now.
func (m *Model) nextManaged(s *State) int32 {
	p, iv := s.Managed.phase(), m.cfg.Managed.Interval
	if s.Now <= p {
		if s.Now == p && s.Managed.ran() {
			return p + iv
		}
		return p
	}
	t := p + (s.Now-p+iv-1)/iv*iv
	if t == s.Now && s.Managed.ran() {
		t += iv
	}
	return t
}

// pendingManaged fills st for the managed work's next run.
func (m *Model) pendingManaged(s *State, st *explore.Step) {
	w := m.cfg.Managed
	switch {
	case s.Managed.placed():
		t := explore.Time(m.nextManaged(s))
		st.Earliest, st.Latest = t, t
	case m.cfg.DrawTimes:
		st.Earliest, st.Latest = explore.Time(w.Phase.Min), explore.Time(w.Phase.Min)
		st.Outcomes = int(w.Phase.Max-w.Phase.Min) + 1
	default:
		st.Earliest, st.Latest = explore.Time(w.Phase.Min), explore.Time(w.Phase.Max)
	}
}

// fireManaged is one run of neigh_managed_work(): for each entry of the
// managed list, neigh_event_send_probe(n, NULL, false) (nud.ManagedProbe):
// a deferred resolution's first probe is the entry timer's, one jiffy
// later, not this work's.
func (m *Model) fireManaged(v *env, outcome int) {
	s := v.s
	if !s.Managed.placed() {
		if m.cfg.DrawTimes {
			s.Managed = sched(v.now+int32(outcome), false)
			return
		}
		s.Managed = sched(v.now, true)
	} else {
		s.Managed = sched(s.Managed.phase(), true)
	}
	w := m.cfg.Managed
	for sl, slot := range m.cfg.Slots {
		e := &s.Entries[sl]
		if !e.Exists() || e.Flags&nud.FlagManaged == 0 || m.tableKey(sl) != tableKey(w.Host, w.V6) {
			continue
		}
		old := *e
		why := nud.ManagedProbe(m.dev(v, slot.Iface), e)
		if v.rec != nil {
			m.describeManaged(v, sl, &old, why)
		}
	}
}

// describeManaged tells what neigh_managed_work() did to entry sl.
func (m *Model) describeManaged(v *env, sl int, old *nud.Entry, w nud.SendWhy) {
	iface := m.cfg.Slots[sl].Iface
	e := &v.s.Entries[sl]
	r := "neigh_event_send_probe(n, NULL, false) on a managed entry (5.16): "
	switch w.Rule {
	case nud.SendNow:
		r += old.State.String() + ", nothing to do"
	case nud.SendResolve:
		r += fmt.Sprintf("%s -> INCOMPLETE: a resolution without a packet; immediate_ok is false, so the first probe is the timer's, a jiffy later", old.State)
	default:
		r += w.Reason(m.dev(v, iface))
	}
	m.recordOn(v, iface, sl, trace.LabelTimer, "neigh_managed_work()", r, trace.OutcomeNone)
	if e.State != old.State {
		m.recordEntry(v, sl, "")
	}
}

// managedReason says what neigh_add() did with an NTF_MANAGED request,
// up to its neigh_event_send() (the caller's).
func managedReason(w *adminWhy) string {
	r := "NTF_MANAGED (5.16): __neigh_update(NEIGH_UPDATE_F_MANAGED) puts the entry on the managed list and returns"
	if w.created {
		r = "neigh_add(): no entry, NLM_F_CREATE: created; " + r
	}
	if w.cmd.LL >= 0 {
		r += ", the lladdr given not read"
	}
	if w.demoted {
		r += ", PERMANENT dropped"
	} else {
		r += ", the state kept"
	}
	return r + "; neigh_event_send() without a packet"
}
