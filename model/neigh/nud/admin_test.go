package nud

import "testing"

// AdminUpdate against __neigh_update(ADMIN|OVERRIDE) as read at 3.10.108,
// 4.19.1 and 6.12.
func TestAdminUpdate(t *testing.T) {
	const now = 10000
	p := defaults()
	incomplete := Entry{State: Incomplete, Confirmed: 0, Updated: 9000, Used: 9500, Timer: 10500, Probes: 4, Flags: FlagLive}
	probe := Entry{State: Probe, LL: 1, Confirmed: 0, Updated: 8000, Used: 9500, Timer: 10500, Probes: 2, Flags: FlagLive}
	reachable := Entry{State: Reachable, LL: 1, Confirmed: 9000, Updated: 9000, Used: 9000, Timer: 39000, Flags: FlagLive}
	for _, c := range []struct {
		name    string
		prof    string
		e       Entry
		ll      uint8
		nw      State
		ext     bool
		state   State
		timer   int32
		lladdr  uint8
		probes  uint8
		deleted bool // the old timer was deleted
		inval   bool // neigh_invalidate()
		flush   bool
		noLL    bool
		extSet  bool
	}{
		// The !(new & NUD_VALID) branch: state only, no timer, no probe.
		{name: "incomplete written on incomplete", prof: "linux-6.12", e: incomplete, nw: Incomplete, state: Incomplete, timer: NoTimer, probes: 4, deleted: true},
		{name: "incomplete written on reachable", prof: "linux-3.10", e: reachable, nw: Incomplete, state: Incomplete, timer: NoTimer, lladdr: 1, deleted: true},
		{name: "failed on incomplete invalidates", prof: "linux-4.19", e: incomplete, nw: Failed, state: Failed, timer: NoTimer, probes: 4, deleted: true, inval: true},
		{name: "failed on probe invalidates", prof: "linux-6.12", e: probe, nw: Failed, state: Failed, timer: NoTimer, lladdr: 1, probes: 2, deleted: true, inval: true},
		{name: "failed on reachable does not", prof: "linux-6.12", e: reachable, nw: Failed, state: Failed, timer: NoTimer, lladdr: 1, deleted: true},
		// A valid state: the old timer deleted, the queue sent.
		{name: "stale with lladdr while incomplete", prof: "linux-3.10", e: incomplete, ll: 2, nw: Stale, state: Stale, timer: NoTimer, lladdr: 2, probes: 4, deleted: true, flush: true},
		{name: "reachable with lladdr while incomplete", prof: "linux-6.12", e: incomplete, ll: 2, nw: Reachable, state: Reachable, timer: now + 30000, lladdr: 2, probes: 4, deleted: true, flush: true},
		{name: "valid state, no lladdr, none known", prof: "linux-6.12", e: incomplete, nw: Reachable, state: Incomplete, timer: 10500, probes: 4, noLL: true},
		// PROBE, a new lladdr: the same state keeps its timer and count.
		{name: "probe to a new lladdr, nud probe", prof: "linux-6.12", e: probe, ll: 2, nw: Probe, state: Probe, timer: 10500, lladdr: 2, probes: 2},
		{name: "probe to a new lladdr, nud stale", prof: "linux-6.12", e: probe, ll: 2, nw: Stale, state: Stale, timer: NoTimer, lladdr: 2, probes: 2, deleted: true},
		{name: "probe to a new lladdr, nud delay", prof: "linux-6.12", e: probe, ll: 2, nw: Delay, state: Delay, timer: now, lladdr: 2, probes: 2, deleted: true},
		// The same lladdr with STALE: the same-lladdr-stale switch.
		{name: "same lladdr stale, 3.10 keeps CONNECTED", prof: "linux-3.10", e: reachable, nw: Stale, state: Reachable, timer: 39000, lladdr: 1},
		{name: "same lladdr stale, 4.9 applies admin", prof: "linux-4.9", e: reachable, nw: Stale, state: Stale, timer: NoTimer, lladdr: 1, deleted: true},
		// extern_learn: kept from 4.19, ignored before.
		{name: "extern_learn on 4.19", prof: "linux-4.19", e: reachable, ll: 1, nw: Reachable, ext: true, state: Reachable, timer: 39000, lladdr: 1, extSet: true},
		{name: "extern_learn on 4.15", prof: "linux-4.15", e: reachable, ll: 1, nw: Reachable, ext: true, state: Reachable, timer: 39000, lladdr: 1},
	} {
		t.Run(c.name, func(t *testing.T) {
			e := c.e
			w := AdminUpdate(Dev{Kernel: prof(t, c.prof), Parms: &p, Reach: 30000, Now: now}, &e, c.ll, c.nw, c.ext)
			if e.State != c.state || e.Timer != c.timer || e.LL != c.lladdr || e.Probes != c.probes {
				t.Errorf("entry %v timer %d lladdr %d probes %d, want %v %d %d %d", e.State, e.Timer, e.LL, e.Probes, c.state, c.timer, c.lladdr, c.probes)
			}
			if w.TimerDeleted != c.deleted || w.Invalidated != c.inval || w.Flush != c.flush || w.NoLL != c.noLL {
				t.Errorf("why %+v, want deleted %v invalidated %v flush %v noLL %v", w, c.deleted, c.inval, c.flush, c.noLL)
			}
			if got := e.Flags&FlagExtLearned != 0; got != c.extSet {
				t.Errorf("NTF_EXT_LEARNED %v, want %v", got, c.extSet)
			}
			if c.flush && c.nw&Connected == 0 && e.Confirmed != now-2*p.BaseReachable {
				t.Errorf("confirmed %d: a new lladdr without a CONNECTED state sets it 2 x base_reachable_time back", e.Confirmed)
			}
		})
	}
}

