package scenario

import (
	"context"
	"slices"
	"testing"

	"raceroute/explore"
	"raceroute/profile"
)

// BenchmarkNeighAdminGCRun measures seeded runs of the scenarios with ip
// neigh agents and garbage-collected tables (issue 11), as
// BenchmarkNeutronGARP2017Run does for the seed: one op is one run.
func BenchmarkNeighAdminGCRun(b *testing.B) {
	for _, c := range []struct{ scenario, kernel string }{
		{"gc-forced-evicts-in-use", "linux-4.19"},
		{"gc-extern-learn", "linux-6.12"},
		{"admin-stale-reverify", "linux-6.12"},
		{"admin-managed-failover", "linux-6.12"},
	} {
		b.Run(c.scenario, func(b *testing.B) {
			sc, err := Find(c.scenario)
			if err != nil {
				b.Fatal(err)
			}
			p, _ := profile.Lookup(c.kernel)
			cp := *sc
			cp.Check.Strategy = string(explore.Random)
			ch, err := cp.Compile(sc.Variants[0], p)
			if err != nil {
				b.Fatal(err)
			}
			o := neighOpts(&cp, 1<<62)
			o.Runs = int64(b.N)
			b.ReportAllocs()
			b.ResetTimer()
			res, _ := ch.Sample(context.Background(), o)
			b.StopTimer()
			if res.Runs != int64(b.N) {
				b.Fatalf("ran %d of %d", res.Runs, b.N)
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "runs/s")
			b.ReportMetric(float64(res.Transitions)/float64(b.N), "steps/run")
		})
	}
}

// Only a neigh scenario with ip neigh agents or a neigh-table depends on
// the four switches of agents and garbage collection (SwitchesOf), so
// that the others' searches are shared by kernels differing only there;
// the neighbour-discovery switches stay in every neigh scenario's list.
func TestAdminSwitchesOnlyWhereUsed(t *testing.T) {
	for name, want := range map[string]bool{"ipv6-na-failover": false, "garp-locktime-edge": false, "admin-use-permanent": true, "gc-forced-evicts-in-use": true} {
		sc, err := Find(name)
		if err != nil {
			t.Fatal(err)
		}
		sw := sc.Switches()
		for _, s := range []string{"neigh-del-removes", "neigh-ext-learned", "neigh-gc", "neigh-use-update"} {
			if got := slices.Contains(sw, s); got != want {
				t.Errorf("%s depends on %s: %v, want %v (switches %v)", name, s, got, want, sw)
			}
		}
		if !slices.Contains(sw, "drop-unsolicited-na") || !slices.Contains(sw, "same-lladdr-stale") {
			t.Errorf("%s: switches %v lack the model's own", name, sw)
		}
	}
}
