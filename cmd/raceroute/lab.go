package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"
	"golang.org/x/term"

	"raceroute/check"
	"raceroute/explore"
	"raceroute/lab"
	"raceroute/lab/fuzz"
	"raceroute/live/netns"
	"raceroute/scenario"
)

// labOptions are the flags of `raceroute lab`.
type labOptions struct {
	all, cleanup bool
	window       bool
	moves        int
	moveEvery    time.Duration
	rate         int
	format       string
	output       string
	events       string
	seed         uint64
	// fuzz is --fuzz's number of cases (fuzzing set: --fuzz was given),
	// categories --category's.
	fuzz       int
	fuzzing    bool
	categories []string
}

func newLabCmd() *cobra.Command {
	o := labOptions{format: "text", seed: defaultSeed, moves: 10000, moveEvery: time.Millisecond, rate: 10000}
	cmd := &cobra.Command{
		Use:   "lab SCENARIO|FILE | --all | --cleanup | --window | --fuzz N",
		Short: "Run scenarios live in network namespaces and compare the kernel with the model",
		Long: `lab runs a scenario (NAME, NAME/VARIANT, FILE or FILE/VARIANT; every
variant when none is named) on the running kernel: its hosts become
network namespaces named rr-<pid>-..., joined by veth pairs and a bridge,
with the scenario's addresses, routes, neighbour entries and sysctls; its
actors play live on the scenario's timeline, in real time (route changes
through netlink with the scenario's flags, ARP frames through AF_PACKET,
iputils arping for the arping presets, keepalived itself for the
keepalived preset, TCP and ICMP from real sockets).
It records every netlink event and frame, judges the scenario's
properties on what the kernel did, and prints that verdict beside the
model's for the running kernel's profile, in check's formats, with what
the comparison covers. Everything it creates is deleted when it ends, on
an error or SIGINT too.

  --all      every library scenario the running kernel can host, as a
             matrix of model against live verdicts (the timed ones run in
             real time: it says how long first)
  --cleanup  delete what killed runs left: namespaces rr-<pid>-* whose
             process is gone
  --window   the seed's delete+add window on this kernel: a stream to
             2001:67c:1254:e:10::1 while the /80 moves --moves times by
             delete+add, by replace, and not at all (the control)
  --fuzz N   differential testing: N random cases (--category: arp,
             route; --seed S regenerates them), each run on the live
             kernel and in the model of its profile; prints the agreement
             per category and overall, and every disagreement shrunk to a
             reproducer in scenario syntax (docs/lab-fuzz.md)

A scenario the kernel cannot host is refused, with the reasons, before
anything is created. Needs root. Exit status: 0 when every comparison
agrees or cannot decide, 1 when one disagrees (or a fuzz case does) or a
run failed, 2 on bad
input or a scenario that cannot run here.`,
		Args: cobra.ArbitraryArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			o.fuzzing = cmd.Flags().Changed("fuzz")
			return runLab(cmd, args, o)
		},
	}
	f := cmd.Flags()
	f.BoolVar(&o.all, "all", false, "run every library scenario the running kernel can host")
	f.BoolVar(&o.cleanup, "cleanup", false, "delete the namespaces of runs that were killed")
	f.BoolVar(&o.window, "window", false, "measure the delete+add window of the seed on this kernel")
	f.IntVar(&o.moves, "moves", o.moves, "--window: route moves per strategy")
	f.DurationVar(&o.moveEvery, "move-every", o.moveEvery, "--window: time between two moves")
	f.IntVar(&o.rate, "rate", o.rate, "--window: packets per second of each stream")
	f.StringVar(&o.format, "format", "text", "output `FORMAT`: text or json")
	f.StringVarP(&o.output, "output", "o", "", "write the report to `FILE` instead of standard output")
	f.StringVar(&o.events, "events", "", "write every recorded event (netlink, frames, the lab's actions) to `FILE` as JSON lines")
	f.Uint64Var(&o.seed, "seed", o.seed, "seed of the times drawn from the scenario's windows (and of the model's seeded runs); with --fuzz, of the cases")
	f.IntVar(&o.fuzz, "fuzz", 0, "run `N` random differential cases against the live kernel")
	f.StringSliceVar(&o.categories, "category", nil, "--fuzz: only these `CATEGORIES` (comma-separated: "+strings.Join(fuzz.Categories(), ", ")+")")
	return cmd
}

