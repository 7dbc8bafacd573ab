package fib6_test

import (
	"context"
	"fmt"
	"net/netip"
	"testing"
	"time"

	"raceroute/explore"
	"raceroute/model/fib6"
	"raceroute/profile"
)

// family builds the scaled benchmark scenario: k flows (2 packets each)
// to k hosts under one /80 while an agent changes the /80 m times by
// delete then add, alternating between two gateways, under an
// unreachable /48. The property "the /80 ends on the last gateway" holds
// in every schedule, so the search is exhaustive.
func family(tb testing.TB, p profile.Profile, k, m int) explore.Checker {
	tb.Helper()
	mk := func(s string) fib6.Route {
		r, err := fib6.ParseRoute(s)
		if err != nil {
			tb.Fatal(err)
		}
		return r
	}
	gw := []string{
		"2001:db8:0:10::/80 via fe80::1 dev eth0 proto babel metric 1024",
		"2001:db8:0:10::/80 via fe80::2 dev eth1 proto babel metric 1024",
	}
	cfg := fib6.Config{Profile: p, Routes: []fib6.Route{mk("unreachable 2001:db8::/48 dev lo metric 1024"), mk(gw[0])}}
	agent := fib6.Actor{Name: "babeld"}
	for i := 0; i < m; i++ {
		agent.Ops = append(agent.Ops, fib6.Op{Kind: fib6.OpDel, Route: mk(gw[i%2])}, fib6.Op{Kind: fib6.OpAdd, Route: mk(gw[(i+1)%2])})
	}
	cfg.Actors = append(cfg.Actors, agent)
	for i := 0; i < k; i++ {
		cfg.Actors = append(cfg.Actors, fib6.Actor{Name: fmt.Sprintf("flow-%d", i), Dst: netip.MustParseAddr(fmt.Sprintf("2001:db8:0:10::%d", i+1)), Packets: 2})
	}
	model, err := fib6.New(cfg)
	if err != nil {
		tb.Fatal(err)
	}
	prop, err := model.RoutesAt("converges", fib6.MainTable, netip.MustParsePrefix("2001:db8:0:10::/80"), 1024, []fib6.Route{mk(gw[m%2])})
	if err != nil {
		tb.Fatal(err)
	}
	return explore.NewChecker[fib6.State](model, []explore.Property[fib6.State]{prop})
}

// BenchmarkExhaustive reports, per (k, m) on linux-3.16, states per
// second, bytes per stored state and the time to an exhaustive verdict:
// por=false without reductions, por=true with sleep sets alone (both
// store every state), por=all with every reduction (persistent sets,
// symmetry and sleep sets: fewer states). bench/explorer-vs-spin.sh
// compares them with Spin.
func BenchmarkExhaustive(b *testing.B) {
	p, _ := profile.Lookup("linux-3.16")
	for _, km := range [][2]int{{1, 1}, {2, 2}, {3, 2}, {4, 2}, {4, 3}} {
		k, m := km[0], km[1]
		for _, por := range []string{"true", "false", "all"} {
			name := fmt.Sprintf("k=%d/m=%d/por=%s", k, m, por)
			b.Run(name, func(b *testing.B) {
				c := family(b, p, k, m)
				opts := explore.DefaultOptions()
				opts.Reduce = map[string]explore.Reductions{"true": explore.ReduceSleep, "false": explore.ReduceNone, "all": explore.ReduceAll}[por]
				opts.Budget = 5 * time.Minute
				var res explore.Result
				for i := 0; i < b.N; i++ {
					res = c.Check(context.Background(), opts)
				}
				if res.Verdict != explore.Holds || !res.Exhaustive {
					b.Fatalf("verdict %s exhaustive %v", res.Verdict, res.Exhaustive)
				}
				b.ReportMetric(float64(res.States), "states")
				b.ReportMetric(float64(res.States)/res.Elapsed.Seconds(), "states/s")
				b.ReportMetric(float64(res.Transitions)/res.Elapsed.Seconds(), "transitions/s")
				b.ReportMetric(res.BytesPerState, "bytes/state")
				b.ReportMetric(res.Elapsed.Seconds(), "s-to-verdict")
			})
		}
	}
}
