package neigh

import (
	"net/netip"
	"testing"
	"unsafe"

	"raceroute/explore/statetest"
)

// Every field of the used part of a State is in its encoding: a field
// added later and left out of encode fails here.
func TestEncodingCoversEveryField(t *testing.T) {
	m, _ := testModel(t, "linux-3.10", 0)
	// One of everything the state has a place for.
	cfg := *m.cfg
	cfg.Senders = []Sender{{Name: "garp", Iface: ifB, IP: ipV, Unicast: -1, Packets: []Packet{{Op: OpReply, THA: THASelf}}}}
	cfg.Moves = []Move{{IP: ipV, From: ifA, To: ifB, At: Window{0, 10}}}
	cfg.Watches = []Watch{{Kind: WatchConverges, Iface: ifT, IP: ipV, Limit: 1000, Move: 0, Flow: -1},
		{Kind: WatchStuck, Iface: ifT, IP: ipV, Limit: 1000, Move: -1, Flow: -1}}
	cfg.Admins = []Admin{{Name: "agent", Host: cfg.Ifaces[ifT].Host, Cmds: []AdminCmd{{Op: AdminDel, Iface: ifT, Slot: 0, LL: -1}}}}
	cfg.Tables = []Table{DefaultTable(cfg.Ifaces[ifT].Host, false)}
	cfg.Managed = DefaultManaged(cfg.Ifaces[ifT].Host, false)
	cfg.IPs = append(cfg.IPs[:len(cfg.IPs):len(cfg.IPs)], netip.MustParseAddr("10.0.0.99"))
	cfg.Owner = append(cfg.Owner[:len(cfg.Owner):len(cfg.Owner)], -1)
	m, err := New(&cfg)
	if err != nil {
		t.Fatal(err)
	}
	counts := map[string]int{
		"Now": 1, "Entries": len(cfg.Slots), "Ifs": len(cfg.Ifaces), "Flows": len(cfg.Flows),
		"Senders": len(cfg.Senders), "Owner": len(cfg.IPs), "MovedAt": len(cfg.Moves), "MoveAt": len(cfg.Moves),
		"GoodSince": len(cfg.Watches), "Announced": len(cfg.Watches), "AnnAt": len(cfg.Watches), "AnnLL": len(cfg.Watches), "DstSlot": 1,
		"AdminIdx": len(cfg.Admins), "AdminAt": len(cfg.Admins), "Tables": len(cfg.Tables),
		"Managed": 1,
	}
	used := func(l statetest.Leaf) bool {
		if l.Field == "Longest" {
			return l.Index < len(cfg.Watches) && cfg.Watches[l.Index].Kind == WatchStuck
		}
		n, ok := counts[l.Field]
		if !ok {
			t.Errorf("state field %s: the test does not know its used part; add it to the counts and to encode", l.Field)
			return false
		}
		return l.Index < n
	}
	enc := func(s *State) []byte { return m.Encode(s, nil) }
	if n := statetest.EveryFieldEncoded(t, m.Init(), enc, used); n < 40 {
		t.Fatalf("only %d leaves checked", n)
	}
}

// The state stays a small flat value: 820 bytes at bab2fed, 848 with
// neighbour discovery's fields, 904 with the ip neigh agents, tables and
// stuck streaks alone, 932 with both, and still 932 with the managed
// work's schedule in AnnLL's padding (docs/timed-exploration.md states
// it; raise both together, on purpose), 964 with the time of each flow's
// oldest queued packet (the loss streak of a dropped queue starts there).
func TestStateSize(t *testing.T) {
	n := unsafe.Sizeof(State{})
	t.Logf("neigh.State: %d bytes", n)
	if n > 964 {
		t.Fatalf("neigh.State is %d bytes, the budget is 964", n)
	}
}
