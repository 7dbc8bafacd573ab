package arp

import (
	"testing"

	"raceroute/model/neigh/nud"
	"raceroute/profile"
)

// Interfaces (index + 1 as lladdrs) and addresses of the test segment:
// tempest receives; router-a held the VIP, router-b announces it.
const (
	llA, llB         = 2, 3
	ipT, ipV, ipB, _ = 0, 1, 2, 3
)

func dev(t *testing.T, kernel string, now int32) (nud.Dev, *nud.Parms) {
	t.Helper()
	k, err := profile.Lookup(kernel)
	if err != nil {
		t.Fatal(err)
	}
	p := &nud.Parms{Locktime: 1000, BaseReachable: 30000, DelayFirstProbe: 5000, Retrans: 1000, UcastSolicit: 3, McastSolicit: 3}
	return nud.Dev{Kernel: &k, Parms: p, Reach: 30000, Now: now}, p
}

// garp is a gratuitous ARP for the VIP from router-b.
func garp(op uint8, tha THA) Frame {
	return Frame{Op: op, SHA: llB, SIP: ipV, TIP: ipV, THA: tha, THAIface: llB}
}

func TestProcessOverride(t *testing.T) {
	tests := []struct {
		name    string
		kernel  string
		accept  uint8
		f       Frame
		unicast bool
		age     int32 // now - updated when the frame arrives
		want    Why   // Update is checked for its Res only
		wantLL  uint8
		wantSt  nud.State
		// wantUpd: the entry's updated is now (moved) or unchanged.
		wantUpdMoved bool
	}{
		{"3.10 reply within locktime: ignored, window slides", "linux-3.10", 0, garp(Reply, THASelf), false, 500,
			Why{Garp: true, ReplyOK: true, Exists: true, State: nud.Stale, Update: nud.UpdateWhy{Res: nud.Ignored}}, llA, nud.Stale, true},
		{"3.10 reply exactly at locktime: time_after is strict", "linux-3.10", 0, garp(Reply, THASelf), false, 1000,
			Why{Garp: true, ReplyOK: true, Exists: true, State: nud.Stale, Update: nud.UpdateWhy{Res: nud.Ignored}}, llA, nud.Stale, true},
		{"3.10 reply after locktime: override", "linux-3.10", 0, garp(Reply, THASelf), false, 1001,
			Why{Garp: true, ReplyOK: true, Exists: true, LockPassed: true, Override: true, State: nud.Stale}, llB, nud.Stale, true},
		{"3.10 request, arp_accept=1: still not recognised", "linux-3.10", 1, garp(Request, THAZero), false, 500,
			Why{Garp: true, ReplyOK: true, Exists: true, State: nud.Stale, Update: nud.UpdateWhy{Res: nud.Ignored}}, llA, nud.Stale, true},
		{"3.16 request, arp_accept=1: gratuitous, overrides", "linux-3.16", 1, garp(Request, THAZero), false, 500,
			Why{Garp: true, ReplyOK: true, Recognised: true, Exists: true, Override: true, State: nud.Stale}, llB, nud.Stale, true},
		{"3.16 request, arp_accept=0: ignored", "linux-3.16", 0, garp(Request, THAZero), false, 500,
			Why{Garp: true, ReplyOK: true, Exists: true, State: nud.Stale, Update: nud.UpdateWhy{Res: nud.Ignored}}, llA, nud.Stale, true},
		{"3.16 reply, arp_accept=1: replies not recognised", "linux-3.16", 1, garp(Reply, THASelf), false, 500,
			Why{Garp: true, ReplyOK: true, Exists: true, State: nud.Stale, Update: nud.UpdateWhy{Res: nud.Ignored}}, llA, nud.Stale, true},
		{"4.11 reply: ignored, window slides", "linux-4.11", 0, garp(Reply, THASelf), false, 500,
			Why{Garp: true, ReplyOK: true, Exists: true, State: nud.Stale, Update: nud.UpdateWhy{Res: nud.Ignored}}, llA, nud.Stale, true},
		{"4.12 reply (tha = sha): gratuitous, overrides", "linux-4.12", 0, garp(Reply, THASelf), false, 500,
			Why{Garp: true, ReplyOK: true, Recognised: true, Exists: true, Override: true, State: nud.Stale}, llB, nud.Stale, true},
		{"4.12 reply with broadcast tha: not gratuitous, no slide", "linux-4.12", 0, garp(Reply, THABroadcast), false, 500,
			Why{Garp: true, Exists: true, State: nud.Stale, Update: nud.UpdateWhy{Res: nud.Ignored}}, llA, nud.Stale, false},
		{"4.12 request without arp_accept: overrides existing", "linux-4.12", 0, garp(Request, THAZero), false, 500,
			Why{Garp: true, ReplyOK: true, Recognised: true, Exists: true, Override: true, State: nud.Stale}, llB, nud.Stale, true},
		{"6.x unicast reply after locktime: REACHABLE", "linux-6.12", 0, garp(Reply, THASelf), true, 5000,
			Why{Garp: true, ReplyOK: true, Recognised: true, Exists: true, LockPassed: true, Override: true, State: nud.Reachable}, llB, nud.Reachable, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			const now = 10000
			d, _ := dev(t, tc.kernel, now)
			e := nud.Entry{State: nud.Stale, LL: llA, Confirmed: -120000, Updated: now - tc.age, Used: -120000, Timer: nud.NoTimer}
			w := Process(d, &In{Frame: tc.f, Unicast: tc.unicast, Accept: tc.accept}, &e)
			got := w
			got.Update = nud.UpdateWhy{Res: w.Update.Res}
			if got != tc.want {
				t.Errorf("why = %+v\n  want %+v", got, tc.want)
			}
			if e.LL != tc.wantLL || e.State != tc.wantSt {
				t.Errorf("entry = %s lladdr %d, want %s lladdr %d", e.State, e.LL, tc.wantSt, tc.wantLL)
			}
			if moved := e.Updated == now; moved != tc.wantUpdMoved {
				t.Errorf("updated = %d (moved to now: %v), want moved %v", e.Updated, moved, tc.wantUpdMoved)
			}
		})
	}
}

