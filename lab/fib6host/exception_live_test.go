package fib6host

import (
	"context"
	"fmt"
	"net/netip"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/mdlayher/netlink"
	"golang.org/x/sys/unix"

	"raceroute/lab/liverun"
	"raceroute/live/netns"
	"raceroute/live/netns/nstest"
	"raceroute/live/nl"
	"raceroute/live/nl/write"
	"raceroute/model/fib6/exception"
	"raceroute/trace"
)

// TestExceptionRulesLive checks model/fib6/exception's rules for the
// running kernel's profile on the kernel itself, in namespaces: a Packet
// Too Big makes an entry for its destination; the dumps that list it
// (exception.InDump: a legacy dump, a strict one, one with
// RTM_F_CLONED); what a replace and a delete of its route do to it
// (exception.OnReplace, OnDelete), read in rt6_stats' fib_rt_cache,
// which counts the entries wherever they hang (rt6_insert_exception()
// adds one, rt6_remove_exception() takes one), since an entry left with
// an unlinked route is in no dump.
func TestExceptionRulesLive(t *testing.T) {
	nstest.RequireRoot(t)
	ctx := context.Background()
	h, err := liverun.DetectHost(ctx)
	if err != nil {
		t.Fatal(err)
	}
	p := h.Profile
	if exception.Where(p) != exception.InExceptionTable {
		t.Fatalf("the running kernel %s has profile %s, which keeps no exception table: this test reads the 4.15+ rules", h.Release, p.Name)
	}
	topo, src, ll, dst, gw1, gw2 := twoGateways(ctx, t, "exc")
	old := trace.Route{Family: 6, Table: 254, Dst: gapPrefix, Gateway: gw1, Ifindex: topo.Ifidx["eth0"], Metric: 1024}
	next := trace.Route{Family: 6, Table: 254, Dst: gapPrefix, Gateway: gw2, Ifindex: topo.Ifidx["eth1"], Metric: 1024}
	if err := WriteRoutes(ctx, topo.Host, write.OpAdd, old); err != nil {
		t.Fatal(err)
	}
	made := func(peer string, gw netip.Addr) {
		t.Helper()
		sendTooBig(t, topo.peers[peer], gw, ll, src, dst)
		for deadline := time.Now().Add(15 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
			if n, err := cacheEntries(topo.Host, true, true); err != nil {
				t.Fatal(err)
			} else if n == 1 {
				return
			}
		}
		t.Fatalf("no exception for %s after a Packet Too Big from %s", dst, gw)
	}
	made("eth0", gw1)
	for _, d := range []struct {
		kind           exception.Dump
		strict, cloned bool
	}{{exception.Legacy, false, false}, {exception.Strict, true, false}, {exception.Cloned, true, true}} {
		n, err := cacheEntries(topo.Host, d.strict, d.cloned)
		if err != nil {
			t.Fatal(err)
		}
		want, why := exception.InDump(p, d.kind)
		t.Logf("%s on %s: %d route-cache entries listed", d.kind, h.Release, n)
		if got := n > 0; got != want {
			t.Errorf("%s on %s: the kernel lists the exception: %v; the model says %v (%s)", d.kind, h.Release, got, want, why)
		}
	}
	if n := fibRtCache(t, topo.Host); n != 1 {
		t.Fatalf("rt6_stats counts %d route-cache entries after the Packet Too Big, want 1", n)
	}
	// A replace of the route: flushed (fib_rt_cache back to 0) or left
	// with the unlinked route (still 1).
	if err := WriteRoutes(ctx, topo.Host, write.OpReplace, next); err != nil {
		t.Fatal(err)
	}
	want := 1
	if f := exception.OnReplace(p); f.Flush {
		want = 0
	}
	if n := fibRtCache(t, topo.Host); n != want {
		t.Errorf("after a replace of its route rt6_stats counts %d route-cache entries; the model says %d (%s)", n, want, exception.OnReplace(p).Why)
	}
	// A delete of the route flushes its entries in every version.
	made("eth1", gw2)
	before := fibRtCache(t, topo.Host)
	if err := WriteRoutes(ctx, topo.Host, write.OpDelete, next); err != nil {
		t.Fatal(err)
	}
	if n := fibRtCache(t, topo.Host); !exception.OnDelete(p).Flush || n != before-1 {
		t.Errorf("after a delete of its route rt6_stats counts %d route-cache entries (%d before); the model says the delete flushes it", n, before)
	}
}

// cacheEntries counts the route-cache entries (RTM_F_CLONED) of a route
// dump in ns: strict or legacy, with or without RTM_F_CLONED asked.
func cacheEntries(ns *netns.NS, strict, cloned bool) (int, error) {
	c, err := netlink.Dial(unix.NETLINK_ROUTE, &netlink.Config{NetNS: ns.FD(), Strict: strict})
	if err != nil {
		return 0, fmt.Errorf("dump routes in %s: %w", ns.Name, err)
	}
	defer c.Close()
	body := make([]byte, unix.SizeofRtMsg)
	body[0] = unix.AF_INET6
	if cloned {
		f := uint32(unix.RTM_F_CLONED)
		body[8], body[9], body[10], body[11] = byte(f), byte(f>>8), byte(f>>16), byte(f>>24)
	}
	msgs, err := c.Execute(netlink.Message{Header: netlink.Header{Type: unix.RTM_GETROUTE, Flags: netlink.Request | netlink.Dump}, Data: body})
	if err != nil {
		return 0, fmt.Errorf("dump routes in %s: %w", ns.Name, err)
	}
	n := 0
	for _, m := range msgs {
		rec, ok, err := nl.Decode(uint16(m.Header.Type), m.Data)
		if err != nil {
			return 0, fmt.Errorf("dump routes in %s: %w", ns.Name, err)
		}
		if ok && rec.Route.Cloned {
			n++
		}
	}
	return n, nil
}

// fibRtCache reads fib_rt_cache, the fifth field of
// /proc/net/rt6_stats (rt6_stats_seq_show()), in ns.
func fibRtCache(t *testing.T, ns *netns.NS) int {
	t.Helper()
	var text string
	if err := ns.Do(func() error {
		b, err := os.ReadFile("/proc/thread-self/net/rt6_stats")
		text = string(b)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	f := strings.Fields(text)
	if len(f) < 5 {
		t.Fatalf("rt6_stats %q: want 7 hex fields", text)
	}
	n, err := strconv.ParseInt(f[4], 16, 32)
	if err != nil {
		t.Fatalf("rt6_stats %q: %v", text, err)
	}
	return int(n)
}