func (o labOptions) validate(args []string) error {
	modes := 0
	for _, b := range []bool{o.all, o.cleanup, o.window, o.fuzzing, len(args) > 0} {
		if b {
			modes++
		}
	}
	switch {
	case modes == 0:
		return errors.New("lab wants a scenario, --all, --cleanup, --window or --fuzz N")
	case modes > 1:
		return errors.New("lab takes one of: a scenario, --all, --cleanup, --window, --fuzz N")
	case o.fuzzing && o.fuzz < 1:
		return fmt.Errorf("--fuzz %d: want a number of cases of 1 or more", o.fuzz)
	case len(o.categories) > 0 && !o.fuzzing:
		return errors.New("--category goes with --fuzz")
	case o.format != "text" && o.format != "json":
		return fmt.Errorf("--format %q: want text or json", o.format)
	}
	for _, c := range o.categories {
		if !slices.Contains(fuzz.Categories(), c) {
			return fmt.Errorf("--category %q: want one of %s", c, strings.Join(fuzz.Categories(), ", "))
		}
	}
	switch {
	case o.moves < 1 || o.rate < 1 || o.rate > 1000000 || o.moveEvery < 0:
		return fmt.Errorf("--moves %d, --rate %d, --move-every %s: want a positive number of moves, 1 to 1000000 packets a second, a duration of 0 or more", o.moves, o.rate, o.moveEvery)
	}
	return nil
}

func runLab(cmd *cobra.Command, args []string, o labOptions) error {
	if err := o.validate(args); err != nil {
		return badInput(err)
	}
	// SIGHUP too: a closed terminal must not leave namespaces behind.
	// (SIGINT and SIGTERM end the command's context already.)
	ctx, stop := signal.NotifyContext(cmd.Context(), syscall.SIGHUP)
	defer stop()
	stderr := cmd.ErrOrStderr()
	if o.cleanup {
		return labCleanup(cmd.OutOrStdout())
	}
	h, err := lab.DetectHost(ctx)
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
	var events io.Writer
	if o.events != "" {
		f, err := os.Create(o.events)
		if err != nil {
			return badInput(fmt.Errorf("--events: %w", err))
		}
		defer f.Close()
		events = f
	}
	if o.window {
		if os.Geteuid() != 0 {
			return errors.New("lab --window needs root: it creates network namespaces")
		}
		return labWindow(ctx, out, stderr, h, o)
	}
	if o.fuzzing {
		if os.Geteuid() != 0 {
			return errors.New("lab --fuzz needs root: it creates network namespaces")
		}
		return labFuzz(ctx, out, stderr, h, o)
	}
	if o.format == "text" {
		writeHostHeader(out, h)
	}
	var items []labItem
	if o.all {
		lib, err := scenario.Library()
		if err != nil {
			return err
		}
		for _, sc := range lib {
			for _, v := range sc.Variants {
				items = append(items, prepareItem(sc, v, h))
			}
		}
	} else {
		for _, a := range args {
			sc, variant, err := scenario.FindVariant(a)
			if err != nil {
				return badInput(err)
			}
			for _, v := range sc.Variants {
				if variant == "" || v.Name == variant {
					items = append(items, prepareItem(sc, v, h))
				}
			}
		}
		for _, it := range items {
			if it.err != nil {
				return badInput(it.err)
			}
		}
	}
	// Refusals come first, from the scenarios alone; nothing is created
	// before this point.
	if os.Geteuid() != 0 {
		return errors.New("lab needs root: it creates network namespaces")
	}
	if removed, err := netns.Cleanup(); err != nil {
		fmt.Fprintf(stderr, "raceroute lab: cleaning up after killed runs: %v\n", err)
	} else if len(removed) > 0 {
		fmt.Fprintf(stderr, "raceroute lab: deleted %d namespaces killed runs left: %s\n", len(removed), strings.Join(removed, " "))
	}
	prog := newLabProgress(stderr, items)
	prog.announce()
	reports := make([]labReport, 0, len(items))
	disagree, failed := 0, 0
	enc := json.NewEncoder(out)
	for i := range items {
		it := &items[i]
		if it.err != nil {
			reports = append(reports, labReport{Scenario: it.name, Release: h.Release, Profile: h.Profile.Name, Refused: refusedReasons(it.err)})
			continue
		}
		r, err := labOne(ctx, it, h, o, prog)
		prog.clear()
		if err != nil && ctx.Err() != nil {
			return fmt.Errorf("lab interrupted (everything it created is deleted): %w", err)
		}
		if err != nil {
			failed++
			r.Error = err.Error()
			fmt.Fprintf(stderr, "raceroute lab: %v\n", err)
		} else if r.Comparison.Agreement == lab.Disagree {
			disagree++
		}
		if events != nil && r.Live != nil {
			if err := writeEvents(events, r.Scenario, r.Live.Events); err != nil {
				return err
			}
		}
		switch {
		case o.format == "json":
			if err := enc.Encode(r); err != nil {
				return fmt.Errorf("write report: %w", err)
			}
		case !o.all:
			writeLabText(out, r)
		}
		reports = append(reports, r)
	}
	if o.all && o.format == "text" {
		writeLabMatrix(out, reports)
	}
	switch {
	case failed > 0:
		return fmt.Errorf("%d live run(s) failed", failed)
	case disagree > 0:
		return mismatchError{disagree}
	}
	return nil
}

