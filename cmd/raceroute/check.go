package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"os"
	"runtime"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	"golang.org/x/term"

	"raceroute/explore"
	"raceroute/profile"
	"raceroute/scenario"
	"raceroute/timeline"
	"raceroute/trace"
)

// defaultSeed seeds random and pct runs unless --seed says otherwise: the
// bare command and `check` use the same one, so that they print the same
// rates.
const defaultSeed = 1

// checkOptions are the flags of `raceroute check`.
type checkOptions struct {
	kernels  []string
	strategy string
	seed     uint64
	// budget, when budgetSet, is the time for the whole command, shared
	// out among its checks.
	budget    time.Duration
	budgetSet bool
	runs      int64
	bound     int
	boundSet  bool
	format    string
	output    string
	exact     bool
	noPOR     bool
	// matrix prints the scenario x profile matrix instead of one report
	// per check (the default with no scenario given).
	matrix bool
}

func defaultCheckOptions(matrix bool) checkOptions {
	return checkOptions{format: "text", seed: defaultSeed, bound: -1, matrix: matrix}
}

func newCheckCmd() *cobra.Command { return newCheckCmdWith(runCheck) }

// newCheckCmdWith builds the check command around run, so that a test can
// see the options the flags give.
func newCheckCmdWith(run func(*cobra.Command, []string, checkOptions) error) *cobra.Command {
	o := defaultCheckOptions(false)
	var kernels string
	var all bool
	cmd := &cobra.Command{
		Use:   "check [SCENARIO|FILE]...",
		Short: "Check scenarios on kernel profiles; print verdicts and counterexample stories",
		Long: `check runs each scenario (a library name, NAME/VARIANT, a YAML file, or
FILE/VARIANT) on each kernel profile, exhaustively (dfs) or by seeded runs
(random, pct), and prints the verdict of each of its properties, whether
the scenario's verdict matches its expectation, and for each violation the
shortest story found with a replay token. With no scenario it checks the
whole library.

Exit status: 0 when every verdict matches its expectation, 1 otherwise,
2 on bad input.`,
		Args: cobra.ArbitraryArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if all && len(args) > 0 {
				return badInput(fmt.Errorf("--all checks the whole library: give it no scenario (got %s)", strings.Join(args, " ")))
			}
			if kernels != "" {
				o.kernels = splitKernels(kernels)
			}
			if len(args) == 0 && o.format != "json" && !cmd.Flags().Changed("matrix") {
				o.matrix = true
			}
			o.budgetSet = cmd.Flags().Changed("budget")
			o.boundSet = cmd.Flags().Changed("preemption-bound")
			return run(cmd, args, o)
		},
	}
	f := cmd.Flags()
	f.BoolVar(&all, "all", false, "check the whole embedded library (the default with no scenario)")
	f.StringVar(&kernels, "kernel", "", "kernel `PROFILES`, comma-separated (default: all; list them with: raceroute kernels)")
	f.StringVar(&o.strategy, "strategy", "", "`STRATEGY`: dfs (exhaustive), pct or random (default: the scenario's, else dfs)")
	f.Uint64Var(&o.seed, "seed", o.seed, "seed of random and pct runs")
	f.DurationVar(&o.budget, "budget", 0, "time budget of the whole command, shared out among its checks (default: each check's own, else 1m each)")
	f.Int64Var(&o.runs, "runs", 0, "seeded runs for random and pct (default: the scenario's, else until the budget)")
	f.IntVar(&o.bound, "preemption-bound", -1, "bound the preemptions of dfs schedules (-1: none); a bounded search proves nothing beyond the bound")
	f.StringVar(&o.format, "format", "text", "output `FORMAT`: text, json, or html (one page: a timeline of every story; with no scenario, the matrix, each cell linking to its story)")
	f.StringVarP(&o.output, "output", "o", "", "write the report to `FILE` instead of standard output")
	f.BoolVar(&o.exact, "exact", false, "store whole states instead of 64-bit fingerprints (small scenarios)")
	f.BoolVar(&o.noPOR, "no-reduction", false, "turn partial-order reduction off")
	f.BoolVar(&o.matrix, "matrix", false, "print a scenario x profile matrix")
	return cmd
}

