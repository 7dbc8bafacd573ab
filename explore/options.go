package explore

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Strategy names a way to explore.
type Strategy string

// Strategies.
const (
	// DFS explores every ordering and timing choice depth-first, with a
	// visited set and the reductions of Options.Reduce.
	DFS Strategy = "dfs"
	// PCT runs probabilistic concurrency testing: random actor
	// priorities with Depth-1 priority change points per run.
	PCT Strategy = "pct"
	// Random runs uniformly random schedules.
	Random Strategy = "random"
)

// ParseStrategy checks a strategy name.
func ParseStrategy(s string) (Strategy, error) {
	switch Strategy(s) {
	case DFS, PCT, Random:
		return Strategy(s), nil
	}
	return "", fmt.Errorf("unknown strategy %q (want dfs, pct or random)", s)
}

// Options steer a check.
type Options struct {
	Strategy Strategy
	// Seed makes random and PCT runs reproducible.
	Seed uint64
	// Budget bounds the wall-clock time of a check; 0 means none.
	Budget time.Duration
	// MaxStates bounds the states a DFS stores; 0 means none.
	MaxStates int64
	// Runs bounds the runs of random and PCT; 0 means until Budget.
	Runs int64
	// PreemptionBound, when >= 0, prunes DFS schedules that switch away
	// from an actor whose step is still enabled more often than this.
	PreemptionBound int
	// Depth is PCT's bug depth d (d-1 priority change points); default 3.
	Depth int
	// ExpectStates, when > 0, pre-sizes the visited set for that many
	// states, so that it need not grow during the search.
	ExpectStates int64
	// Exact keeps whole state encodings instead of 64-bit fingerprints.
	Exact bool
	// NoReduction turns every reduction off (the same as Reduce:
	// ReduceNone), to measure what they save.
	NoReduction bool
	// Reduce chooses the DFS's reductions (zero: the default, every one
	// where it is sound but sleep sets where persistent sets run; see
	// Reductions); Result.Reductions says which ran.
	Reduce Reductions
	// Terminal, when set, is called at every terminal state a DFS reaches
	// (no step enabled; in a parallel search, one call at a time), with the state's encoding, that of its symmetry
	// class's representative (the same when the model has no Symmetric
	// actors, whether or not symmetry reduction runs) and the mask of the
	// final properties violated there; the search then never stops early
	// at violations. For tests and tools that compare searches.
	Terminal func(enc, canon []byte, violated uint64)
	// Horizon: steps whose earliest firing time is after it never fire.
	Horizon Time
	// ShrinkBudget bounds the replays spent shrinking a counterexample;
	// 0 means a default, negative means do not shrink.
	ShrinkBudget int
	// Progress, when set, is called about every 200 ms.
	Progress func(Progress)
	// Workers, when > 1, runs the DFS on that many goroutines sharing one
	// visited set (explore/parallel.go); the verdicts and terminal states
	// are the sequential search's, and so are the state counts but where
	// persistent sets and symmetry run together (docs/reductions.md,
	// "Persistent sets and symmetry in the parallel search").
	Workers int
	// Split is the number of frontier states the parallel, sharded and
	// swarm searches' breadth-first prefix aims at (0: 1024; at least 64
	// per shard): small values leave more of a small space to the
	// workers, for tests.
	Split int
	// Shard, when Count > 1, explores only part Index of Count of the
	// space: the frontier states at the split depth whose fingerprint is
	// Index modulo Count, and everything below them.
	Shard Part
	// Swarm, when Count > 0, makes this search member Index of a swarm of
	// Count: a DFS in an order of its own, drawn from Seed and Index,
	// within MaxStates and Budget (Spin's swarm verification).
	Swarm Part
	// Visited, when set, is called after a parallel, sharded or swarm
	// search with every fingerprint its visited set holds, so that the
	// shards' sets can be united into the exact count of distinct states.
	Visited func(fp uint64)
}

// Part is part Index (from 0) of Count.
type Part struct {
	Index, Count int
}

// ParsePart reads "I/N" (I from 0 to N-1).
func ParsePart(s string) (Part, error) {
	a, b, ok := strings.Cut(s, "/")
	i, err1 := strconv.Atoi(a)
	n, err2 := strconv.Atoi(b)
	if !ok || err1 != nil || err2 != nil {
		return Part{}, fmt.Errorf("%q: want I/N, such as 0/4", s)
	}
	if n < 1 || i < 0 || i >= n {
		return Part{}, fmt.Errorf("%q: want I/N with N >= 1 and 0 <= I < N", s)
	}
	return Part{Index: i, Count: n}, nil
}

func (p Part) String() string { return fmt.Sprintf("%d/%d", p.Index, p.Count) }

