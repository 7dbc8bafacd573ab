// Package labcmd is raceroute lab: scenarios on the live kernel in namespaces, --all, --fuzz, --window and --cleanup.
package labcmd

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

	"raceroute/cmd/raceroute/internal/cli"
	"raceroute/lab"
	"raceroute/lab/fuzz"
	"raceroute/lab/segment/keepalived"
	"raceroute/lab/window"
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

// New is the lab command.
func New() *cobra.Command {
	o := labOptions{format: "text", seed: cli.DefaultSeed, moves: 10000, moveEvery: time.Millisecond, rate: 10000}
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
             process is gone, and keepalived's raceroute-keepalived-*
             directories in the temporary directory
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
		return cli.BadInput(err)
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
			return cli.BadInput(fmt.Errorf("-o: %w", err))
		}
		defer f.Close()
		out = f
	}
	var events io.Writer
	if o.events != "" {
		f, err := os.Create(o.events)
		if err != nil {
			return cli.BadInput(fmt.Errorf("--events: %w", err))
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
		lab.WriteHostHeader(out, h)
	}
	var items []lab.Item
	if o.all {
		lib, err := scenario.Library()
		if err != nil {
			return err
		}
		for _, sc := range lib {
			for _, v := range sc.Variants {
				items = append(items, lab.NewItem(sc, v, h))
			}
		}
	} else {
		for _, a := range args {
			sc, variant, err := scenario.FindVariant(a)
			if err != nil {
				return cli.BadInput(err)
			}
			for _, v := range sc.Variants {
				if variant == "" || v.Name == variant {
					items = append(items, lab.NewItem(sc, v, h))
				}
			}
		}
		for _, it := range items {
			if it.Err != nil {
				return cli.BadInput(it.Err)
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
	if dirs, err := keepalived.Cleanup(); err != nil {
		fmt.Fprintf(stderr, "raceroute lab: cleaning up after killed runs: %v\n", err)
	} else if len(dirs) > 0 {
		fmt.Fprintf(stderr, "raceroute lab: deleted %d keepalived directories killed runs left: %s\n", len(dirs), strings.Join(dirs, " "))
	}
	prog := lab.NewProgress(stderr, cli.IsTerminal(stderr), items)
	prog.Announce()
	reports := make([]lab.Report, 0, len(items))
	disagree, failed := 0, 0
	enc := json.NewEncoder(out)
	for i := range items {
		it := &items[i]
		if it.Err != nil {
			reports = append(reports, lab.RefusedReport(*it, h))
			continue
		}
		r, err := lab.RunItem(ctx, it, h, o.seed, prog)
		prog.Clear()
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
			if err := lab.WriteEvents(events, r.Scenario, r.Live.Events); err != nil {
				return fmt.Errorf("--events: %w", err)
			}
		}
		switch {
		case o.format == "json":
			if err := enc.Encode(r); err != nil {
				return fmt.Errorf("write report: %w", err)
			}
		case !o.all:
			lab.WriteText(out, r)
		}
		reports = append(reports, r)
	}
	if o.all && o.format == "text" {
		lab.WriteMatrix(out, reports)
	}
	switch {
	case failed > 0:
		return fmt.Errorf("%d live run(s) failed", failed)
	case disagree > 0:
		return cli.MismatchError{N: disagree}
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
	dirs, derr := keepalived.Cleanup()
	for _, d := range dirs {
		fmt.Fprintf(w, "deleted directory %s\n", d)
	}
	if err := errors.Join(err, derr); err != nil {
		return fmt.Errorf("lab --cleanup: %w", err)
	}
	fmt.Fprintf(w, "%d namespaces and %d keepalived directories of killed runs deleted\n", len(removed), len(dirs))
	return nil
}

// labFuzz runs the differential test and prints its report; the error is
// non-nil (exit 1) when a case disagreed.
func labFuzz(ctx context.Context, out, stderr io.Writer, h lab.Host, o labOptions) error {
	if o.format == "text" {
		lab.WriteHostHeader(out, h)
	}
	on := cli.IsTerminal(stderr)
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
	on := cli.IsTerminal(stderr)
	wo := window.Options{Moves: o.moves, Every: o.moveEvery, Rate: o.rate, Strategies: strategies,
		Progress: func(s string, done, total int) {
			if on {
				fmt.Fprintf(stderr, "\r\x1b[K%s: %d of %d moves", s, done, total)
			}
		}}
	res, err := window.Run(ctx, h, wo)
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
	lab.WriteHostHeader(out, h)
	window.WriteText(out, wo, res)
	return nil
}
