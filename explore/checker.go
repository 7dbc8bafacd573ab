package explore

import (
	"context"
	"fmt"

	"raceroute/trace"
)

// Checker is a model with its properties, ready to check; it hides the
// model's state type from callers such as the command line.
type Checker interface {
	// Actors names the actors.
	Actors() []string
	// Properties names the properties, in order.
	Properties() []string
	// Check explores with opts.Strategy and returns every property's
	// verdict, each violation with its own shrunk counterexample.
	Check(ctx context.Context, opts Options) Result
	// Sample runs opts.Runs seeded schedules (random or PCT) to the end,
	// counting failures per property and overall, and returns the failure
	// rates; counterexamples are not shrunk.
	Sample(ctx context.Context, opts Options) (Result, SampleStats)
	// Replay executes a schedule until the first violation of any
	// property, and tells its story. Choices that do not fit (actor not
	// enabled, time outside the window) are mended, and the run is
	// completed without preemption once the choices run out; the schedule
	// actually run is returned.
	Replay(choices []Choice, opts Options) Replayed
	// ReplayUntil is Replay, stopping only at the violation of the named
	// property (the run goes on past other properties' violations); an
	// empty name means the first violation of any property.
	ReplayUntil(choices []Choice, property string, opts Options) (Replayed, error)
	// Shrink makes a failing schedule shorter and with fewer preemptions,
	// keeping the first property it violates violated.
	Shrink(choices []Choice, opts Options) []Choice
	// ShrinkFor is Shrink for the named property's violation.
	ShrinkFor(choices []Choice, property string, opts Options) ([]Choice, error)
}

// Replayed is the story of one schedule.
type Replayed struct {
	Events  []trace.Event
	Choices []Choice
	// Verdict is violated when the run violated the property it was
	// replayed for (or any, for Replay), holds otherwise.
	Verdict     Verdict
	Property    string
	Explanation string
	// Properties has every property's verdict in this run, with its
	// explanation: violated ones at the state that violated them, the
	// others at the end of the run.
	Properties []PropertyReport
}

// PropertyReport is one property's verdict and explanation in a replayed
// run.
type PropertyReport struct {
	Name string `json:"name"`
	Kind Kind   `json:"kind"`
	// Verdict is holds, violated, or not-evaluated: a final property of a
	// run that stopped at a violation before the system was quiescent.
	Verdict     Verdict `json:"verdict"`
	Explanation string  `json:"explanation"`
}

// MarshalText names a kind in JSON.
func (k Kind) MarshalText() ([]byte, error) { return []byte(k.String()), nil }

// UnmarshalText reads a kind's name.
func (k *Kind) UnmarshalText(b []byte) error {
	for _, c := range []Kind{Invariant, Final} {
		if string(b) == c.String() {
			*k = c
			return nil
		}
	}
	return fmt.Errorf("unknown property kind %q (want invariant or final)", b)
}

// NewChecker binds a model and its properties (at most 64).
func NewChecker[S any](m Model[S], props []Property[S]) Checker {
	if len(props) > maxProperties {
		panic(fmt.Sprintf("explore: %d properties, at most %d", len(props), maxProperties))
	}
	return &checker[S]{m: m, props: props}
}

type checker[S any] struct {
	m     Model[S]
	props []Property[S]
}

func (c *checker[S]) engine(opts Options) *engine[S] {
	return newEngine(c.m, c.props, opts)
}

// newEngine returns the engine of m and props under opts (Horizon 0:
// none).
func newEngine[S any](m Model[S], props []Property[S], opts Options) *engine[S] {
	if opts.Horizon == 0 {
		opts.Horizon = Never
	}
	all := uint64(1)<<uint(len(props)) - 1
	if len(props) == maxProperties {
		all = ^uint64(0)
	}
	e := &engine[S]{m: m, props: props, opts: opts, nAct: len(m.Actors()), all: all}
	for i, p := range props {
		e.ofKind[p.Kind] |= 1 << uint(i)
	}
	return e
}

func (c *checker[S]) Actors() []string { return c.m.Actors() }

func (c *checker[S]) Properties() []string {
	names := make([]string, len(c.props))
	for i, p := range c.props {
		names[i] = p.Name
	}
	return names
}

// index returns the index of the property called name; "" gives untilAny.
func (c *checker[S]) index(name string) (int, error) {
	if name == "" {
		return untilAny, nil
	}
	for i := range c.props {
		if c.props[i].Name == name {
			return i, nil
		}
	}
	return 0, fmt.Errorf("no property %q (properties: %v)", name, c.Properties())
}

