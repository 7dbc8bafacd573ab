package fib6

import (
	"net/netip"
	"testing"

	"raceroute/explore/statetest"
	"raceroute/model/fib6/nexthop"
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
	checkEncoding(t, cfg, 20)
	// With nexthop objects (6.12): their two arrays are encoded too.
	nh := Config{
		Profile:  prof(t, "linux-6.12"),
		Nexthops: []nexthop.Nexthop{mustNexthop(t, "id 1 via fe80::1 dev eth0"), mustNexthop(t, "id 2 via fe80::2 dev eth1"), mustNexthop(t, "id 10 group 1/2")},
		Routes:   []Route{mustRoute(t, "2001:db8:0:10::/80 nhid 10 metric 1024")},
		Actors: []Actor{
			{Name: "agent", Ops: []Op{{Kind: OpNexthopDel, Nexthop: nexthop.Nexthop{ID: 1}}}},
			{Name: "f1", Dst: netip.MustParseAddr("2001:db8:0:10::1"), Packets: 1},
		},
	}
	checkEncoding(t, nh, 10)
}

func checkEncoding(t *testing.T, cfg Config, leaves int) {
	t.Helper()
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
		case "NH", "NHLive":
			return l.Index < len(m.nh.ids)
		}
		t.Errorf("state field %s: the test does not know its used part; add it here and to Encode", l.Field)
		return false
	}
	enc := func(s *State) []byte { return m.Encode(s, nil) }
	if n := statetest.EveryFieldEncoded(t, m.Init(), enc, used); n < leaves {
		t.Fatalf("only %d leaves checked", n)
	}
}

func mustNexthop(t *testing.T, s string) nexthop.Nexthop {
	t.Helper()
	n, err := nexthop.Parse(s)
	if err != nil {
		t.Fatal(err)
	}
	return n
}
