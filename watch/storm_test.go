package watch

import (
	"net/netip"
	"syscall"
	"testing"
	"time"

	"raceroute/kernel"
	"raceroute/trace"
)

// storm is the route storm of bench/watch-vs-ip-monitor.sh as the
// subscription delivers it (bench/stormcmp): adds of na /32s via one
// gateway, replaces (NLM_F_REPLACE) of the first nr with a new gateway,
// deletes of the first nd, each record 1 us after the one before; with
// shuffle, each phase in an order without neighbours side by side (as
// bench/stormcmp -shuffle writes it).
type storm struct {
	na, nr, nd int
	shuffle    bool
}

// len returns the number of records of the storm.
func (s storm) len() int { return s.na + s.nr + s.nd }

// stormStart is the time of a storm's first record.
var stormStart = time.Date(2026, 12, 2, 12, 0, 0, 0, time.UTC)

// record returns the storm's record i (0 <= i < s.len()). The benchmark
// makes each record as it feeds it, as the subscription does: a slice of
// the storm's records would be a live heap of 400 MB for the collector
// to scan.
func (s storm) record(i int) trace.Record {
	r := trace.Record{Kind: trace.KindRoute, Action: trace.ActionNew, Time: stormStart.Add(time.Duration(i) * time.Microsecond)}
	j, n, gw := i, s.na, stormGW1
	switch {
	case i < s.na:
	case i < s.na+s.nr:
		j, n, gw, r.Replace = i-s.na, s.nr, stormGW2, true
	default:
		j, n, r.Action = i-s.na-s.nr, s.nd, trace.ActionDel
	}
	if s.shuffle {
		// A permutation of the phase: 7919 is a prime that divides no
		// phase size used here, and takes neighbours 7919 apart.
		j = (j*7919 + 12345) % n
	}
	if r.Action == trace.ActionDel && j < s.nr {
		gw = stormGW2
	}
	r.Route = stormRoute(j, gw)
	return r
}

// The storm's gateways: of the adds, and of the replaces.
var stormGW1, stormGW2 = netip.AddrFrom4([4]byte{10, 9, 0, 2}), netip.AddrFrom4([4]byte{10, 9, 0, 3})

// stormRoute returns the storm's route to its j-th destination via gw.
func stormRoute(j int, gw netip.Addr) trace.Route {
	a := netip.AddrFrom4([4]byte{10, byte(64 + j>>16), byte(j >> 8), byte(j)})
	return trace.Route{Family: 4, Table: trace.TableMain, Type: kernel.RouteUnicast, Dst: netip.PrefixFrom(a, 32),
		Gateway: gw, Dev: "veth-a", Ifindex: 2, Metric: 1024, Proto: kernel.ProtoBoot}
}

// BenchmarkObserveStorm600k feeds a new engine the 600,000 records of
// the route storm of bench/watch-vs-ip-monitor.sh (250,000 adds of /32s,
// 150,000 replaces with a new gateway, 200,000 deletes, 1 us apart): one
// op is the whole storm, ns/record is the engine's cost per record and
// cpu-ns/record the process's CPU time per record (the collector's
// included). Run with -benchtime 1x -count 8 -cpu 1.
func BenchmarkObserveStorm600k(b *testing.B) {
	benchmarkStorm(b, storm{250_000, 150_000, 200_000, false})
}

// BenchmarkObserveStorm600kShuffled is BenchmarkObserveStorm600k with
// each phase of the storm in an order without neighbours side by side.
func BenchmarkObserveStorm600kShuffled(b *testing.B) {
	benchmarkStorm(b, storm{250_000, 150_000, 200_000, true})
}

func benchmarkStorm(b *testing.B, s storm) {
	b.ReportAllocs()
	cpu0 := cpuTime(b)
	b.ResetTimer()
	for range b.N {
		e := NewEngine(DefaultConfig())
		for i := range s.len() {
			if fs := e.Observe(s.record(i)); len(fs) != 0 {
				b.Fatalf("record %d: unexpected findings %v", i, fs)
			}
		}
		if fs := e.Flush(); len(fs) != 0 {
			b.Fatalf("unexpected findings at the end %v", fs)
		}
	}
	b.StopTimer()
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*s.len()), "ns/record")
	b.ReportMetric(float64((cpuTime(b)-cpu0).Nanoseconds())/float64(b.N*s.len()), "cpu-ns/record")
}

// cpuTime returns the user and system CPU time the process has used: on
// a loaded machine it moves less than the wall clock with the other
// processes.
func cpuTime(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// The storm leaves the view holding what the kernel's table holds: the
// routes not deleted, the replaced ones with their new gateway, and no
// finding (no route was deleted and added again).
func TestStormView(t *testing.T) {
	for _, s := range []storm{
		{500, 300, 200, false}, // replaced routes survive
		{500, 300, 400, false}, // every replaced route deleted
		{300, 0, 300, false},   // nothing left
		{500, 300, 200, true},
		{500, 300, 400, true},
	} {
		e := NewEngine(DefaultConfig())
		for i := range s.len() {
			if fs := e.Observe(s.record(i)); len(fs) != 0 {
				t.Fatalf("%v: record %d: findings %v", s, i, fs)
			}
		}
		if fs := e.Flush(); len(fs) != 0 {
			t.Fatalf("%v: findings at the end %v", s, fs)
		}
		got := e.Routes()
		if len(got) != s.na-s.nd {
			t.Fatalf("%v: %d routes, want %d", s, len(got), s.na-s.nd)
		}
		for k, r := range got {
			j, gw := s.nd+k, stormGW1
			if j < s.nr {
				gw = stormGW2
			}
			if want := stormRoute(j, gw); r != want {
				t.Fatalf("%v: route %d is %+v, want %+v", s, k, r, want)
			}
		}
	}
}
