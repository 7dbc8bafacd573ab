package neigh

import (
	"net/netip"
	"testing"

	"raceroute/model/profile"
)

// Interfaces and addresses of the test segment.
const (
	ifT, ifA, ifB = 0, 1, 2 // tempest, router-a, router-b
	ipT, ipV, ipB = 0, 1, 2 // tempest's, the moving VIP (router-a's), router-b's
	ipFar         = 3       // router-b's address outside the subnet
)

func mustProfile(t *testing.T, name string) profile.Profile {
	t.Helper()
	p, err := profile.Lookup(name)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// testModel builds tempest, router-a and router-b on 10.0.0.0/24 with
// tempest's entry for the VIP in slot 0 and, for arp_accept tests, an
// (empty) slot 1 for router-b's far address and a flow to the VIP.
func testModel(t *testing.T, prof string, accept uint8) (*Model, State) {
	t.Helper()
	sys := DefaultSysctl()
	sys.ArpAccept = accept
	mac := func(b byte) [6]byte { return [6]byte{0xfa, 0x16, 0x3e, b, b, b} }
	pfx := netip.MustParsePrefix("10.0.0.0/24")
	cfg := &Config{
		Profile: mustProfile(t, prof),
		Hosts:   []Host{{Name: "tempest", Ifaces: []int{0}}, {Name: "router-a", Ifaces: []int{1}}, {Name: "router-b", Ifaces: []int{2}}},
		Ifaces: []Iface{
			{Host: 0, Name: "eth2", MAC: mac(0x05), Prefix: pfx, Sysctl: sys},
			{Host: 1, Name: "qg-a", MAC: mac(0xaa), Prefix: pfx, Sysctl: DefaultSysctl()},
			{Host: 2, Name: "qg-b", MAC: mac(0xbb), Prefix: pfx, Sysctl: DefaultSysctl()},
		},
		IPs:   []netip.Addr{netip.MustParseAddr("10.0.0.5"), netip.MustParseAddr("10.0.0.10"), netip.MustParseAddr("10.0.0.3"), netip.MustParseAddr("192.168.9.9")},
		Owner: []int{ifT, ifA, ifB, ifB},
		Slots: []Slot{
			{Iface: ifT, IP: ipV, Init: &InitEntry{State: NUDStale, LL: ifA, Age: 120000}},
			{Iface: ifT, IP: ipFar},
			{Iface: ifT, IP: ipB},
		},
		Flows: []Flow{{Name: "ping", Iface: ifT, IP: ipV, Proto: ProtoICMP, Every: 1000, Backoff: 1, RTT: Window{1, 1}}},
	}
	m, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	s := m.Init()
	s.Ifs[ifT].Reach, s.Ifs[ifT].Drawn = 30000, 1
	return m, s
}

// garp is a gratuitous ARP for the VIP from router-b.
func garp(op uint8, tha THA) frame {
	return frame{op: op, sha: ifB + 1, sip: ipV, tip: ipV, tha: tha, thaIface: ifB + 1}
}

func TestARPProcessOverride(t *testing.T) {
	tests := []struct {
		name    string
		prof    string
		accept  uint8
		f       frame
		unicast bool
		age     int32 // now - updated when the frame arrives
		wantLL  int   // interface whose MAC the entry holds afterwards
		wantSt  uint8
		// wantUpd: the entry's updated is now (moved) or unchanged.
		wantUpdMoved bool
	}{
		{"3.10 reply within locktime: ignored, window slides", "linux-3.10-rhel7.3", 0, garp(OpReply, THASelf), false, 500, ifA, NUDStale, true},
		{"3.10 reply exactly at locktime: time_after is strict", "linux-3.10-rhel7.3", 0, garp(OpReply, THASelf), false, 1000, ifA, NUDStale, true},
		{"3.10 reply after locktime: override", "linux-3.10-rhel7.3", 0, garp(OpReply, THASelf), false, 1001, ifB, NUDStale, true},
		{"3.10 request, arp_accept=1: still not recognised", "linux-3.10-rhel7.3", 1, garp(OpRequest, THAZero), false, 500, ifA, NUDStale, true},
		{"3.16 request, arp_accept=1: gratuitous, overrides", "linux-3.16", 1, garp(OpRequest, THAZero), false, 500, ifB, NUDStale, true},
		{"3.16 request, arp_accept=0: ignored", "linux-3.16", 0, garp(OpRequest, THAZero), false, 500, ifA, NUDStale, true},
		{"3.16 reply, arp_accept=1: replies not recognised", "linux-3.16", 1, garp(OpReply, THASelf), false, 500, ifA, NUDStale, true},
		{"4.11 reply: ignored, window slides", "linux-4.11", 0, garp(OpReply, THASelf), false, 500, ifA, NUDStale, true},
		{"4.12 reply (tha = sha): gratuitous, overrides", "linux-4.12", 0, garp(OpReply, THASelf), false, 500, ifB, NUDStale, true},
		{"4.12 reply with broadcast tha: not gratuitous, no slide", "linux-4.12", 0, garp(OpReply, THABroadcast), false, 500, ifA, NUDStale, false},
		{"4.12 request without arp_accept: overrides existing", "linux-4.12", 0, garp(OpRequest, THAZero), false, 500, ifB, NUDStale, true},
		{"6.x unicast reply after locktime: REACHABLE", "linux-6.x", 0, garp(OpReply, THASelf), true, 5000, ifB, NUDReachable, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m, s := testModel(t, tc.prof, tc.accept)
			const now = 10000
			s.Entries[0].Updated = now - tc.age
			v := &env{s: &s, now: now}
			m.arpProcess(v, ifT, tc.f, tc.unicast)
			e := s.Entries[0]
			if int(e.LL)-1 != tc.wantLL || e.State != tc.wantSt {
				t.Errorf("entry = %s lladdr of iface %d, want %s of iface %d", StateName(e.State), int(e.LL)-1, StateName(tc.wantSt), tc.wantLL)
			}
			if moved := e.Updated == now; moved != tc.wantUpdMoved {
				t.Errorf("updated = %d (moved to now: %v), want moved %v", e.Updated, moved, tc.wantUpdMoved)
			}
		})
	}
}

