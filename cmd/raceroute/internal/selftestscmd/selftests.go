// Package selftestscmd is raceroute selftests: the kernel's net selftests on the models, and --live on the running kernel.
package selftestscmd

import (
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/spf13/cobra"

	"raceroute/cmd/raceroute/internal/cli"
	"raceroute/live/kselftest"
	"raceroute/selftests"
	"raceroute/selftests/cases"
	"raceroute/selftests/verdict"
)

// New is the selftests command.
func New() *cobra.Command {
	var suites, kernels []string
	var live, all bool
	cmd := &cobra.Command{
		Use:   "selftests [--suite S] [--kernel P] [--live] [--cases]",
		Short: "Run the kernel's own net selftests as conformance suites of the models",
		Long: `selftests runs the cases of the kernel's net selftests (fib_tests.sh,
arp_ndisc_untracked_subnets.sh, ndisc_unsolicited_na_test.sh,
arp_ndisc_evict_nocarrier.sh), read mechanically from the scripts at each
version (selftests/cases), on the models, and prints per suite, version and
kernel profile how many cases agree with what the script asserts, disagree,
are not expressible (with what the model lacks) or are vacuous (the script's
assertion cannot fail).

A script version runs on the profiles whose kernel shipped it: each version
covers mainline release lines (its "covers"), and a profile's line is the
x.y of its release (a distribution kernel's base: RHEL 8 is 4.18, Debian 12
is 6.1).

--live runs the same cases on the running kernel, in network namespaces of
their own, and prints the script's expectation, the model and the kernel side
by side (needs root). Dummy devices are made as veth pairs there (the run
says so).

Exit status 1 when a case disagrees (on the model, or live: also a live
set-up that broke), 2 on bad input.`,
		Args: cli.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			files, err := cases.Library()
			if err != nil {
				return err
			}
			names, err := suiteNames(suites)
			if err != nil {
				return cli.BadInput(err)
			}
			w := cmd.OutOrStdout()
			if live {
				if len(kernels) > 0 {
					return cli.BadInput(fmt.Errorf("--live runs on the running kernel: give no --kernel"))
				}
				return runLiveSelftests(cmd, w, files, names, all)
			}
			var list []string
			for _, k := range kernels {
				list = append(list, cli.SplitKernels(k)...)
			}
			ps, err := cli.ResolveKernels(list)
			if err != nil {
				return cli.BadInput(fmt.Errorf("--kernel: %w", err))
			}
			rep, err := selftests.RunSuites(files, names, ps)
			if err != nil {
				return err
			}
			fmt.Fprintln(w, "The kernel's net selftests on the models: each script version on the profiles whose kernel shipped it.")
			fmt.Fprintln(w)
			if err := selftests.WriteReport(w, rep, all); err != nil {
				return err
			}
			if n := selftests.Disagreements(rep); n > 0 {
				return cli.MismatchError{N: n}
			}
			return nil
		},
	}
	cmd.Flags().StringSliceVar(&suites, "suite", nil, "suites to run (fib_tests, arp_ndisc_untracked_subnets, ndisc_unsolicited_na_test, arp_ndisc_evict_nocarrier); default all")
	cmd.Flags().StringArrayVar(&kernels, "kernel", nil, "profiles or kernel releases (comma-separated), auto for the running kernel; default every profile")
	cmd.Flags().BoolVar(&live, "live", false, "run the cases on the running kernel too, in namespaces (root)")
	cmd.Flags().BoolVar(&all, "cases", false, "print every case's verdict")
	return cmd
}

// suiteNames checks --suite against the library.
func suiteNames(given []string) ([]string, error) {
	known, err := cases.Suites()
	if err != nil {
		return nil, err
	}
	for _, s := range given {
		if !slices.Contains(known, s) {
			return nil, fmt.Errorf("--suite %q: want one of %s", s, strings.Join(known, ", "))
		}
	}
	return given, nil
}

// runLiveSelftests runs, for the running kernel's profile, the version
// of each suite it shipped, on the model and live, side by side.
func runLiveSelftests(cmd *cobra.Command, w io.Writer, files []*cases.File, names []string, all bool) error {
	p, err := cli.ResolveKernel("auto")
	if err != nil {
		return err
	}
	line, err := cases.LineOf(p)
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "The running kernel %s is profile %s (line %s); each suite's version for that line runs on the model and here, in namespaces.\n", p.Release, p.Name, line)
	if len(names) == 0 {
		names, _ = cases.Suites()
	}
	bad := 0
	for _, suite := range names {
		f, ok := selftests.FileFor(files, suite, p)
		if !ok {
			fmt.Fprintf(w, "\n%s: no version read here covers %s\n", suite, line)
			continue
		}
		runs, err := selftests.RunModel(f, p)
		if err != nil {
			return err
		}
		rep, err := kselftest.Run(cmd.Context(), f, kselftest.Options{})
		if err != nil {
			return fmt.Errorf("%s %s live: %w", suite, f.Version, err)
		}
		bad += writeSideBySide(w, f, runs, rep, all)
	}
	if bad > 0 {
		return cli.MismatchError{N: bad}
	}
	return nil
}

