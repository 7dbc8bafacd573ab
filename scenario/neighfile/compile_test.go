package neighfile

import (
	"os"
	"testing"

	"raceroute/profile"
	"raceroute/scenario/format"
)

// parseLibrary parses a neigh scenario of the library (../library).
func parseLibrary(t *testing.T, file string) *format.Scenario {
	t.Helper()
	path := "../library/" + file
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	sc, err := format.Parse(path, data, []format.Model{Model()})
	if err != nil {
		t.Fatal(err)
	}
	return sc
}

// A caller that changes the strategy on a copy of the scenario (check
// --strategy) gets the model for that strategy: seeded strategies draw
// every delay, DFS keeps windows.
func TestNeighCompilesForTheStrategyOfTheCopy(t *testing.T) {
	sc := parseLibrary(t, "neutron-garp-2017.yaml")
	p, _ := profile.Lookup("linux-4.12")
	for _, tc := range []struct {
		strategy string
		draws    bool
	}{{"random", true}, {"pct", true}, {"dfs", false}, {"", false}} {
		cp := *sc
		cp.Check.Strategy = tc.strategy
		m, _, err := Build(&cp, sc.Variants[0], p)
		if err != nil {
			t.Fatal(err)
		}
		if m.Config().DrawTimes != tc.draws {
			t.Errorf("strategy %q: DrawTimes %v, want %v", tc.strategy, m.Config().DrawTimes, tc.draws)
		}
	}
}