func TestARPProcessCreation(t *testing.T) {
	tests := []struct {
		prof   string
		accept uint8
		sip    int
		op     uint8
		want   bool
	}{
		{"linux-3.10-rhel7.3", 0, ipB, OpReply, false},
		{"linux-3.10-rhel7.3", 1, ipB, OpReply, true},
		{"linux-3.16", 1, ipB, OpRequest, true},
		{"linux-3.16", 0, ipB, OpRequest, false},
		{"linux-4.12", 0, ipB, OpRequest, false},
		{"linux-4.12", 1, ipB, OpRequest, true},
		{"linux-6.x", 2, ipB, OpRequest, true},    // in eth2's subnet
		{"linux-6.x", 2, ipFar, OpRequest, false}, // outside it
		{"linux-6.x", 1, ipFar, OpRequest, true},
	}
	for _, tc := range tests {
		m, s := testModel(t, tc.prof, tc.accept)
		v := &env{s: &s, now: 1000}
		m.arpProcess(v, ifT, frame{op: tc.op, sha: ifB + 1, sip: tc.sip, tip: tc.sip, tha: THASelf, thaIface: ifB + 1}, false)
		sl := m.slotOf[ifT][tc.sip]
		got := s.Entries[sl].State == NUDStale && int(s.Entries[sl].LL)-1 == ifB
		if got != tc.want {
			t.Errorf("%s arp_accept=%d op %d from %s: created = %v, want %v", tc.prof, tc.accept, tc.op, m.cfg.IPs[tc.sip], got, tc.want)
		}
	}
}

func TestNeighUpdateConfirmed(t *testing.T) {
	// A unicast reply with a different lladdr within locktime: ignored on
	// every kernel; 4.20/6.x still refresh `confirmed` (of the old MAC).
	tests := []struct {
		prof          string
		wantConfirmed bool
	}{
		{"linux-3.10-rhel7.3", true}, // confirmed = now before the override check
		{"linux-4.12", false},
		{"linux-5.6", true},
		{"linux-6.x", true},
	}
	for _, tc := range tests {
		m, s := testModel(t, tc.prof, 0)
		s.Entries[0].Updated = 9500
		v := &env{s: &s, now: 10000}
		m.arpProcess(v, ifT, frame{op: OpReply, sha: ifB + 1, sip: ipV, tip: ipT, tha: THASelf, thaIface: ifT + 1}, true)
		e := s.Entries[0]
		if int(e.LL)-1 != ifA {
			t.Errorf("%s: lladdr changed within locktime", tc.prof)
		}
		if got := e.Confirmed == 10000; got != tc.wantConfirmed {
			t.Errorf("%s: confirmed refreshed = %v, want %v", tc.prof, got, tc.wantConfirmed)
		}
	}
}