func (c *checker[S]) Check(ctx context.Context, opts Options) Result {
	e := c.engine(opts)
	var res Result
	switch opts.Strategy {
	case PCT, Random:
		res, _ = e.sample(ctx, true)
	default:
		res = e.search(ctx)
	}
	c.explain(&res, opts, true)
	return res
}

// explain shrinks (when asked) and explains each violated property's
// counterexample, and sets the result's first violation from them.
func (c *checker[S]) explain(res *Result, opts Options, shrink bool) {
	e := c.engine(opts)
	res.Property, res.Choices, res.Explanation = "", nil, ""
	for i := range res.Properties {
		pr := &res.Properties[i]
		if pr.Verdict != Violated {
			continue
		}
		if shrink {
			pr.Choices = e.shrink(pr.Choices, i, shrinkBudget(opts))
		}
		o := e.replay(pr.Choices, discard{}, i)
		pr.Choices = o.choices
		rep := c.report(o, i)
		pr.Explanation = rep.Explanation
		if res.Property == "" {
			res.Property, res.Choices, res.Explanation = pr.Name, pr.Choices, pr.Explanation
		}
	}
}

func shrinkBudget(opts Options) int {
	if opts.ShrinkBudget == 0 {
		return 2000
	}
	return opts.ShrinkBudget
}

func (c *checker[S]) Shrink(choices []Choice, opts Options) []Choice {
	e := c.engine(opts)
	o := e.replay(choices, nil, untilAny)
	if o.first < 0 {
		return choices
	}
	return e.shrink(choices, o.first, shrinkBudget(opts))
}

func (c *checker[S]) ShrinkFor(choices []Choice, property string, opts Options) ([]Choice, error) {
	i, err := c.index(property)
	if err != nil {
		return nil, err
	}
	if i < 0 {
		return c.Shrink(choices, opts), nil
	}
	return c.engine(opts).shrink(choices, i, shrinkBudget(opts)), nil
}

func (c *checker[S]) Sample(ctx context.Context, opts Options) (Result, SampleStats) {
	if opts.Strategy != PCT {
		opts.Strategy = Random
	}
	res, st := c.engine(opts).sample(ctx, false)
	c.explain(&res, opts, false)
	return res, st
}

func (c *checker[S]) Replay(choices []Choice, opts Options) Replayed {
	rep, _ := c.ReplayUntil(choices, "", opts)
	return rep
}

func (c *checker[S]) ReplayUntil(choices []Choice, property string, opts Options) (Replayed, error) {
	until, err := c.index(property)
	if err != nil {
		return Replayed{}, err
	}
	e := c.engine(opts)
	var story trace.Story
	o := e.runOne(replayScheduler(choices), &story, nil, until)
	rep := c.report(o, until)
	rep.Events = story.Events
	return rep, nil
}

// report turns a recorded run into every property's verdict; until is
// the property the run was for (or untilAny).
func (c *checker[S]) report(o runOutcome[S], until int) Replayed {
	rep := Replayed{Choices: o.choices, Verdict: Holds}
	stopped := ""
	if !o.quiescent && o.first >= 0 {
		stopped = c.props[o.first].Name
		if until >= 0 {
			stopped = c.props[until].Name
		}
	}
	for i := range c.props {
		p := &c.props[i]
		pr := PropertyReport{Name: p.Name, Kind: p.Kind, Verdict: Holds}
		bit := uint64(1) << uint(i)
		switch {
		case o.violated&bit != 0:
			pr.Verdict = Violated
			pr.Explanation = o.explained[i]
		case p.Kind == Final && !o.quiescent:
			pr.Verdict = NotEvaluated
			pr.Explanation = fmt.Sprintf("not evaluated: the run stopped at the violation of %s, before every actor was done", stopped)
		default:
			if p.Explain != nil {
				pr.Explanation = p.Explain(&o.final)
			}
		}
		rep.Properties = append(rep.Properties, pr)
	}
	target := o.first
	if until >= 0 {
		target = -1
		if o.violated&(1<<uint(until)) != 0 {
			target = until
		}
	}
	if target >= 0 {
		rep.Verdict = Violated
		rep.Property = c.props[target].Name
		rep.Explanation = rep.Properties[target].Explanation
	}
	return rep
}

// discard is a recorder that keeps nothing, to get a run's explanations
// without its story.
type discard struct{}

func (discard) Record(trace.Event) {}
