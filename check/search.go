package check

import (
	"context"
	"fmt"
	"runtime"
	"strings"
	"sync"
	"time"

	"raceroute/explore"
	"raceroute/scenario"
	"raceroute/trace"
)

// Searched is a search's result, shared by the jobs whose kernels give
// the scenario the same settings: the models read only the switches the
// scenario lists (Scenario.Switches), so such jobs explore the same space
// and differ only in the profile named in their stories.
type Searched struct {
	res   explore.Result
	stats explore.SampleStats
	// shrunk holds each violated property's shrunk schedule (seeded runs).
	shrunk map[string][]explore.Choice
	// refused is the model's refusal of a scenario that expects one on
	// the job's kernel (scenario.Refused): nothing was searched.
	refused string
}

// SearchKey identifies a search: the scenario variant and the settings
// of every switch it depends on.
func SearchKey(j Job) string {
	var b strings.Builder
	b.WriteString(j.Scenario.Source + "\x00" + j.Variant.Name)
	for _, sw := range j.Scenario.Switches() {
		st, _ := j.Profile.Setting(sw)
		b.WriteString("\x00" + sw + "=" + st.Value)
	}
	return b.String()
}

// SearchAll runs one search per distinct search key of jobs, on every
// core, and returns them by key. With --budget, each search gets its share
// of what is left of the command's budget.
func SearchAll(ctx context.Context, jobs []Job, o Settings, prog *Progress) (map[string]*Searched, error) {
	var keys []string
	first := map[string]Job{}
	for _, j := range jobs {
		k := SearchKey(j)
		if _, ok := first[k]; !ok {
			first[k] = j
			keys = append(keys, k)
		}
	}
	workers := min(runtime.GOMAXPROCS(0), len(keys))
	cache := make(map[string]*Searched, len(keys))
	var mu sync.Mutex
	var firstErr error
	next := 0
	start := time.Now()
	prog.Start(len(keys))
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				mu.Lock()
				if next >= len(keys) || firstErr != nil || ctx.Err() != nil {
					mu.Unlock()
					return
				}
				k := keys[next]
				left := len(keys) - next
				next++
				mu.Unlock()
				budget := time.Duration(0)
				if o.BudgetSet {
					// What is left of the command's budget, shared by the
					// searches still to run on the workers: a search that
					// finishes early leaves its time to the others.
					budget = max((o.Budget-time.Since(start))*time.Duration(workers)/time.Duration(left), time.Millisecond)
				}
				d, err := Search(ctx, first[k], o, budget, prog)
				mu.Lock()
				if err != nil && firstErr == nil {
					firstErr = err
				}
				cache[k] = d
				mu.Unlock()
				prog.Finished()
			}
		}()
	}
	wg.Wait()
	return cache, firstErr
}

// Search runs the check of job j's scenario variant on its profile.
func Search(ctx context.Context, j Job, o Settings, budget time.Duration, prog *Progress) (*Searched, error) {
	ov := o.Overrides(budget)
	c, err := j.Scenario.CompileFor(j.Variant, j.Profile, ov)
	if err != nil {
		if want, _, e := j.Variant.Expected(j.Profile); e == nil && want == scenario.Refused {
			return &Searched{refused: err.Error()}, nil
		}
		return nil, inputError(err)
	}
	opts := j.Scenario.Options(ov)
	opts.Progress = prog.Update
	d := &Searched{shrunk: map[string][]explore.Choice{}}
	if opts.Strategy == explore.DFS {
		d.res = c.Check(ctx, opts)
		return d, nil
	}
	d.res, d.stats = c.Sample(ctx, opts)
	for _, pr := range d.res.Properties {
		if pr.Verdict == explore.Violated {
			if d.shrunk[pr.Name], err = c.ShrinkFor(pr.Choices, pr.Name, opts); err != nil {
				return nil, err
			}
		}
	}
	return d, nil
}

