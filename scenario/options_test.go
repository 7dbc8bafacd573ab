package scenario

import (
	"testing"
	"time"

	"raceroute/explore"
)

// The command line wins, then the scenario's check settings, then the
// defaults; an explicit value equal to a default still wins.
func TestOptionsMerge(t *testing.T) {
	sc, err := Find("neutron-garp-2017") // check: strategy random, runs 2000, budget 60s
	if err != nil {
		t.Fatal(err)
	}
	zero, two := 0, 2
	tests := []struct {
		name     string
		o        Overrides
		strategy explore.Strategy
		runs     int64
		budget   time.Duration
		bound    int
	}{
		{"scenario's settings", Overrides{}, explore.Random, 2000, 60 * time.Second, -1},
		{"runs and strategy given", Overrides{Strategy: explore.PCT, Runs: 10}, explore.PCT, 10, 60 * time.Second, -1},
		{"a shared budget caps the scenario's", Overrides{Budget: time.Second}, explore.Random, 2000, time.Second, -1},
		{"the scenario's budget caps a larger share", Overrides{Budget: time.Hour}, explore.Random, 2000, 60 * time.Second, -1},
		{"bound 0 given", Overrides{PreemptionBound: &zero}, explore.Random, 2000, 60 * time.Second, 0},
		{"bound 2 given", Overrides{PreemptionBound: &two}, explore.Random, 2000, 60 * time.Second, 2},
	}
	for _, tt := range tests {
		o := sc.Options(tt.o)
		if o.Strategy != tt.strategy || o.Runs != tt.runs || o.Budget != tt.budget || o.PreemptionBound != tt.bound {
			t.Errorf("%s: strategy %s runs %d budget %s bound %d, want %s %d %s %d", tt.name,
				o.Strategy, o.Runs, o.Budget, o.PreemptionBound, tt.strategy, tt.runs, tt.budget, tt.bound)
		}
	}
	fib, err := Find("babeld-two-flows")
	if err != nil {
		t.Fatal(err)
	}
	if o := fib.Options(Overrides{}); o.Strategy != explore.DFS || o.Budget != DefaultBudget {
		t.Errorf("no settings: %s %s, want dfs and the default budget", o.Strategy, o.Budget)
	}
}
