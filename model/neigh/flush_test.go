package neigh

import (
	"net/netip"
	"testing"

	"raceroute/explore"
)

// A packet queued on an INCOMPLETE entry leaves through n->output once an
// ARP update made the entry valid (__neigh_update(), 3.10 and 6.12): for
// a STALE entry that is neigh_resolve_output(), whose neigh_event_send()
// moves it to DELAY. Seen live by lab --fuzz on 6.18: the entry was in
// PROBE where the model left it STALE.
func TestFlushedPacketMovesStaleToDelay(t *testing.T) {
	for _, prof := range []string{"linux-3.10", "linux-6.12"} {
		t.Run(prof, func(t *testing.T) {
			sys := DefaultSysctl()
			sys.DelayFirstProbe, sys.Retrans = 300, 500
			pfx := netip.MustParsePrefix("10.77.0.0/24")
			cfg := &Config{
				Profile: mustProfile(t, prof),
				Hosts:   []Host{{Name: "recv", Ifaces: []int{0}}, {Name: "old", Ifaces: []int{1}}},
				Ifaces: []Iface{
					{Host: 0, Name: "eth0", MAC: [6]byte{2, 0, 0, 0, 0, 1}, Prefix: pfx, Sysctl: sys},
					{Host: 1, Name: "eth0", MAC: [6]byte{2, 0, 0, 0, 0, 0xa}, Prefix: pfx, Sysctl: DefaultSysctl()},
				},
				IPs:   []netip.Addr{netip.MustParseAddr("10.77.0.1"), netip.MustParseAddr("10.77.0.10")},
				Owner: []int{0, -1},
				Slots: []Slot{{Iface: 0, IP: 1}},
				// The packet at 0 ms starts the resolution; nobody answers.
				Flows: []Flow{{Name: "p", Iface: 0, IP: 1, Proto: ProtoICMP, Every: 1000, Backoff: 1, Count: 1}},
				// A gratuitous request from old at 100 ms resolves it (STALE).
				Senders: []Sender{{Name: "s", Iface: 1, IP: 1, Unicast: 0, Packets: []Packet{{Op: OpRequest, After: Window{100, 100}}}}},
			}
			m, err := New(cfg)
			if err != nil {
				t.Fatal(err)
			}
			s := m.Init()
			for s.Now <= 100 {
				pend := m.Pending(&s, nil)
				if len(pend) == 0 {
					break
				}
				st := pend[0]
				for _, p := range pend[1:] {
					if p.Earliest < st.Earliest {
						st = p
					}
				}
				if st.Earliest > 100 {
					break
				}
				m.Fire(&s, st, max(st.Earliest, explore.Time(s.Now)), 0, nil)
			}
			e := s.Entries[0]
			if e.State != NUDDelay || e.Timer != 100+sys.DelayFirstProbe || e.Used != 100 {
				t.Errorf("after the update at 100 ms: state %s timer %d used %d, want DELAY, timer %d, used 100", e.State, e.Timer, e.Used, 100+sys.DelayFirstProbe)
			}
		})
	}
}
