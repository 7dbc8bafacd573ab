package fib6_test

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"testing"
	"time"

	"raceroute/explore"
	"raceroute/profile"
)

// BenchmarkParallel is the parallel search against one worker on the same
// scenario: the benchmark family with k flows and m changes (RACEROUTE_K,
// RACEROUTE_M; default 5 and 3), one exhaustive search per run, as
//
//	seq      the sequential dfs, one worker
//	par-N    N workers sharing one visited set (RACEROUTE_WORKERS, default 2)
//
// both with sleep sets alone (the family's default reductions, persistent
// sets, leave too few states: bench/parallel.sh times the default on
// seed000 with the CLI), so that both search the same states.
//
// bench/parallel.sh prints the ratios.
func BenchmarkParallel(b *testing.B) {
	p, _ := profile.Lookup("linux-3.16")
	k, m, w := envInt("RACEROUTE_K", 5), envInt("RACEROUTE_M", 3), envInt("RACEROUTE_WORKERS", 2)
	c := family(b, p, k, m)
	for _, v := range []struct {
		name    string
		workers int
	}{{"seq", 1}, {fmt.Sprintf("par-%d", w), w}} {
		b.Run(fmt.Sprintf("k=%d/m=%d/%s", k, m, v.name), func(b *testing.B) {
			opts := explore.DefaultOptions()
			opts.Workers, opts.Budget, opts.Reduce = v.workers, 10*time.Minute, explore.ReduceSleep
			var res explore.Result
			for i := 0; i < b.N; i++ {
				res = c.Check(context.Background(), opts)
			}
			if res.Verdict != explore.Holds || !res.Exhaustive {
				b.Fatalf("verdict %s exhaustive %v", res.Verdict, res.Exhaustive)
			}
			b.ReportMetric(float64(res.States), "states")
			b.ReportMetric(float64(res.States)/res.Elapsed.Seconds(), "states/s")
			b.ReportMetric(res.BytesPerState, "bytes/state")
			b.ReportMetric(res.Elapsed.Seconds(), "s-to-verdict")
			b.ReportMetric(float64(res.Transitions), "transitions")
		})
	}
}

func envInt(name string, def int) int {
	if v, err := strconv.Atoi(os.Getenv(name)); err == nil && v > 0 {
		return v
	}
	return def
}
