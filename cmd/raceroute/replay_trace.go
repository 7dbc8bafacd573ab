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

	"raceroute/iproute2"
	"raceroute/watch"
)

// replayTraceOptions are the flags of replay-trace.
type replayTraceOptions struct {
	json          bool
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
watch gave, pass --kernel-release of the host it ran on.

Exit status: 2 when FILE cannot be read or holds no record at all (an
empty or binary file), 1 with --fail-on-finding when anything was
found, 0 otherwise.`,
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) != 1 {
				return badInput(fmt.Errorf("replay-trace takes one FILE, got %d arguments", len(args)))
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
					return badInput(fmt.Errorf("replay-trace: %w", err))
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
	fl.BoolVar(&opts.failOnFinding, "fail-on-finding", false, "exit with status 1 when anything was found")
	fl.StringVar(&opts.kernelRelease, "kernel-release", "", "uname -r of the host the log was recorded on, for the reason of an ignored gratuitous ARP")
	fl.DurationVar(&opts.window, "window", opts.window, "longest delete-to-add gap that counts as a non-atomic route change")
	fl.DurationVar(&opts.locktime, "locktime", opts.locktime, "the host's neighbour locktime")
	fl.DurationVar(&opts.garpMargin, "garp-margin", opts.garpMargin, "time allowed beyond locktime for a gratuitous ARP to be taken")
	fl.StringVar(&opts.date, "date", "", "date (YYYY-MM-DD) of logs whose stamps carry only the time of day; default 1970-01-01")
	fl.IntVar(&opts.family, "family", 0, "4 or 6: family of lines that do not show theirs (as ip -4/-6 monitor print them); 0 infers")
	return cmd
}

// replayTrace parses the log r (named name in messages), runs the
// detectors over it, writes the findings to stdout (text, or JSON lines)
// and the malformed lines and a summary to stderr. It returns the number
// of findings. Errors that come from the input are wrapped with badInput.
func replayTrace(ctx context.Context, r io.Reader, name string, stdout, stderr io.Writer, opts replayTraceOptions) (int, error) {
	popts := iproute2.MonitorOptions{Name: name, Family: opts.family}
	if opts.family != 0 && opts.family != 4 && opts.family != 6 {
		return 0, badInput(fmt.Errorf("--family %d: want 4 or 6", opts.family))
	}
	if opts.date != "" {
		d, err := time.Parse(time.DateOnly, opts.date)
		if err != nil {
			return 0, badInput(fmt.Errorf("--date %q: want YYYY-MM-DD", opts.date))
		}
		popts.Day = d
	}
	cfg := watch.Config{
		NonAtomicWindow: opts.window,
		GARPMargin:      opts.garpMargin,
		Locktime:        opts.locktime,
		KernelRelease:   opts.kernelRelease,
	}
	if cfg.NonAtomicWindow <= 0 || cfg.Locktime <= 0 || cfg.GARPMargin <= 0 {
		return 0, badInput(errors.New("--window, --locktime and --garp-margin must be positive"))
	}
	eng := watch.NewEngine(cfg)
	mr := iproute2.NewMonitorReader(r, popts)
	var (
		records, malformed, findings int
		last                         time.Time
		held                         []*iproute2.LineError // until the first record: a file with none gets one message
	)
	emit := func(fs []watch.Finding) error {
		for _, f := range fs {
			findings++
			if opts.json {
				b, err := json.Marshal(f)
				if err != nil {
					return fmt.Errorf("encoding a finding: %w", err)
				}
				b = append(b, '\n')
				if _, err := stdout.Write(b); err != nil {
					return fmt.Errorf("writing findings: %w", err)
				}
				continue
			}
			if _, err := fmt.Fprintln(stdout, f.String()); err != nil {
				return fmt.Errorf("writing findings: %w", err)
			}
		}
		return nil
	}
	for {
		if records%4096 == 0 {
			if err := ctx.Err(); err != nil {
				return findings, err
			}
		}
		rec, err := mr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		var le *iproute2.LineError
		if errors.As(err, &le) {
			malformed++
			switch {
			case records == 0 && len(held) < maxShownMalformed:
				held = append(held, le)
			case records > 0 && malformed <= maxShownMalformed:
				fmt.Fprintln(stderr, le.Error())
			}
			continue
		}
		if err != nil {
			return findings, badInput(err)
		}
		if records == 0 {
			for _, le := range held {
				fmt.Fprintln(stderr, le.Error())
			}
			held = nil
		}
		records++
		if rec.Time.After(last) {
			last = rec.Time
		}
		if err := emit(eng.Observe(rec)); err != nil {
			return findings, err
		}
	}
	if records == 0 {
		return 0, badInput(noRecord(name, mr.Lines(), malformed, held))
	}
	// Let the time-based detectors conclude as if the log had gone on.
	var end time.Time
	if !last.IsZero() {
		end = last.Add(cfg.Locktime + cfg.GARPMargin + cfg.NonAtomicWindow + time.Nanosecond)
	}
	if err := emit(eng.Finish(end)); err != nil {
		return findings, err
	}
	shown := ""
	if malformed > maxShownMalformed {
		shown = fmt.Sprintf(" (the first %d shown)", maxShownMalformed)
	}
	fmt.Fprintf(stderr, "replay-trace: %s: %d records, %d malformed lines skipped%s, %d finding(s)\n", name, records, malformed, shown, findings)
	return findings, nil
}

// maxShownMalformed bounds the malformed lines replay-trace prints.
const maxShownMalformed = 20

// noRecord is the one error for a log without any record: empty, binary,
// or not a log of ip monitor or raceroute watch.
func noRecord(name string, lines, malformed int, first []*iproute2.LineError) error {
	switch {
	case lines == 0:
		return fmt.Errorf("%s is empty: no ip monitor or raceroute watch record to replay", name)
	case malformed == 0:
		return fmt.Errorf("%s: none of its %d lines is a route, neighbour, link, address, frame or overflow record", name, lines)
	}
	return fmt.Errorf("%s: no ip monitor or raceroute watch record in it: %d of its %d lines are malformed (binary data, or another format?); the first: %v",
		name, malformed, lines, first[0])
}
