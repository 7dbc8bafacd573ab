package fib6host

import (
	"context"
	"encoding/binary"
	"net"
	"net/netip"
	"os"
	"strings"
	"testing"
	"time"

	"golang.org/x/net/icmp"
	"golang.org/x/net/ipv6"

	"raceroute/kernel"
	"raceroute/lab/liverun"
	"raceroute/live/netns"
	"raceroute/live/netns/nstest"
	"raceroute/live/nl"
	"raceroute/live/nl/write"
	"raceroute/trace"
)

// TestHealLive: on 6.x lookups clone nothing, but a Packet Too Big
// makes an exception (a route-cache entry) under the route that carried
// the packet (ip6_update_pmtu()). A route at a better metric then
// covers its destination through another gateway, so the entry
// contradicts it. The heal leaves an entry that agrees, and says what
// became of one that contradicts: this kernel acknowledges the delete
// and keeps the entry (ip6_route_del(), 6.12 and 6.18 read and run).
func TestHealLive(t *testing.T) {
	nstest.RequireRoot(t)
	ctx := context.Background()
	topo, src, ll, dst, gw1, gw2 := twoGateways(ctx, t, "heal")
	old := trace.Route{Family: 6, Table: 254, Dst: gapPrefix, Gateway: gw1, Ifindex: topo.Ifidx["eth0"], Metric: 1024}
	if err := WriteRoutes(ctx, topo.Host, write.OpAdd, old); err != nil {
		t.Fatal(err)
	}
	sendTooBig(t, topo.peers["eth0"], gw1, ll, src, dst)
	var cache []trace.Route
	var err error
	for deadline := time.Now().Add(15 * time.Second); len(cache) == 0 && time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		if cache, err = dumpRoutes(topo.Host, topo.byIdx, true); err != nil {
			t.Fatal(err)
		}
	}
	if len(cache) != 1 || cache[0].Dst.Addr() != dst || cache[0].Gateway != gw1 {
		t.Fatalf("after the Packet Too Big the host's route cache holds %v, want one exception for %s via %s", cache, dst, gw1)
	}
	w, err := write.NewRouteWriter(nl.Options{Netns: topo.Host.Name})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()

	rec := liverun.NewRecorder()
	if err := heal(ctx, topo, w, rec, "writer", 254, gapPrefix); err != nil {
		t.Fatal(err)
	}
	if got := story(rec); !strings.Contains(got, "1 route-cache entries under it, none contradicts its route: nothing deleted") {
		t.Errorf("heal with the entry agreeing: %s", got)
	}

	// A route at a better metric: the entry, which hangs off the route
	// at 1024, now contradicts the route covering its destination. The
	// kernel acknowledges its deletion and keeps it (ip6_route_del()
	// stops at the 512 route, which holds no such exception), and the
	// heal must say so rather than count it deleted.
	better := trace.Route{Family: 6, Table: 254, Type: kernel.RouteUnicast, Dst: gapPrefix, Gateway: gw2, Ifindex: topo.Ifidx["eth1"], Metric: 512}
	if err := WriteRoutes(ctx, topo.Host, write.OpAdd, better); err != nil {
		t.Fatal(err)
	}
	rec = liverun.NewRecorder()
	if err := heal(ctx, topo, w, rec, "writer", 254, gapPrefix); err != nil {
		t.Fatal(err)
	}
	got := story(rec)
	for _, want := range []string{"pass 1: 1 route-cache entries under it, 1 contradict their route", "pass 2: 1 route-cache entries under it, 1 contradict their route", "acknowledged, but the kernel still lists it"} {
		if !strings.Contains(got, want) {
			t.Errorf("heal with the entry contradicting the better route: %s\nwant %q", got, want)
		}
	}
	if strings.Contains(got, "` deleted") {
		t.Errorf("the heal counts an entry deleted that the kernel still lists: %s", got)
	}
	if cache, err = dumpRoutes(topo.Host, topo.byIdx, true); err != nil || len(cache) != 1 {
		t.Errorf("after the heal the route cache holds %v (%v), want the entry the kernel kept", cache, err)
	}

	// Without the better route the entry agrees again, and deleting it
	// by hand (as the heal does) works: it hangs off the node's first
	// route.
	if err := WriteRoutes(ctx, topo.Host, write.OpDelete, better); err != nil {
		t.Fatal(err)
	}
	c := cache[0]
	c.Cloned = true
	if _, err := w.Write(ctx, write.OpDelete, []trace.Route{c}); err != nil {
		t.Fatal(err)
	}
	if cache, err = dumpRoutes(topo.Host, topo.byIdx, true); err != nil || len(cache) != 0 {
		t.Errorf("after deleting the entry at the node's first route the route cache holds %v (%v), want nothing", cache, err)
	}
}

func story(rec *liverun.Recorder) string {
	var parts []string
	for _, e := range rec.List() {
		parts = append(parts, e.Text)
	}
	return strings.Join(parts, "\n")
}

// sendTooBig sends, from peer's gw on p0 to the host's link-local
// address, an ICMPv6 Packet Too Big (MTU 1280) quoting an echo request
// from src to dst.
func sendTooBig(t *testing.T, peer *netns.NS, gw, hostLL, src, dst netip.Addr) {
	t.Helper()
	c, err := RawICMPv6(peer, netip.AddrFrom16(gw.As16()).WithZone("p0"))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	inner := make([]byte, 48)
	inner[0] = 6 << 4
	binary.BigEndian.PutUint16(inner[4:], 8)
	inner[6], inner[7] = 58, 64
	s16, d16 := src.As16(), dst.As16()
	copy(inner[8:], s16[:])
	copy(inner[24:], d16[:])
	inner[40] = byte(ipv6.ICMPTypeEchoRequest)
	msg := icmp.Message{Type: ipv6.ICMPTypePacketTooBig, Body: &icmp.PacketTooBig{MTU: 1280, Data: inner}}
	b, err := msg.Marshal(nil) // the kernel sums ICMPv6 on raw sockets
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.WriteTo(b, &net.IPAddr{IP: net.IP(hostLL.AsSlice()), Zone: "p0"}); err != nil {
		t.Fatal(err)
	}
}

// twoGateways builds the host of the live route tests in namespaces of a
// run of its own (deleted when the test ends, and checked to be gone):
// eth0 to gateway fe80::1 and eth1 to fe80::2, each peer holding
// destination 2001:db8:0:10::1. It returns the topology, the host's
// source and link-local addresses, the destination and the gateways.
func twoGateways(ctx context.Context, t *testing.T, tag string) (topo *Topology, src, ll, dst, gw1, gw2 netip.Addr) {
	t.Helper()
	run, err := netns.NewRun()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := run.Close(); err != nil {
			t.Error(err)
		}
		if l := nstest.NamespacesOf(t, os.Getpid()); len(l) > 0 {
			t.Errorf("namespaces left behind: %v", l)
		}
	})
	src, ll = HostAddrs()
	dst = netip.MustParseAddr("2001:db8:0:10::1")
	gw1, gw2 = netip.MustParseAddr("fe80::1"), netip.MustParseAddr("fe80::2")
	topo, err = Build(ctx, run, tag, []string{"eth0", "eth1"}, map[string][]netip.Addr{"eth0": {gw1}, "eth1": {gw2}}, []netip.Addr{dst}, src, ll)
	if err != nil {
		t.Fatal(err)
	}
	return topo, src, ll, dst, gw1, gw2
}