// writeSideBySide prints a file's cases as the script, the model(s) and
// the running kernel have them, and returns how many disagree.
func writeSideBySide(w io.Writer, f *cases.File, runs []selftests.Run, rep *kselftest.Report, all bool) int {
	fmt.Fprintf(w, "\n%s %s (covers %s): the script, the model of %s and this kernel:\n", f.Suite, f.Version, coversOf(f), profilesOf(runs))
	for _, a := range rep.Adapted {
		fmt.Fprintf(w, "  adapted: %s\n", a)
	}
	bad, liveAgree, liveNotRun, expressible, allThree := 0, 0, 0, 0, 0
	for i := range f.Cases {
		lr := rep.Results[i]
		mv := make([]verdict.Result, len(runs))
		modelOK, modelRan := true, true
		for j, r := range runs {
			mv[j] = r.Results[i]
			switch mv[j].Verdict {
			case verdict.Disagree:
				modelOK = false
				bad++
			case verdict.NotExpressible, verdict.Vacuous:
				modelRan = false
			}
		}
		liveText := "agrees"
		switch {
		case lr.NotRun != "":
			liveText = "not run (" + lr.NotRun + ")"
			liveNotRun++
		case lr.Broken != "":
			liveText = "BROKE: " + lr.Broken
			bad++
		case !lr.Agree:
			liveText = "DISAGREES: " + lr.Why
			bad++
		default:
			liveAgree++
		}
		if modelRan {
			expressible++
			if modelOK && lr.NotRun == "" && lr.Broken == "" && lr.Agree {
				allThree++
			}
		}
		fmt.Fprintf(w, "  %-34s %-58q model %s; live %s\n", f.Cases[i].ID(), f.Cases[i].Desc, modelText(mv), liveText)
		if modelRan || all || !modelOK || lr.NotRun == "" && !lr.Agree {
			writeSteps(w, mv, lr)
		}
	}
	t := runs[0].Tally()
	fmt.Fprintf(w, "  %d cases: the model agrees on %d, disagrees on %d, cannot express %d, %d vacuous; live, %d agree, %d not run, %d disagree or broke (%.1f s); model, live and script agree on %d of the %d cases the model runs\n",
		len(f.Cases), t.Agree, t.Disagree, t.NotExpressible, t.Vacuous, liveAgree, liveNotRun, len(f.Cases)-liveAgree-liveNotRun, rep.Elapsed.Seconds(), allThree, expressible)
	return bad
}

func modelText(rs []verdict.Result) string {
	var parts []string
	for _, r := range rs {
		s := r.Verdict.String()
		if r.Verdict == verdict.NotExpressible {
			s += " (" + strings.Join(r.Missing, " + ") + ")"
		}
		if !slices.Contains(parts, s) {
			parts = append(parts, s)
		}
	}
	return strings.Join(parts, " / ")
}

// writeSteps prints each asserted step: the script's want, the model's
// and the kernel's result.
func writeSteps(w io.Writer, mv []verdict.Result, lr kselftest.Result) {
	live := map[*cases.Step]kselftest.Outcome{}
	for _, o := range lr.Outcomes {
		live[o.Step] = o
	}
	model := map[*cases.Step]verdict.Outcome{}
	for _, o := range mv[0].Outcomes {
		model[o.Step] = o
	}
	for i := range lr.Case.Steps {
		s := &lr.Case.Steps[i]
		if s.Role != cases.RoleTest {
			continue
		}
		m, l := "-", "-"
		if o, ok := model[s]; ok {
			m = o.Show()
		}
		if o, ok := live[s]; ok {
			l = verdict.Outcome{Step: s, Exit: o.Exit, Out: o.Out}.Show()
		}
		fmt.Fprintf(w, "      line %d: %s\n        script %s | model %s | live %s\n", s.Line, s.Cmd, wantText(s.Want), m, l)
	}
}

func wantText(w cases.Want) string {
	if w.Kind == cases.WantExit {
		return fmt.Sprintf("exit %d", w.Exit)
	}
	return w.String()
}

func coversOf(f *cases.File) string {
	var rs []string
	for _, r := range f.Covers {
		rs = append(rs, r.String())
	}
	return strings.Join(rs, " ")
}

func profilesOf(runs []selftests.Run) string {
	var ids []string
	for _, r := range runs {
		ids = append(ids, r.Profile.Name)
	}
	return strings.Join(ids, ", ")
}
