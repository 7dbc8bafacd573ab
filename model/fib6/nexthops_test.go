package fib6

import (
	"context"
	"net/netip"
	"strings"
	"testing"

	"raceroute/explore"
	"raceroute/kernel"
	"raceroute/model/fib6/nexthop"
)

func nhOp(t *testing.T, k OpKind, spec string) Op {
	t.Helper()
	if k == OpNexthopDel {
		n, err := nexthop.Parse(spec + " blackhole") // an id alone
		if err != nil {
			t.Fatal(err)
		}
		return Op{Kind: k, Nexthop: nexthop.Nexthop{ID: n.ID}}
	}
	return Op{Kind: k, Nexthop: mustNexthop(t, spec)}
}

// Nexthop objects (6.12): a replace moves every route using the object,
// directly or through a group, in one step; a delete takes its routes,
// leaves its groups, and removes a group it was the last member of.
func TestNexthopObjects(t *testing.T) {
	objs := []string{"id 1 via fe80::1 dev eth0", "id 2 via fe80::2 dev eth1", "id 10 group 1/2"}
	r1 := "2001:db8:1::/64 nhid 1 metric 1024"
	r2 := "2001:db8:2::/64 nhid 1 metric 1024"
	rg := "2001:db8:3::/64 nhid 10 metric 1024"
	routes := []string{r1, r2, rg}
	tests := []struct {
		name   string
		ops    []Op
		errno  kernel.Errno // of the last op
		want   []string
		lookup map[string]string // destination: what a packet to it does
		reason string
	}{
		{"replace moves both routes at once", []Op{nhOp(t, OpNexthopReplace, "id 1 via fe80::3 dev eth1")}, 0, routes,
			map[string]string{"2001:db8:1::1": "sent via fe80::3 dev eth1 (nexthop 1)", "2001:db8:2::1": "sent via fe80::3 dev eth1 (nexthop 1)"},
			"the 3 route(s) using it move at the same instant"},
		{"delete takes its routes and leaves the group", []Op{nhOp(t, OpNexthopDel, "id 1")}, 0, []string{rg},
			map[string]string{"2001:db8:3::1": "sent over nexthop group 10 (id 2 via fe80::2 dev eth1)"}, "leaves group 10"},
		{"the last member's delete removes the group and its routes", []Op{nhOp(t, OpNexthopDel, "id 2"), nhOp(t, OpNexthopDel, "id 1")}, 0, nil,
			nil, "group 10 had it as its last member"},
		{"add of an existing id is refused", []Op{nhOp(t, OpNexthopAdd, "id 1 via fe80::3 dev eth1")}, kernel.EEXIST, routes,
			map[string]string{"2001:db8:1::1": "sent via fe80::1 dev eth0 (nexthop 1)"}, "no NLM_F_REPLACE"},
		{"a group does not replace a single nexthop", []Op{nhOp(t, OpNexthopReplace, "id 1 group 2")}, kernel.EINVAL, routes, nil, "Can not replace a nexthop with a nexthop group."},
		{"a route to a missing nexthop is refused", []Op{nhOp(t, OpNexthopDel, "id 2"), {Kind: OpAdd, Route: mustRoute(t, "2001:db8:4::/64 nhid 2 metric 1024")}}, kernel.EINVAL,
			[]string{r1, r2, rg}, nil, "nexthop id 2 does not exist"},
		{"a blackhole replace drops the routes' packets", []Op{nhOp(t, OpNexthopReplace, "id 2 blackhole"), nhOp(t, OpNexthopDel, "id 10"), nhOp(t, OpNexthopReplace, "id 1 blackhole")}, 0, []string{r1, r2},
			map[string]string{"2001:db8:1::1": "dropped: nexthop 1 is a blackhole"}, "NLM_F_REPLACE"},
		{"a group of one blackhole drops", []Op{nhOp(t, OpNexthopDel, "id 1"), nhOp(t, OpNexthopReplace, "id 2 blackhole")}, 0, []string{rg},
			map[string]string{"2001:db8:3::1": "dropped: nexthop group 10's one path is a blackhole (id 2 blackhole)"}, "NLM_F_REPLACE"},
		{"a blackhole may not join a group of two paths", []Op{nhOp(t, OpNexthopReplace, "id 1 blackhole")}, kernel.EINVAL, routes, nil, "more than one path"},
		{"a route delete by nhid", []Op{{Kind: OpDel, Route: mustRoute(t, "2001:db8:1::/64 nhid 1")}}, 0, []string{r2, rg}, nil, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := Config{Profile: prof(t, "linux-6.12"), Actors: []Actor{{Name: "agent", Ops: tt.ops}}}
			for _, o := range objs {
				cfg.Nexthops = append(cfg.Nexthops, mustNexthop(t, o))
			}
			for _, r := range routes {
				cfg.Routes = append(cfg.Routes, mustRoute(t, r))
			}
			m, err := New(cfg)
			if err != nil {
				t.Fatal(err)
			}
			s := m.Init()
			var story []string
			var last kernel.Errno
			for _, op := range tt.ops {
				a, err := m.Exec(&s, op)
				if err != nil {
					t.Fatal(err)
				}
				last = a.Err
				if a.Ext != "" {
					story = append(story, a.Ext)
				}
			}
			if last != tt.errno {
				t.Errorf("answer %v, want %v", last, tt.errno)
			}
			if got := m.table(&s); strings.Join(got, "\n") != strings.Join(tt.want, "\n") {
				t.Fatalf("table:\n  %s\nwant:\n  %s", strings.Join(got, "\n  "), strings.Join(tt.want, "\n  "))
			}
			for dst, want := range tt.lookup {
				id := m.nowMatch(&s, netip.MustParseAddr(dst))
				if _, got := m.resolve(&s, id); got != want {
					t.Errorf("a packet to %s: %q, want %q", dst, got, want)
				}
			}
			// The story of the same ops, run as the actor's steps.
			_, events := runSeq(t, m, make([]int, len(tt.ops)))
			for _, e := range events {
				story = append(story, e.Reason)
			}
			if !strings.Contains(strings.Join(story, "\n"), tt.reason) {
				t.Errorf("story %q, want a line saying %q", story, tt.reason)
			}
		})
	}
}

