package nud

import (
	"testing"

	"raceroute/profile"
)

func prof(t *testing.T, name string) *profile.Profile {
	t.Helper()
	p, err := profile.Lookup(name)
	if err != nil {
		t.Fatal(err)
	}
	return &p
}

func defaults() Parms {
	return Parms{Locktime: 1000, BaseReachable: 30000, DelayFirstProbe: 5000, Retrans: 1000,
		GcStale: 60000, UcastSolicit: 3, McastSolicit: 3}
}

func TestStateNames(t *testing.T) {
	for _, s := range []State{None, Incomplete, Reachable, Stale, Delay, Probe, Failed, NoARP, Permanent} {
		got, ok := Parse(s.String())
		if !ok || got != s {
			t.Errorf("Parse(%q) = %v, %v", s.String(), got, ok)
		}
	}
	if s := (Stale | Delay).String(); s != "STALE DELAY" {
		t.Errorf("a set of states prints %q, want each bit's name as ip neigh does", s)
	}
	if s, ok := Parse("stale"); !ok || s != Stale {
		t.Error("iproute2 takes `nud stale` in lower case too")
	}
}

func TestUpdate(t *testing.T) {
	const now = 10000
	stale := Entry{State: Stale, LL: 1, Confirmed: 2000, Updated: 9500, Used: 2000, Timer: NoTimer, UpdBy: ByStaleDelay}
	tests := []struct {
		name   string
		kernel string
		e      Entry
		ll     uint8
		nw     State
		flags  Flags
		want   UpdateWhy
		// the entry afterwards: state, lladdr, updated, confirmed
		state              State
		wantLL             uint8
		updated, confirmed int32
	}{
		{"3.10: ignored within locktime, updated still moves (the moving window)", "linux-3.10", stale, 2, Reachable, 0,
			UpdateWhy{Res: Ignored, Old: Stale, OldLL: 1, OldBy: ByStaleDelay, Age: 500}, Stale, 1, now, now},
		{"4.12: ignored, nothing moves", "linux-4.12", stale, 2, Reachable, 0,
			UpdateWhy{Res: Ignored, Old: Stale, OldLL: 1, OldBy: ByStaleDelay, Age: 500}, Stale, 1, 9500, 2000},
		{"6.x: ignored, confirmed still refreshed", "linux-6.12", stale, 2, Reachable, 0,
			UpdateWhy{Res: Ignored, Old: Stale, OldLL: 1, OldBy: ByStaleDelay, Age: 500}, Stale, 1, 9500, now},
		{"override: new lladdr, STALE backdates confirmed", "linux-4.12", stale, 2, Stale, Override,
			UpdateWhy{Res: Applied, Old: Stale, OldLL: 1, OldBy: ByStaleDelay, Age: 500}, Stale, 2, now, now - 60000},
		{"same lladdr, same state", "linux-4.12", stale, 1, Stale, Override,
			UpdateWhy{Res: Same, Old: Stale, OldLL: 1, OldBy: ByStaleDelay, Age: 500}, Stale, 1, 9500, 2000},
		{"PERMANENT refuses a non-admin update", "linux-6.12", Entry{State: Permanent, LL: 1, Updated: 0, Timer: NoTimer}, 2, Stale, Override,
			UpdateWhy{Res: Refused, Old: Permanent, OldLL: 1, Age: now}, Permanent, 1, 0, 0},
		{"an admin update of a NOARP entry", "linux-6.12", Entry{State: NoARP, LL: 1, Timer: NoTimer}, 2, Stale, Override | Admin,
			UpdateWhy{Res: Applied, Old: NoARP, OldLL: 1, Age: now}, Stale, 2, now, now - 60000},
		// An NA with O clear: NEIGH_UPDATE_F_WEAK_OVERRIDE without OVERRIDE.
		{"weak override: a REACHABLE entry turns STALE, its lladdr kept", "linux-4.12", Entry{State: Reachable, LL: 1, Confirmed: 9000, Updated: 9000, Timer: 39000}, 2, Stale, WeakOverride,
			UpdateWhy{Res: Weakened, Old: Reachable, OldLL: 1, Age: 1000}, Stale, 1, now, 9000},
		{"weak override: 3.10 alike, updated moves as always", "linux-3.10", Entry{State: Reachable, LL: 1, Confirmed: 9000, Updated: 9000, Timer: 39000}, 2, Stale, WeakOverride,
			UpdateWhy{Res: Weakened, Old: Reachable, OldLL: 1, Age: 1000}, Stale, 1, now, 9000},
		{"weak override: a STALE entry ignores it", "linux-6.12", stale, 2, Stale, WeakOverride,
			UpdateWhy{Res: Ignored, Old: Stale, OldLL: 1, OldBy: ByStaleDelay, Age: 500}, Stale, 1, 9500, 2000},
		{"no lladdr (an NA without the option): the cached one, REACHABLE", "linux-6.12", stale, 0, Reachable, WeakOverride,
			UpdateWhy{Res: Applied, Old: Stale, OldLL: 1, OldBy: ByStaleDelay, Age: 500}, Reachable, 1, now, now},
		{"no lladdr and none cached: nothing", "linux-6.12", Entry{State: Incomplete, Updated: 9000, Timer: 10500}, 0, Reachable, WeakOverride,
			UpdateWhy{Res: NoAddr, Old: Incomplete, Age: 1000}, Incomplete, 0, 9000, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := defaults()
			e := tc.e
			w := Update(Dev{Kernel: prof(t, tc.kernel), Parms: &p, Reach: 30000, Now: now}, &e, tc.ll, tc.nw, tc.flags)
			if w != tc.want {
				t.Errorf("why = %+v, want %+v", w, tc.want)
			}
			if e.State != tc.state || e.LL != tc.wantLL || e.Updated != tc.updated || e.Confirmed != tc.confirmed {
				t.Errorf("entry = %s ll %d updated %d confirmed %d, want %s ll %d updated %d confirmed %d",
					e.State, e.LL, e.Updated, e.Confirmed, tc.state, tc.wantLL, tc.updated, tc.confirmed)
			}
		})
	}
}

