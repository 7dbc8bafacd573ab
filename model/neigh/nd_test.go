package neigh

import (
	"net/netip"
	"strings"
	"testing"

	"raceroute/model/neigh/ndisc"
	"raceroute/profile"
	"raceroute/trace"
)

// segment builds client (iface 0) with a flow "other" to a host on the
// subnet (iface 2, address 2) and a ping to a moving address (address 1,
// iface 1 at t=0), in IPv4 or IPv6.
func segment(t *testing.T, prof string, v6 bool, other Flow) (*Model, State) {
	t.Helper()
	pfx, addr := netip.MustParsePrefix("10.0.0.0/24"), func(b byte) netip.Addr { return netip.AddrFrom4([4]byte{10, 0, 0, b}) }
	sys := DefaultSysctl()
	if v6 {
		pfx, sys = netip.MustParsePrefix("2001:db8::/64"), DefaultSysctl6()
		addr = func(b byte) netip.Addr { return netip.AddrFrom16([16]byte{0x20, 0x01, 0x0d, 0xb8, 15: b}) }
	}
	mac := func(b byte) [6]byte { return [6]byte{2, 0, 0, 0, 0, b} }
	other.Name, other.Iface, other.IP, other.Every, other.Backoff = "other", 0, 2, 1000, 1
	if other.RTT == (Window{}) {
		other.RTT = Window{1, 1}
	}
	cfg := &Config{
		Profile: mustProfile(t, prof),
		Hosts:   []Host{{Name: "client", Ifaces: []int{0}}, {Name: "a", Ifaces: []int{1}}, {Name: "c", Ifaces: []int{2}}},
		Ifaces: []Iface{
			{Host: 0, Name: "eth0", MAC: mac(5), Prefix: pfx, Sysctl: sys},
			{Host: 1, Name: "eth0", MAC: mac(0xa), Prefix: pfx, Sysctl: sys},
			{Host: 2, Name: "eth0", MAC: mac(0xc), Prefix: pfx, Sysctl: sys},
		},
		IPs:   []netip.Addr{addr(5), addr(10), addr(11)},
		Owner: []int{0, 1, 2},
		Slots: []Slot{
			{Iface: 0, IP: 1, Init: &InitEntry{State: NUDStale, LL: 1, Age: 60000}},
			{Iface: 0, IP: 2, Init: &InitEntry{State: NUDReachable, LL: 2}},
		},
		Flows: []Flow{other, {Name: "ping", Iface: 0, IP: 1, Proto: ProtoICMP, Every: 1000, Backoff: 1}},
	}
	m, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	s := m.Init()
	s.Ifs[0].Reach, s.Ifs[0].Drawn = 30000, 1
	return m, s
}

// The peer's answer to the other flow arrives (an ACK, or a UDP reply),
// then the ping to the moved address leaves: is the moved address's
// entry confirmed by it? Before 4.11 a TCP ACK's dst_confirm() lands on
// the dst the subnet shares (IPv4; IPv6 from 4.2), so the ping consumes
// it; IPv6 before 4.2 has a /128 clone per destination; a UDP answer
// confirms nothing; MSG_CONFIRM confirms only the datagram's own peer.
func TestWhatTrafficConfirms(t *testing.T) {
	tcp := Flow{Proto: ProtoTCP}
	udpConfirm := Flow{Proto: ProtoUDP, Confirm: true}
	udp := Flow{Proto: ProtoUDP}
	for _, tc := range []struct {
		name string
		prof string
		v6   bool
		f    Flow
		// wrong: the ping's entry was confirmed; own: the other flow's
		// next packet confirmed its own entry.
		wrong, own bool
	}{
		// the ping consumed the ACK's confirmation: none is left for the
		// session's own peer
		{"tcp, IPv4, shared dst", "linux-3.10", false, tcp, true, false},
		{"tcp, IPv4, per skb", "linux-4.11", false, tcp, false, true},
		{"tcp, IPv6 before 4.2: a clone per destination", "linux-3.16", true, tcp, false, true},
		{"tcp, IPv6 4.2: the per-CPU route shared", "linux-4.2", true, tcp, true, false},
		{"tcp, IPv6 RHEL 7.3 (the 4.2 routes)", "rhel-7.3", true, tcp, true, false},
		{"tcp, IPv6 per skb", "linux-6.12", true, tcp, false, true},
		{"udp MSG_CONFIRM, shared dst: consumed by its own datagram", "linux-3.10", false, udpConfirm, false, true},
		{"udp MSG_CONFIRM, per skb", "linux-6.12", false, udpConfirm, false, true},
		{"udp MSG_CONFIRM, IPv6 before 4.2", "linux-3.16", true, udpConfirm, false, true},
		{"udp without MSG_CONFIRM", "linux-3.10", false, udp, false, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m, s := segment(t, tc.prof, tc.v6, tc.f)
			m.fireFlow(&env{s: &s, now: 0}, 0, 0) // the other flow's packet
			if tc.f.acked() {
				if s.Flows[0].AckPending == 0 {
					t.Fatal("a delivered packet of an acknowledged flow waits for its answer")
				}
				m.fireFlow(&env{s: &s, now: 1}, 0, 0) // its answer
			} else if s.Flows[0].AckPending != 0 {
				t.Fatal("udp without MSG_CONFIRM waits for no answer")
			}
			m.transmit(&env{s: &s, now: 500}, 1) // the ping
			if got := s.Entries[0].Confirmed == 500; got != tc.wrong {
				t.Errorf("the moved address confirmed by the other flow = %v, want %v", got, tc.wrong)
			}
			rec := &trace.Story{}
			m.fireFlow(&env{s: &s, now: 1000, rec: rec}, 0, 0)
			if tc.f.Confirm {
				want := "MSG_CONFIRM: skb_set_dst_pending_confirm() -> sock_confirm_neigh()"
				if m.cfg.Profile.Confirmation == profile.ConfirmSharedDst {
					want = "udp_sendmsg(MSG_CONFIRM) -> dst_confirm(), consumed by this datagram's dst_neigh_output()"
				}
				if len(rec.Events) == 0 || !strings.Contains(rec.Events[len(rec.Events)-1].Reason, want) {
					t.Errorf("the datagram's story line does not say %q: %+v", want, rec.Events)
				}
			}
			if got := s.Entries[1].Confirmed == 1000; got != tc.own {
				t.Errorf("the other flow's next packet confirmed its own peer = %v, want %v", got, tc.own)
			}
			if s.Ifs[0].DstPending != 0 && tc.f.Proto == ProtoUDP {
				t.Error("a MSG_CONFIRM datagram leaves no confirmation pending on the shared dst")
			}
		})
	}
}

