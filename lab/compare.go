package lab

import (
	"context"
	"fmt"
	"strings"

	"raceroute/explore"
)

// A live run is one run: one schedule of the actors, one draw of the
// times the scenario leaves open. Compare sets it beside what the model
// says of every run, and says what the comparison can and cannot show.

// ModelVerdict is the model's verdict on one kernel profile, as a
// check reports it.
type ModelVerdict struct {
	// Kernel names the profile (with the values assumed for settings
	// that could not be pinned).
	Kernel string `json:"kernel"`
	// Sampled: seeded runs (random, pct); else an exhaustive search.
	Sampled bool `json:"sampled"`
	// Exhaustive: the search covered every schedule.
	Exhaustive bool               `json:"exhaustive"`
	Runs       int64              `json:"runs,omitempty"`
	Properties []ModelPropVerdict `json:"properties"`
}

// ModelPropVerdict is one property's model verdict.
type ModelPropVerdict struct {
	Name    string          `json:"name"`
	Verdict explore.Verdict `json:"verdict"`
	// Rate is the share of runs that violate the property: of the seeded
	// runs for a sampled check (with CIHigh, the 95 % upper bound), of
	// random schedules sampled for an exhaustive one that found a
	// violation (Share), so that a single live run can be judged.
	Rate   float64 `json:"failure_rate"`
	CIHigh float64 `json:"ci95_high,omitempty"`
	// RateKnown is false when the rate was not measured (an exhaustive
	// search that proved the property holds has none: it is 0).
	RateKnown bool `json:"-"`
}

// Agreement is the outcome of a comparison.
type Agreement string

// Outcomes.
const (
	// Agree: the live run did what the model says every run does (or,
	// for a violation the model finds in some runs, the live run met it).
	Agree Agreement = "agree"
	// Disagree: the live run did what the model says no run does.
	Disagree Agreement = "disagree"
	// NotDecisive: the model says runs go either way; one live run
	// cannot tell whether the kernel and the model agree.
	NotDecisive Agreement = "not decisive"
	// NoModel: no model verdict to compare with (the check was
	// interrupted or ran out of budget).
	NoModel Agreement = "no model verdict"
	// NoLive: the live run gave no verdict for the property.
	NoLive Agreement = "no live verdict"
)

// rank orders outcomes from best to worst, for a scenario's overall one.
func (a Agreement) rank() int {
	switch a {
	case Agree:
		return 0
	case NotDecisive:
		return 1
	case NoModel, NoLive:
		return 2
	}
	return 3
}

// Comparison is a live run set beside the model's verdicts on the
// running kernel's profile (one per candidate setting when the profile
// could not pin one).
type Comparison struct {
	Agreement  Agreement            `json:"agreement"`
	Covers     string               `json:"covers"`
	Properties []PropertyComparison `json:"properties"`
}

// PropertyComparison is one property's comparison with one model
// verdict.
type PropertyComparison struct {
	Name      string          `json:"name"`
	Kernel    string          `json:"kernel"`
	Live      explore.Verdict `json:"live"`
	Model     explore.Verdict `json:"model"`
	Agreement Agreement       `json:"agreement"`
	Why       string          `json:"why"`
}

// Compare judges the live result against each model verdict.
func Compare(live *Result, models []ModelVerdict) Comparison {
	c := Comparison{Agreement: Agree}
	if len(models) == 0 {
		c.Agreement = NoModel
	}
	kinds := map[string]bool{}
	for _, m := range models {
		for _, lp := range live.Properties {
			pc := PropertyComparison{Name: lp.Name, Kernel: m.Kernel, Live: lp.Verdict}
			mp, ok := findProp(m, lp.Name)
			switch {
			case lp.Verdict != explore.Holds && lp.Verdict != explore.Violated:
				pc.Model, pc.Agreement, pc.Why = mp.Verdict, NoLive, "the live run gave no verdict for this property: "+lp.Explanation
			case !ok || mp.Verdict == explore.Unknown:
				pc.Model, pc.Agreement, pc.Why = explore.Unknown, NoModel, "the model gave no verdict for this property (its check did not finish)"
			default:
				pc.Model = mp.Verdict
				var kind string
				pc.Agreement, pc.Why, kind = judge(lp.Verdict, m, mp)
				kinds[kind] = true
			}
			if pc.Agreement.rank() > c.Agreement.rank() {
				c.Agreement = pc.Agreement
			}
			c.Properties = append(c.Properties, pc)
		}
	}
	var cov []string
	for _, k := range []string{"proof", "exists", "sampled"} {
		if kinds[k] {
			cov = append(cov, coverage[k])
		}
	}
	c.Covers = strings.Join(cov, " ")
	return c
}