func TestUpdateSameLLStaleFromDelay(t *testing.T) {
	// A STALE update carrying the cached lladdr while the entry is DELAY:
	// 3.10 keeps the state only for CONNECTED entries (DELAY -> STALE, the
	// DELAY timer cancelled); 4.12 on keeps DELAY.
	for _, tc := range []struct {
		kernel string
		want   State
		timer  int32
	}{{"linux-3.10", Stale, NoTimer}, {"linux-4.12", Delay, 9000}, {"linux-6.12", Delay, 9000}} {
		p := defaults()
		e := Entry{State: Delay, LL: 1, Timer: 9000, Updated: 1000}
		Update(Dev{Kernel: prof(t, tc.kernel), Parms: &p, Reach: 30000, Now: 5000}, &e, 1, Stale, Override)
		if e.State != tc.want || e.Timer != tc.timer {
			t.Errorf("%s: %s timer %d, want %s timer %d", tc.kernel, e.State, e.Timer, tc.want, tc.timer)
		}
	}
	// Neighbour discovery's updates carry NEIGH_UPDATE_F_WEAK_OVERRIDE,
	// which the 3.10 rule honours too: an unsolicited NA (STALE) with the
	// cached lladdr leaves a DELAY entry DELAY on every kernel.
	for _, k := range []string{"linux-3.10", "linux-4.12", "linux-6.12"} {
		p := defaults()
		e := Entry{State: Delay, LL: 1, Timer: 9000, Updated: 1000}
		Update(Dev{Kernel: prof(t, k), Parms: &p, Reach: 30000, Now: 5000}, &e, 1, Stale, Override|WeakOverride)
		if e.State != Delay || e.Timer != 9000 {
			t.Errorf("%s: an NA with the same lladdr left %s timer %d, want DELAY timer 9000", k, e.State, e.Timer)
		}
	}
}

