package explore

import (
	"context"
	"testing"
)

// Sleep sets rest on the other order of two independent steps having
// been explored; under a preemption bound that order may have been cut,
// so a sleep set could hide a state within the bound (Coons, Musuvathi
// and McKinley, "Bounded partial-order reduction", OOPSLA 2013). With
// private counters and bound 0, Own = (1, 2) is reached only by a1 a1 a0:
// a search that put a0 to sleep after exploring a0 first would miss it.
func TestBoundedSearchKeepsStatesWithinBound(t *testing.T) {
	for _, bound := range []int{0, 1} {
		for _, red := range []Reductions{ReduceNone, ReduceAll} {
			m := &counters{actors: 2, steps: 2}
			never12 := Property[cstate]{Name: "never-1-2", Kind: Invariant,
				Holds: func(s *cstate) bool { return !(s.Own[0] == 1 && s.Own[1] == 2) }}
			c := NewChecker[cstate](m, []Property[cstate]{never12})
			o := DefaultOptions()
			o.PreemptionBound = bound
			o.Reduce = red
			res := c.Check(context.Background(), o)
			if res.Verdict != Violated {
				t.Errorf("bound %d, reduce %v: verdict %s, want violated (a1 a1 a0 is within the bound)", bound, red, res.Verdict)
			}
			if res.Reductions != ReduceNone.String() {
				t.Errorf("bound %d, reduce %v: reductions %q ran, want none under a bound", bound, red, res.Reductions)
			}
		}
	}
}
