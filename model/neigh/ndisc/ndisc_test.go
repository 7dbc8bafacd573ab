package ndisc

import (
	"testing"

	"raceroute/model/neigh/nud"
	"raceroute/profile"
)

func dev(t *testing.T, kernel string) nud.Dev {
	t.Helper()
	p, err := profile.Lookup(kernel)
	if err != nil {
		t.Fatal(err)
	}
	parms := nud.Parms{BaseReachable: 30000, DelayFirstProbe: 5000, Retrans: 1000, UcastSolicit: 3, McastSolicit: 3}
	return nud.Dev{Kernel: &p, Parms: &parms, Reach: 30000, Now: 10000}
}

// ndisc_recv_na()'s decision for an NA from interface 2 (MAC 2) about a
// target whose entry caches MAC 1, per flags, entry state and kernel.
func TestRecvNA(t *testing.T) {
	entry := func(s nud.State) *nud.Entry {
		e := nud.Entry{State: s, LL: 1, Confirmed: 9000, Updated: 9000, Used: 9000, Timer: nud.NoTimer}
		if s == nud.Incomplete || s == nud.Failed || s == nud.None {
			e.LL = 0
		}
		return &e
	}
	tests := []struct {
		name   string
		kernel string
		in     In
		e      *nud.Entry
		rule   Rule
		res    nud.Result
		state  nud.State
		ll     uint8
	}{
		{"O set overrides a STALE entry at once: no locktime", "linux-3.10", In{NA: NA{Flags: Override, TLL: 2}, Multicast: true}, entry(nud.Stale),
			Updated, nud.Applied, nud.Stale, 2},
		{"O set, solicited: REACHABLE on the new MAC", "linux-6.12", In{NA: NA{Flags: Override | Solicited, TLL: 2}}, entry(nud.Delay),
			Updated, nud.Applied, nud.Reachable, 2},
		{"O clear on REACHABLE: STALE, the old MAC kept (WEAK_OVERRIDE)", "linux-4.12", In{NA: NA{TLL: 2}, Multicast: true}, entry(nud.Reachable),
			Updated, nud.Weakened, nud.Stale, 1},
		{"O clear on STALE: ignored", "linux-4.12", In{NA: NA{TLL: 2}, Multicast: true}, entry(nud.Stale),
			Updated, nud.Ignored, nud.Stale, 1},
		{"O clear on DELAY: ignored", "linux-3.10", In{NA: NA{TLL: 2}, Multicast: true}, entry(nud.Delay),
			Updated, nud.Ignored, nud.Delay, 1},
		{"an INCOMPLETE entry learns the MAC whatever O", "linux-3.10", In{NA: NA{Flags: Solicited, TLL: 2}}, entry(nud.Incomplete),
			Updated, nud.Applied, nud.Reachable, 2},
		{"a FAILED entry is left alone", "linux-6.12", In{NA: NA{Flags: Override, TLL: 2}, Multicast: true}, entry(nud.Failed),
			FailedEntry, 0, nud.Failed, 0},
		{"a solicited NA to a multicast address is dropped", "linux-6.12", In{NA: NA{Flags: Override | Solicited, TLL: 2}, Multicast: true}, entry(nud.Stale),
			McastSolicited, 0, nud.Stale, 1},
		{"drop_unsolicited_na=1 drops it (4.6 on)", "linux-4.9", In{NA: NA{Flags: Override, TLL: 2}, Multicast: true, DropUnsolicited: 1}, entry(nud.Stale),
			Dropped, 0, nud.Stale, 1},
		{"drop_unsolicited_na=1 does not touch a solicited NA", "linux-4.9", In{NA: NA{Flags: Override | Solicited, TLL: 2}, DropUnsolicited: 1}, entry(nud.Stale),
			Updated, nud.Applied, nud.Reachable, 2},
		{"drop_unsolicited_na does not exist before 4.6", "linux-4.4", In{NA: NA{Flags: Override, TLL: 2}, Multicast: true, DropUnsolicited: 1}, entry(nud.Stale),
			Updated, nud.Applied, nud.Stale, 2},
		{"our own address: no entry changes", "linux-6.12", In{NA: NA{Flags: Override, TLL: 2}, Multicast: true, TargetLocal: true}, entry(nud.Stale),
			OwnAddress, 0, nud.Stale, 1},
		{"PERMANENT refuses it", "linux-6.12", In{NA: NA{Flags: Override, TLL: 2}, Multicast: true}, entry(nud.Permanent),
			Updated, nud.Refused, nud.Permanent, 1},
		{"untracked: no entry is created before 5.19", "linux-5.15", In{NA: NA{Flags: Override, TLL: 2}, Multicast: true, AcceptUntracked: 1, Forwarding: 1}, entry(nud.None),
			NoEntry, 0, nud.None, 0},
		{"untracked: accept_untracked_na=1 on a router creates it STALE", "linux-6.12", In{NA: NA{Flags: Override | Solicited, TLL: 2}, AcceptUntracked: 1, Forwarding: 1}, entry(nud.None),
			Updated, nud.Applied, nud.Stale, 2},
		{"untracked: not on a host (forwarding 0)", "linux-6.12", In{NA: NA{Flags: Override, TLL: 2}, Multicast: true, AcceptUntracked: 1}, entry(nud.None),
			NoEntry, 0, nud.None, 0},
		{"untracked: 2 wants the source in a prefix", "linux-6.12", In{NA: NA{Flags: Override, TLL: 2}, Multicast: true, AcceptUntracked: 2, Forwarding: 1}, entry(nud.None),
			NoEntry, 0, nud.None, 0},
		{"untracked: 2 with the source in a prefix", "linux-6.12", In{NA: NA{Flags: Override, TLL: 2}, Multicast: true, AcceptUntracked: 2, Forwarding: 1, SrcInPrefix: true}, entry(nud.None),
			Updated, nud.Applied, nud.Stale, 2},
		{"untracked: no target link-layer option, nothing to create", "linux-6.12", In{NA: NA{Flags: Override}, Multicast: true, AcceptUntracked: 1, Forwarding: 1}, entry(nud.None),
			NoEntry, 0, nud.None, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			w := RecvNA(dev(t, tc.kernel), &tc.in, tc.e)
			if w.Rule != tc.rule {
				t.Fatalf("rule %d, want %d (%+v)", w.Rule, tc.rule, w)
			}
			if tc.rule == Updated && w.Update.Res != tc.res {
				t.Errorf("neigh_update() %d, want %d", w.Update.Res, tc.res)
			}
			if tc.e.State != tc.state || tc.e.LL != tc.ll {
				t.Errorf("entry %s ll %d, want %s ll %d", tc.e.State, tc.e.LL, tc.state, tc.ll)
			}
			if tc.rule == Updated && w.Flags&nud.WeakOverride == 0 {
				t.Error("ndisc_recv_na() always passes NEIGH_UPDATE_F_WEAK_OVERRIDE")
			}
		})
	}
}

