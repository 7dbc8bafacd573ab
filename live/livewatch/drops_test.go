package livewatch

import (
	"context"
	"fmt"
	"net/netip"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"raceroute/live/netns/nstest"
	"raceroute/live/nl"
	"raceroute/live/nl/write"
	"raceroute/trace"
	"raceroute/watch"
)

// TestNetlinkDropsNamed: a process that stops reading its netlink
// socket during a storm (`ip monitor route`, stopped with SIGSTOP, its
// 1 MiB receive buffer soon full) is named, with its pid, by the drops
// detector; the watch's own socket is not reported by it.
func TestNetlinkDropsNamed(t *testing.T) {
	nstest.RequireRoot(t)
	if _, err := exec.LookPath("ip"); err != nil {
		t.Fatal("iproute2's ip is needed:", err)
	}
	a, _ := nstest.Pair(t, "dr")
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	mon := exec.Command("ip", "-n", a.Name, "-4", "monitor", "route")
	if err := mon.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() {
		mon.Process.Signal(syscall.SIGCONT)
		mon.Process.Kill()
		mon.Wait()
	}()
	var mu sync.Mutex
	var drops []watch.Finding
	ready := make(chan struct{})
	errc := make(chan error, 1)
	wctx, stop := context.WithCancel(ctx)
	go func() {
		errc <- Run(wctx, Config{Netns: a.Name, Families: []int{4}, Quiet: true, CachePoll: -1, DropsPoll: 100 * time.Millisecond, Ready: ready,
			OnFinding: func(f watch.Finding) {
				if f.Detector == watch.DetectorNetlinkDrops {
					mu.Lock()
					drops = append(drops, f)
					mu.Unlock()
				}
			}})
	}()
	<-ready
	// ip must have joined the route group before it is stopped, or it
	// never overflows: wait for its socket to list groups.
	subscribed := func() bool {
		mine := map[uint64]bool{}
		socketInodes(fmt.Sprintf("/proc/%d", mon.Process.Pid), func(ino uint64) { mine[ino] = true })
		socks, err := netlinkSockets(a)
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range socks {
			if mine[s.Inode] && s.Groups != 0 {
				return true
			}
		}
		return false
	}
	for !subscribed() {
		select {
		case <-ctx.Done():
			t.Fatal("ip monitor route never joined a multicast group")
		case <-time.After(20 * time.Millisecond):
		}
	}
	if err := mon.Process.Signal(syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	wr, err := write.NewRouteWriter(nl.Options{Netns: a.Name})
	if err != nil {
		t.Fatal(err)
	}
	defer wr.Close()
	const n = 30000 // about 3 MiB of notifications' truesize, beyond ip's 1 MiB
	routes := make([]trace.Route, n)
	for i := range routes {
		routes[i] = trace.Route{Family: 4, Dst: netip.PrefixFrom(netip.AddrFrom4([4]byte{10, 64 + byte(i>>16), byte(i >> 8), byte(i)}), 32),
			Gateway: netip.MustParseAddr("10.9.0.2"), Metric: 1024}
	}
	if _, err := wr.Write(ctx, write.OpAdd, routes); err != nil {
		t.Fatal(err)
	}
	want := "ip (pid " + strconv.Itoa(mon.Process.Pid) + ")"
	for {
		mu.Lock()
		found := false
		for _, f := range drops {
			if strings.Contains(f.Evidence, want) && strings.Contains(f.Evidence, "NETLINK_ROUTE") {
				found = true
			}
			if strings.Contains(f.Evidence, "raceroute") || strings.Contains(f.Objects[0], "livewatch.test") {
				t.Errorf("the watch's own socket reported: %v", f)
			}
		}
		mu.Unlock()
		if found {
			break
		}
		if ctx.Err() != nil {
			mu.Lock()
			t.Fatalf("no drops finding naming %s; drops findings: %v", want, drops)
		}
		// The storm goes on until the finding comes: ip's drops rise
		// between any two samples, however late the poll's first one
		// (its baseline) was taken.
		for _, op := range []write.Op{write.OpDelete, write.OpAdd} {
			if _, err := wr.Write(ctx, op, routes[:1000]); err != nil && ctx.Err() == nil {
				t.Fatal(err)
			}
		}
	}
	stop()
	if err := <-errc; err != nil {
		t.Fatal(err)
	}
}