// labItem is one scenario variant to run live, prepared or refused.
type labItem struct {
	sc   *scenario.Scenario
	v    scenario.Variant
	name string
	live *lab.Live
	err  error
}

func prepareItem(sc *scenario.Scenario, v scenario.Variant, h lab.Host) labItem {
	it := labItem{sc: sc, v: v, name: sc.FullName(v)}
	it.live, it.err = lab.Prepare(sc, v, h)
	return it
}

func refusedReasons(err error) []string {
	var r *lab.Refused
	if errors.As(err, &r) {
		return r.Reasons
	}
	return []string{err.Error()}
}

// labReport is one scenario variant's live verdict beside the model's,
// as `lab --format json` prints it.
type labReport struct {
	Scenario     string   `json:"scenario"`
	Release      string   `json:"release"`
	Profile      string   `json:"profile"`
	ProfileNotes []string `json:"profile_notes,omitempty"`
	// Refused says why the scenario cannot run here (nothing ran).
	Refused []string `json:"refused,omitempty"`
	// Live is the live run's verdict, Model the model's check reports on
	// the running kernel's profile (one per candidate setting when the
	// profile could not pin one), Comparison the two side by side.
	Live       *lab.Result     `json:"live,omitempty"`
	Model      []check.Report  `json:"model,omitempty"`
	Comparison *lab.Comparison `json:"comparison,omitempty"`
	Error      string          `json:"error,omitempty"`
}

// labOne checks the model on the running kernel's profile, runs the
// scenario live and compares the two.
func labOne(ctx context.Context, it *labItem, h lab.Host, o labOptions, prog *labProgress) (labReport, error) {
	r := labReport{Scenario: it.name, Release: h.Release, Profile: h.Profile.Name, ProfileNotes: h.Profile.Notes}
	co := defaultCheckOptions(false).Settings
	co.Seed = o.seed
	var models []lab.ModelVerdict
	for _, q := range h.Profile.Resolve(it.sc.Switches()) {
		j := check.Job{Scenario: it.sc, Variant: it.v, Profile: q, Column: h.Profile.Name}
		d, err := check.Search(ctx, j, co, 0, check.NewProgress(io.Discard))
		if err != nil {
			return r, err
		}
		rep, err := check.ReportJob(j, co, d)
		if err != nil {
			return r, err
		}
		r.Model = append(r.Model, rep)
		mv, err := modelVerdict(ctx, j, co, rep)
		if err != nil {
			return r, err
		}
		models = append(models, mv)
	}
	prog.starting(it)
	res, err := it.live.Run(ctx, lab.Options{Seed: o.seed, Progress: prog.update})
	prog.finished(it)
	r.Live = res
	if err != nil {
		return r, err
	}
	c := lab.Compare(res, models)
	r.Comparison = &c
	return r, nil
}

// modelVerdict turns a check report into what Compare reads; for an
// exhaustive search that found a violation it samples random schedules
// for the share that violate, which one live run is judged against.
func modelVerdict(ctx context.Context, j check.Job, co check.Settings, rep check.Report) (lab.ModelVerdict, error) {
	mv := lab.ModelVerdict{Kernel: rep.Kernel, Sampled: rep.Runs > 0, Exhaustive: rep.Exhaustive, Runs: rep.Runs}
	var share map[string]float64
	for _, p := range rep.Properties {
		mp := lab.ModelPropVerdict{Name: p.Name, Verdict: p.Verdict}
		switch {
		case p.FailureRate != nil:
			mp.Rate, mp.CIHigh, mp.RateKnown = *p.FailureRate, *p.CIHigh, true
		case p.Verdict == explore.Violated:
			if share == nil {
				ov := co.Overrides(0)
				c, err := j.Scenario.CompileFor(j.Variant, j.Profile, ov)
				if err != nil {
					return mv, badInput(err)
				}
				opts := j.Scenario.Options(ov)
				opts.Seed = co.Seed
				share = lab.SampleShare(ctx, c, opts)
			}
			mp.Rate, mp.RateKnown = share[p.Name], true
		}
		mv.Properties = append(mv.Properties, mp)
	}
	return mv, nil
}