// nowMatch is the route a lookup for dst uses in s.
func (m *Model) nowMatch(s *State, dst netip.Addr) uint8 {
	best, bits := uint8(0), -1
	for n, ni := range m.u.Nodes {
		if ni.Table == MainTable && ni.Prefix.Contains(dst) && ni.Prefix.Bits() > bits && s.Slots[n][0] != 0 {
			best, bits = s.Slots[n][0], ni.Prefix.Bits()
		}
	}
	return best
}

// Kernels before 5.3 have no nexthop objects: a config that uses one is
// refused, saying so.
func TestNexthopsRefusedBefore53(t *testing.T) {
	for _, p := range []string{"linux-4.19", "linux-5.4.0"} {
		cfg := Config{Profile: prof(t, p), Nexthops: []nexthop.Nexthop{mustNexthop(t, "id 1 via fe80::1 dev eth0")},
			Routes: []Route{mustRoute(t, "2001:db8:1::/64 nhid 1")}}
		_, err := New(cfg)
		if p == "linux-4.19" {
			if err == nil || !strings.Contains(err.Error(), "Linux 5.3 and later") {
				t.Errorf("%s: New: %v, want a refusal naming 5.3", p, err)
			}
		} else if err != nil {
			t.Errorf("%s: %v", p, err)
		}
	}
}

