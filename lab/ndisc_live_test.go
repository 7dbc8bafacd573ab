package lab

import (
	"context"
	"net/netip"
	"strconv"
	"strings"
	"testing"
	"time"

	"raceroute/kernel"
	"raceroute/live/frame"
	"raceroute/live/netns/nstest"
	"raceroute/model/neigh"
	"raceroute/model/neigh/ndisc"
	"raceroute/model/neigh/nud"
	"raceroute/profile"
)

// TestNDiscMatchesKernel sends NAs with each Override/Solicited setting
// from namespace b to entries of namespace a in each state, and compares
// what a's kernel made of its entry with ndisc.RecvNA on the running
// kernel's profile: the WEAK_OVERRIDE rule of an NA with O clear, the
// absence of locktime on NA (the entry is set just before), a FAILED
// entry left alone, drop_unsolicited_na and accept_untracked_na.
func TestNDiscMatchesKernel(t *testing.T) {
	h := liveHost(t)
	profs := h.Profile.Resolve(neigh.Switches())
	if len(profs) != 1 {
		t.Skipf("the running kernel's profile %s leaves neighbour switches unknown: %v", h.Profile.Name, h.Profile.Unknown())
	}
	prof := profs[0]
	a, b := nstest.Pair(t, "nd")
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	s, err := frame.NewSender(b.Name, "vb")
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	oldMAC, newMAC := "02:00:00:00:00:01", kernel.MACFrom6([6]byte{0x02, 0, 0, 0, 0, 0x02})
	sysctl := func(k, v string) {
		t.Helper()
		if _, err := a.Run(ctx, "sysctl", "-qw", "net.ipv6.conf.va."+k+"="+v); err != nil {
			t.Fatal(err)
		}
	}
	states := map[string]nud.State{"REACHABLE": nud.Reachable, "STALE": nud.Stale, "DELAY": nud.Delay, "PROBE": nud.Probe, "FAILED": nud.Failed, "INCOMPLETE": nud.Incomplete}
	tests := []struct {
		name                 string
		state                string // the entry before, "" for none
		solicited, override  bool
		drop, untracked, fwd string
	}{
		{name: "O clear, REACHABLE", state: "reachable"},
		{name: "O clear, STALE", state: "stale"},
		{name: "O set, STALE, just updated", state: "stale", override: true},
		{name: "O set, REACHABLE", state: "reachable", override: true},
		{name: "O clear, S set, STALE", state: "stale", solicited: true},
		{name: "O set, FAILED", state: "failed", override: true},
		{name: "drop_unsolicited_na", state: "stale", override: true, drop: "1"},
		{name: "drop_unsolicited_na, solicited", state: "stale", override: true, solicited: true, drop: "1"},
		{name: "accept_untracked_na on a router", override: true, untracked: "1", fwd: "1"},
		{name: "accept_untracked_na on a host", override: true, untracked: "1"},
		{name: "untracked, nothing set", override: true},
	}
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			target := netip.AddrFrom16([16]byte{0xfd, 0, 0, 9, 15: byte(0x20 + i)})
			sysctl("drop_unsolicited_na", or(tc.drop, "0"))
			sysctl("forwarding", or(tc.fwd, "0"))
			if prof.AcceptUntrackedNA != profile.UntrackedNone {
				sysctl("accept_untracked_na", or(tc.untracked, "0"))
			}
			var e *nud.Entry
			entry := nud.Entry{Timer: nud.NoTimer}
			if tc.state != "" {
				args := []string{"neigh", "replace", target.String(), "dev", "va", "nud", tc.state}
				if tc.state != "failed" {
					args = append(args, "lladdr", oldMAC)
				}
				if _, err := a.Run(ctx, "ip", args...); err != nil {
					t.Fatal(err)
				}
				entry.State = states[strings.ToUpper(tc.state)]
				if tc.state != "failed" {
					entry.LL = 1
				}
			}
			e = &entry
			dst, ethDst := frame.AllNodes, frame.AllNodesMAC
			if tc.solicited {
				dst, ethDst = netip.MustParseAddr("fd00:9::1"), macOfNS(t, ctx, a)
			}
			fr, err := frame.NA(ethDst, newMAC, netip.MustParseAddr("fd00:9::2"), dst, target, tc.solicited, tc.override, false)
			if err != nil {
				t.Fatal(err)
			}
			p := prof
			parms := neigh.DefaultSysctl6().Parms
			in := ndisc.In{NA: ndisc.NA{Target: 0, TLL: 2}, Multicast: !tc.solicited, SrcInPrefix: true}
			if tc.override {
				in.NA.Flags |= ndisc.Override
			}
			if tc.solicited {
				in.NA.Flags |= ndisc.Solicited
			}
			in.DropUnsolicited, in.AcceptUntracked, in.Forwarding = atoi(tc.drop), atoi(tc.untracked), atoi(tc.fwd)
			ndisc.RecvNA(nud.Dev{Kernel: &p, Parms: &parms, Reach: 30000, Now: 100000}, &in, e)
			wantState, wantMAC := "", ""
			if e.State != nud.None {
				wantState = e.State.String()
				switch e.LL {
				case 1:
					wantMAC = oldMAC
				case 2:
					wantMAC = newMAC.String()
				}
			}

			copy(fr[6:12], s.MAC().AsSlice())
			before := naReceived(t, ctx, a)
			if err := s.Send(fr); err != nil {
				t.Fatal(err)
			}
			// The kernel has handled the NA once va counts it:
			// icmpv6_rcv() counts it and hands it to ndisc_rcv() in one
			// go (read at 6.12). A fixed sleep was too short for a
			// loaded machine, or a waste.
			for deadline := time.Now().Add(20 * time.Second); naReceived(t, ctx, a) == before; time.Sleep(10 * time.Millisecond) {
				if time.Now().After(deadline) {
					t.Fatal("va did not count the NA as received within 20 s")
				}
			}
			out, _ := a.Run(ctx, "ip", "-6", "neigh", "show", target.String(), "dev", "va")
			gotState, gotMAC := parseNeigh(out)
			t.Logf("kernel: %s", strings.TrimSpace(out))
			if gotState != wantState || gotMAC != wantMAC {
				t.Errorf("kernel: %q (state %q lladdr %q); model on %s: state %q lladdr %q", strings.TrimSpace(out), gotState, gotMAC, p.Name, wantState, wantMAC)
			}
		})
	}
}