func TestProcessCreation(t *testing.T) {
	tests := []struct {
		kernel   string
		accept   uint8
		inSubnet bool
		op       uint8
		want     bool
	}{
		{"linux-3.10", 0, true, Reply, false},
		{"linux-3.10", 1, true, Reply, true},
		{"linux-3.16", 1, true, Request, true},
		{"linux-3.16", 0, true, Request, false},
		{"linux-4.12", 0, true, Request, false},
		{"linux-4.12", 1, true, Request, true},
		{"linux-6.12", 2, true, Request, true},   // in the interface's subnet
		{"linux-6.12", 2, false, Request, false}, // outside it
		{"linux-6.12", 1, false, Request, true},
		{"linux-4.12", 2, false, Request, true}, // before 6.x any non-zero value accepts
	}
	for _, tc := range tests {
		d, _ := dev(t, tc.kernel, 1000)
		e := nud.Entry{Timer: nud.NoTimer}
		f := Frame{Op: tc.op, SHA: llB, SIP: ipB, TIP: ipB, THA: THASelf, THAIface: llB}
		w := Process(d, &In{Frame: f, Accept: tc.accept, InSubnet: tc.inSubnet}, &e)
		got := e.State == nud.Stale && e.LL == llB
		if got != tc.want || w.Created != tc.want || w.Exists != tc.want {
			t.Errorf("%s arp_accept=%d op %d in subnet %v: entry created %v (why %+v), want %v", tc.kernel, tc.accept, tc.op, tc.inSubnet, got, w, tc.want)
		}
	}
	// With no entry slot there is nothing to create or update.
	d, _ := dev(t, "linux-6.12", 1000)
	if w := Process(d, &In{Frame: garp(Request, THAZero), Accept: 1}, nil); w.Created || w.Exists {
		t.Errorf("no slot: %+v", w)
	}
}

