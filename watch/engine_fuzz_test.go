package watch

import (
	"bytes"
	"fmt"
	"net/netip"
	"os"
	"testing"
	"time"

	"raceroute/iproute2"
	"raceroute/kernel"
	"raceroute/trace"
	"raceroute/watch/finding"
	"raceroute/watch/view"
)

// FuzzReplay feeds whatever the parser makes of arbitrary logs to an
// engine: nothing may panic, every finding must name its detector and
// objects, and the view stays sorted and free of duplicates.
func FuzzReplay(f *testing.F) {
	for _, name := range []string{"testdata/seed-bad.log", "testdata/seed-good.log", "testdata/link-flap.log", "testdata/babeld-retraction.log", "testdata/ip-monitor-overflow.log"} {
		b, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte("[NEIGH]10.0.0.7 dev eth0 lladdr fa:16:3e:00:00:01 STALE\n" +
		"[2016-06-11T22:30:00.100000] [ARP]reply 10.0.0.7 lladdr fa:16:3e:00:00:02 target 10.0.0.7 lladdr fa:16:3e:00:00:02 dev eth0\n" +
		"[2016-06-11T22:30:09.100000] [NEIGH]10.0.0.7 dev eth0 lladdr fa:16:3e:00:00:03 STALE\n" +
		"[OVERFLOW]lost 5\n[RESYNC]3 differences\n[LINK]Deleted 2: eth0: <> mtu 1500\n"))
	f.Add([]byte("2001:db8::/48 via fe80::1 dev eth0\n2001:db8:0:1::/64 via fe80::1 dev eth0\n" +
		"[RTCAH]unreachable 2001:db8:0:1::1 dev lo cache error -101\nDeleted 2001:db8::/48 via fe80::1 dev eth0\n" +
		"Deleted 2001:db8:0:1::/64 via fe80::1 dev eth0\n10.0.0.0/8 dev eth0\n[RTCAH]10.0.0.1 dev eth0 cache\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		recs, _, err := iproute2.ParseMonitor(bytes.NewReader(data), iproute2.MonitorOptions{})
		if err != nil {
			return
		}
		cfg := DefaultConfig()
		cfg.KernelRelease = "3.10.0-514.el7"
		e := NewEngine(cfg)
		var fs []Finding
		var last time.Time
		for _, r := range recs {
			fs = append(fs, e.Observe(r)...)
			if r.Time.After(last) {
				last = r.Time
			}
		}
		fs = append(fs, e.Finish(last.Add(time.Hour))...)
		for _, x := range fs {
			if x.Detector == "" || len(x.Objects) == 0 || x.Evidence == "" || x.Advice == "" {
				t.Fatalf("incomplete finding %+v", x)
			}
			_ = x.String()
		}
		rs := e.Routes()
		seen := map[string]bool{}
		for i, r := range rs {
			if i > 0 && view.CompareRoutes(rs[i-1], r) > 0 {
				t.Fatalf("routes not sorted at %d: %v", i, rs)
			}
			k := fmt.Sprint(r.Family, r.Table, r.Dst, r.Metric, r.Cloned, r.Gateway, r.Dev, r.Ifindex)
			if seen[k] {
				t.Fatalf("route %s twice in the view", finding.RouteObject(r))
			}
			seen[k] = true
		}
		ns := map[netip.Addr]map[string]bool{}
		for _, n := range e.Neighs() {
			if ns[n.Addr] == nil {
				ns[n.Addr] = map[string]bool{}
			}
			if ns[n.Addr][n.Dev] {
				t.Fatalf("neighbour %s twice in the view", n)
			}
			ns[n.Addr][n.Dev] = true
		}
	})
}

// BenchmarkObserveRouteStorm measures the engine on a storm of route
// adds and deletes (the load the live watcher must keep up with).
func BenchmarkObserveRouteStorm(b *testing.B) {
	const n = 1 << 16
	recs := make([]trace.Record, 0, 2*n)
	for i := range n {
		dst := netip.PrefixFrom(netip.AddrFrom4([4]byte{10, byte(i >> 8), byte(i), 0}), 24)
		r := trace.Record{Kind: trace.KindRoute, Action: trace.ActionNew, Route: trace.Route{
			Family: 4, Table: trace.TableMain, Type: kernel.RouteUnicast, Dst: dst,
			Gateway: netip.MustParseAddr("192.0.2.1"), Dev: "eth0", Proto: 4}}
		recs = append(recs, r)
	}
	for i := range n {
		r := recs[i]
		r.Action = trace.ActionDel
		recs = append(recs, r)
	}
	b.ReportAllocs()
	b.ResetTimer()
	base := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	var e *Engine
	for i := 0; i < b.N; i++ {
		if i%len(recs) == 0 {
			e = NewEngine(DefaultConfig())
		}
		r := recs[i%len(recs)]
		r.Time = base.Add(time.Duration(i) * time.Microsecond)
		if fs := e.Observe(r); len(fs) != 0 {
			b.Fatalf("unexpected findings %v", fs)
		}
	}
}
