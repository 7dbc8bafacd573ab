package scenario

import (
	"context"
	"testing"

	"raceroute/explore"
	"raceroute/profile"
)

// BenchmarkIPv6NAOverrideClearDFS measures the exhaustive check of
// ipv6-na-override-clear on linux-3.16 (neighbour discovery, TCP and ICMP
// flows, the per-destination IPv6 dst); one op is one whole check.
func BenchmarkIPv6NAOverrideClearDFS(b *testing.B) {
	sc, err := Find("ipv6-na-override-clear")
	if err != nil {
		b.Fatal(err)
	}
	p, _ := profile.Lookup("linux-3.16")
	c, err := sc.Compile(sc.Variants[0], p)
	if err != nil {
		b.Fatal(err)
	}
	var states int64
	b.ReportAllocs()
	for b.Loop() {
		res := c.Check(context.Background(), neighOpts(sc, 0))
		if res.Verdict != explore.Holds || !res.Exhaustive {
			b.Fatalf("%s (exhaustive %v), want an exhaustive holds", res.Verdict, res.Exhaustive)
		}
		states += res.States
	}
	b.ReportMetric(float64(states)/b.Elapsed().Seconds(), "states/s")
}

// The IPv6 library scenarios' verdicts on the kernels whose behaviour
// they rest on, checked here as well as by the main job: each differs
// between profiles for the kernel decision its description names.
func TestNeighDiscoveryVerdicts(t *testing.T) {
	for _, tc := range []struct {
		scenario, kernel string
		want             explore.Verdict
	}{
		{"ipv6-na-failover/default", "rhel-7.3", explore.Holds},
		{"ipv6-na-failover/drop-unsolicited", "linux-4.4", explore.Holds},
		{"ipv6-na-failover/drop-unsolicited", "linux-4.9", explore.Violated},
		{"ipv6-na-override-clear", "linux-3.16", explore.Holds},
		{"ipv6-na-override-clear", "linux-4.2", explore.Violated},
		{"ipv6-na-override-clear", "rhel-7.3", explore.Violated},
		{"ipv6-na-override-clear", "linux-4.11", explore.Holds},
		{"ipv6-na-untracked-router", "linux-5.15", explore.Violated},
		{"ipv6-na-untracked-router", "linux-6.12", explore.Holds},
		{"udp-msg-confirm/tcp", "linux-3.10", explore.Violated},
		{"udp-msg-confirm/tcp", "linux-4.11", explore.Holds},
		{"udp-msg-confirm/udp-confirm", "linux-3.10", explore.Holds},
		{"udp-msg-confirm/udp", "rhel-7.3", explore.Holds},
	} {
		sc, name, err := FindVariant(tc.scenario)
		if err != nil {
			t.Fatal(err)
		}
		v := sc.Variants[0]
		if name != "" {
			if v, err = sc.Variant(name); err != nil {
				t.Fatal(err)
			}
		}
		p, _ := profile.Lookup(tc.kernel)
		c, err := sc.Compile(v, p)
		if err != nil {
			t.Fatal(err)
		}
		if res := c.Check(context.Background(), neighOpts(sc, 0)); res.Verdict != tc.want {
			t.Errorf("%s on %s: %s, want %s", tc.scenario, tc.kernel, res.Verdict, tc.want)
		}
	}
}
