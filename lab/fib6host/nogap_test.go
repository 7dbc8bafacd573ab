package fib6host

import (
	"net/netip"
	"strings"
	"testing"
	"time"

	"raceroute/explore"
	"raceroute/kernel"
	"raceroute/lab/liverun"
	"raceroute/trace"
)

var (
	gapPrefix = netip.MustParsePrefix("2001:db8:0:10::/80")
	viaA      = trace.Route{Family: 6, Table: 254, Type: kernel.RouteUnicast, Dst: gapPrefix, Gateway: netip.MustParseAddr("fe80::1"), Ifindex: 2, Metric: 1024, Proto: 250}
	viaB      = trace.Route{Family: 6, Table: 254, Type: kernel.RouteUnicast, Dst: gapPrefix, Gateway: netip.MustParseAddr("fe80::2"), Ifindex: 3, Metric: 1024, Proto: 250}
	viaB2048  = trace.Route{Family: 6, Table: 254, Type: kernel.RouteUnicast, Dst: gapPrefix, Gateway: netip.MustParseAddr("fe80::2"), Ifindex: 3, Metric: 2048, Proto: 250}
	unreach   = trace.Route{Family: 6, Table: 254, Type: kernel.RouteUnreachable, Dst: gapPrefix, Ifindex: 1, Metric: 1024, Proto: 250}
	cover48   = trace.Route{Family: 6, Table: 254, Type: kernel.RouteUnreachable, Dst: netip.MustParsePrefix("2001:db8::/48"), Ifindex: 1, Metric: 1024}
)

// ev is one recorded kernel event for the no-gap tests.
type ev struct {
	us      int // µs after t0
	kind    trace.Kind
	del     bool
	replace bool
	initial bool
	r       trace.Route
}

func TestJudgeNoGap(t *testing.T) {
	add := func(us int, r trace.Route) ev { return ev{us: us, kind: trace.KindRoute, r: r} }
	del := func(us int, r trace.Route) ev { return ev{us: us, kind: trace.KindRoute, del: true, r: r} }
	rep := func(us int, r trace.Route) ev { return ev{us: us, kind: trace.KindRoute, replace: true, r: r} }
	initial := ev{us: -100, kind: trace.KindRoute, initial: true, r: viaA}
	tests := []struct {
		name       string
		events     []ev
		start, end []trace.Route
		want       explore.Verdict
		in         []string // words the explanation or error has
		err        bool
	}{
		{"delete then add", []ev{initial, add(-50, cover48), del(10, viaA), add(160, unreach)}, []trace.Route{viaA}, []trace.Route{unreach, cover48},
			explore.Violated, []string{"for 150 µs", "RTM_DELROUTE of `2001:db8:0:10::/80 via fe80::1", "t=0.000010 s", "RTM_NEWROUTE of `unreachable 2001:db8:0:10::/80", "t=0.000160 s", "1 gap(s)"}, false},
		{"replace", []ev{initial, rep(10, viaB)}, []trace.Route{viaA}, []trace.Route{viaB}, explore.Holds, []string{"held a route at every one"}, false},
		{"replace at another kind replaces the route of its metric", []ev{initial, rep(10, unreach)}, []trace.Route{viaA}, []trace.Route{unreach}, explore.Holds, nil, false},
		{"add at the new metric, then delete", []ev{initial, add(10, viaB2048), del(20, viaA)}, []trace.Route{viaA}, []trace.Route{viaB2048}, explore.Holds, nil, false},
		{"append then delete one of two at one metric", []ev{initial, add(10, viaB), del(20, viaA)}, []trace.Route{viaA}, []trace.Route{viaB}, explore.Holds, nil, false},
		{"deleted to the end", []ev{initial, del(10, viaA)}, []trace.Route{viaA}, nil, explore.Violated, []string{"from the kernel's RTM_DELROUTE", "to the end"}, false},
		{"no route when the actors start", []ev{add(10, viaA)}, nil, []trace.Route{viaA}, explore.Violated, []string{"held no route when the actors started"}, false},
		{"events of other prefixes and tables do not count", []ev{initial, del(5, cover48), add(6, cover48), {us: 7, kind: trace.KindRoute, del: true, r: func() trace.Route { r := viaA; r.Table = 100; return r }()}}, []trace.Route{viaA}, []trace.Route{viaA}, explore.Holds, nil, false},
		{"a lost event", []ev{initial, {us: 5, kind: trace.KindOverflow}, add(10, viaB)}, []trace.Route{viaA}, []trace.Route{viaA, viaB}, "", []string{"lost events"}, true},
		{"the replay does not end at the dump", []ev{initial, del(10, viaA)}, []trace.Route{viaA}, []trace.Route{viaB}, "", []string{"do not end at the kernel's routes"}, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t0 := time.Now()
			rec := liverun.NewRecorder()
			rec.Start(t0)
			for _, e := range tc.events {
				r := trace.Record{Time: t0.Add(time.Duration(e.us) * time.Microsecond), Kind: e.kind, Action: trace.ActionNew, Replace: e.replace, Initial: e.initial, Route: e.r}
				if e.del {
					r.Action = trace.ActionDel
				}
				rec.Kernel("host", r)
				rec.Kernel("peer", r) // another host's events are not the host's
			}
			pr, err := judgeNoGap("no-gap", 254, gapPrefix, rec.List(), "host", t0, tc.start, tc.end)
			text := pr.Explanation
			if err != nil {
				text = err.Error()
			}
			if (err != nil) != tc.err || !tc.err && pr.Verdict != tc.want {
				t.Fatalf("verdict %s, error %v; want %s, error %v", pr.Verdict, err, tc.want, tc.err)
			}
			for _, w := range tc.in {
				if !strings.Contains(text, w) {
					t.Errorf("%q lacks %q", text, w)
				}
			}
		})
	}
}

func TestStale(t *testing.T) {
	clone := func(gw string, ifindex int) trace.Route {
		return trace.Route{Family: 6, Table: 254, Type: kernel.RouteUnicast, Dst: netip.MustParsePrefix("2001:db8:0:10::1/128"), Gateway: netip.MustParseAddr(gw), Ifindex: ifindex, Metric: 1024, Cloned: true}
	}
	other := trace.Route{Family: 6, Table: 254, Type: kernel.RouteUnicast, Dst: netip.MustParsePrefix("2001:db8:1::1/128"), Gateway: netip.MustParseAddr("fe80::1"), Ifindex: 2, Cloned: true}
	tests := []struct {
		name       string
		cache      []trace.Route
		routes     []trace.Route
		under, bad int
	}{
		{"none", nil, []trace.Route{viaB, cover48}, 0, 0},
		{"agrees", []trace.Route{clone("fe80::2", 3)}, []trace.Route{viaB, cover48}, 1, 0},
		{"old gateway", []trace.Route{clone("fe80::1", 2)}, []trace.Route{viaB, cover48}, 1, 1},
		{"unicast under an unreachable route", []trace.Route{clone("fe80::1", 2)}, []trace.Route{unreach, cover48}, 1, 1},
		{"not under the prefix", []trace.Route{other}, []trace.Route{viaB, cover48}, 0, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			under, bad := stale(tc.cache, tc.routes, 254, gapPrefix)
			if len(under) != tc.under || len(bad) != tc.bad {
				t.Errorf("%d under, %d stale; want %d, %d", len(under), len(bad), tc.under, tc.bad)
			}
		})
	}
}
