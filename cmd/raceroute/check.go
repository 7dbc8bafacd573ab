package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"golang.org/x/term"

	"raceroute/explore"
	"raceroute/model/profile"
	"raceroute/scenario"
	"raceroute/trace"
)

// checkOptions are the flags of `raceroute check`.
type checkOptions struct {
	kernels  []string
	strategy string
	seed     uint64
	budget   time.Duration
	runs     int64
	bound    int
	format   string
	output   string
	exact    bool
	noPOR    bool
	// matrix prints the scenario x profile matrix instead of one report
	// per check (the default with no scenario given).
	matrix bool
}

func defaultCheckOptions(matrix bool) checkOptions {
	return checkOptions{format: "text", budget: 60 * time.Second, bound: -1, matrix: matrix}
}

func newCheckCmd() *cobra.Command {
	o := defaultCheckOptions(false)
	var kernels string
	var all bool
	cmd := &cobra.Command{
		Use:   "check [SCENARIO|FILE]...",
		Short: "Check scenarios on kernel profiles; print verdicts and counterexample stories",
		Long: `check runs each scenario (a library name, NAME/VARIANT, or a YAML file)
on each kernel profile, exhaustively (dfs) or by seeded runs (random, pct),
and prints the verdict of its properties, whether it matches the
scenario's expectation, and for a violation the shortest story found with
a replay token. With no scenario it checks the whole library.

Exit status: 0 when every verdict matches its expectation, 1 otherwise,
2 on bad input.`,
		RunE: func(cmd *cobra.Command, args []string) error {
			if all && len(args) > 0 {
				return badInput(fmt.Errorf("--all checks the whole library: give it no scenario (got %s)", strings.Join(args, " ")))
			}
			if kernels != "" {
				o.kernels = strings.Split(kernels, ",")
			}
			if len(args) == 0 && o.format == "text" && !cmd.Flags().Changed("matrix") {
				o.matrix = true
			}
			return runCheck(cmd, args, o)
		},
	}
	f := cmd.Flags()
	f.BoolVar(&all, "all", false, "check the whole embedded library (the default with no scenario)")
	f.StringVar(&kernels, "kernel", "", "kernel profiles, comma-separated (default: all; see `raceroute kernels`)")
	f.StringVar(&o.strategy, "strategy", "", "dfs (exhaustive), pct or random (default: the scenario's, else dfs)")
	f.Uint64Var(&o.seed, "seed", 1, "seed of random and pct runs")
	f.DurationVar(&o.budget, "budget", o.budget, "time budget per scenario and profile")
	f.Int64Var(&o.runs, "runs", 0, "seeded runs for random and pct (default: the scenario's, else until the budget)")
	f.IntVar(&o.bound, "preemption-bound", -1, "bound the preemptions of dfs schedules (-1: none)")
	f.StringVar(&o.format, "format", "text", "output format: text or json")
	f.StringVarP(&o.output, "output", "o", "", "write the report to FILE instead of standard output")
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
}

// report is the result of one job, in the JSON form of the command line
// contract.
type report struct {
	Scenario    string          `json:"scenario"`
	Kernel      string          `json:"kernel"`
	Property    string          `json:"property"`
	Verdict     explore.Verdict `json:"verdict"`
	Expected    explore.Verdict `json:"expected"`
	Match       bool            `json:"match"`
	Strategy    string          `json:"strategy"`
	Exhaustive  bool            `json:"exhaustive"`
	States      int64           `json:"states"`
	Transitions int64           `json:"transitions"`
	ElapsedMS   float64         `json:"elapsed_ms"`
	// Statistical checks.
	Runs        int64    `json:"runs,omitempty"`
	Failures    int64    `json:"failures,omitempty"`
	FailureRate *float64 `json:"failure_rate,omitempty"`
	CILow       *float64 `json:"ci95_low,omitempty"`
	CIHigh      *float64 `json:"ci95_high,omitempty"`
	// OmissionProbability bounds the chance that hash compaction hid a
	// state; BytesPerState is the visited set's memory per state.
	OmissionProbability float64         `json:"omission_probability,omitempty"`
	BytesPerState       float64         `json:"bytes_per_state,omitempty"`
	Explanation         string          `json:"explanation"`
	Counterexample      *counterexample `json:"counterexample,omitempty"`

	events []trace.Event
}