func TestProcessConfirmedPerVersion(t *testing.T) {
	// A unicast reply with a different lladdr within locktime: ignored on
	// every kernel; 3.10 and 4.20/6.x still refresh `confirmed` (of the
	// old MAC).
	for _, tc := range []struct {
		kernel        string
		wantConfirmed bool
	}{{"linux-3.10", true}, {"linux-4.12", false}, {"linux-5.6", true}, {"linux-6.12", true}} {
		d, _ := dev(t, tc.kernel, 10000)
		e := nud.Entry{State: nud.Stale, LL: llA, Updated: 9500, Timer: nud.NoTimer}
		w := Process(d, &In{Frame: Frame{Op: Reply, SHA: llB, SIP: ipV, TIP: ipT, THA: THASelf, THAIface: 1}, Unicast: true}, &e)
		if w.Update.Res != nud.Ignored || e.LL != llA {
			t.Errorf("%s: lladdr changed within locktime (%+v)", tc.kernel, w)
		}
		if got := e.Confirmed == 10000; got != tc.wantConfirmed {
			t.Errorf("%s: confirmed refreshed = %v, want %v", tc.kernel, got, tc.wantConfirmed)
		}
	}
}

func TestProcessRequestForUs(t *testing.T) {
	// router-b asks who-has tempest's address: neigh_event_ns() creates
	// or overrides tempest's entry for router-b (STALE), whatever
	// locktime; a request for another address is an ordinary update.
	d, _ := dev(t, "linux-3.10", 5000)
	f := Frame{Op: Request, SHA: llB, SIP: ipB, TIP: ipT}
	e := nud.Entry{Timer: nud.NoTimer}
	w := Process(d, &In{Frame: f, TargetLocal: true}, &e)
	if !w.ForUs || !w.Flush || e.State != nud.Stale || e.LL != llB || e.Updated != 5000 {
		t.Fatalf("why %+v, entry %s ll %d updated %d: want for-us, flush, STALE router-b at 5000", w, e.State, e.LL, e.Updated)
	}
	e = nud.Entry{State: nud.Reachable, LL: llA, Updated: 4900, Timer: nud.NoTimer}
	if w := Process(d, &In{Frame: f, TargetLocal: true}, &e); !w.ForUs || w.Update.Res != nud.Applied || e.LL != llB {
		t.Errorf("within locktime: why %+v ll %d, want router-b's lladdr", w, e.LL)
	}
	e = nud.Entry{State: nud.Reachable, LL: llA, Updated: 4900, Timer: nud.NoTimer}
	if w := Process(d, &In{Frame: f}, &e); w.ForUs || w.Update.Res != nud.Ignored {
		t.Errorf("not our address: why %+v, want an ordinary ignored update", w)
	}
}

func TestGarpNote(t *testing.T) {
	tests := []struct {
		kernel string
		accept uint8
		f      Frame
		want   string
	}{
		{"linux-3.10", 0, garp(Reply, THASelf), "gratuitous reply: not recognised on linux-3.10"},
		{"linux-3.16", 1, garp(Request, THAZero), "gratuitous request: recognised (arp_accept=1), overrides locktime"},
		{"linux-3.16", 1, garp(Reply, THASelf), "gratuitous reply: not recognised on linux-3.16 (requests only)"},
		{"linux-3.16", 0, garp(Request, THAZero), "gratuitous request: not recognised, arp_accept=0"},
		{"linux-4.12", 0, garp(Reply, THASelf), "gratuitous reply: recognised, overrides locktime"},
		{"linux-4.12", 0, garp(Reply, THABroadcast), "reply with target MAC != sender MAC: not gratuitous (arp_is_garp)"},
		{"linux-4.12", 0, Frame{Op: Reply, SHA: llB, SIP: ipV, TIP: ipT}, ""},
	}
	for _, tc := range tests {
		d, _ := dev(t, tc.kernel, 10000)
		e := nud.Entry{State: nud.Stale, LL: llA, Updated: 9500, Timer: nud.NoTimer}
		in := &In{Frame: tc.f, Accept: tc.accept}
		w := Process(d, in, &e)
		if got := w.GarpNote(d.Kernel, in); got != tc.want {
			t.Errorf("%s %+v: %q, want %q", tc.kernel, tc.f, got, tc.want)
		}
	}
	d, _ := dev(t, "linux-4.12", 10000)
	in := &In{Frame: garp(Request, THAZero)}
	if w := Process(d, in, nil); w.GarpNote(d.Kernel, in) != "gratuitous, but no entry and arp_accept refuses creation" {
		t.Errorf("no entry: %q", w.GarpNote(d.Kernel, in))
	}
}