// coverage says, per kind of model verdict, what comparing one live run
// with it covers.
var coverage = map[string]string{
	"proof":   "An exhaustive model verdict of holds is a claim about every schedule: one live run that violates it refutes it, one that holds is one schedule agreeing.",
	"exists":  "An exhaustive violated verdict says some schedule violates; the live run agrees by meeting such a schedule, or is not decisive when it took another (unless every schedule violates).",
	"sampled": "A sampled model verdict is a failure rate over seeded runs of the scenario's windows: a live run is one draw, so it agrees with 0 % or 100 %, and is not decisive against a rate in between.",
}

func findProp(m ModelVerdict, name string) (ModelPropVerdict, bool) {
	for _, p := range m.Properties {
		if p.Name == name {
			return p, true
		}
	}
	return ModelPropVerdict{}, false
}

// judge compares one property's live verdict with its model verdict.
func judge(live explore.Verdict, m ModelVerdict, p ModelPropVerdict) (Agreement, string, string) {
	pct := func(x float64) string { return fmt.Sprintf("%.2g %%", 100*x) }
	if m.Sampled {
		switch {
		case p.Verdict == explore.Holds && live == explore.Holds:
			return Agree, fmt.Sprintf("no violation in %d seeded runs of the model (failure rate below %s), and the live run held", m.Runs, pct(p.CIHigh)), "sampled"
		case p.Verdict == explore.Holds:
			return Disagree, fmt.Sprintf("the live run violated it, where the model found no violation in %d seeded runs (failure rate below %s)", m.Runs, pct(p.CIHigh)), "sampled"
		case p.Rate >= 1 && live == explore.Violated:
			return Agree, fmt.Sprintf("every one of the model's %d seeded runs violates it, and so did the live run", m.Runs), "sampled"
		case p.Rate >= 1:
			return Disagree, fmt.Sprintf("the live run held, where every one of the model's %d seeded runs violates it", m.Runs), "sampled"
		}
		return NotDecisive, fmt.Sprintf("the model violates it in %s of %d seeded runs; the live run %s, which one run cannot weigh against a rate", pct(p.Rate), m.Runs, liveWord(live)), "sampled"
	}
	exhaustive := "an exhaustive search"
	if !m.Exhaustive {
		exhaustive = "a search that stopped once it was decided"
	}
	switch {
	case p.Verdict == explore.Holds && live == explore.Holds:
		return Agree, fmt.Sprintf("%s proves no schedule violates it, and the live run held", exhaustive), "proof"
	case p.Verdict == explore.Holds:
		return Disagree, fmt.Sprintf("the live run violated it, where %s proves no schedule of the model does", exhaustive), "proof"
	case live == explore.Violated:
		return Agree, "the model finds schedules that violate it, and the live run met one", "exists"
	case p.RateKnown && p.Rate >= 1:
		return Disagree, "the live run held, where every schedule of the model violates it (all sampled schedules do)", "exists"
	case p.RateKnown:
		return NotDecisive, fmt.Sprintf("the model finds schedules that violate it (%s of random schedules); the live run took one that does not", pct(p.Rate)), "exists"
	}
	return NotDecisive, "the model finds schedules that violate it; the live run took one that does not", "exists"
}

func liveWord(v explore.Verdict) string {
	if v == explore.Violated {
		return "violated it"
	}
	return "held"
}

// ShareRuns is how many random schedules SampleShare runs.
const ShareRuns = 1000

// SampleShare runs random schedules of chk and returns, per property,
// the share that violate it: how often one run meets a violation an
// exhaustive search found.
func SampleShare(ctx context.Context, chk explore.Checker, opts explore.Options) map[string]float64 {
	opts.Strategy, opts.Runs = explore.Random, ShareRuns
	res, st := chk.Sample(ctx, opts)
	out := map[string]float64{}
	for _, p := range res.Properties {
		if st.Runs > 0 {
			out[p.Name] = float64(p.Failures) / float64(st.Runs)
		}
	}
	return out
}
