package scenario

import (
	"context"
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