// A probe of an IPv6 entry is an NS; the owner answers with a solicited
// NA: unicast NS to the cached (old) MAC go unanswered after a move, the
// multicast one after FAILED resolves the new owner, and the story tells
// each with [NDISC] lines and the flags.
func TestNDiscProbeAndAnswer(t *testing.T) {
	m, s := segment(t, "linux-6.12", true, Flow{Proto: ProtoICMP})
	s.Owner[1] = 2 // the address moved to c
	e := &s.Entries[0]
	e.State, e.Confirmed, e.Timer = NUDDelay, 0, 10000
	rec := &trace.Story{}
	for now := int32(10000); e.State != NUDFailed; now += 1000 {
		if now > 20000 {
			t.Fatalf("never failed: %s probes %d", StateName(e.State), e.Probes)
		}
		m.timer(&env{s: &s, now: now, rec: rec}, 0)
	}
	delivered, queued := m.transmit(&env{s: &s, now: 15000, rec: rec}, 1)
	if !queued || !delivered || e.State != NUDReachable || int(e.LL)-1 != 2 {
		t.Fatalf("after FAILED the ping must resolve c by a multicast NS: delivered %v queued %v entry %s ll %d", delivered, queued, StateName(e.State), int(e.LL)-1)
	}
	var story strings.Builder
	for _, ev := range rec.Events {
		story.WriteString(string(ev.Label) + " " + ev.Text + " | " + ev.Reason + "\n")
	}
	for _, want := range []string{
		"NDISC eth0 tx NS who-has 2001:db8::a to 02:00:00:00:00:0a | probe 1: unicast to the cached lladdr (ndisc_solicit); a does not own",
		"NDISC eth0 tx NS who-has 2001:db8::a to ff02::1:ff00:000a",
		"NDISC eth0 rx NA 2001:db8::a is-at 02:00:00:00:00:0c [SO]",
	} {
		if !strings.Contains(story.String(), want) {
			t.Errorf("story lacks %q:\n%s", want, story.String())
		}
	}
}

// An unsolicited NA reaches every other IPv6 interface and is judged by
// ndisc_recv_na(); the announced watch records what the entry held.
func TestAnnounceNA(t *testing.T) {
	for _, tc := range []struct {
		flags ndisc.Flags
		want  int8
	}{{ndisc.Override, annTaken}, {0, annMissed}} {
		m, s := segment(t, "linux-6.12", true, Flow{Proto: ProtoICMP})
		cfg := *m.cfg
		cfg.Senders = []Sender{{Name: "na", Iface: 2, IP: 1, Unicast: -1, Packets: []Packet{{Op: OpNA, NA: tc.flags}}}}
		cfg.Watches = []Watch{{Kind: WatchAnnounced, Iface: 0, IP: 1, Move: -1, Flow: -1}}
		m, err := New(&cfg)
		if err != nil {
			t.Fatal(err)
		}
		m.fireSender(&env{s: &s, now: 100}, 0, 0)
		if s.Announced[0] != tc.want {
			t.Errorf("flags %s: announced %d, want %d (entry %s ll %d)", naFlags(tc.flags), s.Announced[0], tc.want, StateName(s.Entries[0].State), s.Entries[0].LL)
		}
		holds := m.Properties(1000)[0].Holds(&s)
		if holds != (tc.want == annTaken) {
			t.Errorf("flags %s: announcement-taken holds = %v", naFlags(tc.flags), holds)
		}
	}
}
