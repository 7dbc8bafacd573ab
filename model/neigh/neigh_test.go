package neigh

import (
	"net/netip"
	"testing"

	"raceroute/explore"
	"raceroute/model/neigh/arp"
	"raceroute/model/neigh/nud"
	"raceroute/profile"
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

func TestARPProcessCreation(t *testing.T) {
	tests := []struct {
		prof   string
		accept uint8
		sip    int
		op     uint8
		want   bool
	}{
		{"linux-3.10", 0, ipB, OpReply, false},
		{"linux-3.10", 1, ipB, OpReply, true},
		{"linux-3.16", 1, ipB, OpRequest, true},
		{"linux-3.16", 0, ipB, OpRequest, false},
		{"linux-4.12", 0, ipB, OpRequest, false},
		{"linux-4.12", 1, ipB, OpRequest, true},
		{"linux-6.12", 2, ipB, OpRequest, true},    // in eth2's subnet
		{"linux-6.12", 2, ipFar, OpRequest, false}, // outside it
		{"linux-6.12", 1, ipFar, OpRequest, true},
	}
	for _, tc := range tests {
		m, s := testModel(t, tc.prof, tc.accept)
		v := &env{s: &s, now: 1000}
		m.arpProcess(v, ifT, arp.Frame{Op: tc.op, SHA: ifB + 1, SIP: tc.sip, TIP: tc.sip, THA: THASelf, THAIface: ifB + 1}, false)
		sl := m.slotOf[ifT][tc.sip]
		got := s.Entries[sl].State == NUDStale && int(s.Entries[sl].LL)-1 == ifB
		if got != tc.want {
			t.Errorf("%s arp_accept=%d op %d from %s: created = %v, want %v", tc.prof, tc.accept, tc.op, m.cfg.IPs[tc.sip], got, tc.want)
		}
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
	m, s := testModel(t, "linux-3.10", 0)
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
	m, s := testModel(t, "linux-3.10", 0)
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
	m, s := testModel(t, "linux-3.10", 0)
	v := &env{s: &s, now: 5000}
	m.arpProcess(v, ifT, arp.Frame{Op: OpRequest, SHA: ifB + 1, SIP: ipB, TIP: ipT}, false)
	e := s.Entries[m.slotOf[ifT][ipB]]
	if e.State != NUDStale || int(e.LL)-1 != ifB || e.Updated != 5000 {
		t.Fatalf("entry for router-b = %s iface %d updated %d, want STALE router-b 5000", StateName(e.State), int(e.LL)-1, e.Updated)
	}
}

func TestUnresolvableDropsQueueAndCountsLoss(t *testing.T) {
	// Nobody owns the address: INCOMPLETE sends mcast_solicit broadcasts,
	// fails after ucast+app+mcast probes, and drops the queued packet.
	m, s := testModel(t, "linux-4.12", 0)
	s.Owner[ipV] = -1
	s.Entries[0] = Entry{State: NUDFailed, Timer: nud.NoTimer, Updated: -100000}
	delivered, queued := m.transmit(&env{s: &s, now: 1000}, 0)
	s.Flows[0].LastTx = 1000
	if delivered || !queued || s.Entries[0].State != NUDIncomplete || s.Entries[0].Probes != 4 {
		t.Fatalf("first tx: delivered %v queued %v state %s probes %d", delivered, queued, StateName(s.Entries[0].State), s.Entries[0].Probes)
	}
	// A second packet joins the queue: the streak of lost packets still
	// starts with the first.
	if delivered, queued := m.transmit(&env{s: &s, now: 1500}, 0); delivered || !queued {
		t.Fatalf("second tx: delivered %v queued %v", delivered, queued)
	}
	s.Flows[0].LastTx = 1500
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

// With no story recorded, no step allocates: the why values are plain
// values and the words are made only for a story. A step that formats
// text on the exploration path fails here.
func TestStepsAllocationFree(t *testing.T) {
	for _, prof := range profile.Names() {
		m, _ := testModel(t, prof, 1)
		cfg := *m.cfg
		cfg.Ifaces = append([]Iface(nil), cfg.Ifaces...)
		cfg.Ifaces[ifT].Draw = true
		cfg.Senders = []Sender{{Name: "garp", Iface: ifB, IP: ipV, Unicast: -1, Packets: []Packet{
			{Op: OpRequest, After: Window{10, 20}}, {Op: OpReply, After: Window{300, 400}, THA: THASelf}, {Op: OpReply, After: Window{900, 1000}, THA: THABroadcast}}}}
		cfg.Flows = []Flow{
			{Name: "ping", Iface: ifT, IP: ipV, Proto: ProtoICMP, Every: 1000, Backoff: 1, RTT: Window{1, 1}},
			{Name: "ssh", Iface: ifT, IP: ipB, Proto: ProtoTCP, Every: 700, Backoff: 2, MaxEvery: 5000, RTT: Window{1, 5}},
		}
		cfg.Moves = []Move{{IP: ipV, From: ifA, To: ifB, At: Window{0, 10}}}
		cfg.Watches = []Watch{{Kind: WatchConverges, Iface: ifT, IP: ipV, Limit: 1000, Move: 0, Flow: -1}, {Kind: WatchBlackhole, Flow: 0, Limit: 1000, Move: -1}}
		cfg.Draws = 3
		m, err := New(&cfg)
		if err != nil {
			t.Fatal(err)
		}
		buf := make([]explore.Step, 0, 64)
		steps := 0
		var s State // outside the run: the explorer, too, keeps its states
		allocs := testing.AllocsPerRun(10, func() {
			s = m.Init()
			for steps = 0; steps < 400; steps++ {
				buf = m.Pending(&s, buf[:0])
				if len(buf) == 0 {
					break
				}
				next := 0 // the earliest step, as a run without preemption picks it
				for i := range buf {
					if buf[i].Earliest < buf[next].Earliest {
						next = i
					}
				}
				st := buf[next]
				m.Fire(&s, st, st.Earliest, steps%max(st.Outcomes, 1), nil)
			}
		})
		if allocs != 0 {
			t.Errorf("%s: %v allocations in a run of %d steps without a story", prof, allocs, steps)
		}
		if steps < 100 {
			t.Errorf("%s: only %d steps: the run does not exercise the model", prof, steps)
		}
	}
}