// job is one (scenario, variant, profile) to check.
type job struct {
	sc      *scenario.Scenario
	variant scenario.Variant
	prof    profile.Profile
	// column is the profile the job's was resolved from, the matrix
	// column it belongs to.
	column string
}

// report is the result of one job, in the JSON form of the command line
// contract.
type report struct {
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
	Properties []propertyReport `json:"properties"`
	// Counterexample is the first violated property's.
	Counterexample *counterexample `json:"counterexample,omitempty"`

	// For the HTML page: the scenario's description, the profile's, and
	// its settings (those the scenario depends on first).
	description    string
	kernelSummary  string
	kernelSettings []string
}

// propertyReport is one property's verdict in a report.
type propertyReport struct {
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
	Counterexample *counterexample `json:"counterexample,omitempty"`
}

type counterexample struct {
	Events []trace.JSONEvent `json:"events"`
	Replay string            `json:"replay"`

	events []trace.Event
}

// collectJobs resolves the scenario arguments and profiles: one job per
// scenario variant and runnable profile, a profile whose settings the
// scenario depends on are unknown giving one job per candidate.
func collectJobs(args []string, kernels []string) ([]job, error) {
	profs, err := resolveKernels(kernels)
	if err != nil {
		return nil, badInput(fmt.Errorf("--kernel: %w", err))
	}
	var scs []*scenario.Scenario
	variantOf := map[*scenario.Scenario]string{}
	if len(args) == 0 {
		lib, err := scenario.Library()
		if err != nil {
			return nil, err
		}
		scs = lib
	}
	for _, a := range args {
		sc, variant, err := scenario.FindVariant(a)
		if err != nil {
			return nil, badInput(err)
		}
		if variant != "" {
			variantOf[sc] = variant
		}
		scs = append(scs, sc)
	}
	var jobs []job
	for _, sc := range scs {
		for _, v := range sc.Variants {
			if want, ok := variantOf[sc]; ok && v.Name != want {
				continue
			}
			for _, p := range profs {
				for _, q := range p.Resolve(sc.Switches()) {
					jobs = append(jobs, job{sc: sc, variant: v, prof: q, column: p.Name})
				}
			}
		}
	}
	return jobs, nil
}

// overrides are the check settings the command line gave, for one check
// with budget (0: none given).
func (o checkOptions) overrides(budget time.Duration) scenario.Overrides {
	ov := scenario.Overrides{Strategy: explore.Strategy(o.strategy), Seed: o.seed, Runs: o.runs, Budget: budget,
		Exact: o.exact, NoReduction: o.noPOR}
	if o.boundSet {
		b := o.bound
		ov.PreemptionBound = &b
	}
	return ov
}

func (o checkOptions) validate() error {
	switch {
	case o.format != "text" && o.format != "json" && o.format != "html":
		return fmt.Errorf("--format %q: want text, json or html", o.format)
	case o.runs < 0:
		return fmt.Errorf("--runs %d: want a positive number of runs (or 0 for the scenario's)", o.runs)
	case o.budgetSet && o.budget <= 0:
		return fmt.Errorf("--budget %s: want a positive duration such as 30s", o.budget)
	case o.bound < -1:
		return fmt.Errorf("--preemption-bound %d: want 0 or more, or -1 for none", o.bound)
	}
	if o.strategy != "" {
		if _, err := explore.ParseStrategy(o.strategy); err != nil {
			return fmt.Errorf("--strategy: %w", err)
		}
	}
	return nil
}