// writeHostHeader says which kernel runs and the profile chosen for it.
func writeHostHeader(w io.Writer, h lab.Host) {
	fmt.Fprintf(w, "running kernel %s: profile %s\n", h.Release, h.Profile.Name)
	for _, n := range h.Profile.Notes {
		fmt.Fprintf(w, "  %s\n", n)
	}
	fmt.Fprintln(w)
}

func liveWord(v explore.Verdict) string { return strings.ToUpper(string(v)) }

// writeLabText prints one live run in check's text format, the model's
// check report after it, then the comparison.
func writeLabText(w io.Writer, r labReport) {
	if r.Live == nil {
		return
	}
	l := r.Live
	fmt.Fprintf(w, "%s live on %s (%s): %s\n", l.Scenario, l.Release, l.Profile, liveWord(l.Verdict))
	fmt.Fprintf(w, "  one live run: %.1f s, seed %d", l.ElapsedMS/1000, l.Seed)
	if len(l.Draws) > 0 {
		var ds []string
		for _, d := range l.Draws {
			ds = append(ds, fmt.Sprintf("%s %.3f s (of %s)", d.What, d.At, d.Window))
		}
		fmt.Fprintf(w, "; drawn: %s", strings.Join(ds, ", "))
	}
	fmt.Fprintln(w)
	for _, p := range l.Properties {
		fmt.Fprintf(w, "  property %s (%s) %s live: %s\n", p.Name, p.Kind, p.Verdict, p.Explanation)
	}
	story := l.Story()
	fmt.Fprintf(w, "  story (%d of the %d events recorded; --events FILE writes them all):\n", len(story), len(l.Events))
	for _, e := range story {
		fmt.Fprintf(w, "    t=%.3f %-10s %-9s %s\n", e.T, e.Host, e.Label, e.Text)
	}
	for _, n := range l.Notes {
		fmt.Fprintf(w, "  note: %s\n", n)
	}
	fmt.Fprintf(w, "  namespaces (deleted): %s\n\n", strings.Join(l.Namespaces, " "))
	fmt.Fprintln(w, "model:")
	for _, m := range r.Model {
		check.WriteText(w, m)
	}
	if c := r.Comparison; c != nil {
		fmt.Fprintf(w, "comparison: %s\n", strings.ToUpper(string(c.Agreement)))
		for _, p := range c.Properties {
			fmt.Fprintf(w, "  %s on %s: live %s, model %s: %s: %s\n", p.Name, p.Kernel, p.Live, p.Model, p.Agreement, p.Why)
		}
		fmt.Fprintf(w, "  covers: %s\n\n", c.Covers)
	}
}

// modelCell is the model's verdict as check's matrix writes it.
func modelCell(rs []check.Report) string {
	if len(rs) == 0 {
		return "-"
	}
	cell := func(r check.Report) string {
		switch {
		case r.Runs > 0 && r.Verdict == explore.Violated:
			return fmt.Sprintf("%.0f%%", 100**r.FailureRate)
		case r.Runs > 0 && r.Verdict == explore.Holds:
			return "holds*"
		}
		return string(r.Verdict)
	}
	s := cell(rs[0])
	for _, r := range rs[1:] {
		if cell(r) != s {
			return "either"
		}
	}
	return s
}