// DefaultOptions returns options for an exhaustive check.
func DefaultOptions() Options {
	return Options{Strategy: DFS, PreemptionBound: -1, Depth: 3, Horizon: Never}
}

// Progress reports a long check's advance.
type Progress struct {
	States, Transitions int64
	Runs                int64
	Elapsed             time.Duration
	// Fraction of the budget used, in [0,1], or -1 when unknown.
	Fraction float64
}

// Verdict is the outcome of a check.
type Verdict string

// Verdicts.
const (
	Holds    Verdict = "holds"
	Violated Verdict = "violated"
	Unknown  Verdict = "unknown"
	// NotEvaluated is the verdict of a property in one replayed run that
	// stopped before the property could be checked (a final property of a
	// run that ended at an invariant's violation, before quiescence).
	NotEvaluated Verdict = "not-evaluated"
)

// ParseVerdict checks a verdict name.
func ParseVerdict(s string) (Verdict, error) {
	switch Verdict(s) {
	case Holds, Violated, Unknown:
		return Verdict(s), nil
	}
	return "", fmt.Errorf("unknown verdict %q (want holds, violated or unknown)", s)
}

// Result is what a check found.
type Result struct {
	// Verdict is violated when any property is violated, holds when every
	// property holds, unknown otherwise.
	Verdict Verdict
	// Property is the first violated property, or empty.
	Property string
	// Explanation says why the property is violated, in words.
	Explanation string
	// Properties has every property's own verdict, in the order given.
	Properties []PropertyResult
	// Exhaustive is true when every schedule was covered (DFS finished
	// within its budget, with no state bound and no preemption bound).
	Exhaustive bool
	// Bound is the preemption bound the DFS kept to, -1 when none: a
	// verdict of holds then covers only the schedules within the bound.
	Bound       int
	States      int64
	Transitions int64
	Runs        int64
	Failures    int64
	Elapsed     time.Duration
	// Choices is the counterexample's schedule (shrunk), nil when none.
	Choices []Choice
	// OmissionProbability bounds the chance that fingerprint collisions
	// hid a state (hash compaction, as Spin reports it); 0 in exact mode.
	OmissionProbability float64
	// BytesPerState is the visited set's peak memory (growth included)
	// divided by its states; HugePages tells that the kernel took the
	// advice to back it with transparent huge pages.
	BytesPerState float64
	HugePages     bool
	// Workers is the number of goroutines of a parallel search (0: the
	// sequential one). Shard and Swarm are the options' (Count 0: none).
	Workers      int
	Shard, Swarm Part
	// SplitDepth is the depth of the frontier of a parallel or sharded
	// search, PrefixStates the states up to it (every shard explores and
	// counts them), Frontier the states at it and ShardFrontier those
	// this search explored below (a shard's share).
	SplitDepth    int
	PrefixStates  int64
	Frontier      int
	ShardFrontier int
	// Reductions names the reductions the DFS ran ("none" for none;
	// empty for seeded runs).
	Reductions string
}

// PropertyResult is one property's verdict in a check.
type PropertyResult struct {
	Name string
	Kind Kind
	// Verdict: violated with a counterexample; holds when the search
	// covered what it was asked to (see Result.Exhaustive and Bound) or,
	// for seeded runs, when no run violated it; unknown when the search
	// stopped first.
	Verdict Verdict
	// Choices is the (shrunk) schedule of the counterexample.
	Choices []Choice
	// Explanation says why the property is violated (from the
	// counterexample) or what holds (from the schedule without
	// preemption).
	Explanation string
	// Failures counts the seeded runs that violated the property; Rate,
	// Low and High are its failure rate and 95 % Wilson interval.
	Failures        int64
	Rate, Low, High float64
}

// setProperties fills r.Properties from the first schedule found to
// violate each property (nil: none) and sets the overall verdict;
// complete tells whether the search covered its space (else properties
// not violated are unknown).
func setProperties[S any](r *Result, props []Property[S], first [][]Choice, complete bool) {
	r.Properties = make([]PropertyResult, len(props))
	r.Property, r.Choices = "", nil
	for i, p := range props {
		pr := PropertyResult{Name: p.Name, Kind: p.Kind, Verdict: Unknown}
		switch {
		case first[i] != nil:
			pr.Verdict, pr.Choices = Violated, first[i]
			if r.Property == "" {
				r.Property, r.Choices = pr.Name, first[i]
			}
		case complete:
			pr.Verdict = Holds
		}
		r.Properties[i] = pr
	}
	r.Verdict = overall(r.Properties)
}

// overall is violated when any property is, holds when all do, unknown
// otherwise.
func overall(ps []PropertyResult) Verdict {
	v := Holds
	for _, p := range ps {
		switch p.Verdict {
		case Violated:
			return Violated
		case Holds:
		default:
			v = Unknown
		}
	}
	return v
}