// ndisc_recv_ns() answers a multicast NS with O set and the target
// link-layer option, a unicast one with neither; it records the prober
// STALE.
func TestRecvNS(t *testing.T) {
	for _, tc := range []struct {
		multicast bool
		fwd       uint8
		want      Flags
	}{{true, 0, Solicited | Override}, {false, 0, Solicited}, {true, 1, Solicited | Override | Router}} {
		e := nud.Entry{Timer: nud.NoTimer}
		w := RecvNS(dev(t, "linux-6.12"), &e, 3, tc.multicast, tc.fwd)
		if w.Answer != tc.want || w.TLL != tc.multicast {
			t.Errorf("multicast %v forwarding %d: answer %s tll %v, want %s tll %v", tc.multicast, tc.fwd, flagNames(w.Answer), w.TLL, flagNames(tc.want), tc.multicast)
		}
		if !w.Created || e.State != nud.Stale || e.LL != 3 {
			t.Errorf("the prober's entry: %s ll %d created %v, want a new STALE entry with its MAC", e.State, e.LL, w.Created)
		}
	}
}

func flagNames(f Flags) string {
	s := ""
	for _, x := range []struct {
		f Flags
		c string
	}{{Router, "R"}, {Solicited, "S"}, {Override, "O"}} {
		if f&x.f != 0 {
			s += x.c
		}
	}
	return s
}