func runCheck(cmd *cobra.Command, args []string, o checkOptions) error {
	if err := o.validate(); err != nil {
		return badInput(err)
	}
	jobs, err := collectJobs(args, o.kernels)
	if err != nil {
		return err
	}
	out := cmd.OutOrStdout()
	if o.output != "" {
		f, err := os.Create(o.output)
		if err != nil {
			return badInput(fmt.Errorf("-o: %w", err))
		}
		defer f.Close()
		out = f
	}
	prog := newProgress(cmd.ErrOrStderr())
	cache, err := searchAll(cmd.Context(), jobs, o, prog)
	prog.clear()
	if err != nil {
		return err
	}
	if err := cmd.Context().Err(); err != nil {
		return fmt.Errorf("check interrupted: %w", err)
	}
	var reports []report
	mismatches := 0
	enc := json.NewEncoder(out)
	for _, j := range jobs {
		r, err := reportJob(j, o, cache[searchKey(j)])
		if err != nil {
			return err
		}
		if !r.Match {
			mismatches++
		}
		switch {
		case o.format == "json":
			if err := enc.Encode(r); err != nil {
				return fmt.Errorf("write report: %w", err)
			}
		case o.format == "text" && !o.matrix:
			writeTextReport(out, r)
		}
		reports = append(reports, r)
	}
	switch {
	case o.format == "html":
		if err := timeline.Write(out, checkPage(cmd, reports, o)); err != nil {
			return fmt.Errorf("write report: %w", err)
		}
	case o.matrix && o.format == "text":
		writeMatrix(out, reports, len(o.kernels) == 0)
	}
	if mismatches > 0 {
		return mismatchError{mismatches}
	}
	return nil
}

// checkJob checks one scenario variant on one profile.
// searched is a search's result, shared by the jobs whose kernels give
// the scenario the same settings: the models read only the switches the
// scenario lists (Scenario.Switches), so such jobs explore the same space
// and differ only in the profile named in their stories.
type searched struct {
	res   explore.Result
	stats explore.SampleStats
	// shrunk holds each violated property's shrunk schedule (seeded runs).
	shrunk map[string][]explore.Choice
}

// searchKey identifies a search: the scenario variant and the settings
// of every switch it depends on.
func searchKey(j job) string {
	var b strings.Builder
	b.WriteString(j.sc.Source + "\x00" + j.variant.Name)
	for _, sw := range j.sc.Switches() {
		st, _ := j.prof.Setting(sw)
		b.WriteString("\x00" + sw + "=" + st.Value)
	}
	return b.String()
}

// searchAll runs one search per distinct search key of jobs, on every
// core, and returns them by key. With --budget, each search gets its share
// of what is left of the command's budget.
func searchAll(ctx context.Context, jobs []job, o checkOptions, prog *progress) (map[string]*searched, error) {
	var keys []string
	first := map[string]job{}
	for _, j := range jobs {
		k := searchKey(j)
		if _, ok := first[k]; !ok {
			first[k] = j
			keys = append(keys, k)
		}
	}
	workers := min(runtime.GOMAXPROCS(0), len(keys))
	cache := make(map[string]*searched, len(keys))
	var mu sync.Mutex
	var firstErr error
	next := 0
	start := time.Now()
	prog.start(len(keys))
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
				if o.budgetSet {
					// What is left of the command's budget, shared by the
					// searches still to run on the workers: a search that
					// finishes early leaves its time to the others.
					budget = max((o.budget-time.Since(start))*time.Duration(workers)/time.Duration(left), time.Millisecond)
				}
				d, err := search(ctx, first[k], o, budget, prog)
				mu.Lock()
				if err != nil && firstErr == nil {
					firstErr = err
				}
				cache[k] = d
				mu.Unlock()
				prog.finished()
			}
		}()
	}
	wg.Wait()
	return cache, firstErr
}