// The blackhole window: delete then add of a route leaves a state where
// a packet to it finds only the covering unreachable route, on 6.12
// where nothing clones; a replace, or a nexthop replace, has none.
func TestNoBlackhole(t *testing.T) {
	unr := "unreachable 2001:db8::/48 dev lo metric 1024"
	gw1 := "2001:db8:0:10::/80 via fe80::1 dev eth0 metric 1024"
	gw2 := "2001:db8:0:10::/80 via fe80::2 dev eth1 metric 1024"
	dst := netip.MustParseAddr("2001:db8:0:10::1")
	tests := []struct {
		name    string
		profile string
		routes  []string
		nhs     []string
		ops     []Op
		want    explore.Verdict
		explain string
	}{
		{"delete then add, 6.12", "linux-6.12", []string{unr, gw1}, nil, []Op{{Kind: OpDel, Route: mustRoute(t, gw1)}, {Kind: OpAdd, Route: mustRoute(t, gw2)}}, explore.Violated,
			"matches `unreachable 2001:db8::/48 dev lo metric 1024` and is dropped: -113 EHOSTUNREACH"},
		{"replace, 6.12", "linux-6.12", []string{unr, gw1}, nil, []Op{{Kind: OpReplace, Route: mustRoute(t, gw2)}}, explore.Holds, ""},
		{"delete then add, no covering route", "linux-6.12", []string{gw1}, nil, []Op{{Kind: OpDel, Route: mustRoute(t, gw1)}, {Kind: OpAdd, Route: mustRoute(t, gw2)}}, explore.Violated,
			"finds no route at all"},
		{"nexthop replace", "linux-6.12", []string{"2001:db8:0:10::/80 nhid 1 metric 1024"}, []string{"id 1 via fe80::1 dev eth0"},
			[]Op{nhOp(t, OpNexthopReplace, "id 1 via fe80::2 dev eth1")}, explore.Holds, ""},
		{"nexthop replace by a blackhole", "linux-6.12", []string{"2001:db8:0:10::/80 nhid 1 metric 1024"}, []string{"id 1 via fe80::1 dev eth0"},
			[]Op{nhOp(t, OpNexthopReplace, "id 1 blackhole")}, explore.Violated, "dropped: nexthop 1 is a blackhole"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := Config{Profile: prof(t, tt.profile), Actors: []Actor{{Name: "agent", Ops: tt.ops}, {Name: "flow", Dst: dst, Packets: 2}}}
			for _, n := range tt.nhs {
				cfg.Nexthops = append(cfg.Nexthops, mustNexthop(t, n))
			}
			for _, r := range tt.routes {
				cfg.Routes = append(cfg.Routes, mustRoute(t, r))
			}
			m, err := New(cfg)
			if err != nil {
				t.Fatal(err)
			}
			prop, err := m.NoBlackhole(dst)
			if err != nil {
				t.Fatal(err)
			}
			c := explore.NewChecker[State](m, []explore.Property[State]{prop})
			res := c.Check(context.Background(), explore.DefaultOptions())
			if res.Verdict != tt.want || (tt.want == explore.Holds && !res.Exhaustive) {
				t.Fatalf("verdict %s (exhaustive %v), want %s", res.Verdict, res.Exhaustive, tt.want)
			}
			if tt.explain != "" && !strings.Contains(res.Explanation, tt.explain) {
				t.Errorf("explanation %q, want it to say %q", res.Explanation, tt.explain)
			}
		})
	}
	m, _ := New(Config{Profile: prof(t, "linux-6.12"), Routes: []Route{mustRoute(t, gw1)}})
	if _, err := m.NoBlackhole(netip.MustParseAddr("2001:db9::1")); err == nil {
		t.Error("NoBlackhole accepted a destination no route covers")
	}
}

// The initial objects are made as `ip nexthop add` makes them, in order:
// a group before its members, or an id twice, is refused.
func TestInitialNexthopsChecked(t *testing.T) {
	for _, objs := range [][]string{
		{"id 10 group 1/2", "id 1 via fe80::1 dev eth0", "id 2 via fe80::2 dev eth1"},
		{"id 1 via fe80::1 dev eth0", "id 1 via fe80::2 dev eth1"},
	} {
		cfg := Config{Profile: prof(t, "linux-6.12")}
		for _, o := range objs {
			cfg.Nexthops = append(cfg.Nexthops, mustNexthop(t, o))
		}
		if _, err := New(cfg); err == nil || !strings.Contains(err.Error(), "refused") {
			t.Errorf("%v: New: %v, want a refusal", objs, err)
		}
	}
}
