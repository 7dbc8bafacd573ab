package fib6

import (
	"net/netip"
	"strings"
	"testing"

	"raceroute/explore"
	"raceroute/profile"
	"raceroute/trace"
)

func mustRoute(t *testing.T, s string) Route {
	t.Helper()
	r, err := ParseRoute(s)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func prof(t *testing.T, name string) profile.Profile {
	t.Helper()
	p, err := profile.Lookup(name)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// table renders the routes and clones of s, node by node, in list order.
func (m *Model) table(s *State) []string {
	var out []string
	for n := range m.u.Nodes {
		for _, id := range s.Slots[n] {
			if id != 0 {
				out = append(out, m.RouteText(id))
			}
		}
	}
	return out
}

// runSeq fires the actors' steps in the given order (actor indices) and
// returns the final state and story.
func runSeq(t *testing.T, m *Model, order []int) (State, []trace.Event) {
	t.Helper()
	s := m.Init()
	var story trace.Story
	for i, a := range order {
		var st *explore.Step
		for _, p := range m.Pending(&s, nil) {
			if p.Actor == a {
				p := p
				st = &p
			}
		}
		if st == nil {
			t.Fatalf("step %d: actor %d has no pending step", i, a)
		}
		m.Fire(&s, *st, 0, 0, &story)
	}
	return s, story.Events
}

func TestReplaceSemantics(t *testing.T) {
	gw := "2001:db8:0:10::/80 via fe80::1 dev eth0 proto babel metric 1024"
	unr := "unreachable 2001:db8:0:10::/80 dev lo proto babel metric 1024"
	gw2 := "2001:db8:0:10::/80 via fe80::2 dev eth1 proto babel metric 1024"
	tests := []struct {
		name    string
		profile string
		initial []string
		op      Op
		want    []string
	}{
		{"3.16 replaces the first route of the metric whatever its kind", "linux-3.16", []string{gw}, Op{Kind: OpReplace, Route: mustRoute(t, unr)}, []string{unr}},
		{"4.2 adds a reject route beside a gateway route", "linux-4.2", []string{gw}, Op{Kind: OpReplace, Route: mustRoute(t, unr)}, []string{gw, unr}},
		{"4.12 still has the quirk", "linux-4.12", []string{gw}, Op{Kind: OpReplace, Route: mustRoute(t, unr)}, []string{gw, unr}},
		{"5.6 replaces by fallback", "linux-5.6", []string{gw}, Op{Kind: OpReplace, Route: mustRoute(t, unr)}, []string{unr}},
		{"4.2 reverse direction works by fallback", "linux-4.2", []string{unr}, Op{Kind: OpReplace, Route: mustRoute(t, gw)}, []string{gw}},
		{"4.2 gateway by gateway", "linux-4.2", []string{gw}, Op{Kind: OpReplace, Route: mustRoute(t, gw2)}, []string{gw2}},
		{"replace with no route adds (NLM_F_CREATE)", "linux-3.16", nil, Op{Kind: OpReplace, Route: mustRoute(t, gw)}, []string{gw}},
		{"change with no route is refused (-ENOENT)", "linux-3.16", nil, Op{Kind: OpChange, Route: mustRoute(t, gw)}, nil},
		{"replace at another metric is an add", "linux-6.12", []string{gw}, Op{Kind: OpReplace, Route: mustRoute(t, "2001:db8:0:10::/80 via fe80::2 dev eth1 proto babel metric 512")}, []string{"2001:db8:0:10::/80 via fe80::2 dev eth1 proto babel metric 512", gw}},
		{"add with NLM_F_EXCL at an equal metric is refused", "linux-6.12", []string{gw}, Op{Kind: OpAdd, Route: mustRoute(t, gw2)}, []string{gw}},
		{"append at an equal metric goes after", "linux-6.12", []string{gw}, Op{Kind: OpAppend, Route: mustRoute(t, gw2)}, []string{gw, gw2}},
		{"append of the same nexthop is refused", "linux-6.12", []string{gw}, Op{Kind: OpAppend, Route: mustRoute(t, gw)}, []string{gw}},
		{"delete by gateway mismatch is refused", "linux-3.16", []string{gw}, Op{Kind: OpDel, Route: mustRoute(t, gw2)}, []string{gw}},
		{"delete without metric matches any", "linux-3.16", []string{gw}, Op{Kind: OpDel, Route: mustRoute(t, "2001:db8:0:10::/80 via fe80::1 dev eth0")}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := Config{Profile: prof(t, tt.profile), Actors: []Actor{{Name: "agent", Ops: []Op{tt.op}}}}
			for _, r := range tt.initial {
				cfg.Routes = append(cfg.Routes, mustRoute(t, r))
			}
			m, err := New(cfg)
			if err != nil {
				t.Fatal(err)
			}
			s, _ := runSeq(t, m, []int{0})
			got := m.table(&s)
			if strings.Join(got, "\n") != strings.Join(tt.want, "\n") {
				t.Fatalf("table:\n  %s\nwant:\n  %s", strings.Join(got, "\n  "), strings.Join(tt.want, "\n  "))
			}
		})
	}
}

func TestPruneWalk(t *testing.T) {
	base := []string{
		"unreachable 2001:db8::/48 dev lo metric 1024",
		"2001:db8:0:10::/80 via fe80::1 dev eth0 metric 1024",
	}
	tests := []struct {
		name   string
		warm   []string
		op     Op
		remain []string // clones left
	}{
		{"a /48 change does not reach clones under the /80", []string{"2001:db8:0:10::1", "2001:db8:0:20::1"},
			Op{Kind: OpDel, Route: mustRoute(t, "unreachable 2001:db8::/48 dev lo metric 1024")},
			[]string{"2001:db8:0:10::1 via fe80::1 dev eth0 metric 0 cache"}},
		{"a /80 change prunes its clones only", []string{"2001:db8:0:10::1", "2001:db8:0:20::1"},
			Op{Kind: OpDel, Route: mustRoute(t, "2001:db8:0:10::/80 via fe80::1 dev eth0")},
			[]string{"unreachable 2001:db8:0:20::1 dev lo metric 0 cache error -101"}},
		{"an add prunes below its node", []string{"2001:db8:0:20::1"},
			Op{Kind: OpAdd, Route: mustRoute(t, "2001:db8:0:20::/80 via fe80::2 dev eth0 metric 1024")}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := Config{Profile: prof(t, "linux-3.16"), Actors: []Actor{{Name: "agent", Ops: []Op{tt.op}}}}
			for _, r := range base {
				cfg.Routes = append(cfg.Routes, mustRoute(t, r))
			}
			for _, w := range tt.warm {
				cfg.Warm = append(cfg.Warm, netip.MustParseAddr(w))
			}
			m, err := New(cfg)
			if err != nil {
				t.Fatal(err)
			}
			s, _ := runSeq(t, m, []int{0})
			var clones []string
			for _, c := range m.clones(&s) {
				clones = append(clones, m.RouteText(c))
			}
			if strings.Join(clones, "\n") != strings.Join(tt.remain, "\n") {
				t.Fatalf("clones left:\n  %s\nwant:\n  %s", strings.Join(clones, "\n  "), strings.Join(tt.remain, "\n  "))
			}
		})
	}
}

