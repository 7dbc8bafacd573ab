package livewatch

import (
	"context"
	"errors"
	"log/slog"
	"net/netip"
	"strings"
	"testing"
	"time"

	"raceroute/live/frame"
	"raceroute/live/netns/nstest"
	"raceroute/live/nl"
	"raceroute/live/nl/monitor"
	"raceroute/live/nl/write"
	"raceroute/trace"
	"raceroute/watch"
)

// TestHeal deletes IPv6 PMTU exceptions the way --heal does. A plain
// exception goes. One left under fd01::/64 after fd01::/80 was added
// cannot be deleted: Linux 6.x acknowledges the delete without doing it
// (ip6_del_cached_rt searches the /80's node and reports success when
// that node's route has no such exception), and heal must say so
// instead of claiming success.
func TestHeal(t *testing.T) {
	nstest.RequireRoot(t)
	tests := []struct {
		name     string
		specific bool // add fd01::/80 via fd00:9::3 after the exception
		want     error
	}{
		{"plain exception", false, nil},
		{"stranded under a less specific prefix", true, errStillThere},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			a, b := nstest.Pair(t, "hl")
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			opts := nl.Options{Netns: a.Name}
			wr, err := write.NewRouteWriter(opts)
			if err != nil {
				t.Fatal(err)
			}
			defer wr.Close()
			r64 := trace.Route{Family: 6, Dst: netip.MustParsePrefix("fd01::/64"), Gateway: netip.MustParseAddr("fd00:9::2"), Metric: 1024}
			if _, err := wr.Write(ctx, write.OpAdd, []trace.Route{r64}); err != nil {
				t.Fatal(err)
			}
			macA, err := a.LinkMAC("va")
			if err != nil {
				t.Fatal(err)
			}
			s, err := frame.NewSender(b.Name, "vb")
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			ptb, err := frame.PacketTooBig(macA, s.MAC(), netip.MustParseAddr("fd00:9::2"), netip.MustParseAddr("fd00:9::1"), netip.MustParseAddr("fd01::1"), 1400)
			if err != nil {
				t.Fatal(err)
			}
			// Send the Packet Too Big until the exception shows: while the
			// fresh address is still tentative (DAD) the kernel drops it.
			var entry trace.Route
			for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline) && !entry.Dst.IsValid(); time.Sleep(50 * time.Millisecond) {
				if err := s.Send(ptb); err != nil {
					t.Fatal(err)
				}
				c, err := nl.DumpCache(ctx, opts)
				if err != nil {
					t.Fatal(err)
				}
				if len(c) == 1 {
					entry = c[0]
				}
			}
			if !entry.Dst.IsValid() {
				t.Fatal("no PMTU exception for fd01::1")
			}
			if tc.specific {
				r80 := r64
				r80.Dst, r80.Gateway = netip.MustParsePrefix("fd01::/80"), netip.MustParseAddr("fd00:9::3")
				if _, err := wr.Write(ctx, write.OpAdd, []trace.Route{r80}); err != nil {
					t.Fatal(err)
				}
			}
			var out strings.Builder
			w := &watcher{cfg: Config{Netns: a.Name, Out: &out}, log: slog.New(slog.DiscardHandler), writer: wr,
				metrics: newMetrics(func() monitor.Stats { return monitor.Stats{} }), engine: watch.NewEngine(watch.DefaultConfig())}
			herr := w.heal(ctx, entry)
			if !errors.Is(herr, tc.want) {
				t.Fatalf("heal = %v, want %v", herr, tc.want)
			}
			left, err := nl.DumpCache(ctx, opts)
			if err != nil {
				t.Fatal(err)
			}
			if (len(left) == 0) != (tc.want == nil) {
				t.Errorf("heal said %v but the cache holds %v", herr, left)
			}
			if err := w.printHeal(trace.Record{Kind: trace.KindRoute, Action: trace.ActionDel, Route: entry}, herr); err != nil {
				t.Fatal(err)
			}
			prefix := "heal: deleted "
			if herr != nil {
				prefix = "heal failed: "
			}
			if !strings.HasPrefix(out.String(), prefix) {
				t.Errorf("output %q, want it to start with %q", out.String(), prefix)
			}
		})
	}
}
