// Package check checks scenarios on kernel profiles: it turns (scenario
// variant, profile) jobs into searches, shares a search among the jobs
// whose profiles give the scenario the same settings, runs them on every
// core, and makes each job's report, which it prints as text, as the
// scenario x profile matrix, or as an HTML page. raceroute check and the
// bare command are its command line; lab uses it for the model's side.
package check

import (
	"time"

	"raceroute/explore"
	"raceroute/profile"
	"raceroute/scenario"
)

// Settings are what a command line may change of the checks.
type Settings struct {
	Strategy string
	Seed     uint64
	// Budget, when BudgetSet, is the time for the whole run, shared out
	// among its searches.
	Budget    time.Duration
	BudgetSet bool
	Runs      int64
	// Bound, when BoundSet, is the preemption bound (-1: none).
	Bound       int
	BoundSet    bool
	Exact       bool
	NoReduction bool
	// Reduce is the DFS's reductions (zero: all, each where sound).
	Reduce explore.Reductions
	// Workers, Shard, Swarm and MaxStates go to explore.Options (see
	// there); Fingerprints, when set, is a directory where each sharded
	// search writes its visited fingerprints (shard.go).
	Workers      int
	Shard, Swarm explore.Part
	MaxStates    int64
	ExpectStates int64
	Fingerprints string
}

// InputError is an error in what was given (a scenario that does not
// compile for a profile): the command line exits with status 2.
type InputError struct{ Err error }

func (e InputError) Error() string { return e.Err.Error() }
func (e InputError) Unwrap() error { return e.Err }

func inputError(err error) error { return InputError{err} }

// Job is one (scenario, variant, profile) to check.
type Job struct {
	Scenario *scenario.Scenario
	Variant  scenario.Variant
	Profile  profile.Profile
	// Column is the profile the job was resolved from, the matrix column
	// it belongs to.
	Column string
}

// Overrides are the check settings o gives, for one check with budget
// (0: none given).
func (o Settings) Overrides(budget time.Duration) scenario.Overrides {
	ov := scenario.Overrides{Strategy: explore.Strategy(o.Strategy), Seed: o.Seed, Runs: o.Runs, Budget: budget,
		Exact: o.Exact, NoReduction: o.NoReduction, Reduce: o.Reduce}
	if o.BoundSet {
		b := o.Bound
		ov.PreemptionBound = &b
	}
	return ov
}
