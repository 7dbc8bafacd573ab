package format

import (
	"time"

	"raceroute/explore"
	"raceroute/profile"
)

// DefaultBudget bounds one check when neither the command line nor the
// scenario's `check: budget:` says otherwise.
const DefaultBudget = 60 * time.Second

// Overrides are the check settings given on the command line. A zero
// field means "not given": the scenario's own setting applies, else the
// default. Only flags the user set belong here (cobra's Flags().Changed),
// so that an explicit value equal to a default still wins.
type Overrides struct {
	Strategy explore.Strategy
	Seed     uint64
	Runs     int64
	// Budget caps the scenario's own budget (the command line shares its
	// budget out among its checks).
	Budget time.Duration
	// PreemptionBound, when not nil, replaces the scenario's.
	PreemptionBound *int
	Exact           bool
	NoReduction     bool
	// Reduce is the DFS's reductions (zero: the default).
	Reduce explore.Reductions
}

// Strategy is the strategy a check of sc runs with o: the command line's,
// else the scenario's, else dfs.
func (sc *Scenario) Strategy(o Overrides) explore.Strategy {
	switch {
	case o.Strategy != "":
		return o.Strategy
	case sc.Check.Strategy != "":
		return explore.Strategy(sc.Check.Strategy)
	}
	return explore.DFS
}

// Options merges o, the scenario's check settings and the defaults into
// the explorer's options: what the command line gives wins, then the
// scenario's setting, then the default.
func (sc *Scenario) Options(o Overrides) explore.Options {
	set := sc.Check
	opts := explore.DefaultOptions()
	opts.Strategy = sc.Strategy(o)
	opts.Seed, opts.Exact, opts.NoReduction, opts.Reduce = o.Seed, o.Exact, o.NoReduction, o.Reduce
	switch {
	case o.PreemptionBound != nil:
		opts.PreemptionBound = *o.PreemptionBound
	case set.PreemptionBound != nil:
		opts.PreemptionBound = *set.PreemptionBound
	}
	if set.Horizon.D > 0 {
		opts.Horizon = set.Horizon.Millis()
	}
	opts.Runs = set.Runs
	if o.Runs > 0 {
		opts.Runs = o.Runs
	}
	switch {
	case o.Budget > 0 && set.Budget.D > 0:
		opts.Budget = min(o.Budget, set.Budget.D)
	case o.Budget > 0:
		opts.Budget = o.Budget
	case set.Budget.D > 0:
		opts.Budget = set.Budget.D
	default:
		opts.Budget = DefaultBudget
	}
	return opts
}

// CompileFor builds the checker of variant v on profile p for the strategy
// a check with o runs: models may compile differently per strategy (timed
// models draw their windows as outcomes for seeded runs).
func (sc *Scenario) CompileFor(v Variant, p profile.Profile, o Overrides) (explore.Checker, error) {
	s := sc.Strategy(o)
	if string(s) == sc.Check.Strategy || (s == explore.DFS && sc.Check.Strategy == "") {
		return sc.Compile(v, p)
	}
	cp := *sc
	cp.Check.Strategy = string(s)
	return cp.Compile(v, p)
}
