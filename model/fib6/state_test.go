package fib6

import (
	"net/netip"
	"testing"

	"raceroute/explore/statetest"
)

// Every field of the used part of a State is in its encoding: a field
// added later and left out of Encode fails here.
func TestEncodingCoversEveryField(t *testing.T) {
	cfg := Config{
		Profile: prof(t, "linux-3.16"),
		Routes: []Route{
			mustRoute(t, "unreachable 2001:db8::/48 dev lo metric 1024"),
			mustRoute(t, "2001:db8:0:10::/80 via fe80::1 dev eth0 metric 1024"),
		},
		Actors: []Actor{
			{Name: "babeld", Ops: []Op{{Kind: OpDel, Route: mustRoute(t, "2001:db8:0:10::/80 via fe80::1 dev eth0 metric 1024")}}},
			{Name: "f1", Dst: netip.MustParseAddr("2001:db8:0:10::1"), Packets: 2},
			{Name: "f2", Dst: netip.MustParseAddr("2001:db8:0:10::2"), Packets: 1},
		},
	}
	m, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	used := func(l statetest.Leaf) bool {
		switch l.Field {
		case "Slots":
			return l.Index < len(m.u.Nodes)
		case "PC", "Reg", "Tries", "Sent":
			return l.Index < len(m.actors)
		case "Tables":
			return true
		case "X":
			return m.x != nil
		}
		t.Errorf("state field %s: the test does not know its used part; add it here and to Encode", l.Field)
		return false
	}
	enc := func(s *State) []byte { return m.Encode(s, nil) }
	if n := statetest.EveryFieldEncoded(t, m.Init(), enc, used); n < 20 {
		t.Fatalf("only %d leaves checked", n)
	}
}
