package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/spf13/cobra"

	"raceroute/cmd/raceroute/internal/cli"
	"raceroute/iproute2"
	"raceroute/timeline"
	"raceroute/watch"
)

// replayTraceOptions are the flags of replay-trace.
type replayTraceOptions struct {
	json          bool
	format        string // "" (text, or JSON lines with --json) or html
	output        string
	failOnFinding bool
	kernelRelease string
	window        time.Duration
	locktime      time.Duration
	garpMargin    time.Duration
	date          string // YYYY-MM-DD for time-of-day-only stamps
	family        int    // 4 or 6 for lines that do not show their family
}

func defaultReplayTraceOptions() replayTraceOptions {
	def := watch.DefaultConfig()
	return replayTraceOptions{window: def.NonAtomicWindow, locktime: def.Locktime, garpMargin: def.GARPMargin}
}

func newReplayTraceCmd() *cobra.Command {
	opts := defaultReplayTraceOptions()
	cmd := &cobra.Command{
		Use:   "replay-trace FILE",
		Short: "Run the watch detectors over a recorded `ip monitor` log",
		Long: `replay-trace reads a recorded ip monitor log (plain, -t, -ts, label,
all-nsid, the [RTCAH] cache lines of the seed's patched iproute2, or the
output of raceroute watch) and runs the same detectors as watch over it:
non-atomic route changes, route-cache entries contradicting their route,
ignored gratuitous ARPs, unannounced neighbour MAC changes and receive
overflows. FILE "-" reads standard input.

Malformed lines are reported on stderr with their line numbers, quoted,
and skipped (the first 20; then only their count). An overflow that
iproute2 reported ("netlink receive error No buffer space available")
is a finding, and so are the findings after it that lost events may
have made wrong. To replay what watch --json printed with the advice
watch gave, pass --kernel of the host it ran on.

Exit status: 2 when FILE cannot be read or holds no record at all (an
empty or binary file), 1 with --fail-on-finding when anything was
found, 0 otherwise.`,
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) != 1 {
				return cli.BadInput(fmt.Errorf("replay-trace takes one FILE, got %d arguments", len(args)))
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			name := args[0]
			var r io.Reader
			if name == "-" {
				r, name = cmd.InOrStdin(), "stdin"
			} else {
				f, err := os.Open(name)
				if err != nil {
					return cli.BadInput(fmt.Errorf("replay-trace: %w", err))
				}
				defer f.Close()
				r = f
			}
			n, err := replayTrace(cmd.Context(), r, name, cmd.OutOrStdout(), cmd.ErrOrStderr(), opts)
			if err != nil {
				return err
			}
			if opts.failOnFinding && n > 0 {
				return fmt.Errorf("replay-trace: %d finding(s) in %s", n, name)
			}
			return nil
		},
	}
	fl := cmd.Flags()
	fl.BoolVar(&opts.json, "json", false, "print findings as JSON lines")
	fl.StringVar(&opts.format, "format", "", "`html`: write a timeline of the trace, one lane per prefix, cache entry and neighbour entry, findings where they happened (with -o)")
	fl.StringVarP(&opts.output, "output", "o", "", "write the --format html page to `FILE` instead of standard output")
	fl.BoolVar(&opts.failOnFinding, "fail-on-finding", false, "exit with status 1 when anything was found")
	fl.StringVar(&opts.kernelRelease, "kernel", "", "the kernel the log was recorded on, for the reasons findings give: a `PROFILE`, a release as uname -r prints it, or auto")
	fl.StringVar(&opts.kernelRelease, "kernel-release", "", "the same as --kernel (the name of earlier versions)")
	fl.DurationVar(&opts.window, "window", opts.window, "longest delete-to-add gap that counts as a non-atomic route change")
	fl.DurationVar(&opts.locktime, "locktime", opts.locktime, "the host's neighbour locktime")
	fl.DurationVar(&opts.garpMargin, "garp-margin", opts.garpMargin, "time allowed beyond locktime for a gratuitous ARP to be taken")
	fl.StringVar(&opts.date, "date", "", "date (YYYY-MM-DD) of logs whose stamps carry only the time of day; default 1970-01-01")
	fl.IntVar(&opts.family, "family", 0, "4 or 6: family of lines that do not show theirs (as ip -4/-6 monitor print them); 0 infers")
	return cmd
}

