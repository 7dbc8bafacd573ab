package routechange_test

import (
	"fmt"
	"net/netip"
	"testing"
	"time"

	"raceroute/kernel"
	"raceroute/trace"
	"raceroute/watch"
	"raceroute/watch/finding"
)

// A stream of deletes, one a millisecond, many pending at once (the
// expiry queue wraps and grows while they wait), with re-adds at gaps
// on either side of the 50 ms window: exactly the re-adds within the
// window are non-atomic changes.
func TestDeletesPendingAtOnce(t *testing.T) {
	base := time.Date(2026, 12, 2, 12, 0, 0, 0, time.UTC)
	route := func(j int) trace.Route {
		return trace.Route{Family: 4, Table: trace.TableMain, Type: kernel.RouteUnicast,
			Dst:     netip.PrefixFrom(netip.AddrFrom4([4]byte{10, 64, byte(j >> 8), byte(j)}), 32),
			Gateway: netip.MustParseAddr("10.9.0.2"), Dev: "veth-a", Metric: 1024, Proto: kernel.ProtoBoot}
	}
	const n = 300
	e := watch.NewEngine(watch.DefaultConfig())
	for j := range n {
		if fs := e.Observe(trace.Record{Kind: trace.KindRoute, Action: trace.ActionNew, Initial: true, Route: route(j), Time: base}); len(fs) != 0 {
			t.Fatalf("initial add %d: %v", j, fs)
		}
	}
	gaps := []int{3, 49, 51, 120, 17, 0} // ms before the add's delete, plus 0.5 ms
	added := map[int]bool{}
	want := map[string]bool{}
	got := map[string]bool{}
	for i := range n {
		at := base.Add(time.Second + time.Duration(i)*time.Millisecond)
		for _, f := range e.Observe(trace.Record{Kind: trace.KindRoute, Action: trace.ActionDel, Route: route(i), Time: at}) {
			t.Errorf("delete %d: %v", i, f)
		}
		j := i - gaps[i%len(gaps)]
		if j < 0 || added[j] {
			continue
		}
		added[j] = true
		if g := time.Duration(i-j)*time.Millisecond + 500*time.Microsecond; g <= 50*time.Millisecond {
			want[finding.RouteObject(route(j))] = true
		}
		for _, f := range e.Observe(trace.Record{Kind: trace.KindRoute, Action: trace.ActionNew, Route: route(j), Time: at.Add(500 * time.Microsecond)}) {
			if f.Detector != watch.DetectorNonAtomic {
				t.Errorf("add %d: %v", j, f)
			}
			got[f.Objects[1]] = true
		}
	}
	if fmt.Sprint(got) != fmt.Sprint(want) || len(want) < 100 {
		t.Errorf("non-atomic changes of %d routes:\n%v\nwant %d:\n%v", len(got), got, len(want), want)
	}
}