// ReportJob turns a search into job j's report: the verdicts and rates
// are the search's, the stories are told on j's own profile.
func ReportJob(j Job, o Settings, done *Searched) (Report, error) {
	ov := o.Overrides(0)
	expected, rule, err := j.Variant.Expected(j.Profile)
	if err != nil {
		return Report{}, inputError(fmt.Errorf("%s: %w", j.Scenario.FullName(j.Variant), err))
	}
	if done.refused != "" {
		r := Report{Scenario: j.Scenario.FullName(j.Variant), Kernel: j.Profile.ID(), Profile: j.Profile.Name, Column: j.Column,
			Assumed: j.Profile.Assumed, Expected: expected, ExpectRule: rule, Verdict: scenario.Refused, Explanation: done.refused,
			description: j.Scenario.Description, kernelSummary: j.Profile.Description, kernelSettings: ProfileSettings(j.Profile, j.Scenario.Switches())}
		if j.Variant.Description != "" {
			r.description = j.Variant.Description
		}
		r.Match = Matches(r)
		return r, nil
	}
	c, err := j.Scenario.CompileFor(j.Variant, j.Profile, ov)
	if err != nil {
		return Report{}, inputError(err)
	}
	opts := j.Scenario.Options(ov)
	r := Report{
		Scenario: j.Scenario.FullName(j.Variant), Kernel: j.Profile.ID(), Profile: j.Profile.Name, Column: j.Column,
		Assumed: j.Profile.Assumed, Strategy: string(opts.Strategy), Expected: expected, ExpectRule: rule,
		description: j.Scenario.Description, kernelSummary: j.Profile.Description, kernelSettings: ProfileSettings(j.Profile, j.Scenario.Switches()),
	}
	if j.Variant.Description != "" {
		r.description = j.Variant.Description
	}
	sampled := opts.Strategy != explore.DFS
	res := done.res
	if !sampled {
		r.Exhaustive = res.Exhaustive
		r.OmissionProbability, r.BytesPerState = res.OmissionProbability, res.BytesPerState
		if res.Bound >= 0 {
			b := res.Bound
			r.Bound = &b
		}
	} else {
		st := done.stats
		r.Runs, r.Failures = st.Runs, st.Failures
		r.FailureRate, r.CILow, r.CIHigh = &st.Rate, &st.Low, &st.High
	}
	r.Verdict, r.States, r.Transitions = res.Verdict, res.States, res.Transitions
	r.ElapsedMS = float64(res.Elapsed.Microseconds()) / 1000
	r.Property = strings.Join(c.Properties(), ", ")
	for _, pr := range res.Properties {
		p := PropertyReport{Name: pr.Name, Kind: pr.Kind, Verdict: pr.Verdict}
		if sampled {
			pr := pr
			p.Failures, p.FailureRate, p.CILow, p.CIHigh = &pr.Failures, &pr.Rate, &pr.Low, &pr.High
		}
		switch pr.Verdict {
		case explore.Violated:
			choices := pr.Choices
			if sampled {
				choices = done.shrunk[pr.Name]
			}
			rep, err := c.ReplayUntil(choices, pr.Name, opts)
			if err != nil {
				return Report{}, err
			}
			p.Explanation = rep.Explanation
			tok := explore.Token{Scenario: TokenSource(j.Scenario), Digest: TokenDigest(j.Scenario), Variant: j.Variant.Name,
				Profile: j.Profile.ID(), Property: pr.Name, Choices: rep.Choices}
			p.Counterexample = &Counterexample{Events: trace.JSONEvents(rep.Events), Replay: tok.String(), events: rep.Events}
			if r.Counterexample == nil {
				r.Property, r.Explanation, r.Counterexample = pr.Name, p.Explanation, p.Counterexample
			}
		default:
			// What holds, told from the schedule without preemption.
			rep, err := c.ReplayUntil(nil, pr.Name, opts)
			if err != nil {
				return Report{}, err
			}
			for _, q := range rep.Properties {
				if q.Name == pr.Name {
					p.Explanation = q.Explanation
				}
			}
		}
		r.Properties = append(r.Properties, p)
	}
	if r.Counterexample == nil {
		r.Explanation = verdictScope(r)
	}
	r.Match = Matches(r)
	return r, nil
}
