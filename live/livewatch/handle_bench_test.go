package livewatch

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/netip"
	"testing"
	"time"

	"raceroute/live/nl/monitor"
	"raceroute/trace"
	"raceroute/watch"
)

// BenchmarkHandle measures the watch's cost per route event after the
// subscription: detectors, metrics and a JSON or text line.
func BenchmarkHandle(b *testing.B) {
	for _, js := range []bool{false, true} {
		name := "text"
		if js {
			name = "json"
		}
		b.Run(name, func(b *testing.B) {
			cfg := Config{JSON: js, Out: io.Discard}
			w := &watcher{cfg: cfg, log: slog.New(slog.DiscardHandler), engine: watch.NewEngine(watch.DefaultConfig()),
				metrics: newMetrics(func() monitor.Stats { return monitor.Stats{} }), enc: json.NewEncoder(io.Discard)}
			const n = 50_000
			recs := make([]trace.Record, 0, 2*n)
			now := time.Now()
			for i := range n {
				a := netip.AddrFrom4([4]byte{10, byte(64 + i>>16), byte(i >> 8), byte(i)})
				r := trace.Record{Time: now, Kind: trace.KindRoute, Action: trace.ActionNew, Route: trace.Route{
					Family: 4, Table: 254, Type: 1, Dst: netip.PrefixFrom(a, 32), Gateway: netip.MustParseAddr("10.9.0.2"),
					Dev: "va", Ifindex: 2, Metric: 1024, Proto: 4}}
				recs = append(recs, r)
			}
			for i := range n {
				r := recs[i]
				r.Action = trace.ActionDel
				recs = append(recs, r)
			}
			ctx := context.Background()
			b.ResetTimer()
			for i := range b.N {
				r := recs[i%len(recs)]
				// 20 µs apart: a delete and the re-add of its route are 2 s
				// apart, beyond the non-atomic window, as in a storm.
				r.Time = now.Add(time.Duration(i) * 20 * time.Microsecond)
				if err := w.handle(ctx, &r); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
		})
	}
}
