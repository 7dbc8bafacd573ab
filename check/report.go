package check

import (
	"fmt"
	"io"
	"slices"
	"strings"

	"raceroute/explore"
	"raceroute/profile"
	"raceroute/scenario"
	"raceroute/trace"
)

// Report is the result of one job, in the JSON form of the command line
// contract.
type Report struct {
	Scenario string `json:"scenario"`
	// Kernel names the kernel as Lookup finds it again: a profile name or
	// the release given, with the values assumed for settings that could
	// not be pinned ("rhel-7.4[garp=always]"); Profile is the profile it
	// resolved to, Assumed those assumptions.
	Kernel  string   `json:"kernel"`
	Profile string   `json:"profile"`
	Assumed []string `json:"assumed,omitempty"`
	// ExpectRule is the `expect:` rule that gave Expected.
	ExpectRule string `json:"expect_rule"`
	Column     string `json:"-"`
	// Property is the first violated property, or every property's name
	// when none is violated.
	Property string          `json:"property"`
	Verdict  explore.Verdict `json:"verdict"`
	Expected explore.Verdict `json:"expected"`
	Match    bool            `json:"match"`
	Strategy string          `json:"strategy"`
	// Exhaustive: every schedule was covered. Bound is the preemption
	// bound of a bounded search (absent when none).
	Exhaustive  bool    `json:"exhaustive"`
	Bound       *int    `json:"bound,omitempty"`
	States      int64   `json:"states"`
	Transitions int64   `json:"transitions"`
	ElapsedMS   float64 `json:"elapsed_ms"`
	// Statistical checks.
	Runs        int64    `json:"runs,omitempty"`
	Failures    int64    `json:"failures,omitempty"`
	FailureRate *float64 `json:"failure_rate,omitempty"`
	CILow       *float64 `json:"ci95_low,omitempty"`
	CIHigh      *float64 `json:"ci95_high,omitempty"`
	// OmissionProbability bounds the chance that hash compaction hid a
	// state; BytesPerState is the visited set's memory per state.
	OmissionProbability float64 `json:"omission_probability,omitempty"`
	BytesPerState       float64 `json:"bytes_per_state,omitempty"`
	Explanation         string  `json:"explanation"`
	// Properties has every property's own verdict.
	Properties []PropertyReport `json:"properties"`
	// Counterexample is the first violated property's.
	Counterexample *Counterexample `json:"counterexample,omitempty"`

	// For the HTML page: the scenario's description, the profile's, and
	// its settings (those the scenario depends on first).
	description    string
	kernelSummary  string
	kernelSettings []string
}

// PropertyReport is one property's verdict in a report.
type PropertyReport struct {
	Name        string          `json:"name"`
	Kind        explore.Kind    `json:"kind"`
	Verdict     explore.Verdict `json:"verdict"`
	Explanation string          `json:"explanation"`
	// Seeded runs: how many violated this property, with the 95 % Wilson
	// interval of its failure rate.
	Failures       *int64          `json:"failures,omitempty"`
	FailureRate    *float64        `json:"failure_rate,omitempty"`
	CILow          *float64        `json:"ci95_low,omitempty"`
	CIHigh         *float64        `json:"ci95_high,omitempty"`
	Counterexample *Counterexample `json:"counterexample,omitempty"`
}

// Counterexample is a violated property's story and its replay token.
type Counterexample struct {
	Events []trace.JSONEvent `json:"events"`
	Replay string            `json:"replay"`

	events []trace.Event
}

// Story is the counterexample's events as the model told them.
func (c *Counterexample) Story() []trace.Event { return c.events }

// Matches tells whether a report's verdict meets its expectation: a
// search within a preemption bound proves nothing beyond it, so its
// "holds" never matches an expected "holds"; "unknown" matches nothing.
func Matches(r Report) bool {
	switch {
	case r.Verdict == explore.Unknown:
		return false
	case r.Verdict == explore.Holds && r.Bound != nil:
		return false
	}
	return r.Verdict == r.Expected
}

// verdictScope says what a verdict without a counterexample covers.
func verdictScope(r Report) string {
	switch {
	case r.Verdict == explore.Unknown && r.Runs > 0:
		return fmt.Sprintf("no violation in %d seeded runs before the budget ran out; too few runs for a verdict", r.Runs)
	case r.Verdict == explore.Unknown:
		return fmt.Sprintf("the budget ran out after %d states, before the search covered every schedule: no verdict", r.States)
	case r.Runs > 0:
		return fmt.Sprintf("sampled: no violation in %d seeded runs; the failure rate is below %s (95 %% upper bound)", r.Runs, percent(*r.CIHigh))
	case r.Bound != nil:
		return fmt.Sprintf("holds within preemption bound %d only: schedules with more preemptions were not explored, so this proves nothing about them", *r.Bound)
	}
	return "in every schedule (exhaustive)"
}

// percent formats a rate with two significant digits, as a percentage.
func percent(x float64) string {
	return fmt.Sprintf("%.2g %%", 100*x)
}

// TokenSource is how a replay token names the scenario: its library name,
// or its file's absolute path.
func TokenSource(sc *scenario.Scenario) string {
	if sc.Embedded() {
		return sc.Name
	}
	return sc.Source
}

// TokenDigest identifies a scenario file's content in tokens (empty for
// the library, which changes only with raceroute itself).
func TokenDigest(sc *scenario.Scenario) string {
	if sc.Embedded() {
		return ""
	}
	return sc.ContentHash()
}