func TestTimer(t *testing.T) {
	const now = 100000
	tests := []struct {
		name      string
		kernel    string
		state     State
		confirmed int32 // relative to now
		used      int32 // relative to now
		probes    uint8
		want      TimerWhy
		wantState State
		wantTimer int32 // relative to now, or NoTimer
	}{
		{"DELAY confirmed within delay_first_probe_time", "linux-3.10", Delay, -4000, -100, 0,
			TimerWhy{Rule: DelayToReachable, Old: Delay}, Reachable, 26000},
		{"DELAY unconfirmed: probe", "linux-3.10", Delay, -6000, -100, 0,
			TimerWhy{Rule: DelayToProbe, Old: Delay, Solicit: true}, Probe, 1000},
		{"REACHABLE still alive", "linux-4.12", Reachable, -10000, -50000, 0,
			TimerWhy{Rule: StillReachable, Old: Reachable}, Reachable, 20000},
		{"REACHABLE expired, used recently: DELAY", "linux-4.12", Reachable, -31000, -1000, 0,
			TimerWhy{Rule: ReachableToDelay, Old: Reachable}, Delay, 5000},
		{"REACHABLE expired, unused: STALE", "linux-4.12", Reachable, -31000, -6000, 0,
			TimerWhy{Rule: ReachableToStale, Old: Reachable}, Stale, NoTimer},
		{"REACHABLE at confirmed+reachable_time: re-armed HZ/2 later", "linux-3.10", Reachable, -30000, -6000, 0,
			TimerWhy{Rule: StillReachable, Old: Reachable}, Reachable, 500},
		{"6.x re-arms HZ/100 later", "linux-6.12", Reachable, -30000, -6000, 0,
			TimerWhy{Rule: StillReachable, Old: Reachable}, Reachable, 10},
		{"PROBE with probes left: the next probe", "linux-4.12", Probe, -9000, -100, 2,
			TimerWhy{Rule: Retransmit, Old: Probe, Solicit: true}, Probe, 1000},
		{"PROBE out of probes: FAILED", "linux-4.12", Probe, -9000, -100, 3,
			TimerWhy{Rule: Retransmit, Old: Probe, Failed: true}, Failed, NoTimer},
		{"INCOMPLETE counts mcast probes too", "linux-4.12", Incomplete, -9000, -100, 5,
			TimerWhy{Rule: Retransmit, Old: Incomplete, Solicit: true}, Incomplete, 1000},
		{"STALE has no timer", "linux-4.12", Stale, -9000, -100, 0,
			TimerWhy{Rule: TimerIdle, Old: Stale}, Stale, NoTimer},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := defaults()
			e := Entry{State: tc.state, Confirmed: now + tc.confirmed, Used: now + tc.used, Updated: now - 40000, Probes: tc.probes, Timer: now}
			w := Timer(Dev{Kernel: prof(t, tc.kernel), Parms: &p, Reach: 30000, Now: now}, &e)
			if w != tc.want {
				t.Errorf("why = %+v, want %+v", w, tc.want)
			}
			want := tc.wantTimer
			if want != NoTimer {
				want += now
			}
			if e.State != tc.wantState || e.Timer != want {
				t.Errorf("entry %s timer %d, want %s timer %d", e.State, e.Timer, tc.wantState, want)
			}
			if tc.wantState != tc.state && e.Updated != now {
				t.Errorf("a timer transition must set updated = now, got %d", e.Updated)
			}
		})
	}
}

func TestMaxProbesMcastReprobes(t *testing.T) {
	p := defaults()
	p.McastReprobes = 2
	e := Entry{State: Probe}
	for _, tc := range []struct {
		kernel string
		want   uint8
	}{{"linux-3.16", 3}, {"linux-4.12", 5}} {
		if got := MaxProbes(prof(t, tc.kernel), &e, &p); got != tc.want {
			t.Errorf("%s: PROBE max probes %d, want %d", tc.kernel, got, tc.want)
		}
	}
}

func TestEventSend(t *testing.T) {
	const now = 700
	tests := []struct {
		name      string
		state     State
		mcast     uint8
		want      SendRule
		wantState State
		wantTimer int32
		held      bool
	}{
		{"REACHABLE sends", Reachable, 3, SendNow, Reachable, NoTimer, false},
		{"PROBE sends with the cached lladdr", Probe, 3, SendNow, Probe, NoTimer, false},
		{"STALE -> DELAY", Stale, 3, SendStaleDelay, Delay, now + 5000, false},
		{"NONE -> INCOMPLETE, queued", None, 3, SendResolve, Incomplete, now + 1000, true},
		{"FAILED -> INCOMPLETE, queued", Failed, 3, SendResolve, Incomplete, now + 1000, true},
		{"no multicast probes: FAILED, dropped", None, 0, SendNoProbes, Failed, NoTimer, true},
		{"INCOMPLETE: queued behind the resolution", Incomplete, 3, SendQueued, Incomplete, NoTimer, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := defaults()
			p.McastSolicit = tc.mcast
			e := Entry{State: tc.state, LL: 1, Timer: NoTimer}
			w := EventSend(Dev{Kernel: prof(t, "linux-4.12"), Parms: &p, Reach: 30000, Now: now}, &e)
			if w.Rule != tc.want || w.Old != tc.state || w.Held() != tc.held {
				t.Errorf("why = %+v held %v, want rule %d held %v", w, w.Held(), tc.want, tc.held)
			}
			if e.State != tc.wantState || e.Timer != tc.wantTimer || e.Used != now {
				t.Errorf("entry %s timer %d used %d, want %s timer %d used %d", e.State, e.Timer, e.Used, tc.wantState, tc.wantTimer, now)
			}
		})
	}
}

