package segment_test

import (
	"net/netip"
	"strings"
	"testing"
	"time"

	"raceroute/live/netns/nstest"
	"raceroute/model/neigh"
	"raceroute/model/neigh/nud"
)

// `ip neigh add X dev D managed` (NTF_MANAGED, 5.16) on the running
// kernel against the model's steps, in namespaces of the test's own:
// resolved at once without traffic (neigh_add()'s neigh_event_send());
// a managed replace with an lladdr keeps the old one (__neigh_update()
// returns before the lladdr); and an entry that FAILED is resolved again,
// still without traffic, once the peer answers (neigh_managed_work()).
func TestLiveManaged(t *testing.T) {
	a, b := nstest.Pair(t, "mgd")
	p := runningProfile(t)
	if s, ok := p.Setting("neigh-managed"); !ok || !s.Known() {
		t.Skipf("profile %s leaves neigh-managed unknown", p.Name)
	}
	mac, err := b.LinkMAC("vb")
	if err != nil {
		t.Fatal(err)
	}
	parms := neigh.DefaultSysctl().Parms

	// 1. add managed: resolved without a packet.
	ipNeigh(t, a, "add", "10.9.0.2", "dev", "va", "managed")
	isResolved := func(s string) bool { return strings.Contains(s, mac.String()) && strings.Contains(s, "REACHABLE") }
	got := neighAwait(t, a, "10.9.0.2", "va", expectWait(p.NeighManaged), isResolved)
	resolved := isResolved(got)
	e := nud.Create(0)
	nud.Managed(&p, &e, false)
	w := nud.EventSend(modelDev(&p, &parms, 0), &e)
	model := w.Rule == nud.SendResolve && e.Flags&nud.FlagManaged != 0
	if resolved != p.NeighManaged || model != p.NeighManaged {
		t.Fatalf("add managed: kernel %q (resolved %v), model resolves %v; profile %s has neigh-managed=%v", got, resolved, model, p.Name, p.NeighManaged)
	}
	if !p.NeighManaged {
		return
	}

	// 2. replace with an lladdr and managed: the lladdr is not read.
	ipNeigh(t, a, "replace", "10.9.0.2", "dev", "va", "lladdr", "02:00:00:00:00:a0", "managed")
	got = neighShow(t, a, "10.9.0.2", "va")
	e = nud.Entry{State: nud.Reachable, LL: 1, Timer: 30000, Flags: nud.FlagLive | nud.FlagManaged}
	nud.Managed(&p, &e, false)
	if !strings.Contains(got, mac.String()) || e.LL != 1 || e.State != nud.Reachable {
		t.Fatalf("replace lladdr managed: kernel %q (want %s kept), model %s ll %d", got, mac, e.State, e.LL)
	}

	// 3. a managed entry of an address nobody owns fails; once the peer
	// owns it, the managed work (every 5 s) resolves it again.
	// The entry fails after its probes (3 x retrans_time, 1 s); the
	// managed work, every 5 s whatever the entry's age, restarts it
	// (INCOMPLETE for 3 more probes), so that the FAILED span is from 0 to
	// 5 s long: watch for it over two of the work's periods.
	ipNeigh(t, a, "add", "10.9.0.5", "dev", "va", "managed")
	for deadline := time.Now().Add(12 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		got = neighShow(t, a, "10.9.0.5", "va")
		if strings.Contains(got, "FAILED") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("unowned managed entry never FAILED in 12 s: %q", got)
		}
	}
	if err := b.AddrAdd("vb", netip.MustParsePrefix("10.9.0.5/24")); err != nil {
		t.Fatal(err)
	}
	// One interval (5 s) and the probe, and slack for a loaded machine.
	got = neighAwait(t, a, "10.9.0.5", "va", 15*time.Second, func(s string) bool { return strings.Contains(s, mac.String()) })
	e = nud.Entry{State: nud.Failed, Timer: nud.NoTimer, Flags: nud.FlagLive | nud.FlagManaged}
	w = nud.ManagedProbe(modelDev(&p, &parms, 0), &e)
	model = w.Rule == nud.SendResolve && e.State == nud.Incomplete && e.Timer == 1
	if !strings.Contains(got, mac.String()) || !model {
		t.Fatalf("FAILED managed entry after the peer came: kernel %q (want %s within 15 s), model re-resolves %v (%s, timer %d)", got, mac, model, e.State, e.Timer)
	}
}
