package main

import (
	"encoding/json"
	"fmt"
	"os"
	"runtime"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"raceroute/check"
	"raceroute/cmd/raceroute/internal/cli"
	"raceroute/explore"
	"raceroute/scenario"
	"raceroute/timeline"
)

// checkOptions are the flags of `raceroute check`.
type checkOptions struct {
	check.Settings
	kernels []string
	format  string
	output  string
	// matrix prints the scenario x profile matrix instead of one report
	// per check (the default with no scenario given).
	matrix bool
	// shard and swarm are the I/N of --shard and --swarm.
	shard, swarm string
}

func defaultCheckOptions(matrix bool) checkOptions {
	return checkOptions{Settings: check.Settings{Seed: cli.DefaultSeed, Bound: -1, Workers: 1}, format: "text", matrix: matrix}
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

Beyond one machine: --shard I/N explores part I (from 0) of N of the
space (the states at a split depth whose fingerprint is I modulo N, and
all below them), and --swarm I/N runs member I of a swarm of N
randomised searches (within --max-states and --budget: not exhaustive
unless it finishes); raceroute merge-results combines the parts' JSON
reports into one verdict. deploy/ runs them as a Kubernetes Indexed Job.

Exit status: 0 when every verdict matches its expectation, 1 otherwise,
2 on bad input. With --shard or --swarm it is 0 once the part's report is
written (a part's verdict proves nothing of the whole; merge-results'
status follows the rule above).`,
		Args: cobra.ArbitraryArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if all && len(args) > 0 {
				return cli.BadInput(fmt.Errorf("--all checks the whole library: give it no scenario (got %s)", strings.Join(args, " ")))
			}
			if kernels != "" {
				o.kernels = cli.SplitKernels(kernels)
			}
			if len(args) == 0 && o.format != "json" && !cmd.Flags().Changed("matrix") {
				o.matrix = true
			}
			o.BudgetSet = cmd.Flags().Changed("budget")
			o.BoundSet = cmd.Flags().Changed("preemption-bound")
			if err := o.parseParts(); err != nil {
				return cli.BadInput(err)
			}
			return run(cmd, args, o)
		},
	}
	f := cmd.Flags()
	f.BoolVar(&all, "all", false, "check the whole embedded library (the default with no scenario)")
	f.StringVar(&kernels, "kernel", "", "kernel `PROFILES`, comma-separated (default: all; list them with: raceroute kernels)")
	f.StringVar(&o.Strategy, "strategy", "", "`STRATEGY`: dfs (exhaustive), pct or random (default: the scenario's, else dfs)")
	f.Uint64Var(&o.Seed, "seed", o.Seed, "seed of random and pct runs")
	f.DurationVar(&o.Budget, "budget", 0, "time budget of the whole command, shared out among its checks (default: each check's own, else 1m each)")
	f.Int64Var(&o.Runs, "runs", 0, "seeded runs for random and pct (default: the scenario's, else until the budget)")
	f.IntVar(&o.Bound, "preemption-bound", -1, "bound the preemptions of dfs schedules (-1: none); a bounded search proves nothing beyond the bound")
	f.StringVar(&o.format, "format", "text", "output `FORMAT`: text, json, or html (one page: a timeline of every story; with no scenario, the matrix, each cell linking to its story)")
	f.StringVarP(&o.output, "output", "o", "", "write the report to `FILE` instead of standard output")
	f.BoolVar(&o.Exact, "exact", false, "store whole states instead of 64-bit fingerprints (small scenarios)")
	f.BoolVar(&o.NoReduction, "no-reduction", false, "turn every reduction off (the same as --reduce=none)")
	f.Var(reduceFlag{&o.Reduce}, "reduce", "dfs reductions `R`: default, none, all, or a comma-separated list of sleep (sleep sets), por (persistent sets), sym (symmetry); each runs only where it is sound (default: every one, but sleep sets only where persistent sets do not run)")
	f.BoolVar(&o.matrix, "matrix", false, "print a scenario x profile matrix")
	f.IntVar(&o.Workers, "workers", o.Workers, "goroutines of one exhaustive search, sharing its visited set (0: one per core)")
	f.StringVar(&o.shard, "shard", "", "explore only part `I/N` of the space (I from 0), for raceroute merge-results")
	f.StringVar(&o.swarm, "swarm", "", "run member `I/N` of a swarm of randomised searches (not exhaustive), for raceroute merge-results")
	f.Int64Var(&o.MaxStates, "max-states", 0, "stop a search after `N` states (0: no bound): a search stopped so has no verdict")
	f.Int64Var(&o.ExpectStates, "expect-states", 0, "pre-size the visited set for about `N` states, so that it need not grow (0: grow as needed)")
	f.StringVar(&o.Fingerprints, "fingerprints", "", "with --shard: write the shard's visited fingerprints to a file in `DIR`, so that merge-results counts distinct states")
	return cmd
}

// parseParts reads --shard, --swarm and --workers.
func (o *checkOptions) parseParts() error {
	if o.shard != "" && o.swarm != "" {
		return fmt.Errorf("--shard and --swarm: give one")
	}
	if o.shard != "" {
		p, err := explore.ParsePart(o.shard)
		if err != nil {
			return fmt.Errorf("--shard %w", err)
		}
		o.Shard = p
	}
	if o.swarm != "" {
		p, err := explore.ParsePart(o.swarm)
		if err != nil {
			return fmt.Errorf("--swarm %w", err)
		}
		o.Swarm = p
	}
	switch {
	case o.Fingerprints != "" && o.Shard.Count < 2:
		return fmt.Errorf("--fingerprints %s: only a shard (--shard I/N, N > 1) writes fingerprints", o.Fingerprints)
	case o.Workers < 0:
		return fmt.Errorf("--workers %d: want 1 or more, or 0 for one per core", o.Workers)
	case o.MaxStates < 0:
		return fmt.Errorf("--max-states %d: want 0 or more", o.MaxStates)
	case o.ExpectStates < 0 || o.ExpectStates > 1<<36:
		return fmt.Errorf("--expect-states %d: want 0 to 2^36", o.ExpectStates)
	}
	if o.Workers == 0 {
		o.Workers = runtime.GOMAXPROCS(0)
	}
	if o.Shard.Count > 0 || o.Swarm.Count > 0 {
		if o.Strategy != "" && o.Strategy != string(explore.DFS) {
			return fmt.Errorf("--strategy %s: shards and swarm members are depth-first searches (dfs)", o.Strategy)
		}
		o.Strategy = string(explore.DFS)
	}
	return nil
}

// parts reports whether the check runs one part of a sharded or swarm
// check.
func (o checkOptions) parts() bool { return o.Shard.Count > 1 || o.Swarm.Count > 0 }

// collectJobs resolves the scenario arguments and profiles: one job per
// scenario variant and runnable profile, a profile whose settings the
// scenario depends on are unknown giving one job per candidate.
func collectJobs(args []string, kernels []string) ([]check.Job, error) {
	profs, err := cli.ResolveKernels(kernels)
	if err != nil {
		return nil, cli.BadInput(fmt.Errorf("--kernel: %w", err))
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
			return nil, cli.BadInput(err)
		}
		if variant != "" {
			variantOf[sc] = variant
		}
		scs = append(scs, sc)
	}
	var jobs []check.Job
	for _, sc := range scs {
		for _, v := range sc.Variants {
			if want, ok := variantOf[sc]; ok && v.Name != want {
				continue
			}
			for _, p := range profs {
				for _, q := range p.Resolve(sc.Switches()) {
					jobs = append(jobs, check.Job{Scenario: sc, Variant: v, Profile: q, Column: p.Name})
				}
			}
		}
	}
	return jobs, nil
}

func (o checkOptions) validate() error {
	switch {
	case o.format != "text" && o.format != "json" && o.format != "html":
		return fmt.Errorf("--format %q: want text, json or html", o.format)
	case o.Runs < 0:
		return fmt.Errorf("--runs %d: want a positive number of runs (or 0 for the scenario's)", o.Runs)
	case o.BudgetSet && o.Budget <= 0:
		return fmt.Errorf("--budget %s: want a positive duration such as 30s", o.Budget)
	case o.Bound < -1:
		return fmt.Errorf("--preemption-bound %d: want 0 or more, or -1 for none", o.Bound)
	}
	if o.Strategy != "" {
		if _, err := explore.ParseStrategy(o.Strategy); err != nil {
			return fmt.Errorf("--strategy: %w", err)
		}
	}
	return nil
}

func runCheck(cmd *cobra.Command, args []string, o checkOptions) error {
	if err := o.validate(); err != nil {
		return cli.BadInput(err)
	}
	jobs, err := collectJobs(args, o.kernels)
	if err != nil {
		return err
	}
	out := cmd.OutOrStdout()
	if o.output != "" {
		f, err := os.Create(o.output)
		if err != nil {
			return cli.BadInput(fmt.Errorf("-o: %w", err))
		}
		defer f.Close()
		out = f
	}
	prog := check.NewProgress(cmd.ErrOrStderr())
	cache, err := check.SearchAll(cmd.Context(), jobs, o.Settings, prog)
	prog.Clear()
	if err != nil {
		return err
	}
	if err := cmd.Context().Err(); err != nil {
		return fmt.Errorf("check interrupted: %w", err)
	}
	var reports []check.Report
	mismatches := 0
	enc := json.NewEncoder(out)
	for _, j := range jobs {
		r, err := check.ReportJob(j, o.Settings, cache[check.SearchKey(j)])
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
			check.WriteText(out, r)
		}
		reports = append(reports, r)
	}
	switch {
	case o.format == "html":
		page := check.Page(reports, commandLine(cmd, cmd.Flags().Args()), o.matrix, len(o.kernels) == 0)
		if err := timeline.Write(out, page); err != nil {
			return fmt.Errorf("write report: %w", err)
		}
	case o.matrix && o.format == "text":
		check.WriteMatrix(out, reports, len(o.kernels) == 0)
	}
	if mismatches > 0 && !o.parts() {
		return cli.MismatchError{N: mismatches}
	}
	return nil
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

// reduceFlag is --reduce: explore.ParseReductions's names.
type reduceFlag struct{ r *explore.Reductions }

func (f reduceFlag) String() string {
	if f.r == nil || *f.r == 0 {
		return "default"
	}
	return f.r.String()
}

func (f reduceFlag) Set(s string) error {
	r, err := explore.ParseReductions(s)
	if err != nil {
		return err
	}
	*f.r = r
	return nil
}

func (reduceFlag) Type() string { return "reductions" }
