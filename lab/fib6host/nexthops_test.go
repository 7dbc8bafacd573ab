package fib6host

import (
	"context"
	"errors"
	"net/netip"
	"slices"
	"testing"

	"raceroute/kernel"
	"raceroute/live/netns/nstest"
	"raceroute/live/nl"
	"raceroute/live/nl/write"
	"raceroute/model/fib6"
	"raceroute/trace"
)

// TestViewMultipathAndNexthops folds the route events the kernel sends
// for ECMP sets and routes on nexthop objects into the no-gap and
// no-blackhole view, and checks it ends where the kernel's dump does.
func TestViewMultipathAndNexthops(t *testing.T) {
	viaC := viaA
	viaC.Gateway = netip.MustParseAddr("fe80::3")
	dev := trace.Route{Family: 6, Table: 254, Type: kernel.RouteUnicast, Dst: gapPrefix, Ifindex: 3, Metric: 1024, Proto: 250}
	onNH := func(gw string, idx int) trace.Route {
		return trace.Route{Family: 6, Table: 254, Type: kernel.RouteUnicast, Dst: gapPrefix, Gateway: netip.MustParseAddr(gw), Ifindex: idx, Metric: 1024, Proto: 250, NHID: 10}
	}
	hops := func(rs ...trace.Route) []trace.Hop {
		var out []trace.Hop
		for _, r := range rs {
			out = append(out, trace.Hop{Gateway: r.Gateway, Ifindex: r.Ifindex, Weight: 1})
		}
		return out
	}
	tests := []struct {
		name       string
		start      []trace.Route
		rec        trace.Record
		end        []trace.Route
		wantRoutes int
	}{
		// fib6_add_rt2node() (6.12): "Replacing an ECMP route, remove
		// all siblings", with one RTM_NEWROUTE (NLM_F_REPLACE) for the
		// new route and none for the siblings.
		{"a gateway route replaces the set", []trace.Route{viaA, viaB},
			trace.Record{Kind: trace.KindRoute, Action: trace.ActionNew, Replace: true, Route: viaC}, []trace.Route{viaC}, 1},
		{"a device route replaces the set (the fallback)", []trace.Route{viaA, viaB},
			trace.Record{Kind: trace.KindRoute, Action: trace.ActionNew, Replace: true, Route: dev}, []trace.Route{dev}, 1},
		{"a replace of a lone gateway route keeps the device route of its metric", []trace.Route{viaA, dev},
			trace.Record{Kind: trace.KindRoute, Action: trace.ActionNew, Replace: true, Route: viaC}, []trace.Route{viaC, dev}, 2},
		// __ip6_del_rt_siblings(): one RTM_DELROUTE with every hop.
		{"a delete of every sibling", []trace.Route{viaA, viaB},
			trace.Record{Kind: trace.KindRoute, Action: trace.ActionDel, Route: viaA, Multipath: hops(viaA, viaB)}, nil, 0},
		// An appended sibling's RTM_NEWROUTE lists the whole set.
		{"an appended sibling", []trace.Route{viaA},
			trace.Record{Kind: trace.KindRoute, Action: trace.ActionNew, Route: viaA, Multipath: hops(viaA, viaB)}, []trace.Route{viaA, viaB}, 2},
		// fib6_rt_update() after a nexthop replace: the route is the
		// same, its object's next hop is not.
		{"a route on a replaced nexthop object", []trace.Route{onNH("fe80::1", 2)},
			trace.Record{Kind: trace.KindRoute, Action: trace.ActionNew, Replace: true, Route: onNH("fe80::2", 3)}, []trace.Route{onNH("fe80::2", 3)}, 1},
		{"a route on a group is one route", nil,
			trace.Record{Kind: trace.KindRoute, Action: trace.ActionNew, Route: onNH("fe80::1", 2), Multipath: hops(viaA, viaB)}, []trace.Route{onNH("fe80::2", 3)}, 1},
		{"the delete of a route on a nexthop object", []trace.Route{onNH("fe80::1", 2)},
			trace.Record{Kind: trace.KindRoute, Action: trace.ActionDel, Route: onNH("fe80::1", 2)}, nil, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var v gapView
			for _, r := range tc.start {
				v = append(v, gapKey(r))
			}
			v = v.apply(&tc.rec)
			if len(v) != tc.wantRoutes || !v.same(tc.end) {
				t.Errorf("view %+v, want the kernel's %v", v, tc.end)
			}
		})
	}
}

