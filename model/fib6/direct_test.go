package fib6

import (
	"net/netip"
	"strings"
	"testing"

	"raceroute/kernel"
)

// Exec answers as 6.x does, extended ACK texts included (net/ipv6/
// route.c ip6_route_del() and net/ipv6/ip6_fib.c fib6_add_1(), 6.12).
func TestExecAnswers(t *testing.T) {
	p := prof(t, "linux-6.12")
	op := func(k OpKind, s string) Op { return Op{Kind: k, Route: mustRoute(t, s)} }
	tests := []struct {
		name string
		ops  []Op
		want []Answer
	}{
		{"change without any route at the prefix: no tree node",
			[]Op{op(OpChange, "2001:db8:1::/64 dev eth0")},
			[]Answer{{kernel.ENOENT, extNoMatch}}},
		{"change with a route of another metric: the node exists",
			[]Op{op(OpAdd, "2001:db8:1::/64 dev eth0 metric 100"), op(OpChange, "2001:db8:1::/64 dev eth0")},
			[]Answer{{}, {kernel.ENOENT, ""}}},
		{"change at a prefix where two routed prefixes below branch: an intermediate node",
			[]Op{op(OpAdd, "2001:db8:1::/65 dev eth0"), op(OpAdd, "2001:db8:1:0:8000::/65 dev eth0"), op(OpChange, "2001:db8:1::/64 dev eth0")},
			[]Answer{{}, {}, {kernel.ENOENT, ""}}},
		{"delete in a table never made",
			[]Op{op(OpDel, "2001:db8:1::/64 dev eth0 table 100")},
			[]Answer{{kernel.ESRCH, extTableMissing}}},
		{"delete in a table a refused request made",
			[]Op{op(OpChange, "2001:db8:1::/64 dev eth0 table 100"), op(OpDel, "2001:db8:1::/64 dev eth0 table 100")},
			[]Answer{{kernel.ENOENT, extNoMatch}, {kernel.ESRCH, ""}}},
		{"delete in main, always there",
			[]Op{op(OpDel, "2001:db8:1::/64 dev eth0")},
			[]Answer{{kernel.ESRCH, ""}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, err := New(Config{Profile: p, Actors: []Actor{{Name: "a", Ops: tt.ops}}})
			if err != nil {
				t.Fatal(err)
			}
			s := m.Init()
			for i, o := range tt.ops {
				got, err := m.Exec(&s, o)
				if err != nil {
					t.Fatal(err)
				}
				if got != tt.want[i] {
					t.Errorf("op %d %s: got %+v, want %+v", i+1, o, got, tt.want[i])
				}
			}
		})
	}
}

// Get and Table report what an RTM_GETROUTE and a dump would.
func TestGetAndTable(t *testing.T) {
	p := prof(t, "linux-6.12")
	ops := []Op{
		{Kind: OpAdd, Route: mustRoute(t, "unreachable 2001:db8::/48")},
		{Kind: OpAdd, Route: mustRoute(t, "2001:db8:0:1::/64 via fe80::1 dev eth0 metric 100")},
	}
	dst := netip.MustParseAddr("2001:db8:0:1::1")
	other := netip.MustParseAddr("2001:db8:0:2::1")
	none := netip.MustParseAddr("2001:db9::1")
	m, err := New(Config{Profile: p, Actors: []Actor{{Name: "a", Ops: ops}, {Name: "f", Dst: dst, Packets: 1}, {Name: "g", Dst: other, Packets: 1}, {Name: "h", Dst: none, Packets: 1}}})
	if err != nil {
		t.Fatal(err)
	}
	s := m.Init()
	for _, o := range ops {
		if a, err := m.Exec(&s, o); err != nil || a.Err != 0 {
			t.Fatalf("%s: %+v %v", o, a, err)
		}
	}
	for _, tt := range []struct {
		dst  netip.Addr
		want string
		err  kernel.Errno
	}{{dst, "2001:db8:0:1::/64 via fe80::1 dev eth0 metric 100", 0}, {other, "unreachable 2001:db8::/48 dev lo metric 1024", kernel.EHOSTUNREACH}, {none, "", kernel.ENETUNREACH}} {
		l, err := m.Get(&s, tt.dst)
		if err != nil {
			t.Fatal(err)
		}
		got := ""
		if !l.Null {
			got = l.Route.String()
		}
		if got != tt.want || l.Err != tt.err {
			t.Errorf("get %s: %q %v, want %q %v", tt.dst, got, l.Err, tt.want, tt.err)
		}
	}
	if _, err := m.Get(&s, netip.MustParseAddr("2001:db8::99")); err == nil {
		t.Error("get of a destination the model was not built with: no error")
	}
	tab := m.Table(&s)
	if len(tab) != 2 || tab[0].Route.Prefix.Bits() != 48 || tab[1].Route.Prefix.Bits() != 64 {
		t.Errorf("table: %+v", tab)
	}
}

