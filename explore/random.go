package explore

import (
	"context"
	"math"
	"math/rand/v2"
	"time"
)

// runRNG returns the generator of run i of a check seeded with seed, so
// that every run can be re-created alone.
func runRNG(seed uint64, i int64) *rand.Rand {
	return rand.New(rand.NewPCG(seed, uint64(i)*0x9e3779b97f4a7c15+1))
}

// randomScheduler picks a uniformly random enabled step, a uniform time in
// its window and a uniform outcome.
func randomScheduler(rng *rand.Rand) scheduler {
	return func(steps []Step, lohi [][2]Time, _ int, _ int) (int, Time, int) {
		i := rng.IntN(len(steps))
		at := lohi[i][0]
		if span := lohi[i][1] - lohi[i][0]; span > 0 {
			at += rng.Int64N(span + 1)
		}
		return i, at, rng.IntN(outcomes(&steps[i]))
	}
}

// pctScheduler is probabilistic concurrency testing (Burckhardt et al.,
// ASPLOS 2010): actors get random distinct priorities above depth; the
// highest-priority enabled actor runs (at its earliest time); at each of
// depth-1 random change points the running actor drops to priority j.
func pctScheduler(rng *rand.Rand, nActors, depth, length int) scheduler {
	prio := make([]int, nActors)
	for i, p := range rng.Perm(nActors) {
		prio[i] = depth + p
	}
	change := make([]int, 0, depth)
	for j := 1; j < depth; j++ {
		change = append(change, rng.IntN(max(length, 1)))
	}
	return func(steps []Step, lohi [][2]Time, d int, _ int) (int, Time, int) {
		best := 0
		for i := range steps {
			if prio[steps[i].Actor] > prio[steps[best].Actor] {
				best = i
			}
		}
		for j, c := range change {
			if c == d {
				prio[steps[best].Actor] = j
				best = 0
				for i := range steps {
					if prio[steps[i].Actor] > prio[steps[best].Actor] {
						best = i
					}
				}
			}
		}
		return best, lohi[best][0], rng.IntN(outcomes(&steps[best]))
	}
}

// sample runs seeded schedules (random or PCT) until every property is
// violated (stopAtFirst), the run count or the budget is reached. Each run
// checks every property: a run that violates one goes on for the others.
func (e *engine[S]) sample(ctx context.Context, stopAtFirst bool) (Result, SampleStats) {
	stop := newStopper(ctx, e.opts)
	res := Result{Verdict: Holds, Bound: -1}
	var stats SampleStats
	var buf []Choice
	length := 64
	depth := e.opts.Depth
	if depth < 1 {
		depth = 3
	}
	first := make([][]Choice, len(e.props))
	failures := make([]int64, len(e.props))
	var seen uint64
	for run := int64(0); e.opts.Runs <= 0 || run < e.opts.Runs; run++ {
		if run&63 == 0 && stop.poll(Progress{Runs: run, States: res.States}) {
			break
		}
		rng := runRNG(e.opts.Seed, run)
		var pick scheduler
		if e.opts.Strategy == PCT {
			pick = pctScheduler(rng, e.nAct, depth, length)
		} else {
			pick = randomScheduler(rng)
		}
		o := e.runOne(pick, nil, buf, untilAll)
		buf = o.choices
		length = max(length, o.steps)
		res.Runs++
		res.Transitions += int64(o.steps)
		if o.violated == 0 {
			continue
		}
		res.Failures++
		for i := range e.props {
			if o.violated&(1<<uint(i)) == 0 {
				continue
			}
			failures[i]++
			if first[i] == nil {
				first[i] = append([]Choice(nil), o.choices...)
			}
		}
		if seen == 0 {
			stats.FirstFailingRun = run
		}
		seen |= o.violated
		if stopAtFirst && seen == e.all {
			break
		}
	}
	res.Elapsed = time.Since(stop.start)
	setProperties(&res, e.props, first, res.Runs > 0)
	for i := range res.Properties {
		p := &res.Properties[i]
		p.Failures = failures[i]
		p.Rate, p.Low, p.High = wilson(failures[i], res.Runs)
	}
	stats.Runs, stats.Failures = res.Runs, res.Failures
	stats.Rate, stats.Low, stats.High = wilson(res.Failures, res.Runs)
	return res, stats
}

// SampleStats is the failure rate of a statistical check.
type SampleStats struct {
	Runs, Failures int64
	// Rate is Failures/Runs; Low and High bound its 95 % Wilson score
	// confidence interval.
	Rate, Low, High float64
	// FirstFailingRun is the index of the first failing run.
	FirstFailingRun int64
}

// wilson returns the rate k/n and its 95 % Wilson score interval.
func wilson(k, n int64) (rate, lo, hi float64) {
	if n == 0 {
		return 0, 0, 1
	}
	const z = 1.959963984540054
	p := float64(k) / float64(n)
	nn := float64(n)
	den := 1 + z*z/nn
	centre := (p + z*z/(2*nn)) / den
	half := z * math.Sqrt(p*(1-p)/nn+z*z/(4*nn*nn)) / den
	return p, math.Max(0, centre-half), math.Min(1, centre+half)
}