func TestProbeNext(t *testing.T) {
	p := defaults()
	p.UcastSolicit, p.AppSolicit = 2, 1
	e := Entry{State: Probe}
	want := []ProbeKind{ProbeUnicast, ProbeUnicast, ProbeApp, ProbeMulticast, ProbeMulticast}
	for i, k := range want {
		if got := ProbeNext(&p, &e); got != k {
			t.Errorf("probe %d: %d, want %d", i+1, got, k)
		}
	}
	if e.Probes != uint8(len(want)) {
		t.Errorf("probes = %d, want %d", e.Probes, len(want))
	}
}

func TestRandReach(t *testing.T) {
	tests := []struct {
		base          int32
		want, outcome int
		r             int32
	}{
		{30000, 1, 0, 30000},      // one draw: base itself
		{30000, 3, 0, 15000},      // the lowest of three
		{30000, 3, 2, 44999},      // the highest of three: base/2 + base - 1
		{30000, 0, 7, 15007},      // every ms
		{4, 100, 3, 5},            // more draws than ms: every ms
		{30000, -1, 29999, 44999}, // negative means every ms
	}
	for _, tc := range tests {
		n := ReachDraws(tc.base, tc.want)
		if got := RandReach(tc.base, n, tc.outcome); got != tc.r {
			t.Errorf("base %d draws %d (n %d) outcome %d: %d, want %d", tc.base, tc.want, n, tc.outcome, got, tc.r)
		}
	}
}

func TestReasons(t *testing.T) {
	p := defaults()
	d := Dev{Kernel: prof(t, "linux-3.10"), Parms: &p, Reach: 42390, Now: 60000}
	tests := []struct {
		w     TimerWhy
		state State // after the timer
		tr    string
		want  string
	}{
		{TimerWhy{Rule: StillReachable, Old: Reachable}, Reachable, "REACHABLE, timer re-armed", "still alive: confirmed 14.389 s ago <= reachable_time 42.39 s"},
		{TimerWhy{Rule: DelayToProbe, Old: Delay}, Probe, "DELAY -> PROBE", "no confirmation for 14.389 s: probe"},
		{TimerWhy{Rule: Retransmit, Old: Probe, Failed: true}, Failed, "PROBE -> FAILED", "3 probes unanswered"},
		{TimerWhy{Rule: Retransmit, Old: Probe, Solicit: true}, Probe, "PROBE, timer re-armed", ""},
	}
	for _, tc := range tests {
		e := Entry{State: tc.state, Confirmed: 45611, Used: 59000, Probes: 3}
		if got := tc.w.Reason(d, &e); got != tc.want {
			t.Errorf("%+v: reason %q, want %q", tc.w, got, tc.want)
		}
		if got := tc.w.Transition(&e); got != tc.tr {
			t.Errorf("%+v: transition %q, want %q", tc.w, got, tc.tr)
		}
	}
	if got := ByUpdate.Describe("ARP"); got != "an ARP update" {
		t.Errorf("ByUpdate: %q", got)
	}
	if got := (SendWhy{Rule: SendStaleDelay, Old: Stale}).Reason(d); got != "STALE -> DELAY on transmit (__neigh_event_send): updated := 60.000, probe decision in 5 s" {
		t.Errorf("stale -> delay: %q", got)
	}
	// Secs(-500) is "0.500": the sign of a negative time above -1 s is
	// lost. Stories print it only in explainConverges for an entry that
	// was right before the move it is measured from (a move to the current
	// owner); kept as it was, so that stories stay byte-identical.
	for ms, want := range map[int32]string{1500: "1.500", 7: "0.007", -1500: "-1.500", -500: "0.500"} {
		if got := Secs(ms); got != want {
			t.Errorf("Secs(%d) = %q, want %q", ms, got, want)
		}
	}
}