// ECMP siblings, as lab --fuzz found them on 6.18: a replace of a route
// with siblings removes them all (fib6_add_rt2node(), since 4.2), and a
// lookup matches the whole group. 3.16 replaces the first route only.
func TestSiblings(t *testing.T) {
	gw1, gw2 := "2001:db8:2::/64 via fe80::1 dev d1", "2001:db8:2::/64 via fe80::2 dev d1"
	dst := netip.MustParseAddr("2001:db8:2::5")
	for _, tt := range []struct {
		prof, last string
		want       []string
		group      int
	}{
		{"linux-6.12", "replace " + gw1, []string{gw1 + " metric 1024"}, 0},
		{"linux-6.12", "replace unreachable 2001:db8:2::/64", []string{"unreachable 2001:db8:2::/64 dev lo metric 1024"}, 0},
		{"linux-6.12", "", []string{gw2 + " metric 1024", gw1 + " metric 1024"}, 2},
		{"linux-3.16", "replace " + gw1, []string{gw1 + " metric 1024", gw1 + " metric 1024"}, 0},
		// ip6_route_del(): without a gateway, 4.11 on deletes the siblings
		// too (found by lab/fuzz); with one, only that hop goes.
		{"linux-6.12", "del 2001:db8:2::/64 dev d1", nil, 0},
		{"linux-4.11", "del 2001:db8:2::/64 dev d1", nil, 0},
		{"linux-4.9", "del 2001:db8:2::/64 dev d1", []string{gw1 + " metric 1024"}, 0},
		{"rhel-7.9", "del 2001:db8:2::/64 dev d1", []string{gw1 + " metric 1024"}, 0},
		{"linux-6.12", "del " + gw2, []string{gw1 + " metric 1024"}, 0},
	} {
		t.Run(tt.prof+" "+tt.last, func(t *testing.T) {
			ops := []Op{{Kind: OpAdd, Route: mustRoute(t, gw2)}, {Kind: OpAppend, Route: mustRoute(t, gw1)}}
			if tt.last != "" {
				verb, line, _ := strings.Cut(tt.last, " ")
				k := map[string]OpKind{"replace": OpReplace, "del": OpDel}[verb]
				ops = append(ops, Op{Kind: k, Route: mustRoute(t, line)})
			}
			m, err := New(Config{Profile: prof(t, tt.prof), Actors: []Actor{{Name: "a", Ops: ops}, {Name: "f", Dst: dst, Packets: 1}}})
			if err != nil {
				t.Fatal(err)
			}
			s := m.Init()
			for _, o := range ops {
				if a, err := m.Exec(&s, o); err != nil || a.Err != 0 {
					t.Fatalf("%s: %+v %v", o, a, err)
				}
			}
			var got []string
			for _, r := range m.Table(&s) {
				if !r.Cache {
					got = append(got, r.Route.String())
				}
			}
			if strings.Join(got, "; ") != strings.Join(tt.want, "; ") {
				t.Errorf("table: %q, want %q", got, tt.want)
			}
			if tt.prof == "linux-6.12" && len(tt.want) > 0 {
				l, err := m.Get(&s, dst)
				if err != nil || len(l.Group) != tt.group {
					t.Errorf("get: group %v (%v), want %d routes", l.Group, err, tt.group)
				}
			}
		})
	}
}