func TestUse(t *testing.T) {
	perm := Entry{State: Permanent, LL: 1, Timer: NoTimer, Flags: FlagLive}
	e := perm
	if Use(prof(t, "linux-5.10"), &e, false) || e.State != Permanent {
		t.Errorf("5.10.0: NTF_USE is neigh_event_send() alone, got %v", e.State)
	}
	e = perm
	if !Use(prof(t, "linux-6.12"), &e, false) || e.State != None {
		t.Errorf("6.12: NEIGH_UPDATE_F_USE drops PERMANENT, got %v", e.State)
	}
}

// The collectors' per-entry decisions (neigh_periodic_work(),
// neigh_forced_gc()).
func TestCollectors(t *testing.T) {
	const now = 100000
	p := defaults()
	live := func(st State, updated, used int32, timer int32, flags uint8) Entry {
		return Entry{State: st, LL: 1, Confirmed: used, Updated: updated, Used: used, Timer: timer, Flags: FlagLive | flags}
	}
	for _, c := range []struct {
		name     string
		prof     string
		e        Entry
		periodic GCRule
		forced   GCRule
		counted  bool
	}{
		{"stale unused 90 s", "linux-3.10", live(Stale, 10000, 10000, NoTimer, 0), GCStale, GCUnref, true},
		{"stale used 10 s ago", "linux-3.10", live(Stale, 90000, 90000, NoTimer, 0), GCKeep, GCUnref, true},
		{"stale used 10 s ago, gc list", "linux-5.10", live(Stale, 90000, 90000, NoTimer, 0), GCKeep, GCOld, true},
		{"stale updated 2 s ago, gc list", "linux-5.10", live(Stale, 98000, 98000, NoTimer, 0), GCKeep, GCKeepRecent, true},
		{"reachable (timer: referenced)", "linux-6.12", live(Reachable, 10000, 10000, now+1, 0), GCKeep, GCKeep, true},
		{"failed", "linux-6.12", live(Failed, 99000, 99000, NoTimer, 0), GCFailed, GCFailed, true},
		{"permanent, table walk counts it", "linux-4.19", live(Permanent, 0, 0, NoTimer, 0), GCKeep, GCKeep, true},
		{"permanent, gc list does not", "linux-6.12", live(Permanent, 0, 0, NoTimer, 0), GCKeep, GCKeep, false},
		{"noarp, 5.10.0", "linux-5.10", live(NoARP, 99000, 0, NoTimer, 0), GCStale, GCKeepRecent, true},
		{"noarp, 6.12", "linux-6.12", live(NoARP, 99000, 0, NoTimer, 0), GCStale, GCNoARP, true},
		{"extern_learn, 4.15 ignores it", "linux-4.15", live(NoARP, 0, 0, NoTimer, FlagExtLearned), GCStale, GCUnref, true},
		{"extern_learn, 4.19", "linux-4.19", live(NoARP, 0, 0, NoTimer, FlagExtLearned), GCKeep, GCKeep, true},
		{"extern_learn, 6.12", "linux-6.12", live(NoARP, 0, 0, NoTimer, FlagExtLearned), GCKeep, GCKeep, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			d := Dev{Kernel: prof(t, c.prof), Parms: &p, Reach: 30000, Now: now}
			e := c.e
			if got := Periodic(d, &e); got != c.periodic {
				t.Errorf("Periodic = %d, want %d", got, c.periodic)
			}
			e = c.e
			if got := Forced(d, &e); got != c.forced {
				t.Errorf("Forced = %d, want %d", got, c.forced)
			}
			if got := Counted(d.Kernel, &e); got != c.counted {
				t.Errorf("Counted = %v, want %v", got, c.counted)
			}
		})
	}
}
