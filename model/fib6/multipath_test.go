package fib6

import (
	"strings"
	"testing"
)

// Multipath routes per version: an initial table listing two next hops
// of one metric is one ECMP route; a replace of one next hop takes the
// whole set from 4.2 and only itself before; a delete without a gateway
// takes every sibling from 4.11; an append joins the set only when it
// qualifies for ECMP.
func TestMultipath(t *testing.T) {
	gw1 := "2001:db8:0:10::/80 via fe80::1 dev eth0 metric 1024"
	gw2 := "2001:db8:0:10::/80 via fe80::2 dev eth1 metric 1024"
	gw3 := "2001:db8:0:10::/80 via fe80::3 dev eth0 metric 1024"
	dev := "2001:db8:0:10::/80 dev eth1 metric 1024"
	set := []string{gw1, gw2}
	tests := []struct {
		name, profile string
		initial       []string
		op            Op
		want          []string
		reason        string // in the story of the op
	}{
		{"3.10: replace of a next hop keeps its siblings", "linux-3.10", set, Op{Kind: OpReplace, Route: mustRoute(t, gw3)}, []string{gw3, gw2}, "its ECMP siblings stay"},
		{"4.2: replace of a next hop removes all siblings", "linux-4.2", set, Op{Kind: OpReplace, Route: mustRoute(t, gw3)}, []string{gw3}, "remove all siblings"},
		{"6.12: the same", "linux-6.12", set, Op{Kind: OpReplace, Route: mustRoute(t, gw3)}, []string{gw3}, "went with it"},
		{"4.9: delete without gateway takes one next hop", "linux-4.9", set, Op{Kind: OpDel, Route: mustRoute(t, "2001:db8:0:10::/80 dev eth0")}, []string{gw2}, ""},
		{"4.11: delete without gateway takes every next hop", "linux-4.11", set, Op{Kind: OpDel, Route: mustRoute(t, "2001:db8:0:10::/80 dev eth0")}, nil, "__ip6_del_rt_siblings"},
		{"append of a gateway route joins the set", "linux-6.12", set, Op{Kind: OpAppend, Route: mustRoute(t, gw3)}, []string{gw1, gw2, gw3}, "a multipath route of 3 next hops"},
		{"append of a device route is not a sibling", "linux-6.12", []string{gw1}, Op{Kind: OpAppend, Route: mustRoute(t, dev)}, []string{gw1, dev}, "not an ECMP sibling"},
		{"5.6: replace of the set by a device route replaces the whole set", "linux-5.6", set, Op{Kind: OpReplace, Route: mustRoute(t, dev)}, []string{dev}, "remove all siblings"},
		{"4.2: replace of the set by a device route adds it beside", "linux-4.2", set, Op{Kind: OpReplace, Route: mustRoute(t, dev)}, []string{gw1, gw2, dev}, "added beside"},
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
			s, story := runSeq(t, m, []int{0})
			if got := m.table(&s); strings.Join(got, "\n") != strings.Join(tt.want, "\n") {
				t.Fatalf("table:\n  %s\nwant:\n  %s", strings.Join(got, "\n  "), strings.Join(tt.want, "\n  "))
			}
			var reasons []string
			for _, e := range story {
				reasons = append(reasons, e.Reason)
			}
			if !strings.Contains(strings.Join(reasons, "\n"), tt.reason) {
				t.Errorf("story reasons %q, want one saying %q", reasons, tt.reason)
			}
		})
	}
}

// An initial table that lists the same next hop twice is still refused.
func TestInitialECMPDuplicateRefused(t *testing.T) {
	r := mustRoute(t, "2001:db8:0:10::/80 via fe80::1 dev eth0 metric 1024")
	if _, err := New(Config{Profile: prof(t, "linux-6.12"), Routes: []Route{r, r}}); err == nil || !strings.Contains(err.Error(), "EEXIST") {
		t.Fatalf("New: %v, want -EEXIST", err)
	}
	// Two routes of one metric that can not be siblings: the second is
	// refused as `ip -6 route add` refuses it.
	u := mustRoute(t, "unreachable 2001:db8:0:10::/80 dev lo metric 1024")
	if _, err := New(Config{Profile: prof(t, "linux-6.12"), Routes: []Route{r, u}}); err == nil {
		t.Fatal("New accepted a gateway route and an unreachable route at one metric")
	}
}