// search runs the check of job j's scenario variant on its profile.
func search(ctx context.Context, j job, o checkOptions, budget time.Duration, prog *progress) (*searched, error) {
	ov := o.overrides(budget)
	c, err := j.sc.CompileFor(j.variant, j.prof, ov)
	if err != nil {
		return nil, badInput(err)
	}
	opts := j.sc.Options(ov)
	opts.Progress = prog.update
	d := &searched{shrunk: map[string][]explore.Choice{}}
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

// reportJob turns a search into job j's report: the verdicts and rates
// are the search's, the stories are told on j's own profile.
func reportJob(j job, o checkOptions, done *searched) (report, error) {
	ov := o.overrides(0)
	c, err := j.sc.CompileFor(j.variant, j.prof, ov)
	if err != nil {
		return report{}, badInput(err)
	}
	opts := j.sc.Options(ov)
	expected, rule, err := j.variant.Expected(j.prof)
	if err != nil {
		return report{}, badInput(fmt.Errorf("%s: %w", j.sc.FullName(j.variant), err))
	}
	r := report{
		Scenario: j.sc.FullName(j.variant), Kernel: j.prof.ID(), Profile: j.prof.Name, Column: j.column,
		Assumed: j.prof.Assumed, Strategy: string(opts.Strategy), Expected: expected, ExpectRule: rule,
		description: j.sc.Description, kernelSummary: j.prof.Description, kernelSettings: profileSettings(j.prof, j.sc.Switches()),
	}
	if j.variant.Description != "" {
		r.description = j.variant.Description
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
		p := propertyReport{Name: pr.Name, Kind: pr.Kind, Verdict: pr.Verdict}
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
				return report{}, err
			}
			p.Explanation = rep.Explanation
			tok := explore.Token{Scenario: tokenSource(j.sc), Digest: tokenDigest(j.sc), Variant: j.variant.Name,
				Profile: j.prof.ID(), Property: pr.Name, Choices: rep.Choices}
			p.Counterexample = &counterexample{Events: trace.JSONEvents(rep.Events), Replay: tok.String(), events: rep.Events}
			if r.Counterexample == nil {
				r.Property, r.Explanation, r.Counterexample = pr.Name, p.Explanation, p.Counterexample
			}
		default:
			// What holds, told from the schedule without preemption.
			rep, err := c.ReplayUntil(nil, pr.Name, opts)
			if err != nil {
				return report{}, err
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
	r.Match = matches(r)
	return r, nil
}

// matches tells whether a report's verdict meets its expectation: a
// search within a preemption bound proves nothing beyond it, so its
// "holds" never matches an expected "holds"; "unknown" matches nothing.
func matches(r report) bool {
	switch {
	case r.Verdict == explore.Unknown:
		return false
	case r.Verdict == explore.Holds && r.Bound != nil:
		return false
	}
	return r.Verdict == r.Expected
}

// verdictScope says what a verdict without a counterexample covers.
func verdictScope(r report) string {
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

// tokenSource is how a replay token names the scenario: its library name,
// or its file's absolute path.
func tokenSource(sc *scenario.Scenario) string {
	if sc.Embedded() {
		return sc.Name
	}
	return sc.Source
}

// tokenDigest identifies a scenario file's content in tokens (empty for
// the library, which changes only with raceroute itself).
func tokenDigest(sc *scenario.Scenario) string {
	if sc.Embedded() {
		return ""
	}
	return sc.ContentHash()
}

// headline is a report's verdict and whether it matches its expectation,
// in words: "VIOLATED (matches expectation)".
func headline(r report) string {
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

// scopeLine says what a report's search covered: the seeded runs and the
// failure rate, or the states of an exhaustive or bounded search.
func scopeLine(r report) string {
	if r.Runs > 0 {
		return fmt.Sprintf("violated in %d of %d seeded runs: %s (95 %% CI %s to %s), strategy %s",
			r.Failures, r.Runs, percent(*r.FailureRate), percent(*r.CILow), percent(*r.CIHigh), r.Strategy)
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
func propertyRate(r report, p propertyReport) string {
	if p.Failures == nil {
		return ""
	}
	return fmt.Sprintf("in %d of %d runs (%s, 95 %% CI %s to %s)", *p.Failures, r.Runs, percent(*p.FailureRate), percent(*p.CILow), percent(*p.CIHigh))
}

func writeTextReport(w io.Writer, r report) {
	fmt.Fprintf(w, "%s on %s: %s\n", r.Scenario, r.Kernel, headline(r))
	fmt.Fprintf(w, "  %s\n", scopeLine(r))
	told := map[string]string{} // a story already printed -> its property
	for _, p := range r.Properties {
		writeProperty(w, r, p, told)
	}
	fmt.Fprintln(w)
}

// writeProperty prints one property's verdict, with its story when it is
// violated.
func writeProperty(w io.Writer, r report, p propertyReport, told map[string]string) {
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

// matrixView is the scenario x profile matrix, as both the text matrix
// and the HTML page show it.
type matrixView struct {
	rows   []string
	groups []matrixGroup
	// text is each cell's text, by row and by the first member of its
	// column; cells the reports it stands for.
	text  map[string]map[string]string
	cells map[string]map[string][]report
	// bad are the reports whose verdict did not match; legend explains
	// the cells' notations, one line each.
	bad    []report
	total  int
	legend []string
}

// matrixGroup is a column: one kernel, or several whose cells agree on
// every row.
type matrixGroup struct {
	label   string
	members []string
}

// buildMatrix lays out scenario x profile verdicts; a mismatch with the
// expectation is marked with !. With compact, kernels whose cells agree
// on every row share one column.
func buildMatrix(reports []report, compact bool) matrixView {
	v := matrixView{text: map[string]map[string]string{}, cells: map[string]map[string][]report{}, total: len(reports)}
	var cols []string
	for _, r := range reports {
		if v.cells[r.Scenario] == nil {
			v.cells[r.Scenario] = map[string][]report{}
			v.rows = append(v.rows, r.Scenario)
		}
		if !slices.Contains(cols, r.Column) {
			cols = append(cols, r.Column)
		}
		v.cells[r.Scenario][r.Column] = append(v.cells[r.Scenario][r.Column], r)
	}
	sampledRuns := map[int64]float64{} // runs -> the largest 95 % upper bound among sampled holds cells
	bounded, mixed := false, false
	one := func(r report) string {
		s := string(r.Verdict)
		switch {
		case r.Runs > 0 && r.Verdict == explore.Violated:
			s = fmt.Sprintf("%.0f%%", 100**r.FailureRate)
		case r.Runs > 0 && r.Verdict == explore.Holds:
			s = "holds*"
			sampledRuns[r.Runs] = max(sampledRuns[r.Runs], *r.CIHigh)
		case r.Bound != nil && r.Verdict == explore.Holds:
			s = fmt.Sprintf("holds<=%dp", *r.Bound)
			bounded = true
		}
		return s
	}
	cell := func(rs []report) string {
		if len(rs) == 0 {
			return "-"
		}
		s, ok := one(rs[0]), rs[0].Match
		for _, r := range rs[1:] {
			if one(r) != s {
				s = "either"
			}
			ok = ok && r.Match
		}
		if s == "either" {
			mixed = true
		}
		if !ok {
			s += "!"
		}
		return s
	}
	for _, row := range v.rows {
		v.text[row] = map[string]string{}
		for _, c := range cols {
			v.text[row][c] = cell(v.cells[row][c])
			for _, r := range v.cells[row][c] {
				if !r.Match {
					v.bad = append(v.bad, r)
				}
			}
		}
	}
	// Group columns whose cells agree on every row.
	sig := func(x string) string {
		var b strings.Builder
		for _, row := range v.rows {
			b.WriteString(v.text[row][x] + "|")
		}
		return b.String()
	}
	for _, c := range cols {
		placed := false
		if compact {
			for i := range v.groups {
				if sig(v.groups[i].members[0]) == sig(c) {
					v.groups[i].members = append(v.groups[i].members, c)
					placed = true
					break
				}
			}
		}
		if !placed {
			v.groups = append(v.groups, matrixGroup{members: []string{c}})
		}
	}
	for i := range v.groups {
		v.groups[i].label = strings.TrimPrefix(v.groups[i].members[0], "linux-")
		if n := len(v.groups[i].members); n > 1 {
			v.groups[i].label = fmt.Sprintf("%c:%s+%d", 'A'+i%26, v.groups[i].label, n-1)
		}
	}
	v.legend = []string{
		"holds:    the properties hold in every schedule (exhaustive search)",
		"violated: a counterexample exists (exhaustive search)",
	}
	if len(sampledRuns) > 0 {
		v.legend = append(v.legend, "N%:       violated in N % of seeded runs")
		for _, n := range slices.Sorted(maps.Keys(sampledRuns)) {
			v.legend = append(v.legend, fmt.Sprintf("holds*:   no violation in %d seeded runs: the failure rate is below %s (95 %% upper bound), not a proof", n, percent(sampledRuns[n])))
		}
	}
	if bounded {
		v.legend = append(v.legend, "holds<=Np: holds within a preemption bound of N: not a proof, and never matches an expected holds")
	}
	if mixed {
		v.legend = append(v.legend, "either:   the verdict differs between the candidate settings of a kernel whose settings could not all be pinned (raceroute check NAME --kernel K shows each)")
	}
	return v
}

// summary is the matrix's count of matching verdicts.
func (v matrixView) summary() string {
	return fmt.Sprintf("%d of %d verdicts match their expectation.", v.total-len(v.bad), v.total)
}

// writeMatrix prints scenario x profile verdicts (buildMatrix), the
// column groups, the legend and the mismatches.
func writeMatrix(w io.Writer, reports []report, compact bool) {
	v := buildMatrix(reports, compact)
	width := len("scenario")
	for _, row := range v.rows {
		width = max(width, len(row))
	}
	colw := make([]int, len(v.groups))
	for i, g := range v.groups {
		colw[i] = len(g.label)
		for _, row := range v.rows {
			colw[i] = max(colw[i], len(v.text[row][g.members[0]]))
		}
	}
	fmt.Fprintf(w, "%-*s", width, "scenario")
	for i, g := range v.groups {
		fmt.Fprintf(w, "  %-*s", colw[i], g.label)
	}
	fmt.Fprintln(w)
	for _, row := range v.rows {
		fmt.Fprintf(w, "%-*s", width, row)
		for i, g := range v.groups {
			fmt.Fprintf(w, "  %-*s", colw[i], v.text[row][g.members[0]])
		}
		fmt.Fprintln(w)
	}
	if compact {
		fmt.Fprintln(w)
		for _, g := range v.groups {
			if len(g.members) > 1 {
				fmt.Fprintf(w, "%s: %s\n", strings.SplitN(g.label, ":", 2)[0], strings.Join(g.members, ", "))
			}
		}
		fmt.Fprintln(w, "(kernels whose verdicts agree on every scenario share a column; --kernel all shows each)")
	}
	fmt.Fprintf(w, "\n%s\n", v.summary())
	for _, l := range v.legend {
		fmt.Fprintf(w, "  %s\n", l)
	}
	for _, r := range v.bad {
		fmt.Fprintf(w, "  ! %s on %s: %s, expected %s (rule %s)\n", r.Scenario, r.Kernel, r.Verdict, r.Expected, r.ExpectRule)
	}
	if len(v.bad) == 0 {
		fmt.Fprintln(w, "Stories: raceroute check NAME --kernel PROFILE")
	}
}

// progress prints a status line on a terminal and nothing otherwise: the
// searches done of all, elapsed time and an estimate of what is left, and
// the states or runs per second of the search that last reported.
type progress struct {
	w     io.Writer
	on    bool
	mu    sync.Mutex
	total int
	done  int
	began time.Time
	dirty bool
}

func newProgress(w io.Writer) *progress {
	p := &progress{w: w}
	if f, ok := w.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		p.on = true
	}
	return p
}

func (p *progress) start(total int) {
	p.mu.Lock()
	p.total, p.done, p.began = total, 0, time.Now()
	p.mu.Unlock()
}

func (p *progress) finished() {
	p.mu.Lock()
	p.done++
	p.mu.Unlock()
}

func (p *progress) update(pr explore.Progress) {
	if !p.on {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	secs := pr.Elapsed.Seconds()
	rate := fmt.Sprintf("%.2f M states/s", float64(pr.States)/max(secs, 1e-9)/1e6)
	if pr.Runs > 0 {
		rate = fmt.Sprintf("%.0f runs/s", float64(pr.Runs)/max(secs, 1e-9))
	}
	el := time.Since(p.began).Seconds()
	line := fmt.Sprintf("[%d/%d searches] %.1f s elapsed, %s", p.done, p.total, el, rate)
	if p.done > 0 {
		line += fmt.Sprintf(", about %.0f s left", el/float64(p.done)*float64(p.total-p.done))
	}
	fmt.Fprintf(p.w, "\r\x1b[K%s", line)
	p.dirty = true
}

func (p *progress) clear() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.on && p.dirty {
		fmt.Fprint(p.w, "\r\x1b[K")
		p.dirty = false
	}
}

// profileSettings lists p's behaviour switches as name=value, first
// those the scenario depends on (first).
func profileSettings(p profile.Profile, first []string) []string {
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

// commandLine is how the command that runs was typed, for the page
// (less where the page is written).
func commandLine(cmd *cobra.Command, args []string) string {
	parts := append([]string{cmd.CommandPath()}, args...)
	cmd.Flags().Visit(func(f *pflag.Flag) {
		if f.Name != "output" {
			parts = append(parts, "--"+f.Name+"="+f.Value.String())
		}
	})
	return strings.Join(parts, " ")
}

// checkPage is the HTML page of a check: every report, grouped by
// scenario variant, with each violated property's story as a timeline;
// with o.matrix, the matrix first, each cell linking to its report.
func checkPage(cmd *cobra.Command, reports []report, o checkOptions) timeline.Page {
	p := timeline.Page{Title: "raceroute check", Command: commandLine(cmd, cmd.Flags().Args())}
	ids := map[*report]string{}
	groupOf := map[string]int{}
	for i := range reports {
		r := &reports[i]
		gi, ok := groupOf[r.Scenario]
		if !ok {
			gi = len(p.Groups)
			groupOf[r.Scenario] = gi
			p.Groups = append(p.Groups, timeline.Group{Name: r.Scenario, Description: strings.TrimSpace(r.description)})
		}
		g := &p.Groups[gi]
		id := fmt.Sprintf("r%d", i+1)
		ids[r] = id
		if r.Runs > 0 {
			g.Rates = append(g.Rates, timeline.Rate{Kernel: r.Kernel, Failures: r.Failures, Runs: r.Runs,
				Rate: *r.FailureRate, Low: *r.CILow, High: *r.CIHigh})
		}
		g.Reports = append(g.Reports, htmlReport(id, *r))
	}
	if !o.matrix {
		if len(reports) == 1 {
			p.Title = reports[0].Scenario + " on " + reports[0].Kernel
		}
		return p
	}
	p.Title = "raceroute: the library on every kernel"
	v := buildMatrix(reports, len(o.kernels) == 0)
	m := &timeline.Matrix{Summary: v.summary()}
	for _, g := range v.groups {
		m.Columns = append(m.Columns, timeline.Column{Label: g.label, Kernels: g.members})
		if len(g.members) > 1 {
			m.Legend = append(m.Legend, fmt.Sprintf("%s: %s", strings.SplitN(g.label, ":", 2)[0], strings.Join(g.members, ", ")))
		}
	}
	m.Legend = append(m.Legend, v.legend...)
	// A cell links to the reports it stands for: each member kernel's,
	// one whose story shows a violation first.
	byKey := map[string]string{}
	for i := range reports {
		byKey[reports[i].Scenario+"\x00"+reports[i].Column+"\x00"+reports[i].Kernel] = ids[&reports[i]]
	}
	for _, row := range v.rows {
		mr := timeline.Row{Scenario: row}
		for _, g := range v.groups {
			c := timeline.Cell{Text: v.text[row][g.members[0]], Match: !strings.HasSuffix(v.text[row][g.members[0]], "!")}
			var first, rest []string
			for _, col := range g.members {
				for _, r := range v.cells[row][col] {
					id := byKey[r.Scenario+"\x00"+r.Column+"\x00"+r.Kernel]
					if r.Counterexample != nil && len(first) == 0 {
						first = append(first, id)
					} else {
						rest = append(rest, id)
					}
				}
			}
			c.Reports = append(first, rest...)
			mr.Cells = append(mr.Cells, c)
		}
		m.Rows = append(m.Rows, mr)
	}
	p.Matrix = m
	return p
}

// htmlReport is report r for the page.
func htmlReport(id string, r report) timeline.Report {
	verdict := string(r.Verdict)
	if verdict != string(explore.Holds) && verdict != string(explore.Violated) {
		verdict = "unknown"
	}
	h := timeline.Report{ID: id, Title: r.Scenario + " on " + r.Kernel, Verdict: verdict, Headline: headline(r), Match: r.Match,
		Scope: scopeLine(r), Kernel: timeline.Kernel{Name: r.Kernel, Summary: r.kernelSummary, Settings: r.kernelSettings}}
	for _, p := range r.Properties {
		hp := timeline.Property{Name: p.Name, Kind: p.Kind.String(), Verdict: string(p.Verdict), Explanation: p.Explanation, Rate: propertyRate(r, p)}
		if p.Counterexample != nil {
			hp.Story, hp.Replay = p.Counterexample.events, p.Counterexample.Replay
		}
		h.Properties = append(h.Properties, hp)
	}
	return h
}