func TestTimerTransitions(t *testing.T) {
	tests := []struct {
		name      string
		prof      string
		state     uint8
		confirmed int32 // relative to now
		used      int32 // relative to now
		wantState uint8
		wantTimer int32 // relative to now, or noTimer
	}{
		{"DELAY confirmed within delay_first_probe_time", "linux-3.10-rhel7.3", NUDDelay, -4000, -100, NUDReachable, 26000},
		{"DELAY unconfirmed: probe", "linux-3.10-rhel7.3", NUDDelay, -6000, -100, NUDProbe, 1000},
		{"REACHABLE still alive", "linux-4.12", NUDReachable, -10000, -50000, NUDReachable, 20000},
		{"REACHABLE expired, used recently: DELAY", "linux-4.12", NUDReachable, -31000, -1000, NUDDelay, 5000},
		{"REACHABLE expired, unused: STALE", "linux-4.12", NUDReachable, -31000, -6000, NUDStale, noTimer},
		{"REACHABLE at confirmed+reachable_time: re-armed HZ/2 later", "linux-3.10-rhel7.3", NUDReachable, -30000, -6000, NUDReachable, 500},
		{"6.x re-arms HZ/100 later", "linux-6.x", NUDReachable, -30000, -6000, NUDReachable, 10},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m, s := testModel(t, tc.prof, 0)
			s.Owner[ipV] = ifB // probes to router-a go unanswered
			const now = 100000
			e := &s.Entries[0]
			e.State, e.Confirmed, e.Used, e.Updated = tc.state, now+tc.confirmed, now+tc.used, now-40000
			m.timer(&env{s: &s, now: now}, 0)
			if e.State != tc.wantState {
				t.Fatalf("state = %s, want %s", StateName(e.State), StateName(tc.wantState))
			}
			want := tc.wantTimer
			if want != noTimer {
				want += now
			}
			if e.Timer != want {
				t.Errorf("timer = %d, want %d", e.Timer, want)
			}
			if tc.wantState != tc.state && e.Updated != now {
				t.Errorf("a timer transition must set updated = now, got %d", e.Updated)
			}
		})
	}
}

func TestProbeToFailedAndResolve(t *testing.T) {
	// After the move router-a no longer answers: PROBE sends 3 unicast
	// probes to its MAC, the entry fails, and the next transmission
	// resolves router-b with a broadcast.
	m, s := testModel(t, "linux-4.11", 0)
	s.Owner[ipV] = ifB
	e := &s.Entries[0]
	e.State, e.Confirmed, e.Timer = NUDDelay, 0, 10000
	for now := int32(10000); e.State != NUDFailed; now += 1000 {
		if now > 20000 {
			t.Fatalf("never failed: %s probes %d", StateName(e.State), e.Probes)
		}
		m.timer(&env{s: &s, now: now}, 0)
	}
	if e.Probes != 3 || e.Updated != 13000 {
		t.Fatalf("FAILED after %d probes at %d, want 3 at 13000", e.Probes, e.Updated)
	}
	delivered, queued := m.transmit(&env{s: &s, now: 15000}, 0)
	if !queued || !delivered || s.Flows[0].Queued != 0 {
		t.Fatalf("the packet must be queued and sent on resolution: delivered %v queued %v still queued %d", delivered, queued, s.Flows[0].Queued)
	}
	if e.State != NUDReachable || int(e.LL)-1 != ifB {
		t.Fatalf("entry = %s iface %d, want REACHABLE router-b", StateName(e.State), int(e.LL)-1)
	}
}

func TestEventSendStaleToDelay(t *testing.T) {
	m, s := testModel(t, "linux-3.10-rhel7.3", 0)
	delivered, queued := m.transmit(&env{s: &s, now: 700}, 0)
	e := s.Entries[0]
	if queued || !delivered {
		t.Fatalf("STALE entry must send at once with its cached MAC: delivered %v queued %v", delivered, queued)
	}
	if e.State != NUDDelay || e.Updated != 700 || e.Timer != 5700 || e.Used != 700 {
		t.Fatalf("got %s updated %d timer %d used %d, want DELAY 700 5700 700", StateName(e.State), e.Updated, e.Timer, e.Used)
	}
}

