package view_test

import (
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"testing"

	"raceroute/trace"
	"raceroute/watch/finding"
	"raceroute/watch/internal/watchtest"
	"raceroute/watch/view"
)

// apply applies recs to a new view.
func apply(recs []trace.Record) *view.View {
	v := view.New()
	for i := range recs {
		v.Apply(&recs[i])
	}
	return v
}

func TestPruneClones(t *testing.T) {
	const (
		r48    = "[ROUTE]2001:db8::/48 via fe80::1 dev eth0 metric 1024"
		r80    = "[ROUTE]2001:db8:0:1::/80 via fe80::1 dev eth0 metric 1024"
		clone  = "[RTCAH]2001:db8:0:1::5 via fe80::1 dev eth0 metric 0 cache"
		clone2 = "[RTCAH]2001:db8:0:2::5 via fe80::1 dev eth0 metric 0 cache"
		r4     = "[ROUTE]10.0.0.0/8 via 192.0.2.1 dev eth0"
		clone4 = "[RTCAH]10.1.2.3 via 192.0.2.1 dev eth0 cache"
		r4b    = "[ROUTE]172.16.0.0/12 via 192.0.2.1 dev eth0"
	)
	tests := []struct {
		name  string
		lines []string
		left  []string // cache entries left, by destination
	}{
		{"deleting the covering route prunes its clones", []string{r48, r80, clone, clone2, watchtest.Deleted(r80)}, []string{"2001:db8:0:2::5/128"}},
		{"adding a route prunes clones below it (fib6_add)", []string{r48, clone, r80}, nil},
		{"a nearer node with routes shields clones from a change above it", []string{r48, r80, clone, watchtest.Deleted(r48)}, []string{"2001:db8:0:1::5/128"}},
		{"a clone born after the add survives (the seed's race)", []string{r48, watchtest.Deleted(r80), r80, clone}, []string{"2001:db8:0:1::5/128"}},
		{"resync adds do not prune", []string{r48, clone, strings.Replace(r80, "]", "]Resync ", 1)}, []string{"2001:db8:0:1::5/128"}},
		{"IPv4: any change flushes the cache", []string{r4, clone4, r4b}, nil},
		{"link removal drops the routes and clones on it", []string{r48, clone2, "[LINK]Deleted 2: eth0: <> mtu 1500"}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v := apply(watchtest.ParseLines(t, tt.lines...))
			var left []string
			for _, r := range v.Routes() {
				if r.Cloned {
					left = append(left, r.Dst.String())
				}
			}
			if fmt.Sprint(left) != fmt.Sprint(tt.left) {
				t.Errorf("cache entries left %v, want %v", left, tt.left)
			}
		})
	}
}