// Headline is a report's verdict and whether it matches its expectation,
// in words: "VIOLATED (matches expectation)".
func Headline(r Report) string {
	status := "matches expectation"
	if !r.Match {
		status = fmt.Sprintf("EXPECTED %s", strings.ToUpper(string(r.Expected)))
		if r.Verdict == explore.Holds && r.Bound != nil && r.Expected == explore.Holds {
			status += fmt.Sprintf("; a search within preemption bound %d cannot establish it", *r.Bound)
		}
	}
	verdict := strings.ToUpper(string(r.Verdict))
	if r.Verdict == explore.Holds && r.Bound != nil {
		verdict = fmt.Sprintf("HOLDS WITHIN PREEMPTION BOUND %d", *r.Bound)
	}
	return fmt.Sprintf("%s (%s)", verdict, status)
}

// ScopeLine says what a report's search covered: the seeded runs and the
// failure rate, or the states of an exhaustive or bounded search.
func ScopeLine(r Report) string {
	if r.Runs > 0 {
		return fmt.Sprintf("violated in %d of %d seeded runs: %s (95 %% CI %s to %s), strategy %s",
			r.Failures, r.Runs, percent(*r.FailureRate), percent(*r.CILow), percent(*r.CIHigh), r.Strategy)
	}
	if r.Verdict == scenario.Refused {
		return "the model refuses the scenario on this kernel, as expected: nothing was searched (" + r.Explanation + ")"
	}
	ex := "exhaustive"
	switch {
	case r.Bound != nil:
		ex = fmt.Sprintf("within preemption bound %d, not exhaustive", *r.Bound)
	case !r.Exhaustive && r.Verdict == explore.Violated:
		ex = "stopped once every property was decided"
	case !r.Exhaustive:
		ex = "not exhaustive"
	}
	line := fmt.Sprintf("%s: %d states, %d transitions, %.1f ms", ex, r.States, r.Transitions, r.ElapsedMS)
	if r.OmissionProbability > 0 {
		line += fmt.Sprintf(", fingerprint omission probability < %.1e", r.OmissionProbability)
	}
	return line
}

// propertyRate says how often seeded runs violated p ("" for exhaustive
// checks).
func propertyRate(r Report, p PropertyReport) string {
	if p.Failures == nil {
		return ""
	}
	return fmt.Sprintf("in %d of %d runs (%s, 95 %% CI %s to %s)", *p.Failures, r.Runs, percent(*p.FailureRate), percent(*p.CILow), percent(*p.CIHigh))
}

// WriteText prints report r: its headline, what the search covered, and
// every property's verdict with its story when violated.
func WriteText(w io.Writer, r Report) {
	fmt.Fprintf(w, "%s on %s: %s\n", r.Scenario, r.Kernel, Headline(r))
	fmt.Fprintf(w, "  %s\n", ScopeLine(r))
	told := map[string]string{} // a story already printed -> its property
	for _, p := range r.Properties {
		writeProperty(w, r, p, told)
	}
	fmt.Fprintln(w)
}

// writeProperty prints one property's verdict, with its story when it is
// violated.
func writeProperty(w io.Writer, r Report, p PropertyReport, told map[string]string) {
	rate := propertyRate(r, p)
	if rate != "" {
		rate = " " + rate
	}
	switch p.Verdict {
	case explore.Violated:
		fmt.Fprintf(w, "  property %s (%s) violated%s:\n", p.Name, p.Kind, rate)
		for _, line := range strings.Split(p.Explanation, "\n") {
			fmt.Fprintf(w, "    %s\n", line)
		}
		var story strings.Builder
		trace.WriteStory(&story, p.Counterexample.events, "    ")
		if other, ok := told[story.String()]; ok {
			fmt.Fprintf(w, "  story: the same %d kernel events as for %s above\n", len(p.Counterexample.events), other)
		} else {
			told[story.String()] = p.Name
			fmt.Fprintf(w, "  story (%d kernel events):\n%s", len(p.Counterexample.events), story.String())
		}
		fmt.Fprintf(w, "  replay: raceroute replay %s\n", p.Counterexample.Replay)
	case explore.Holds:
		scope := "in every schedule (exhaustive)"
		switch {
		case r.Runs > 0:
			scope = fmt.Sprintf("sampled: no violation in %d seeded runs (failure rate below %s, 95 %% upper bound)", r.Runs, percent(*p.CIHigh))
		case r.Bound != nil:
			scope = fmt.Sprintf("within preemption bound %d only", *r.Bound)
		}
		fmt.Fprintf(w, "  property %s (%s) holds %s; in the schedule without preemption: %s\n", p.Name, p.Kind, scope, p.Explanation)
	default:
		fmt.Fprintf(w, "  property %s (%s) %s: the search stopped before it was decided; in the schedule without preemption: %s\n", p.Name, p.Kind, p.Verdict, p.Explanation)
	}
}

// ProfileSettings lists p's behaviour switches as name=value, first
// those the scenario depends on (first).
func ProfileSettings(p profile.Profile, first []string) []string {
	var out, rest []string
	for _, name := range profile.Switches() {
		st, ok := p.Setting(name)
		if !ok {
			continue
		}
		line := name + "=" + st.String()
		if slices.Contains(first, name) {
			out = append(out, line)
		} else {
			rest = append(rest, line)
		}
	}
	return append(out, rest...)
}