func TestSharedDstConfirmsWrongNeighbour(t *testing.T) {
	for _, tc := range []struct {
		prof string
		want bool
	}{{"linux-4.2", true}, {"linux-4.11", false}} {
		m, s := testModel(t, tc.prof, 0)
		// An ACK of another flow on the same subnet route: dst_confirm().
		if m.cfg.Profile.Confirmation == profile.ConfirmSharedDst {
			s.Ifs[ifT].DstPending = 1
		}
		m.transmit(&env{s: &s, now: 700}, 0)
		if got := s.Entries[0].Confirmed == 700; got != tc.want {
			t.Errorf("%s: the VIP's entry confirmed by another flow's ACK = %v, want %v", tc.prof, got, tc.want)
		}
	}
}

func TestEncodeCanonical(t *testing.T) {
	m, s := testModel(t, "linux-3.10-rhel7.3", 0)
	a := m.Encode(&s, nil)
	s2 := s
	if string(m.Encode(&s2, nil)) != string(a) {
		t.Fatal("equal states encode differently")
	}
	s2.Entries[0].Updated++
	if string(m.Encode(&s2, nil)) == string(a) {
		t.Fatal("different states encode equally")
	}
}

func TestRequestForUsCreatesAndReplies(t *testing.T) {
	// router-b asks who-has tempest's address: neigh_event_ns() creates or
	// overrides tempest's entry for router-b (STALE), whatever locktime.
	m, s := testModel(t, "linux-3.10-rhel7.3", 0)
	v := &env{s: &s, now: 5000}
	m.arpProcess(v, ifT, frame{op: OpRequest, sha: ifB + 1, sip: ipB, tip: ipT}, false)
	e := s.Entries[m.slotOf[ifT][ipB]]
	if e.State != NUDStale || int(e.LL)-1 != ifB || e.Updated != 5000 {
		t.Fatalf("entry for router-b = %s iface %d updated %d, want STALE router-b 5000", StateName(e.State), int(e.LL)-1, e.Updated)
	}
}

func TestSameLladdrStaleFromDelay(t *testing.T) {
	// A STALE update carrying the cached MAC while the entry is DELAY:
	// 3.10 keeps the state only for CONNECTED entries (DELAY -> STALE, the
	// DELAY timer is cancelled); 4.12 on keeps DELAY.
	for _, tc := range []struct {
		prof string
		want uint8
	}{{"linux-3.10-rhel7.3", NUDStale}, {"linux-4.12", NUDDelay}, {"linux-6.x", NUDDelay}} {
		m, s := testModel(t, tc.prof, 0)
		e := &s.Entries[0]
		e.State, e.Timer, e.Updated = NUDDelay, 9000, 1000
		// a gratuitous request from router-a itself (same MAC), after locktime
		m.arpProcess(&env{s: &s, now: 5000}, ifT, frame{op: OpRequest, sha: ifA + 1, sip: ipV, tip: ipV}, false)
		if e.State != tc.want {
			t.Errorf("%s: state %s, want %s", tc.prof, StateName(e.State), StateName(tc.want))
		}
		if tc.want == NUDStale && e.Timer != noTimer {
			t.Errorf("%s: DELAY timer not cancelled", tc.prof)
		}
	}
}

func TestUnresolvableDropsQueueAndCountsLoss(t *testing.T) {
	// Nobody owns the address: INCOMPLETE sends mcast_solicit broadcasts,
	// fails after ucast+app+mcast probes, and drops the queued packet.
	m, s := testModel(t, "linux-4.12", 0)
	s.Owner[ipV] = -1
	s.Entries[0] = Entry{State: NUDFailed, Timer: noTimer, Updated: -100000}
	delivered, queued := m.transmit(&env{s: &s, now: 1000}, 0)
	s.Flows[0].LastTx = 1000
	if delivered || !queued || s.Entries[0].State != NUDIncomplete || s.Entries[0].Probes != 4 {
		t.Fatalf("first tx: delivered %v queued %v state %s probes %d", delivered, queued, StateName(s.Entries[0].State), s.Entries[0].Probes)
	}
	for now := int32(2000); s.Entries[0].State == NUDIncomplete; now += 1000 {
		if now > 10000 {
			t.Fatal("never failed")
		}
		m.timer(&env{s: &s, now: now}, 0)
	}
	if s.Entries[0].Probes != 6 || s.Flows[0].Queued != 0 || s.Flows[0].LossSince != 1000 {
		t.Fatalf("probes %d queued %d lossSince %d, want 6 0 1000", s.Entries[0].Probes, s.Flows[0].Queued, s.Flows[0].LossSince)
	}
}
