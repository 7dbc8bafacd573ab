package livewatch_test

import (
	"context"
	"io"
	"net/netip"
	"sync/atomic"
	"testing"
	"time"

	"raceroute/live/livewatch"
	"raceroute/live/nl"
	"raceroute/live/nl/write"
	"raceroute/trace"
)

// BenchmarkLiveWatchStorm runs the whole watch (subscription, detectors,
// metrics, JSON lines) on a namespace while b.N route events are written
// into it in batches, and reports the events per second it kept up with
// and its overflows. Run with -benchtime 600000x for the storm.
func BenchmarkLiveWatchStorm(b *testing.B) {
	a, _ := pairB(b)
	var seen, resynced atomic.Int64
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	ready := make(chan struct{})
	errc := make(chan error, 1)
	go func() {
		errc <- livewatch.Run(ctx, livewatch.Config{Netns: a.Name, Families: []int{4}, JSON: true, Out: io.Discard, CachePoll: -1, Ready: ready,
			OnRecord: func(r trace.Record) {
				if r.Kind == trace.KindRoute && r.Route.Dst.Bits() == 32 {
					if r.Resync {
						resynced.Add(1)
					} else {
						seen.Add(1)
					}
				}
			}})
	}()
	<-ready
	w, err := write.NewRouteWriter(nl.Options{Netns: a.Name})
	if err != nil {
		b.Fatal(err)
	}
	defer w.Close()
	n := b.N
	adds := make([]trace.Route, (n+1)/2)
	for i := range adds {
		ad := netip.AddrFrom4([4]byte{10, byte(64 + i>>16), byte(i >> 8), byte(i)})
		adds[i] = trace.Route{Family: 4, Dst: netip.PrefixFrom(ad, 32), Gateway: netip.MustParseAddr("10.9.0.2"), Metric: 1024}
	}
	b.ResetTimer()
	start := time.Now()
	if _, err := w.Write(ctx, write.OpAdd, adds); err != nil {
		b.Fatal(err)
	}
	if _, err := w.Write(ctx, write.OpDelete, adds[:n/2]); err != nil {
		b.Fatal(err)
	}
	for deadline := time.Now().Add(60 * time.Second); seen.Load()+resynced.Load() < int64(n) && time.Now().Before(deadline); {
		time.Sleep(time.Millisecond)
	}
	el := time.Since(start)
	b.StopTimer()
	cancel()
	if err := <-errc; err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(float64(seen.Load())/el.Seconds(), "events/s")
	b.ReportMetric(float64(int64(n)-seen.Load()), "lost-live")
	b.ReportMetric(float64(resynced.Load()), "resynced")
}
