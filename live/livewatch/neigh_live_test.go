package livewatch

import (
	"context"
	"fmt"
	"net/netip"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"raceroute/kernel"
	"raceroute/live/netns"
	"raceroute/live/netns/nstest"
	"raceroute/watch"
)

// liveFindings runs a watch on ns until the test ends and collects its
// findings of the detectors named.
func liveFindings(t *testing.T, ns string, cfg Config, detectors ...string) func() []watch.Finding {
	t.Helper()
	var mu sync.Mutex
	var got []watch.Finding
	ready := make(chan struct{})
	errc := make(chan error, 1)
	ctx, stop := context.WithCancel(context.Background())
	cfg.Netns, cfg.Quiet, cfg.CachePoll, cfg.Ready = ns, true, -1, ready
	cfg.OnFinding = func(f watch.Finding) {
		for _, d := range detectors {
			if f.Detector == d {
				mu.Lock()
				got = append(got, f)
				mu.Unlock()
			}
		}
	}
	go func() { errc <- Run(ctx, cfg) }()
	select {
	case <-ready:
	case err := <-errc:
		t.Fatal(err)
	}
	t.Cleanup(func() {
		stop()
		if err := <-errc; err != nil {
			t.Error(err)
		}
	})
	return func() []watch.Finding {
		mu.Lock()
		defer mu.Unlock()
		return append([]watch.Finding(nil), got...)
	}
}

// udpSender returns a function that sends one datagram from ns to
// dst:9: traffic that uses (and creates) the neighbour entry of dst.
func udpSender(t *testing.T, ns *netns.NS, dst netip.Addr) func() {
	t.Helper()
	var fam int
	var sa unix.Sockaddr
	if dst.Is4() {
		fam, sa = unix.AF_INET, &unix.SockaddrInet4{Port: 9, Addr: dst.As4()}
	} else {
		fam, sa = unix.AF_INET6, &unix.SockaddrInet6{Port: 9, Addr: dst.As16()}
	}
	var fd int
	if err := ns.Do(func() (err error) { fd, err = unix.Socket(fam, unix.SOCK_DGRAM, 0); return err }); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { unix.Close(fd) })
	// Errors (unresolved, unreachable) are the point.
	return func() { unix.Sendto(fd, []byte("x"), unix.MSG_DONTWAIT, sa) }
}

// udpFlow sends a datagram from ns to dst:9 every interval until the
// test ends.
func udpFlow(t *testing.T, ns *netns.NS, dst netip.Addr, interval time.Duration) {
	t.Helper()
	send := udpSender(t, ns, dst)
	done := make(chan struct{})
	stopped := make(chan struct{})
	go func() {
		defer close(stopped)
		for {
			send()
			select {
			case <-done:
				return
			case <-time.After(interval):
			}
		}
	}()
	t.Cleanup(func() { close(done); <-stopped })
}

// TestNeighStuckIncompleteLive: `ip neigh add 10.9.0.7 dev va nud
// incomplete` leaves an entry INCOMPLETE with no timer (__neigh_update()
// deletes the timer for a state without NUD_VALID and arms none, and
// announces nothing, the old state being NONE): the neighbour poll finds
// it and, past the bound va's sysctls give (mcast_solicit 1 × 100 ms),
// the detector names it. An entry the kernel itself puts in INCOMPLETE
// (traffic to 10.9.0.8, which nobody answers) goes FAILED within its
// bound and is not named.
func TestNeighStuckIncompleteLive(t *testing.T) {
	nstest.RequireRoot(t)
	a, _ := nstest.Pair(t, "ns")
	for k, v := range map[string]string{"net.ipv4.neigh.va.mcast_solicit": "1", "net.ipv4.neigh.va.retrans_time_ms": "100"} {
		if err := a.Sysctl(k, v); err != nil {
			t.Fatal(err)
		}
	}
	got := liveFindings(t, a.Name, Config{Families: []int{4}, NeighPoll: 200 * time.Millisecond}, watch.DetectorNeighStuck)
	udpFlow(t, a, netip.MustParseAddr("10.9.0.8"), 300*time.Millisecond)
	start := time.Now()
	if out, err := a.Run(context.Background(), "ip", "neigh", "add", "10.9.0.7", "dev", "va", "nud", "incomplete"); err != nil {
		t.Fatal(err, out)
	}
	var f watch.Finding
	for deadline := time.Now().Add(15 * time.Second); ; {
		fs := got()
		for _, x := range fs {
			if strings.Contains(x.Objects[0], "10.9.0.8") {
				t.Fatalf("the kernel's own INCOMPLETE entry, which its timers end, named: %v", x)
			}
		}
		if len(fs) > 0 {
			f = fs[0]
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("no neigh-stuck-transient finding for 10.9.0.7 after 15 s")
		}
		time.Sleep(100 * time.Millisecond)
	}
	if f.Objects[0] != "10.9.0.7 dev va" || f.Severity != watch.SeverityCritical ||
		!strings.Contains(f.Evidence, "(mcast_solicit 1 + app_solicit 0) × retrans_time 100ms = 100.0 ms") {
		t.Fatalf("finding %v", f)
	}
	if el := time.Since(start); el < 1100*time.Millisecond {
		t.Errorf("named after %v, before its bound and slack (1.1 s)", el)
	}
	// Let the flow's entry go through INCOMPLETE and FAILED a few times.
	time.Sleep(time.Second)
	for _, x := range got() {
		if strings.Contains(x.Objects[0], "10.9.0.8") {
			t.Fatalf("the kernel's own INCOMPLETE entry named: %v", x)
		}
	}
}

