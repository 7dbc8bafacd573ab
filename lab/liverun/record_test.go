package liverun

import (
	"net/netip"
	"strings"
	"testing"

	"raceroute/kernel"
	"raceroute/trace"
)

func TestDescribeRouteHops(t *testing.T) {
	r := trace.Route{Family: 6, Table: 254, Type: kernel.RouteUnicast, Dst: netip.MustParsePrefix("2001:db8:0:10::/80"), Gateway: netip.MustParseAddr("fe80::1"), Ifindex: 2, Metric: 1024}
	tests := []struct {
		name string
		rec  trace.Record
		in   string
	}{
		{"an ECMP set deleted", trace.Record{Kind: trace.KindRoute, Action: trace.ActionDel, Route: r, Multipath: []trace.Hop{{Gateway: r.Gateway, Ifindex: 2}, {Gateway: netip.MustParseAddr("fe80::2"), Ifindex: 3}}},
			"(RTA_MULTIPATH, 2 next hops: via fe80::1 dev if2, via fe80::2 dev if3)"},
		{"a route on a nexthop object", trace.Record{Kind: trace.KindRoute, Action: trace.ActionNew, Route: func() trace.Route { x := r; x.NHID = 10; return x }()}, "metric 1024 nhid 10"},
	}
	for _, tc := range tests {
		_, text := describe(&tc.rec)
		if !strings.Contains(text, tc.in) {
			t.Errorf("%s: %q, want %q in it", tc.name, text, tc.in)
		}
	}
	if _, text := describe(&trace.Record{Kind: trace.KindRoute, Action: trace.ActionNew, Route: r}); strings.Contains(text, "nhid") || strings.Contains(text, "RTA_MULTIPATH") {
		t.Errorf("a plain route: %q", text)
	}
}
