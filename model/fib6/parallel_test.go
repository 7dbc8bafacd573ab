package fib6_test

import (
	"context"
	"fmt"
	"testing"

	"raceroute/explore"
	"raceroute/profile"
)

// The parallel search and the shards of a sharded one find the state set
// of the sequential search on the benchmark family: the same verdict and
// state count with 2 and 3 workers, and shards whose fingerprint sets
// unite to it (their own counts overlap, so their sum is at least it);
// with no reduction, sleep sets or persistent sets (the family has no
// interchangeable actors: check's TestReductionsLoseNothingScaled
// compares symmetry on seed000).
func TestParallelAndShardsMatchSequential(t *testing.T) {
	p, _ := profile.Lookup("linux-3.16")
	for _, km := range [][2]int{{2, 2}, {3, 2}} {
		for _, r := range []explore.Reductions{explore.ReduceNone, explore.ReduceSleep, explore.ReducePOR} {
			t.Run(fmt.Sprintf("k=%d/m=%d/reduce=%s", km[0], km[1], r), func(t *testing.T) {
				c := family(t, p, km[0], km[1])
				opts := explore.DefaultOptions()
				opts.Reduce = r
				opts.Split = 64 // the workers explore most of it
				seq := c.Check(context.Background(), opts)
				if seq.Verdict != explore.Holds || !seq.Exhaustive || seq.Reductions != r.String() {
					t.Fatalf("sequential: %s exhaustive %v, reductions %s", seq.Verdict, seq.Exhaustive, seq.Reductions)
				}
				for _, w := range []int{2, 3, 2, 3, 2, 3} { // a lost state was a race: try several times
					o := opts
					o.Workers = w
					par := c.Check(context.Background(), o)
					if par.Verdict != seq.Verdict || par.States != seq.States || !par.Exhaustive || par.Reductions != seq.Reductions {
						t.Errorf("%d workers: %s, %d states, exhaustive %v, reductions %s; sequential: %s, %d states", w, par.Verdict, par.States, par.Exhaustive, par.Reductions, seq.Verdict, seq.States)
					}
				}
				const n = 4
				union := map[uint64]bool{}
				var sum int64
				for i := 0; i < n; i++ {
					o := opts
					o.Shard = explore.Part{Index: i, Count: n}
					o.Visited = func(fp uint64) { union[fp] = true }
					sh := c.Check(context.Background(), o)
					if sh.Verdict != explore.Holds || !sh.Exhaustive {
						t.Fatalf("shard %d: %s exhaustive %v", i, sh.Verdict, sh.Exhaustive)
					}
					sum += sh.States
					t.Logf("shard %d/%d: %d states (prefix %d, depth %d, %d of %d frontier states)", i, n, sh.States, sh.PrefixStates, sh.SplitDepth, sh.ShardFrontier, sh.Frontier)
				}
				if int64(len(union)) != seq.States || sum < seq.States {
					t.Errorf("shards: %d distinct states (sum %d), sequential %d", len(union), sum, seq.States)
				}
			})
		}
	}
}