// TestNexthopWriterLive puts TestNexthopObjectsLive's scripts to the
// running kernel through the lab's own writes (RTM_NEWNEXTHOP,
// RTM_DELNEXTHOP and routes with RTA_NH_ID, live/nl/write) and to the
// model, and compares each answer and, after each script, the lab's
// dumps (RTM_GETNEXTHOP, and RTM_GETROUTE with RTA_NH_ID decoded) with
// the model's objects and routes.
func TestNexthopWriterLive(t *testing.T) {
	nstest.RequireRoot(t)
	p := liveProfile(t)
	for _, sc := range nexthopScripts {
		t.Run(sc.name, func(t *testing.T) {
			a, _ := nstest.Pair(t, "nhw")
			ctx := context.Background()
			idx, err := a.LinkIndex("va")
			if err != nil {
				t.Fatal(err)
			}
			topo := &Topology{Host: a, Ifidx: map[string]int{"va": idx}, byIdx: map[int]string{idx: "va"}}
			var ops []fib6.Op
			for _, line := range sc.ops {
				ops = append(ops, parseScriptOp(t, line))
			}
			m, err := fib6.New(fib6.Config{Profile: p, Actors: []fib6.Actor{{Name: "script", Ops: ops}}})
			if err != nil {
				t.Fatal(err)
			}
			s := m.Init()
			w, err := write.NewRouteWriter(nl.Options{Netns: a.Name})
			if err != nil {
				t.Fatal(err)
			}
			defer w.Close()
			for i, op := range ops {
				ans, err := m.Exec(&s, op)
				if err != nil {
					t.Fatal(err)
				}
				var kerr error
				if isNexthopOp(op.Kind) {
					kerr = writeNexthop(ctx, topo, w, nexthopWrite(op.Kind), op.Nexthop)
				} else {
					_, kerr = w.Write(ctx, opWrite(op.Kind), []trace.Route{topo.traceRoute(op.Route)})
				}
				var re *write.RouteError
				var ne *write.NexthopError
				if kerr != nil && !errors.As(kerr, &re) && !errors.As(kerr, &ne) {
					t.Fatalf("%s: %v", sc.ops[i], kerr)
				}
				if (kerr == nil) != (ans.Err == 0) {
					t.Errorf("%s: the kernel answered %v, the model %v %s", sc.ops[i], kerr, ans.Err, ans.Ext)
				}
			}
			routes, err := dumpRoutes(a, topo.byIdx, false)
			if err != nil {
				t.Fatal(err)
			}
			var live, model []string
			for _, r := range routes {
				if r.NHID != 0 {
					live = append(live, r.Dst.String()+" nhid "+itoa(r.NHID))
				}
			}
			for _, r := range m.Table(&s) {
				if r.Route.NHID != 0 {
					model = append(model, r.Route.Prefix.String()+" nhid "+itoa(r.Route.NHID))
				}
			}
			slices.Sort(live)
			slices.Sort(model)
			if !slices.Equal(live, model) {
				t.Errorf("routes on nexthop objects: kernel %q, model %q", live, model)
			}
			objs, err := dumpNexthops(a, topo.byIdx)
			if err != nil {
				t.Fatal(err)
			}
			live, model = nil, nil
			for _, n := range objs {
				live = append(live, n.String())
			}
			for _, n := range m.Nexthops(&s) {
				model = append(model, n.String())
			}
			if !slices.Equal(live, model) {
				t.Errorf("nexthop objects: kernel %q, model %q", live, model)
			}
		})
	}
}

func TestSameRouteOnNexthop(t *testing.T) {
	m := fib6.Route{Type: kernel.RouteUnicast, Prefix: gapPrefix, Proto: 250, Table: 254, NHID: 1}
	k := trace.Route{Family: 6, Table: 254, Type: kernel.RouteUnicast, Dst: gapPrefix, Gateway: netip.MustParseAddr("fe80::2"), Ifindex: 3, Dev: "eth1", Metric: 1024, Proto: 250, NHID: 1}
	other, plain, bh := k, k, k
	other.NHID, plain.NHID, bh.Type = 2, 0, kernel.RouteBlackhole
	for _, tc := range []struct {
		name string
		k    trace.Route
		want bool
	}{
		{"the object's next hop listed with the route", k, true},
		{"on a blackhole object (RTN_BLACKHOLE)", bh, true},
		{"another object", other, false},
		{"a route of its own next hop", plain, false},
	} {
		if got := sameRoute(tc.k, m); got != tc.want {
			t.Errorf("%s: sameRoute = %v, want %v", tc.name, got, tc.want)
		}
	}
}
