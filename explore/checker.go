package explore

import (
	"context"

	"raceroute/trace"
)

// Checker is a model with its properties, ready to check; it hides the
// model's state type from callers such as the command line.
type Checker interface {
	// Actors names the actors.
	Actors() []string
	// Properties names the properties, in order.
	Properties() []string
	// Check explores with opts.Strategy and returns the verdict, with a
	// shrunk counterexample on violation.
	Check(ctx context.Context, opts Options) Result
	// Sample runs opts.Runs seeded schedules (random or PCT) to the end,
	// counting failures, and returns the failure rate.
	Sample(ctx context.Context, opts Options) (Result, SampleStats)
	// Replay executes a schedule and tells its story. Choices that do not
	// fit (actor not enabled, time outside the window) are mended, and the
	// run is completed without preemption once the choices run out; the
	// schedule actually run is returned.
	Replay(choices []Choice, opts Options) Replayed
	// Shrink makes a failing schedule shorter and with fewer preemptions.
	Shrink(choices []Choice, opts Options) []Choice
}

// Replayed is the story of one schedule.
type Replayed struct {
	Events      []trace.Event
	Choices     []Choice
	Verdict     Verdict
	Property    string
	Explanation string
	// Properties has one line per property: its name, verdict and
	// explanation at the end of the run.
	Properties []PropertyReport
}

// PropertyReport is one property's verdict and explanation at the end of
// a replayed run.
type PropertyReport struct {
	Name        string
	Kind        Kind
	Holds       bool
	Explanation string
}

// NewChecker binds a model and its properties.
func NewChecker[S any](m Model[S], props []Property[S]) Checker {
	return &checker[S]{m: m, props: props}
}

type checker[S any] struct {
	m     Model[S]
	props []Property[S]
}

func (c *checker[S]) engine(opts Options) *engine[S] {
	if opts.Horizon == 0 {
		opts.Horizon = Never
	}
	return &engine[S]{m: c.m, props: c.props, opts: opts, nAct: len(c.m.Actors())}
}

func (c *checker[S]) Actors() []string { return c.m.Actors() }

func (c *checker[S]) Properties() []string {
	names := make([]string, len(c.props))
	for i, p := range c.props {
		names[i] = p.Name
	}
	return names
}

func (c *checker[S]) Check(ctx context.Context, opts Options) Result {
	e := c.engine(opts)
	var res Result
	switch opts.Strategy {
	case PCT, Random:
		res, _ = e.sample(ctx, true)
	default:
		res = e.dfs(ctx)
	}
	if res.Verdict == Violated && res.Choices != nil {
		res.Choices = c.Shrink(res.Choices, opts)
		rep := c.Replay(res.Choices, opts)
		res.Choices, res.Explanation = rep.Choices, rep.Explanation
		if rep.Property != "" {
			res.Property = rep.Property
		}
	} else if res.Verdict == Violated {
		// Violated in the initial state.
		rep := c.Replay(nil, opts)
		res.Explanation = rep.Explanation
	}
	return res
}

func (c *checker[S]) Shrink(choices []Choice, opts Options) []Choice {
	budget := opts.ShrinkBudget
	if budget == 0 {
		budget = 2000
	}
	if budget < 0 {
		return choices
	}
	return c.engine(opts).shrink(choices, budget)
}

func (c *checker[S]) Sample(ctx context.Context, opts Options) (Result, SampleStats) {
	if opts.Strategy != PCT {
		opts.Strategy = Random
	}
	return c.engine(opts).sample(ctx, false)
}

func (c *checker[S]) Replay(choices []Choice, opts Options) Replayed {
	e := c.engine(opts)
	var story trace.Story
	o := e.replay(choices, &story)
	rep := Replayed{Events: story.Events, Choices: o.choices, Verdict: Holds}
	for i := range c.props {
		p := &c.props[i]
		pr := PropertyReport{Name: p.Name, Kind: p.Kind, Holds: true}
		if i == o.violated {
			pr.Holds = false
		} else if p.Kind == Final && o.violated < 0 {
			pr.Holds = p.Holds(&o.final)
		}
		if p.Explain != nil {
			pr.Explanation = p.Explain(&o.final)
		}
		rep.Properties = append(rep.Properties, pr)
	}
	if o.violated >= 0 {
		rep.Verdict = Violated
		rep.Property = c.props[o.violated].Name
		rep.Explanation = rep.Properties[o.violated].Explanation
	}
	return rep
}