// TestNeighEvictedInUseLive: an IPv6 neighbour entry that a UDP flow
// uses is evicted by forced garbage collection while the flow pauses,
// and re-created when it resumes, and the detector names it. gc_thresh1/2/3 exist only in the
// initial namespace (neigh_sysctl_register() hides them elsewhere) and
// count every namespace's entries, so the test does not lower them:
// it fills nd_tbl past the host's gc_thresh2 with administratively
// added STALE entries of its own namespace until neigh_forced_gc()
// removes the flow's entry (the oldest not updated for 5 s). It refuses
// to run when the host has resolved IPv6 neighbour entries of its own,
// which the collection could evict first (its NOARP multicast entries
// may go, and are rebuilt from their address at their next use).
func TestNeighEvictedInUseLive(t *testing.T) {
	nstest.RequireRoot(t)
	// The test runs in the host's namespace.
	out, err := exec.Command("ip", "-6", "neigh", "show", "nud", "all").Output()
	if err != nil {
		t.Fatal(err)
	}
	// NOARP entries (multicast addresses, mapped by ndisc_mc_map() with
	// no resolution) are rebuilt from the address on their next use; an
	// entry that was resolved would be lost.
	for _, l := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		if l != "" && !strings.HasSuffix(strings.TrimSpace(l), "NOARP") {
			t.Skipf("the host has a resolved IPv6 neighbour entry that forced GC could evict first: %s", l)
		}
	}
	a, b := nstest.Pair(t, "ev")
	for _, ns := range []*netns.NS{a, b} {
		for k, v := range map[string]string{"net.ipv6.conf.all.accept_dad": "0", "net.ipv6.conf.default.accept_dad": "0"} {
			if err := ns.Sysctl(k, v); err != nil {
				t.Fatal(err)
			}
		}
	}
	// Forced GC takes only entries without a timer (a running timer holds
	// a reference: neigh_add_timer()) not updated for 5 s, so the victim
	// is a STALE entry whose traffic paused: with a short reachable time
	// and no delay before probing, the flow's entry goes REACHABLE, then
	// STALE within a second (neigh_timer_handler()).
	for k, v := range map[string]string{"net.ipv6.neigh.va.base_reachable_time_ms": "500", "net.ipv6.neigh.va.delay_first_probe_time": "0"} {
		if err := a.Sysctl(k, v); err != nil {
			t.Fatal(err)
		}
	}
	peer := netip.MustParseAddr("fd00:9::2")
	got := liveFindings(t, a.Name, Config{Families: []int{6}, NeighPoll: -1}, watch.DetectorNeighEvicted)
	send := udpSender(t, a, peer)
	state := func() string {
		out, err := a.Run(context.Background(), "ip", "-6", "neigh", "show", peer.String(), "dev", "va")
		if err != nil {
			t.Fatal(err)
		}
		return strings.TrimSpace(out)
	}
	waitFor := func(what string, ok func(string) bool) {
		t.Helper()
		for deadline := time.Now().Add(15 * time.Second); !ok(state()); time.Sleep(50 * time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatalf("no %s entry for %s after 15 s: %q", what, peer, state())
			}
			if what == "REACHABLE" {
				send()
			}
		}
	}
	waitFor("REACHABLE", func(s string) bool { return strings.Contains(s, "REACHABLE") })
	waitFor("STALE", func(s string) bool { return strings.Contains(s, "STALE") })
	time.Sleep(5500 * time.Millisecond) // the traffic pauses
	mac := kernel.MACFrom6([6]byte{0x02, 0, 0, 0, 0x10, 0x01})
	for i := 0; i < 1100 && state() != ""; i++ {
		ip := netip.MustParseAddr(fmt.Sprintf("fd00:9::1:%x", i))
		if err := a.NeighSet("va", ip, mac, kernel.NUDStale); err != nil {
			t.Fatal(err)
		}
	}
	if s := state(); s != "" {
		t.Fatalf("the flow's entry was not evicted: %q", s)
	}
	send() // the traffic resumes
	var fs []watch.Finding
	for deadline := time.Now().Add(15 * time.Second); len(fs) == 0 && time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		fs = got()
	}
	if len(fs) == 0 {
		t.Fatalf("no %s finding after filling the table", watch.DetectorNeighEvicted)
	}
	if f := fs[0]; f.Objects[0] != "fd00:9::2 dev va" || !strings.Contains(f.Evidence, "while it was STALE") {
		t.Errorf("finding %v", f)
	}
}