func or(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

func atoi(s string) uint8 {
	if s == "" {
		return 0
	}
	return s[0] - '0'
}

// parseNeigh reads `ip neigh show ADDR dev DEV`: the state and lladdr.
func parseNeigh(out string) (state, mac string) {
	f := strings.Fields(out)
	for i, w := range f {
		if w == "lladdr" && i+1 < len(f) {
			mac = f[i+1]
		}
	}
	if len(f) > 0 {
		state = f[len(f)-1]
	}
	return state, mac
}

// naReceived is va's count of neighbour advertisements received
// (Icmp6InNeighborAdvertisements of /proc/net/dev_snmp6/va) in
// namespace a.
func naReceived(t *testing.T, ctx context.Context, a interface {
	Run(context.Context, string, ...string) (string, error)
}) int {
	t.Helper()
	out, err := a.Run(ctx, "cat", "/proc/net/dev_snmp6/va")
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range strings.Split(out, "\n") {
		if f := strings.Fields(l); len(f) == 2 && f[0] == "Icmp6InNeighborAdvertisements" {
			n, err := strconv.Atoi(f[1])
			if err != nil {
				t.Fatalf("/proc/net/dev_snmp6/va: %q: %v", l, err)
			}
			return n
		}
	}
	t.Fatalf("/proc/net/dev_snmp6/va has no Icmp6InNeighborAdvertisements:\n%s", out)
	return 0
}

// macOfNS is va's MAC in namespace a.
func macOfNS(t *testing.T, ctx context.Context, a interface {
	Run(context.Context, string, ...string) (string, error)
}) kernel.MAC {
	t.Helper()
	out, err := a.Run(ctx, "cat", "/sys/class/net/va/address")
	if err != nil {
		t.Fatal(err)
	}
	m, err := kernel.ParseMAC(strings.TrimSpace(out))
	if err != nil {
		t.Fatal(err)
	}
	return m
}