type counterexample struct {
	Events []trace.JSONEvent `json:"events"`
	Replay string            `json:"replay"`
}

// collectJobs resolves the scenario arguments and profiles.
func collectJobs(args []string, kernels []string) ([]job, error) {
	profs := profile.All()
	if len(kernels) > 0 {
		profs = profs[:0]
		for _, k := range kernels {
			p, err := profile.Lookup(strings.TrimSpace(k))
			if err != nil {
				return nil, badInput(fmt.Errorf("--kernel: %w", err))
			}
			profs = append(profs, p)
		}
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
		sc, err := scenario.Find(a)
		if err != nil {
			return nil, badInput(err)
		}
		if name, variant, ok := strings.Cut(a, "/"); ok && name == sc.Name {
			if _, err := sc.Variant(variant); err != nil {
				return nil, badInput(err)
			}
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
				jobs = append(jobs, job{sc: sc, variant: v, prof: p})
			}
		}
	}
	return jobs, nil
}

func runCheck(cmd *cobra.Command, args []string, o checkOptions) error {
	if o.format != "text" && o.format != "json" {
		return badInput(fmt.Errorf("--format %q: want text or json", o.format))
	}
	if o.strategy != "" {
		if _, err := explore.ParseStrategy(o.strategy); err != nil {
			return badInput(fmt.Errorf("--strategy: %w", err))
		}
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
	var reports []report
	mismatches := 0
	enc := json.NewEncoder(out)
	for i, j := range jobs {
		prog.label = fmt.Sprintf("[%d/%d] %s on %s", i+1, len(jobs), j.sc.FullName(j.variant), j.prof.Name)
		r, err := checkJob(cmd.Context(), j, o, prog)
		if err != nil {
			prog.clear()
			return err
		}
		prog.clear()
		if !r.Match {
			mismatches++
		}
		switch {
		case o.format == "json":
			if err := enc.Encode(r); err != nil {
				return fmt.Errorf("write report: %w", err)
			}
		case !o.matrix:
			writeTextReport(out, r)
		}
		reports = append(reports, r)
		if err := cmd.Context().Err(); err != nil {
			return fmt.Errorf("check interrupted: %w", err)
		}
	}
	if o.matrix && o.format == "text" {
		writeMatrix(out, reports)
	}
	if mismatches > 0 {
		return mismatchError{mismatches}
	}
	return nil
}

// checkJob checks one scenario variant on one profile.
func checkJob(ctx context.Context, j job, o checkOptions, prog *progress) (report, error) {
	sc := j.sc
	if o.strategy != "" && o.strategy != sc.Check.Strategy {
		// Models may compile differently per strategy (timed models draw
		// their windows as outcomes for seeded runs): compile for the one
		// asked for.
		cp := *sc
		cp.Check.Strategy = o.strategy
		sc = &cp
	}
	c, err := sc.Compile(j.variant, j.prof)
	if err != nil {
		return report{}, badInput(err)
	}
	opts := explore.DefaultOptions()
	opts.Seed, opts.Budget, opts.Exact, opts.NoReduction = o.seed, o.budget, o.exact, o.noPOR
	opts.PreemptionBound = o.bound
	set := sc.Check
	if set.Horizon.D > 0 {
		opts.Horizon = set.Horizon.Millis()
	}
	if set.PreemptionBound != nil && o.bound < 0 {
		opts.PreemptionBound = *set.PreemptionBound
	}
	strategy := o.strategy
	if strategy == "" {
		strategy = set.Strategy
	}
	if strategy == "" {
		strategy = string(explore.DFS)
	}
	opts.Strategy = explore.Strategy(strategy)
	opts.Runs = o.runs
	if opts.Runs == 0 {
		opts.Runs = set.Runs
	}
	if set.Budget.D > 0 && o.budget == defaultCheckOptions(false).budget {
		opts.Budget = set.Budget.D
	}
	opts.Progress = prog.update

	r := report{
		Scenario: j.sc.FullName(j.variant), Kernel: j.prof.Name, Strategy: strategy,
		Expected: j.variant.Expect[j.prof.Name],
	}
	var res explore.Result
	if opts.Strategy == explore.DFS {
		res = c.Check(ctx, opts)
		r.Exhaustive = res.Exhaustive
		r.OmissionProbability, r.BytesPerState = res.OmissionProbability, res.BytesPerState
	} else {
		var st explore.SampleStats
		res, st = c.Sample(ctx, opts)
		r.Runs, r.Failures = st.Runs, st.Failures
		r.FailureRate, r.CILow, r.CIHigh = &st.Rate, &st.Low, &st.High
		if res.Verdict == explore.Violated {
			res.Choices = c.Shrink(res.Choices, opts)
		}
	}
	r.Verdict, r.States, r.Transitions = res.Verdict, res.States, res.Transitions
	r.ElapsedMS = float64(res.Elapsed.Microseconds()) / 1000
	r.Property = strings.Join(c.Properties(), ", ")
	if res.Verdict == explore.Violated {
		rep := c.Replay(res.Choices, opts)
		r.Property, r.Explanation = rep.Property, rep.Explanation
		tok := explore.Token{Scenario: tokenSource(j.sc), Variant: j.variant.Name, Profile: j.prof.Name, Choices: rep.Choices}
		r.Counterexample = &counterexample{Events: trace.JSONEvents(rep.Events), Replay: tok.String()}
		r.events = rep.Events
	} else {
		rep := c.Replay(nil, opts)
		var parts []string
		for _, p := range rep.Properties {
			parts = append(parts, p.Name+": "+p.Explanation)
		}
		r.Explanation = "in every schedule explored; in the schedule without preemption: " + strings.Join(parts, "; ")
		if res.Verdict == explore.Unknown {
			r.Explanation = "budget exhausted before a verdict; " + r.Explanation
		}
	}
	r.Match = r.Verdict == r.Expected
	return r, nil
}

// tokenSource is how a replay token names the scenario: its library name,
// or its file path.
func tokenSource(sc *scenario.Scenario) string {
	if strings.HasPrefix(sc.Source, "library/") {
		return sc.Name
	}
	return sc.Source
}

func writeTextReport(w io.Writer, r report) {
	status := "matches expectation"
	if !r.Match {
		status = fmt.Sprintf("EXPECTED %s", strings.ToUpper(string(r.Expected)))
	}
	fmt.Fprintf(w, "%s on %s: %s (%s)\n", r.Scenario, r.Kernel, strings.ToUpper(string(r.Verdict)), status)
	if r.Runs > 0 {
		fmt.Fprintf(w, "  violated in %d of %d seeded runs: %.3g %% (95 %% CI %.3g to %.3g %%), strategy %s\n",
			r.Failures, r.Runs, 100**r.FailureRate, 100**r.CILow, 100**r.CIHigh, r.Strategy)
	} else {
		ex := "exhaustive"
		if !r.Exhaustive {
			ex = "not exhaustive"
			if r.Verdict == explore.Violated {
				ex = "stopped at the first violation"
			}
		}
		fmt.Fprintf(w, "  %s: %d states, %d transitions, %.1f ms", ex, r.States, r.Transitions, r.ElapsedMS)
		if r.OmissionProbability > 0 {
			fmt.Fprintf(w, ", fingerprint omission probability < %.1e", r.OmissionProbability)
		}
		fmt.Fprintln(w)
	}
	if r.Counterexample != nil {
		fmt.Fprintf(w, "  property %s violated:\n", r.Property)
		for _, line := range strings.Split(r.Explanation, "\n") {
			fmt.Fprintf(w, "    %s\n", line)
		}
		fmt.Fprintf(w, "  story (%d kernel events):\n", len(r.events))
		trace.WriteStory(w, r.events, "    ")
		fmt.Fprintf(w, "  replay: raceroute replay %s\n", r.Counterexample.Replay)
	} else {
		fmt.Fprintf(w, "  %s\n", r.Explanation)
	}
	fmt.Fprintln(w)
}

// writeMatrix prints scenario x profile verdicts; a mismatch with the
// expectation is marked with ! and listed below.
func writeMatrix(w io.Writer, reports []report) {
	profs := profile.Names()
	var rows []string
	cells := map[string]map[string]report{}
	width := len("scenario")
	for _, r := range reports {
		if cells[r.Scenario] == nil {
			cells[r.Scenario] = map[string]report{}
			rows = append(rows, r.Scenario)
			width = max(width, len(r.Scenario))
		}
		cells[r.Scenario][r.Kernel] = r
	}
	cell := func(r report) string {
		s := string(r.Verdict)
		if r.Runs > 0 && r.Verdict == explore.Violated {
			s = fmt.Sprintf("%.0f%%", 100**r.FailureRate)
		}
		if !r.Match {
			s += "!"
		}
		return s
	}
	colw := make([]int, len(profs))
	for i, p := range profs {
		colw[i] = len(strings.TrimPrefix(p, "linux-"))
		for _, row := range rows {
			if r, ok := cells[row][p]; ok {
				colw[i] = max(colw[i], len(cell(r)))
			}
		}
	}
	fmt.Fprintf(w, "%-*s", width, "scenario")
	for i, p := range profs {
		fmt.Fprintf(w, "  %-*s", colw[i], strings.TrimPrefix(p, "linux-"))
	}
	fmt.Fprintln(w)
	var bad []report
	for _, row := range rows {
		fmt.Fprintf(w, "%-*s", width, row)
		for i, p := range profs {
			r, ok := cells[row][p]
			s := "-"
			if ok {
				s = cell(r)
				if !r.Match {
					bad = append(bad, r)
				}
			}
			fmt.Fprintf(w, "  %-*s", colw[i], s)
		}
		fmt.Fprintln(w)
	}
	fmt.Fprintf(w, "\n%d of %d verdicts match their expectation (holds: the property holds in every schedule explored; violated: a counterexample exists; N%%: violated in N%% of seeded runs).\n", len(reports)-len(bad), len(reports))
	for _, r := range bad {
		fmt.Fprintf(w, "  ! %s on %s: %s, expected %s\n", r.Scenario, r.Kernel, r.Verdict, r.Expected)
	}
	if len(bad) == 0 {
		fmt.Fprintln(w, "Stories: raceroute check NAME --kernel PROFILE")
	}
}

// progress prints a status line on a terminal and nothing otherwise.
type progress struct {
	w     io.Writer
	on    bool
	label string
	dirty bool
}

func newProgress(w io.Writer) *progress {
	p := &progress{w: w}
	if f, ok := w.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		p.on = true
	}
	return p
}

func (p *progress) update(pr explore.Progress) {
	if !p.on {
		return
	}
	secs := pr.Elapsed.Seconds()
	line := fmt.Sprintf("%s: %d states, %d transitions", p.label, pr.States, pr.Transitions)
	if pr.Runs > 0 {
		line = fmt.Sprintf("%s: %d runs, %.0f runs/s", p.label, pr.Runs, float64(pr.Runs)/secs)
	} else if secs > 0 {
		line += fmt.Sprintf(", %.2f M states/s", float64(pr.States)/secs/1e6)
	}
	line += fmt.Sprintf(", %.1f s elapsed", secs)
	if pr.Fraction > 0 && pr.Fraction < 1 {
		line += fmt.Sprintf(", budget ends in %.0f s", secs/pr.Fraction-secs)
	}
	fmt.Fprintf(p.w, "\r\x1b[K%s", line)
	p.dirty = true
}

func (p *progress) clear() {
	if p.on && p.dirty {
		fmt.Fprint(p.w, "\r\x1b[K")
		p.dirty = false
	}
}