func TestRouteView(t *testing.T) {
	lines := []string{
		"[ROUTE]2001:db8::/64 via fe80::2 dev eth1 metric 1024",
		"[ROUTE]2001:db8::/64 via fe80::1 dev eth0 metric 1024",
		"[ROUTE]2001:db8::/64 via fe80::1 dev eth0 metric 1024 proto babel", // same route again: updated
		"[ROUTE]10.0.0.0/8 via 192.0.2.1 dev eth0 metric 5",
		"[ROUTE]10.0.0.0/8 via 192.0.2.2 dev eth0 metric 5", // IPv4: same key, replaces
		"[ROUTE]10.0.0.0/8 via 192.0.2.3 dev eth0 metric 7",
		"[ROUTE]2001:db8:1::/64 via fe80::1 dev eth0 metric 1024",
		"[ROUTE]Replaced 2001:db8:1::/64 via fe80::3 dev eth0 metric 1024",
		"[ROUTE]Deleted 2001:db8::/64 via fe80::2 dev eth1 metric 1024",
		"[ROUTE]Deleted 10.9.0.0/16 dev eth5", // unknown: ignored
		"[NEIGH]10.0.0.9 dev eth0 lladdr 52:54:00:00:00:09 REACHABLE",
		"[NEIGH]10.0.0.1 dev eth0 lladdr 52:54:00:00:00:01 STALE",
		"[NEIGH]10.0.0.5 dev eth1 lladdr 52:54:00:00:00:05 STALE",
		"[NEIGH]Deleted 10.0.0.5 dev eth1 lladdr 52:54:00:00:00:05 STALE",
	}
	v := apply(watchtest.ParseLines(t, lines...))
	var got []string
	for _, r := range v.Routes() {
		got = append(got, finding.RouteObject(r))
	}
	want := []string{
		"10.0.0.0/8 via 192.0.2.2 dev eth0 metric 5",
		"10.0.0.0/8 via 192.0.2.3 dev eth0 metric 7",
		"2001:db8::/64 via fe80::1 dev eth0 proto babel metric 1024",
		"2001:db8:1::/64 via fe80::3 dev eth0 metric 1024",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("routes:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	var neighs []string
	for _, n := range v.Neighs() {
		neighs = append(neighs, n.String())
	}
	wantN := "10.0.0.1 dev eth0 lladdr 52:54:00:00:00:01 STALE|10.0.0.9 dev eth0 lladdr 52:54:00:00:00:09 REACHABLE"
	if strings.Join(neighs, "|") != wantN {
		t.Errorf("neighbours %q, want %q", strings.Join(neighs, "|"), wantN)
	}
	v.Apply(&watchtest.ParseLines(t, "[LINK]Deleted 2: eth0: <> mtu 1500")[0])
	if len(v.Routes()) != 0 || len(v.Neighs()) != 0 {
		t.Errorf("after eth0 went: routes %v neighbours %v", v.Routes(), v.Neighs())
	}
}

// What a record did beyond itself, as the detectors see it: the entry it
// replaced, the link it took down or brought back, the IPv4 routes the
// kernel removed with a link unannounced.
func TestChange(t *testing.T) {
	const (
		va      = "[LINK]2: va@if3: <BROADCAST,MULTICAST,UP,LOWER_UP> mtu 1500"
		vaDown  = "[LINK]2: va@if3: <BROADCAST,MULTICAST> mtu 1500"
		conn4   = "[ROUTE]10.9.0.0/24 dev va proto kernel scope link src 10.9.0.1"
		local4  = "[ROUTE]local 10.9.0.1 dev va table local proto kernel scope host src 10.9.0.1"
		ll      = "[ROUTE]fe80::/64 dev va proto kernel metric 256 pref medium"
		neigh1  = "[NEIGH]10.9.0.2 dev va lladdr 52:54:00:00:00:01 REACHABLE"
		neigh2  = "[NEIGH]10.9.0.2 dev va lladdr 52:54:00:00:00:02 STALE"
		clone   = "[RTCAH]2001:db8::5 via fe80::1 dev eth0 metric 0 cache"
		cloneGw = "[RTCAH]2001:db8::5 via fe80::2 dev eth0 metric 0 cache"
	)
	tests := []struct {
		name   string
		before []string
		rec    string
		want   string // the Change, as change() renders it
	}{
		{"a new neighbour replaces none", nil, neigh1, ""},
		{"a neighbour's new MAC: the entry before", []string{neigh1}, neigh2, "prev-neigh 52:54:00:00:00:01"},
		{"a neighbour deleted: the entry before", []string{neigh1}, watchtest.Deleted(neigh1), "prev-neigh 52:54:00:00:00:01"},
		{"a cache entry seen again: the entry before", []string{clone}, cloneGw, "prev-cache via fe80::1"},
		{"a link down takes its IPv4 routes but its local ones", []string{va, conn4, local4}, vaDown, "down va silent [10.9.0.0/24]"},
		{"a link already down goes down no more", []string{va, vaDown}, vaDown, ""},
		{"a link back up: when it went down", []string{va, watchtest.Stamped(0, vaDown)}, va, "up va from 22:30:00.000000 line 2"},
		{"a link deleted", []string{va, conn4}, "[LINK]Deleted 2: va@if3: <BROADCAST,MULTICAST> mtu 1500", "down va silent [10.9.0.0/24] gone"},
		{"fe80::/64 gone: the link went down (no link events)", []string{ll}, watchtest.Deleted(ll), "down va"},
		{"fe80::/64 back: the link came up", []string{ll, watchtest.Deleted(ll)}, ll, "up va from (no time in trace) line 2 inferred"},
		{"fe80::/64 back on a link a link message took down: no", []string{va, vaDown}, ll, ""},
		{"fe80::/64 in a resync says nothing", []string{ll}, strings.Replace(watchtest.Deleted(ll), "]", "]Resync ", 1), ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v := apply(watchtest.ParseLines(t, tt.before...))
			r := watchtest.ParseLines(t, append(append([]string{}, tt.before...), tt.rec)...)[len(tt.before)]
			if got := change(v.Apply(&r)); got != tt.want {
				t.Errorf("change %q, want %q", got, tt.want)
			}
		})
	}
}

// change renders the parts of a Change that are set.
func change(ch *view.Change) string {
	var parts []string
	if ch.PrevNeigh != nil {
		parts = append(parts, "prev-neigh "+ch.PrevNeigh.Neigh.LLAddr.String())
	}
	if ch.PrevCache != nil {
		parts = append(parts, "prev-cache via "+ch.PrevCache.Route.Gateway.String())
	}
	if ch.Down != "" {
		parts = append(parts, "down "+ch.Down)
	}
	if len(ch.Silent) > 0 {
		var dsts []string
		for _, r := range ch.Silent {
			dsts = append(dsts, r.Dst.String())
		}
		parts = append(parts, fmt.Sprintf("silent %v", dsts))
	}
	if ch.Gone {
		parts = append(parts, "gone")
	}
	if ch.Up != "" {
		parts = append(parts, fmt.Sprintf("up %s from %s line %d", ch.Up, finding.FmtTime(ch.UpFrom.At), ch.UpFrom.Line))
		if ch.UpFrom.Inferred {
			parts = append(parts, "inferred")
		}
	}
	return strings.Join(parts, " ")
}

// RoutesOn lists what a subscription asks of its consumer: the routes
// through one link, or all of them, route-cache entries excepted.
func TestRoutesOn(t *testing.T) {
	rt := func(dst, gw string, ifindex int, cloned bool) trace.Record {
		return trace.Record{Kind: trace.KindRoute, Action: trace.ActionNew, Route: trace.Route{
			Family: 6, Table: trace.TableMain, Dst: netip.MustParsePrefix(dst), Gateway: netip.MustParseAddr(gw),
			Ifindex: ifindex, Metric: 1024, Cloned: cloned}}
	}
	v := view.New()
	for _, r := range []trace.Record{
		rt("2001:db8::/64", "fe80::1", 2, false),
		rt("2001:db8::/64", "fe80::2", 3, false), // beside the first: another device
		rt("2001:db8:1::/64", "fe80::1", 2, false),
		rt("2001:db8::1/128", "fe80::1", 2, true), // a cache entry
	} {
		v.Apply(&r)
	}
	for _, tc := range []struct {
		ifindex int
		want    []string
	}{
		{0, []string{"2001:db8:1::/64 via fe80::1 if2", "2001:db8::/64 via fe80::1 if2", "2001:db8::/64 via fe80::2 if3"}},
		{2, []string{"2001:db8:1::/64 via fe80::1 if2", "2001:db8::/64 via fe80::1 if2"}},
		{3, []string{"2001:db8::/64 via fe80::2 if3"}},
		{4, nil},
	} {
		var got []string
		for _, r := range v.RoutesOn(tc.ifindex) {
			got = append(got, fmt.Sprintf("%s via %s if%d", r.Dst, r.Gateway, r.Ifindex))
		}
		slices.Sort(got) // as strings
		if !slices.Equal(got, tc.want) {
			t.Errorf("RoutesOn(%d) = %q, want %q", tc.ifindex, got, tc.want)
		}
	}
}
