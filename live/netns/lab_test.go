package netns_test

import (
	"context"
	"net"
	"net/netip"
	"os/exec"
	"strings"
	"testing"
	"time"

	"raceroute/kernel"
	"raceroute/live/netns/nstest"
	"raceroute/live/nl"
	"raceroute/trace"
)

func TestLabHelpers(t *testing.T) {
	a := nstest.New(t, "laba")
	b := nstest.New(t, "labb")
	mac := kernel.MustParseMAC("fa:16:3e:00:00:05")
	if err := a.VethMAC("eth2", mac, b, "p0"); err != nil {
		t.Fatal(err)
	}
	if got, err := a.LinkMAC("eth2"); err != nil || got != mac {
		t.Fatalf("VethMAC: eth2 has MAC %s (%v), want %s", got, err, mac)
	}
	p := netip.MustParsePrefix("172.24.4.5/24")
	if err := a.AddrAdd("eth2", p); err != nil {
		t.Fatal(err)
	}
	ip := netip.MustParseAddr("172.24.4.10")
	old := kernel.MustParseMAC("fa:16:3e:aa:aa:aa")
	tests := []struct {
		state kernel.NUD
		mac   kernel.MAC
	}{
		{kernel.NUDStale, old},
		{kernel.NUDReachable, kernel.MustParseMAC("fa:16:3e:bb:bb:bb")},
		{kernel.NUDPermanent, old},
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for _, tc := range tests {
		t.Run(tc.state.String(), func(t *testing.T) {
			if err := a.NeighSet("eth2", ip, tc.mac, tc.state); err != nil {
				t.Fatal(err)
			}
			recs, err := nl.Dump(ctx, nl.Options{Netns: a.Name, Families: []int{4}})
			if err != nil {
				t.Fatal(err)
			}
			var got *trace.Neigh
			for _, r := range recs {
				if r.Kind == trace.KindNeigh && r.Neigh.Addr == ip {
					n := r.Neigh
					got = &n
				}
			}
			if got == nil || got.State != tc.state || got.LLAddr != tc.mac || got.Dev != "eth2" {
				t.Fatalf("after NeighSet(%s %s): entry %v", tc.mac, tc.state, got)
			}
		})
	}
	if err := a.AddrDel("eth2", p); err != nil {
		t.Fatal(err)
	}
	if err := a.AddrDel("eth2", p); err == nil {
		t.Error("AddrDel of an address already deleted succeeded")
	}
	// Start: the program runs inside the namespace (it sees eth2 and
	// not the caller's interfaces), with no `ip netns exec` between.
	cmd := exec.Command("cat", "/proc/self/net/dev")
	var out strings.Builder
	cmd.Stdout = &out
	if err := a.Start(cmd); err != nil {
		t.Fatal(err)
	}
	if err := cmd.Wait(); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "eth2:") || strings.Contains(out.String(), "p0:") {
		t.Errorf("a program started in %s sees:\n%s", a.Name, out.String())
	}
	own, err := net.Interfaces()
	if err != nil {
		t.Fatal(err)
	}
	for _, ifi := range own {
		if ifi.Name != "lo" && ifi.Name != "eth2" && strings.Contains(out.String(), " "+ifi.Name+":") {
			t.Errorf("a program started in %s sees the caller's %s:\n%s", a.Name, ifi.Name, out.String())
		}
	}
	if cmd.SysProcAttr == nil || cmd.SysProcAttr.Pdeathsig == 0 {
		t.Error("Start left the program without Pdeathsig: it would outlive a killed lab")
	}
}
