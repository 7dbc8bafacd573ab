package monitor_test

import (
	"context"
	"net/netip"
	"testing"
	"time"

	"raceroute/live/frame"
	"raceroute/live/netns"
	"raceroute/live/nl"
	"raceroute/live/nl/monitor"
	"raceroute/live/nl/write"
	"raceroute/trace"
)

// sendTooBig makes b send a Packet Too Big to a (fd00:9::1 on va) for
// quotedDst, so that a's kernel records a PMTU exception for it.
func sendTooBig(t *testing.T, a, b *netns.NS, quotedDst netip.Addr, mtu uint32) {
	t.Helper()
	macA, err := a.LinkMAC("va")
	if err != nil {
		t.Fatal(err)
	}
	s, err := frame.NewSender(b.Name, "vb")
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	f, err := frame.PacketTooBig(macA, s.MAC(), netip.MustParseAddr("fd00:9::2"), netip.MustParseAddr("fd00:9::1"), quotedDst, mtu)
	if err != nil {
		t.Fatal(err)
	}
	// Send until the exception shows: a frame sent before the veth pair
	// carries traffic is lost, and a second Packet Too Big for the same
	// destination only refreshes the exception.
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for {
		if err := s.Send(f); err != nil {
			t.Fatal(err)
		}
		c, err := nl.DumpCache(ctx, nl.Options{Netns: a.Name})
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range c {
			if r.Dst.Addr() == quotedDst {
				return
			}
		}
		select {
		case <-ctx.Done():
			t.Fatalf("no PMTU exception for %s after 30 s of Packet Too Big", quotedDst)
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// TestCacheExceptionPolledAndDeleted makes the kernel create an IPv6
// route-cache exception (a PMTU update), and checks that the cache poll
// reports it (the kernel announces none), that a dump with RTM_F_CLONED
// lists it, and that a delete with RTM_F_CLONED removes that entry
// alone, as `watch --heal` does.
func TestCacheExceptionPolledAndDeleted(t *testing.T) {
	a, b := pair(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	opts := nl.Options{Netns: a.Name, Families: []int{6}}
	sub, err := monitor.Subscribe(ctx, monitor.Options{Options: opts, CachePoll: 100 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sub.Close() })
	w, err := write.NewRouteWriter(opts)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	parent := route("fd01::/64", "fd00:9::2")
	if _, err := w.Write(ctx, write.OpAdd, []trace.Route{parent}); err != nil {
		t.Fatal(err)
	}
	target := netip.MustParsePrefix("fd01::1/128")
	sendTooBig(t, a, b, target.Addr(), 1400)

	isCache := func(act trace.Action) func(*trace.Record) bool {
		return func(r *trace.Record) bool {
			return r.Kind == trace.KindRoute && r.Route.Cloned && r.Route.Dst == target && r.Action == act && r.Polled
		}
	}
	got := waitRecord(t, sub.Records(), "polled cache entry for fd01::1", isCache(trace.ActionNew))
	if got.Route.Gateway.String() != "fd00:9::2" || got.Route.Dev != "va" {
		t.Errorf("cache entry %+v: want via fd00:9::2 dev va", got.Route)
	}
	recs, err := nl.Dump(ctx, opts)
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, r := range recs {
		if r.Kind == trace.KindRoute && r.Route.Cloned && r.Route.Dst == target {
			found = true
			if r.Route.Expires <= 0 {
				t.Errorf("PMTU exception with no expiry: %+v", r.Route)
			}
		}
	}
	if !found {
		t.Fatal("dump with RTM_F_CLONED does not list the exception")
	}

	// Delete the entry alone.
	if _, err := w.Write(ctx, write.OpDelete, []trace.Route{got.Route}); err != nil {
		t.Fatal(err)
	}
	waitRecord(t, sub.Records(), "polled deletion of the cache entry", isCache(trace.ActionDel))
	v, err := nl.DumpView(ctx, opts)
	if err != nil {
		t.Fatal(err)
	}
	parentThere := false
	for _, r := range v.RouteList() {
		if r.Cloned && r.Dst == target {
			t.Errorf("cache entry still there: %+v", r)
		}
		if !r.Cloned && r.Dst == parent.Dst {
			parentThere = true
		}
	}
	if !parentThere {
		t.Error("deleting the cache entry removed its parent route too")
	}
}
