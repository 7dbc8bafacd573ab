package explore

import (
	"context"
	"fmt"
	"testing"
)

// The parallel search, shards and a swarm member that finishes find the
// sequential search's states, with and without sleep sets, under a
// preemption bound and with timed windows; a swarm member stopped by its
// bound says it has no verdict.
//
// Two comparisons are with the sequential search without sleep sets:
// under a preemption bound, where neither search keeps them (they lose
// states within the bound: TestBoundedSearchKeepsStatesWithinBound);
// and in the timed toy, whose Order field records the firing order that
// its footprints call independent (so that sleep sets prune states
// there, a fault of the toy).
func TestPartsFindTheSequentialStates(t *testing.T) {
	always := Property[cstate]{Name: "true", Kind: Final, Holds: func(*cstate) bool { return true }}
	w := [][2]Time{{0, 5}, {2, 9}, {1, 1}, {0, Never}}
	for _, tt := range []struct {
		m     *counters
		bound int
	}{
		{&counters{actors: 4, steps: 7}, -1},
		{&counters{actors: 4, steps: 4, racy: true}, -1},
		{&counters{actors: 4, steps: 4, racy: true}, 2},
		{&counters{actors: 3, steps: 2, windows: w[:3]}, -1},
	} {
		for _, noRed := range []bool{false, true} {
			name := fmt.Sprintf("%d actors x %d steps, racy %v, timed %v, bound %d, no reduction %v", tt.m.actors, tt.m.steps, tt.m.racy, tt.m.windows != nil, tt.bound, noRed)
			c := NewChecker[cstate](tt.m, []Property[cstate]{always})
			opts := DefaultOptions()
			opts.PreemptionBound, opts.NoReduction = tt.bound, noRed
			seq := c.Check(context.Background(), opts)
			if tt.bound >= 0 {
				o := opts
				o.NoReduction = true
				full := c.Check(context.Background(), o)
				if !noRed {
					t.Logf("%s: dfs finds %d states with sleep sets, %d without", name, seq.States, full.States)
				}
				seq = full
			}
			for _, workers := range []int{2, 3} {
				o := opts
				o.Workers = workers
				if par := c.Check(context.Background(), o); par.States != seq.States || par.Verdict != seq.Verdict || par.Exhaustive != seq.Exhaustive {
					t.Errorf("%s: %d workers: %d states %s; sequential %d %s", name, workers, par.States, par.Verdict, seq.States, seq.Verdict)
				}
			}
			union := map[uint64]bool{}
			for i := 0; i < 3; i++ {
				o := opts
				o.Shard = Part{Index: i, Count: 3}
				o.Visited = func(fp uint64) { union[fp] = true }
				if sh := c.Check(context.Background(), o); sh.Verdict != seq.Verdict || sh.Shard != o.Shard {
					t.Errorf("%s: shard %d: %s", name, i, sh.Verdict)
				}
			}
			if int64(len(union)) != seq.States {
				t.Errorf("%s: shards: %d distinct states, sequential %d", name, len(union), seq.States)
			}
			if tt.m.windows != nil && !noRed {
				continue // the toy's sleep sets prune states: order decides
			}
			o := opts
			o.Swarm, o.Seed = Part{Index: 1, Count: 4}, 7
			if sw := c.Check(context.Background(), o); sw.States != seq.States || sw.Exhaustive != seq.Exhaustive || sw.Verdict != seq.Verdict {
				t.Errorf("%s: a swarm member without bounds: %d states %s exhaustive %v; sequential %d %s %v", name, sw.States, sw.Verdict, sw.Exhaustive, seq.States, seq.Verdict, seq.Exhaustive)
			}
			o.MaxStates = seq.States / 2
			if sw := c.Check(context.Background(), o); seq.States > 4096 && (sw.Verdict != Unknown || sw.Exhaustive) {
				t.Errorf("%s: a swarm member stopped at %d states: %s exhaustive %v", name, o.MaxStates, sw.Verdict, sw.Exhaustive)
			}
		}
	}
}

// Swarm members search in orders of their own: stopped at the same
// state bound, two members have visited different states.
func TestSwarmMembersDiffer(t *testing.T) {
	always := Property[cstate]{Name: "true", Kind: Final, Holds: func(*cstate) bool { return true }}
	c := NewChecker[cstate](&counters{actors: 4, steps: 8}, []Property[cstate]{always})
	var sets []map[uint64]bool
	for i := 0; i < 2; i++ {
		o := DefaultOptions()
		o.Swarm, o.MaxStates = Part{Index: i, Count: 2}, 2000
		set := map[uint64]bool{}
		o.Visited = func(fp uint64) { set[fp] = true }
		if res := c.Check(context.Background(), o); res.Verdict != Unknown || res.Exhaustive {
			t.Fatalf("member %d stopped at 2000 states: %s exhaustive %v", i, res.Verdict, res.Exhaustive)
		}
		sets = append(sets, set)
	}
	same := 0
	for fp := range sets[0] {
		if sets[1][fp] {
			same++
		}
	}
	if same == len(sets[0]) {
		t.Fatalf("2 swarm members visited the same %d states", same)
	}
	t.Logf("2 members, %d and %d states, %d in common", len(sets[0]), len(sets[1]), same)
}
