package nud

import "testing"

// Managed and ManagedProbe against neigh_add()'s NEIGH_UPDATE_F_MANAGED
// branch of __neigh_update() and neigh_managed_work()'s
// neigh_event_send_probe(n, NULL, false), read at 6.12.
func TestManaged(t *testing.T) {
	const now = 10000
	p := defaults()
	reachable := Entry{State: Reachable, LL: 1, Confirmed: 9000, Updated: 9000, Used: 9000, Timer: 39000, Flags: FlagLive}
	perm := Entry{State: Permanent, LL: 1, Timer: NoTimer, Flags: FlagLive}
	for _, c := range []struct {
		name    string
		e       Entry
		state   State
		timer   int32
		managed bool
		demoted bool
	}{
		{name: "reachable keeps its state, lladdr and timer", e: reachable, state: Reachable, timer: 39000, managed: true},
		{name: "permanent loses PERMANENT", e: perm, state: None, timer: NoTimer, managed: true, demoted: true},
	} {
		t.Run(c.name, func(t *testing.T) {
			e := c.e
			if d := Managed(prof(t, "linux-6.12"), &e, false); d != c.demoted {
				t.Errorf("demoted %v, want %v", d, c.demoted)
			}
			if e.State != c.state || e.Timer != c.timer || e.LL != c.e.LL || (e.Flags&FlagManaged != 0) != c.managed {
				t.Errorf("got %s timer %d ll %d flags %b", e.State, e.Timer, e.LL, e.Flags)
			}
			// An admin update without the flag clears it (neigh_update_flags()).
			if w := AdminUpdate(Dev{Kernel: prof(t, "linux-6.12"), Parms: &p, Reach: 30000, Now: now}, &e, 1, Stale, false); !w.ManagedCleared || e.Flags&FlagManaged != 0 {
				t.Errorf("a plain admin update left NTF_MANAGED: %+v flags %b", w, e.Flags)
			}
		})
	}
	// NTF_USE is an admin write without NTF_MANAGED: it clears the flag
	// (neigh_update_flags(), 6.12).
	u := Entry{State: Reachable, LL: 1, Timer: 39000, Flags: FlagLive | FlagManaged}
	Use(prof(t, "linux-6.12"), &u, false)
	if u.Flags&FlagManaged != 0 {
		t.Error("NTF_USE left NTF_MANAGED set")
	}
	// Without the switch the flag is never set.
	e := reachable
	Managed(prof(t, "linux-5.15"), &e, false)
	if e.Flags&FlagManaged != 0 {
		t.Error("linux-5.15 took NTF_MANAGED")
	}
}

func TestManagedProbe(t *testing.T) {
	const now = 10000
	p := defaults()
	for _, c := range []struct {
		name  string
		e     Entry
		state State
		timer int32
		rule  SendRule
	}{
		{name: "reachable: nothing", e: Entry{State: Reachable, LL: 1, Timer: 39000, Flags: FlagLive}, state: Reachable, timer: 39000, rule: SendNow},
		{name: "delay: nothing", e: Entry{State: Delay, LL: 1, Timer: 12000, Flags: FlagLive}, state: Delay, timer: 12000, rule: SendNow},
		{name: "stale: delay_first_probe_time", e: Entry{State: Stale, LL: 1, Timer: NoTimer, Flags: FlagLive}, state: Delay, timer: now + p.DelayFirstProbe, rule: SendStaleDelay},
		// immediate_ok false: the first probe is the timer's, next jiffy.
		{name: "failed: resolution, probe deferred", e: Entry{State: Failed, LL: 1, Timer: NoTimer, Flags: FlagLive}, state: Incomplete, timer: now + 1, rule: SendResolve},
		{name: "none: resolution, probe deferred", e: Entry{State: None, Timer: NoTimer, Flags: FlagLive}, state: Incomplete, timer: now + 1, rule: SendResolve},
	} {
		t.Run(c.name, func(t *testing.T) {
			e := c.e
			w := ManagedProbe(Dev{Kernel: prof(t, "linux-6.12"), Parms: &p, Reach: 30000, Now: now}, &e)
			if w.Rule != c.rule || e.State != c.state || e.Timer != c.timer || e.Used != now {
				t.Errorf("rule %d state %s timer %d used %d; want rule %d state %s timer %d used %d", w.Rule, e.State, e.Timer, e.Used, c.rule, c.state, c.timer, now)
			}
			if c.rule == SendResolve && e.Probes != p.UcastSolicit {
				t.Errorf("probes %d, want ucast_probes %d", e.Probes, p.UcastSolicit)
			}
		})
	}
}