// Two flows to one destination clone concurrently: the second insert
// gets -EEXIST, looks up again and hits the first one's clone.
func TestCloneInsertRetry(t *testing.T) {
	cfg := Config{
		Profile: prof(t, "linux-3.16"),
		Routes:  []Route{mustRoute(t, "2001:db8:0:10::/80 via fe80::1 dev eth0 metric 1024")},
		Actors: []Actor{
			{Name: "f1", Dst: netip.MustParseAddr("2001:db8:0:10::1"), Packets: 1},
			{Name: "f2", Dst: netip.MustParseAddr("2001:db8:0:10::1"), Packets: 1},
		},
	}
	m, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	// f1 match, f2 match, f1 alloc, f2 alloc, f1 insert, f2 insert
	// (-EEXIST), f2 relookup hits the cache.
	s, story := runSeq(t, m, []int{0, 1, 0, 1, 0, 1, 1})
	if got := m.table(&s); len(got) != 2 {
		t.Fatalf("table %v: want the /80 and one clone", got)
	}
	if s.Sent[0] != 1 || s.Sent[1] != 1 || s.Tries[1] != 0 {
		t.Fatalf("sent %v tries %v", s.Sent[:2], s.Tries[:2])
	}
	var sawEEXIST, sawHit bool
	for _, e := range story {
		sawEEXIST = sawEEXIST || strings.Contains(e.Reason, "-EEXIST")
		sawHit = sawHit || strings.Contains(e.Text, "cache hit")
	}
	if !sawEEXIST || !sawHit {
		t.Fatalf("story lacks the -EEXIST retry or the cache hit: %+v", story)
	}
}

func TestRouteErrorsPerVersion(t *testing.T) {
	for _, tt := range []struct {
		profile, want string
	}{
		{"linux-3.16", "unreachable 2001:db8:0:10::1 dev lo metric 0 cache error -101"},
		{"linux-3.10", "unreachable 2001:db8:0:10::1 dev lo metric 0 cache error -101"},
	} {
		cfg := Config{Profile: prof(t, tt.profile), Routes: []Route{mustRoute(t, "unreachable 2001:db8::/48")},
			Warm: []netip.Addr{netip.MustParseAddr("2001:db8:0:10::1")}}
		m, err := New(cfg)
		if err != nil {
			t.Fatal(err)
		}
		s := m.Init()
		if c := m.clones(&s); len(c) != 1 || m.RouteText(c[0]) != tt.want {
			t.Fatalf("%s: clones %v, want %q", tt.profile, m.table(&s), tt.want)
		}
	}
	// From 4.2 a lookup inserts nothing.
	cfg := Config{Profile: prof(t, "linux-4.2"), Routes: []Route{mustRoute(t, "unreachable 2001:db8::/48")},
		Warm: []netip.Addr{netip.MustParseAddr("2001:db8:0:10::1")}}
	m, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	s := m.Init()
	if c := m.clones(&s); len(c) != 0 {
		t.Fatalf("4.2 cloned on lookup: %v", m.table(&s))
	}
	if e := m.rejectErr(Unreachable); e != -101 {
		t.Fatalf("4.2 unreachable error %d, want -101", e)
	}
	m.p = prof(t, "linux-6.12")
	if e := m.rejectErr(Unreachable); e != -113 {
		t.Fatalf("6.x unreachable error %d, want -113", e)
	}
}

func TestNewRefusesOverCapacity(t *testing.T) {
	cfg := Config{Profile: prof(t, "linux-3.16")}
	for i := 0; i < MaxSlots+1; i++ {
		r := mustRoute(t, "2001:db8::/48 dev eth0 metric 1024")
		r.Metric = uint32(100 + i)
		cfg.Routes = append(cfg.Routes, r)
	}
	if _, err := New(cfg); err == nil || !strings.Contains(err.Error(), "at most") {
		t.Fatalf("New with %d routes at one prefix: %v", MaxSlots+1, err)
	}
}