// replayTrace replays the log r (named name in messages) through the
// watch detectors, writes the findings to stdout (text, or JSON lines)
// and the malformed lines and a summary to stderr. It returns the number
// of findings. Errors that come from the input are wrapped with badInput.
func replayTrace(ctx context.Context, r io.Reader, name string, stdout, stderr io.Writer, opts replayTraceOptions) (int, error) {
	ropts := watch.ReplayOptions{Monitor: iproute2.MonitorOptions{Name: name, Family: opts.family}}
	if opts.family != 0 && opts.family != 4 && opts.family != 6 {
		return 0, cli.BadInput(fmt.Errorf("--family %d: want 4 or 6", opts.family))
	}
	if opts.date != "" {
		d, err := time.Parse(time.DateOnly, opts.date)
		if err != nil {
			return 0, cli.BadInput(fmt.Errorf("--date %q: want YYYY-MM-DD", opts.date))
		}
		ropts.Monitor.Day = d
	}
	cfg := watch.Config{
		NonAtomicWindow: opts.window,
		GARPMargin:      opts.garpMargin,
		Locktime:        opts.locktime,
	}
	if opts.kernelRelease != "" {
		rel, err := cli.KernelRelease(opts.kernelRelease)
		if err != nil {
			return 0, cli.BadInput(fmt.Errorf("--kernel: %w", err))
		}
		cfg.KernelRelease = rel
	}
	if cfg.NonAtomicWindow <= 0 || cfg.Locktime <= 0 || cfg.GARPMargin <= 0 {
		return 0, cli.BadInput(errors.New("--window, --locktime and --garp-margin must be positive"))
	}
	var rec *timeline.Recording
	switch opts.format {
	case "", "text":
	case "html":
		if opts.json {
			return 0, cli.BadInput(errors.New("--json and --format html: choose one"))
		}
		rec = &timeline.Recording{}
		ropts.OnRecord = rec.Record
	default:
		return 0, cli.BadInput(fmt.Errorf("--format %q: want html (findings print as text, or JSON lines with --json)", opts.format))
	}
	ropts.OnFinding = func(f watch.Finding) error {
		if rec != nil {
			rec.Findings([]watch.Finding{f})
			return nil
		}
		if opts.json {
			b, err := json.Marshal(f)
			if err != nil {
				return fmt.Errorf("encoding a finding: %w", err)
			}
			if _, err := stdout.Write(append(b, '\n')); err != nil {
				return fmt.Errorf("writing findings: %w", err)
			}
			return nil
		}
		if _, err := fmt.Fprintln(stdout, f.String()); err != nil {
			return fmt.Errorf("writing findings: %w", err)
		}
		return nil
	}
	ropts.OnSkipped = func(le *iproute2.LineError) { fmt.Fprintln(stderr, le.Error()) }
	sum, err := watch.Replay(ctx, r, cfg, ropts)
	var in *watch.InputError
	if errors.As(err, &in) {
		return sum.Findings, cli.BadInput(err)
	}
	if err != nil {
		return sum.Findings, err
	}
	shown := ""
	if sum.Skipped > sum.Shown {
		shown = fmt.Sprintf(" (the first %d shown)", sum.Shown)
	}
	fmt.Fprintf(stderr, "replay-trace: %s: %d records, %d malformed lines skipped%s, %d finding(s)\n", name, sum.Records, sum.Skipped, shown, sum.Findings)
	if rec != nil {
		out := stdout
		if opts.output != "" {
			f, err := os.Create(opts.output)
			if err != nil {
				return sum.Findings, cli.BadInput(fmt.Errorf("-o: %w", err))
			}
			defer f.Close()
			out = f
		}
		page := timeline.Page{Title: name, Groups: []timeline.Group{{Name: name, Reports: []timeline.Report{rec.Report(name)}}}}
		if err := timeline.Write(out, page); err != nil {
			return sum.Findings, fmt.Errorf("write the timeline: %w", err)
		}
	}
	return sum.Findings, nil
}
