package monitor

import (
	"context"
	"errors"
	"log/slog"
	"net/netip"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"raceroute/live/netns/nstest"
	"raceroute/live/nl"
	"raceroute/live/nl/internal/rtsock"
	"raceroute/live/nl/write"
	"raceroute/trace"
)

// captureStorm records the raw notification datagrams of n route adds
// followed by their n deletes, as the kernel sends them, in a namespace
// of its own.
func captureStorm(b *testing.B, n int) [][]byte {
	b.Helper()
	ns := nstest.New(b, "bench")
	peer := nstest.New(b, "benchp")
	if err := ns.Veth("va", peer, "vb"); err != nil {
		b.Fatal(err)
	}
	if err := ns.AddrAdd("va", netip.MustParsePrefix("10.9.0.1/24")); err != nil {
		b.Fatal(err)
	}
	mc, err := rtsock.Dial(ns.FD())
	if err != nil {
		b.Fatal(err)
	}
	defer mc.Close()
	if _, _, err := rtsock.SetRcvBuf(mc, 256<<20); err != nil {
		b.Fatal(err)
	}
	if err := mc.JoinGroup(grpIPv4Route); err != nil {
		b.Fatal(err)
	}
	w, err := write.NewRouteWriter(nl.Options{NetnsFD: ns.FD()})
	if err != nil {
		b.Fatal(err)
	}
	defer w.Close()
	rs := make([]trace.Route, n)
	for i := range rs {
		a := netip.AddrFrom4([4]byte{10, byte(64 + i>>16), byte(i >> 8), byte(i)})
		rs[i] = trace.Route{Family: 4, Dst: netip.PrefixFrom(a, 32), Gateway: netip.MustParseAddr("10.9.0.2"), Metric: 1024}
	}
	ctx := context.Background()
	for _, op := range []write.Op{write.OpAdd, write.OpDelete} {
		if got, err := w.Write(ctx, op, rs); err != nil || got != n {
			b.Fatalf("%v: %d of %d: %v", op, got, n, err)
		}
	}
	rc, err := mc.SyscallConn()
	if err != nil {
		b.Fatal(err)
	}
	var out [][]byte
	var rerr error
	buf := make([]byte, 1<<16)
	if err := rc.Control(func(fd uintptr) {
		for {
			k, _, err := unix.Recvfrom(int(fd), buf, unix.MSG_DONTWAIT)
			if err != nil {
				if !errors.Is(err, unix.EAGAIN) {
					rerr = err
				}
				return
			}
			out = append(out, append([]byte(nil), buf[:k]...))
		}
	}); err != nil || rerr != nil {
		b.Fatal(err, rerr)
	}
	if len(out) < 2*n {
		b.Fatalf("captured %d datagrams, want %d", len(out), 2*n)
	}
	return out
}

// BenchmarkHandleRouteEvents measures how many kernel route
// notifications a subscription decodes, applies to its view and hands
// to a handler per second (run with -cpu 1 for one core). The datagrams
// are real: captured from a storm in a namespace.
func BenchmarkHandleRouteEvents(b *testing.B) {
	nstest.RequireRoot(b)
	const n = 50_000
	dgrams := captureStorm(b, n)
	handled := 0
	s := &Subscription{
		opts:    Options{Handler: func(trace.Record) { handled++ }},
		log:     slog.New(slog.DiscardHandler),
		view:    nl.ViewOf([]trace.Record{{Kind: trace.KindLink, Action: trace.ActionNew, Link: trace.Link{Index: 2, Name: "va", Up: true}}}),
		pending: map[int]*nl.View{},
	}
	verify := time.NewTimer(time.Hour)
	verify.Stop()
	ctx := context.Background()
	now := time.Now()
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		if !s.handleDgram(ctx, dgram{b: dgrams[i%len(dgrams)], t: now}, verify) {
			b.Fatal("handler stopped")
		}
	}
	b.StopTimer()
	if handled != b.N {
		b.Fatalf("handled %d records of %d events", handled, b.N)
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
	if routes := len(s.view.RouteList()); routes > n {
		b.Fatalf("view holds %d routes after add/delete cycles", routes)
	}
}