// writeLabMatrix prints lab --all's matrix: model against live verdict
// per scenario variant, what disagrees or cannot be decided, what each
// comparison covers, and what could not run here.
func writeLabMatrix(w io.Writer, reports []labReport) {
	width := len("scenario")
	for _, r := range reports {
		width = max(width, len(r.Scenario))
	}
	fmt.Fprintf(w, "%-*s  %-8s  %-8s  %s\n", width, "scenario", "model", "live", "comparison")
	counts := map[lab.Agreement]int{}
	covers := map[string]bool{}
	var coverOrder []string
	var refused, remarks []string
	for _, r := range reports {
		switch {
		case len(r.Refused) > 0:
			fmt.Fprintf(w, "%-*s  %-8s  %-8s  %s\n", width, r.Scenario, modelCell(r.Model), "-", "cannot run here")
			refused = append(refused, fmt.Sprintf("  %s: %s", r.Scenario, strings.Join(r.Refused, "; ")))
		case r.Error != "":
			fmt.Fprintf(w, "%-*s  %-8s  %-8s  %s\n", width, r.Scenario, modelCell(r.Model), "failed", "-")
			remarks = append(remarks, fmt.Sprintf("  %s: the live run failed: %s", r.Scenario, r.Error))
		default:
			c := r.Comparison
			counts[c.Agreement]++
			fmt.Fprintf(w, "%-*s  %-8s  %-8s  %s\n", width, r.Scenario, modelCell(r.Model), r.Live.Verdict, c.Agreement)
			for _, p := range c.Properties {
				if p.Agreement != lab.Agree {
					remarks = append(remarks, fmt.Sprintf("  %s %s on %s: %s", r.Scenario, p.Name, p.Kernel, p.Why))
				}
			}
			for _, s := range strings.SplitAfter(c.Covers, ". ") {
				if s = strings.TrimSpace(s); s != "" && !covers[s] {
					covers[s] = true
					coverOrder = append(coverOrder, s)
				}
			}
		}
	}
	fmt.Fprintf(w, "\n%d agree, %d disagree, %d not decisive, of %d live runs; %d could not run here.\n",
		counts[lab.Agree], counts[lab.Disagree], counts[lab.NotDecisive], counts[lab.Agree]+counts[lab.Disagree]+counts[lab.NotDecisive]+counts[lab.NoModel], len(refused))
	fmt.Fprintln(w, "  model: check's verdict on the running kernel's profile (holds*: no violation in the seeded runs; N%: violated in N % of them)")
	fmt.Fprintln(w, "  live:  the verdict of one live run, judged on what the kernel did")
	for _, s := range coverOrder {
		fmt.Fprintf(w, "  %s\n", s)
	}
	if len(remarks) > 0 {
		fmt.Fprintln(w, "Not agreeing:")
		for _, s := range remarks {
			fmt.Fprintln(w, s)
		}
	}
	if len(refused) > 0 {
		fmt.Fprintln(w, "Could not run here:")
		for _, s := range refused {
			fmt.Fprintln(w, s)
		}
	}
}

// writeEvents writes a run's events as JSON lines, each with its
// scenario.
func writeEvents(w io.Writer, name string, events []lab.Event) error {
	enc := json.NewEncoder(w)
	for _, e := range events {
		if err := enc.Encode(struct {
			Scenario string `json:"scenario"`
			lab.Event
		}{name, e}); err != nil {
			return fmt.Errorf("--events: %w", err)
		}
	}
	return nil
}

// labCleanup removes what killed runs left.
func labCleanup(w io.Writer) error {
	if os.Geteuid() != 0 {
		return errors.New("lab --cleanup needs root: it deletes network namespaces")
	}
	removed, err := netns.Cleanup()
	for _, n := range removed {
		fmt.Fprintf(w, "deleted namespace %s\n", n)
	}
	if err != nil {
		return fmt.Errorf("lab --cleanup: %w", err)
	}
	fmt.Fprintf(w, "%d namespaces of killed runs deleted\n", len(removed))
	return nil
}

// labFuzz runs the differential test and prints its report; the error is
// non-nil (exit 1) when a case disagreed.
func labFuzz(ctx context.Context, out, stderr io.Writer, h lab.Host, o labOptions) error {
	if o.format == "text" {
		writeHostHeader(out, h)
	}
	on := isTerminal(stderr)
	opts := fuzz.Options{N: o.fuzz, Seed: o.seed, Categories: o.categories, Profile: h.Profile}
	if on {
		opts.Progress = func(done, total int) { fmt.Fprintf(stderr, "\r\x1b[Klab --fuzz: %d of %d cases", done, total) }
	}
	rep, err := fuzz.Run(ctx, opts)
	if on {
		fmt.Fprint(stderr, "\r\x1b[K")
	}
	if err != nil {
		if ctx.Err() != nil {
			return fmt.Errorf("lab --fuzz interrupted (everything it created is deleted): %w", err)
		}
		return fmt.Errorf("lab --fuzz: %w", err)
	}
	if err := rep.Write(out, o.format); err != nil {
		return err
	}
	if n := len(rep.Disagreements); n > 0 {
		return fmt.Errorf("lab --fuzz: %d of %d cases disagree with the model (reproducers above)", n, rep.Cases)
	}
	return nil
}

