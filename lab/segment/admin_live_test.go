package segment_test

import (
	"context"
	"net"
	"os"
	"strings"
	"testing"
	"time"

	"raceroute/live/netns"
	"raceroute/live/netns/nstest"
	"raceroute/model/neigh"
	"raceroute/model/neigh/nud"
	"raceroute/profile"
)

// The running kernel against the model's admin and transmit steps, in
// namespaces of the test's own: what `ip neigh` writes (argument
// vectors, no shell) and what traffic then does to the entry.

func runningProfile(t *testing.T) profile.Profile {
	t.Helper()
	rel, err := os.ReadFile("/proc/sys/kernel/osrelease")
	if err != nil {
		t.Fatal(err)
	}
	p, err := profile.Match(strings.TrimSpace(string(rel)))
	if err != nil {
		t.Fatalf("profile of the running kernel: %v", err)
	}
	return p
}

// sendUDP sends n datagrams to dst from inside ns, gap apart.
func sendUDP(t *testing.T, ns *netns.NS, dst string, n int, gap time.Duration) {
	t.Helper()
	err := ns.Do(func() error {
		c, err := net.Dial("udp4", dst+":9")
		if err != nil {
			return err
		}
		defer c.Close()
		for i := 0; i < n; i++ {
			if i > 0 {
				time.Sleep(gap)
			}
			c.Write([]byte("x")) // an unresolved neighbour queues or drops it: no error to check
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// neighShow returns `ip -s neigh show IP dev DEV` in ns.
func neighShow(t *testing.T, ns *netns.NS, ip, dev string) string {
	t.Helper()
	out, err := ns.Run(context.Background(), "ip", "-s", "neigh", "show", ip, "dev", dev)
	if err != nil {
		t.Fatalf("ip neigh show: %v: %s", err, out)
	}
	return strings.TrimSpace(out)
}

// neighAwait polls `ip -s neigh show IP dev DEV` in ns until ok holds of
// it or timeout passes, and returns what it showed last. A change the
// kernel is expected to make gets a generous timeout (a loaded machine
// delays its probes and their replies); one it is expected not to make
// is watched for the time it would take.
func neighAwait(t *testing.T, ns *netns.NS, ip, dev string, timeout time.Duration, ok func(string) bool) string {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		got := neighShow(t, ns, ip, dev)
		if ok(got) || time.Now().After(deadline) {
			return got
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// expectWait is how long neighAwait waits for a change that should
// come (yes) or should not (no).
func expectWait(yes bool) time.Duration {
	if yes {
		return 15 * time.Second
	}
	return time.Second
}

func ipNeigh(t *testing.T, ns *netns.NS, args ...string) {
	t.Helper()
	if out, err := ns.Run(context.Background(), "ip", append([]string{"neigh"}, args...)...); err != nil {
		t.Fatalf("ip neigh %s: %v: %s", strings.Join(args, " "), err, out)
	}
}

// modelDev is the model's view of a device with default parms.
func modelDev(p *profile.Profile, parms *nud.Parms, now int32) nud.Dev {
	return nud.Dev{Kernel: p, Parms: parms, Reach: parms.BaseReachable, Now: now}
}

// `ip neigh replace X nud incomplete`: no timer, no probe, and traffic
// does not start one: INCOMPLETE forever, on the kernel as in the model.
func TestLiveAdminIncompleteStaysIncomplete(t *testing.T) {
	a, _ := nstest.Pair(t, "adminc")
	ipNeigh(t, a, "replace", "10.9.0.20", "dev", "va", "nud", "incomplete")
	sendUDP(t, a, "10.9.0.20", 3, 300*time.Millisecond)
	time.Sleep(3500 * time.Millisecond) // past 3 x retrans_time
	got := neighShow(t, a, "10.9.0.20", "va")
	live := strings.Contains(got, "INCOMPLETE") && strings.Contains(got, "probes 0")

	p := runningProfile(t)
	parms := neigh.DefaultSysctl().Parms
	e := nud.Entry{Timer: nud.NoTimer, Flags: nud.FlagLive}
	nud.AdminUpdate(modelDev(&p, &parms, 0), &e, 0, nud.Incomplete, false)
	for now := int32(0); now < 900; now += 300 {
		nud.EventSend(modelDev(&p, &parms, now), &e)
	}
	model := e.State == nud.Incomplete && e.Timer == nud.NoTimer
	if !live || !model {
		t.Fatalf("INCOMPLETE with no probe after traffic: kernel %v (%q), model %v (%s, timer %d)", live, got, model, e.State, e.Timer)
	}
}

// mcast_solicit 0 and app_solicit 0: __neigh_event_send() never resolves
// a FAILED entry again; every packet is dropped with no probe.
func TestLiveFailedNeverRetried(t *testing.T) {
	a, _ := nstest.Pair(t, "failed")
	if err := a.Sysctl("net.ipv4.neigh.va.mcast_solicit", "0"); err != nil {
		t.Fatal(err)
	}
	sendUDP(t, a, "10.9.0.21", 1, 0)
	time.Sleep(200 * time.Millisecond)
	sendUDP(t, a, "10.9.0.21", 3, 300*time.Millisecond)
	time.Sleep(2 * time.Second)
	got := neighShow(t, a, "10.9.0.21", "va")
	live := strings.Contains(got, "FAILED") && strings.Contains(got, "probes 0")

	p := runningProfile(t)
	parms := neigh.DefaultSysctl().Parms
	parms.McastSolicit = 0
	e := nud.Create(0)
	var w nud.SendWhy
	for now := int32(0); now < 1200; now += 300 {
		w = nud.EventSend(modelDev(&p, &parms, now), &e)
	}
	model := e.State == nud.Failed && w.Rule == nud.SendNoProbes && e.Timer == nud.NoTimer
	if !live || !model {
		t.Fatalf("FAILED, never retried: kernel %v (%q), model %v (%s, rule %d)", live, got, model, e.State, w.Rule)
	}
}

// `ip neigh del` unlinks the entry where the running kernel's profile says
// neigh-del-removes=yes (4.14 on), and leaves it FAILED otherwise.
func TestLiveDelRemoves(t *testing.T) {
	a, _ := nstest.Pair(t, "del")
	ipNeigh(t, a, "replace", "10.9.0.22", "dev", "va", "lladdr", "02:00:00:00:00:22", "nud", "stale")
	ipNeigh(t, a, "del", "10.9.0.22", "dev", "va")
	got := neighShow(t, a, "10.9.0.22", "va")
	p := runningProfile(t)
	if s, ok := p.Setting("neigh-del-removes"); !ok || !s.Known() {
		t.Skipf("profile %s leaves neigh-del-removes unknown", p.Name)
	}
	if removed := got == ""; removed != p.NeighDelRemoves {
		t.Fatalf("after ip neigh del: %q; profile %s says neigh-del-removes=%v", got, p.Name, p.NeighDelRemoves)
	}
}

// `ip neigh replace X use` on a PERMANENT entry: where the running
// kernel's profile has neigh-use-update (5.16), PERMANENT is dropped and
// the entry resolves to the peer's real MAC; before, it stays pinned.
func TestLiveUseOnPermanent(t *testing.T) {
	a, b := nstest.Pair(t, "use")
	p := runningProfile(t)
	if s, ok := p.Setting("neigh-use-update"); !ok || !s.Known() {
		t.Skipf("profile %s leaves neigh-use-update unknown", p.Name)
	}
	ipNeigh(t, a, "replace", "10.9.0.2", "dev", "va", "lladdr", "02:00:00:00:00:a0", "nud", "permanent")
	mac, err := b.LinkMAC("vb")
	if err != nil {
		t.Fatal(err)
	}
	ipNeigh(t, a, "replace", "10.9.0.2", "dev", "va", "use")
	isResolved := func(s string) bool { return strings.Contains(s, mac.String()) && !strings.Contains(s, "PERMANENT") }
	got := neighAwait(t, a, "10.9.0.2", "va", expectWait(p.NeighUseUpdate), isResolved)
	resolved := isResolved(got)

	parms := neigh.DefaultSysctl().Parms
	e := nud.Entry{State: nud.Permanent, LL: 1, Timer: nud.NoTimer, Flags: nud.FlagLive}
	nud.Use(&p, &e, false)
	w := nud.EventSend(modelDev(&p, &parms, 0), &e)
	model := w.Rule == nud.SendResolve
	if resolved != p.NeighUseUpdate || model != p.NeighUseUpdate {
		t.Fatalf("after use: kernel %q (resolved %v), model resolves %v; profile %s has neigh-use-update=%v", got, resolved, model, p.Name, p.NeighUseUpdate)
	}
}
