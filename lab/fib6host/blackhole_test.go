package fib6host

import (
	"net/netip"
	"strings"
	"testing"
	"time"

	"raceroute/explore"
	"raceroute/lab/liverun"
	"raceroute/trace"
)

func TestJudgeNoBlackhole(t *testing.T) {
	dst := netip.MustParseAddr("2001:db8:0:10::1")
	add := func(us int, r trace.Route) ev { return ev{us: us, kind: trace.KindRoute, r: r} }
	del := func(us int, r trace.Route) ev { return ev{us: us, kind: trace.KindRoute, del: true, r: r} }
	rep := func(us int, r trace.Route) ev { return ev{us: us, kind: trace.KindRoute, replace: true, r: r} }
	start := []trace.Route{cover48, viaA}
	tests := []struct {
		name       string
		events     []ev
		start, end []trace.Route
		want       explore.Verdict
		in         []string
		err        bool
	}{
		{"delete then add", []ev{add(-50, cover48), add(-40, viaA), del(10, viaA), add(160, viaB)}, start, []trace.Route{cover48, viaB},
			explore.Violated, []string{"RTM_DELROUTE of `2001:db8:0:10::/80 via fe80::1", "t=0.000010 s", "the unreachable route at 2001:db8::/48", "for 150 µs, until its RTM_NEWROUTE"}, false},
		{"replace", []ev{rep(10, viaB)}, start, []trace.Route{cover48, viaB}, explore.Holds, []string{"after every one of the kernel's 1 route events"}, false},
		{"add then delete", []ev{add(10, viaB2048), del(20, viaA)}, start, []trace.Route{cover48, viaB2048}, explore.Holds, nil, false},
		{"retraction by replace", []ev{rep(10, unreach)}, start, []trace.Route{cover48, unreach}, explore.Violated, []string{"the unreachable route at 2001:db8:0:10::/80"}, false},
		{"no route at all", []ev{del(10, viaA)}, []trace.Route{viaA}, nil, explore.Violated, []string{"no route at all", "to the end"}, false},
		{"a lost event", []ev{{us: 5, kind: trace.KindOverflow}}, start, start, "", []string{"lost events"}, true},
		{"the replay does not end at the dump", []ev{del(10, viaA)}, start, start, "", []string{"do not end at the kernel's routes"}, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t0 := time.Now()
			rec := liverun.NewRecorder()
			rec.Start(t0.Add(-time.Millisecond))
			for _, e := range tc.events {
				r := trace.Record{Time: t0.Add(time.Duration(e.us) * time.Microsecond), Kind: e.kind, Action: trace.ActionNew, Replace: e.replace, Route: e.r}
				if e.del {
					r.Action = trace.ActionDel
				}
				rec.Kernel("host", r)
				rec.Kernel("peer", r)
			}
			pr, err := judgeNoBlackhole("no-blackhole", 254, dst, rec.List(), "host", t0, tc.start, tc.end)
			text := pr.Explanation
			if err != nil {
				text = err.Error()
			}
			if (err != nil) != tc.err || !tc.err && pr.Verdict != tc.want {
				t.Fatalf("verdict %s, error %v (%s); want %s, error %v", pr.Verdict, err, text, tc.want, tc.err)
			}
			for _, w := range tc.in {
				if !strings.Contains(text, w) {
					t.Errorf("%q lacks %q", text, w)
				}
			}
		})
	}
}