// labWindow runs the window experiment and prints its numbers.
func labWindow(ctx context.Context, out, stderr io.Writer, h lab.Host, o labOptions) error {
	strategies := []string{"none", "delete-add", "replace"}
	est := time.Duration(len(strategies)*o.moves) * o.moveEvery
	fmt.Fprintf(stderr, "raceroute lab --window: %d moves a strategy, one every %s, streams of %d packets/s: about %s\n", o.moves, o.moveEvery, o.rate, est.Round(time.Second))
	on := isTerminal(stderr)
	res, err := lab.Window(ctx, h, lab.WindowOptions{Moves: o.moves, Every: o.moveEvery, Rate: o.rate, Strategies: strategies,
		Progress: func(s string, done, total int) {
			if on {
				fmt.Fprintf(stderr, "\r\x1b[K%s: %d of %d moves", s, done, total)
			}
		}})
	if on {
		fmt.Fprint(stderr, "\r\x1b[K")
	}
	if err != nil {
		return err
	}
	if o.format == "json" {
		enc := json.NewEncoder(out)
		for _, r := range res {
			if err := enc.Encode(r); err != nil {
				return err
			}
		}
		return nil
	}
	writeHostHeader(out, h)
	fmt.Fprintf(out, "the /80 moved %d times per strategy, one move every %s; two streams of %d echo requests/s to %s: from the host itself, and from a client it routes for\n",
		o.moves, o.moveEvery, o.rate, "2001:67c:1254:e:10::1")
	fmt.Fprintf(out, "%-10s  %7s  %-22s  %-40s\n", "strategy", "seconds", "delete->add ack (us)", "stream: sent / replies / errors / lost")
	for _, r := range res {
		gap := "-"
		if r.GapMedianUS > 0 {
			gap = fmt.Sprintf("median %.0f, p99 %.0f", r.GapMedianUS, r.GapP99US)
		}
		fmt.Fprintf(out, "%-10s  %7.2f  %-22s  host:   %d / %d / %s / %d\n", r.Strategy, r.Seconds, gap, r.Local.Sent, r.Local.Replies, errorsText(r.Local.Errors), r.Local.Lost)
		fmt.Fprintf(out, "%-10s  %7s  %-22s  client: %d / %d / %s / %d\n", "", "", "", r.Forwarded.Sent, r.Forwarded.Replies, errorsText(r.Forwarded.Errors), r.Forwarded.Lost)
	}
	return nil
}

func errorsText(m map[string]int) string {
	if len(m) == 0 {
		return "0"
	}
	var parts []string
	for k, n := range m {
		parts = append(parts, fmt.Sprintf("%d %s", n, k))
	}
	return strings.Join(parts, ", ")
}

func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

// labProgress says up front how long the runs take, and shows progress
// on a terminal only.
type labProgress struct {
	w     io.Writer
	on    bool
	items []labItem
	left  time.Duration
	cur   string
	dirty bool
}

func newLabProgress(w io.Writer, items []labItem) *labProgress {
	return &labProgress{w: w, on: isTerminal(w), items: items}
}

// announce says how long the runs will take, before any starts.
func (p *labProgress) announce() {
	n, timed, refused := 0, 0, 0
	for _, it := range p.items {
		if it.err != nil {
			refused++
			continue
		}
		n++
		p.left += it.live.Duration
		if it.live.Timed {
			timed++
		}
	}
	if n == 1 {
		for _, it := range p.items {
			if it.live != nil && it.live.Timed {
				fmt.Fprintf(p.w, "raceroute lab: %s is timed and runs in real time: about %s\n", it.name, it.live.Duration.Round(time.Second))
			}
		}
		return
	}
	fmt.Fprintf(p.w, "raceroute lab: %d scenario variants to run live (%d timed, in real time), %d cannot run here: about %s in all\n", n, timed, refused, p.left.Round(time.Second))
}

func (p *labProgress) starting(it *labItem) { p.cur = it.name }

func (p *labProgress) finished(it *labItem) { p.left -= it.live.Duration }

func (p *labProgress) update(elapsed, total time.Duration) {
	if !p.on {
		return
	}
	rest := p.left - min(elapsed, total)
	fmt.Fprintf(p.w, "\r\x1b[K%s: %.0f of %.0f s; about %s left in all", p.cur, elapsed.Seconds(), total.Seconds(), rest.Round(time.Second))
	p.dirty = true
}

func (p *labProgress) clear() {
	if p.on && p.dirty {
		fmt.Fprint(p.w, "\r\x1b[K")
		p.dirty = false
	}
}
