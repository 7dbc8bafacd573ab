package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"os"
	"runtime"
	"time"

	"github.com/spf13/cobra"
	"golang.org/x/term"

	"raceroute/cmd/raceroute/internal/cli"
	"raceroute/live/livewatch"
	"raceroute/live/nl/monitor"
	"raceroute/watch"
)

// watchFlags are the flags of `raceroute watch`.
type watchFlags struct {
	json      bool
	family    int
	dev       string
	prefix    string
	netns     string
	metrics   string
	sniff     bool
	heal      bool
	quiet     bool
	cachePoll time.Duration
	dropsPoll time.Duration
	neighPoll time.Duration
	window    time.Duration
	margin    time.Duration
	locktime  time.Duration
	duration  time.Duration
	verbose   bool
	kernel    string
	rcvbuf    int
	procs     int
}

// watchConfig turns the flags into a livewatch configuration, or a
// bad-input error.
func (f *watchFlags) watchConfig() (livewatch.Config, error) {
	cfg := livewatch.Config{
		Netns: f.netns, JSON: f.json, Dev: f.dev, Metrics: f.metrics,
		Sniff: f.sniff, Heal: f.heal, Quiet: f.quiet, CachePoll: f.cachePoll, DropsPoll: f.dropsPoll, NeighPoll: f.neighPoll,
		RcvBuf: f.rcvbuf,
		// Zero durations take the engine's defaults (watch.NewEngine).
		Engine: watch.Config{NonAtomicWindow: f.window, GARPMargin: f.margin, Locktime: f.locktime},
	}
	if f.kernel != "" {
		rel, err := cli.KernelRelease(f.kernel)
		if err != nil {
			return cfg, cli.BadInput(fmt.Errorf("--kernel: %w", err))
		}
		cfg.Engine.KernelRelease = rel
	}
	switch f.family {
	case 0:
	case 4, 6:
		cfg.Families = []int{f.family}
	default:
		return cfg, cli.BadInput(fmt.Errorf("--family %d: want 4 or 6", f.family))
	}
	if f.prefix != "" {
		p, err := netip.ParsePrefix(f.prefix)
		if err != nil {
			a, aerr := netip.ParseAddr(f.prefix)
			if aerr != nil {
				return cfg, cli.BadInput(fmt.Errorf("--prefix %q: want an address or prefix such as 2001:db8::/48", f.prefix))
			}
			p = netip.PrefixFrom(a, a.BitLen())
		}
		cfg.Prefix = p.Masked()
	}
	if f.procs < 0 {
		return cfg, cli.BadInput(fmt.Errorf("--procs %d: want 1 or more, or 0 for one per core", f.procs))
	}
	if f.rcvbuf < 0 {
		return cfg, cli.BadInput(fmt.Errorf("--rcvbuf %d: want a size in bytes (0: %d)", f.rcvbuf, monitor.DefaultRcvBuf))
	}
	for _, d := range []struct {
		flag string
		v    time.Duration
		zero string
	}{
		{"--for", f.duration, "until interrupted"},
		{"--window", f.window, "the default"},
		{"--garp-margin", f.margin, "the default"},
		{"--locktime", f.locktime, "the default"},
	} {
		if d.v < 0 {
			return cfg, cli.BadInput(fmt.Errorf("%s %v: want a positive duration (0: %s)", d.flag, d.v, d.zero))
		}
	}
	return cfg, nil
}

func newWatchCmd() *cobra.Command {
	var f watchFlags
	cmd := &cobra.Command{
		Use:   "watch",
		Short: "Watch live route and neighbour events and name the races as they happen",
		Long: `watch follows the kernel's route, route-cache, neighbour, link and address
events of a network namespace and prints them as ` + "`ip -ts monitor`" + ` lines, with
the markers iproute2 lacks (Replaced, Cloned, Resync, Inferred, Polled), or
as JSON lines (which begin with the tables as the watch found them, marked
initial, so that replay-trace of them starts from the same view). It never
loses state: after a netlink receive overflow it
dumps the tables again and prints the differences. Its detectors report
non-atomic route changes, route-cache entries that contradict their route
or come back as a routing daemon's routes, other processes' netlink sockets
that drop messages (from /proc/net/netlink, with the process named),
neighbour entries held in INCOMPLETE, DELAY or PROBE past the bound their
device's timers allow, entries evicted by garbage collection while in use,
gratuitous ARPs the neighbour table ignored, unannounced MAC changes, and
overflows.`,
		Args: cli.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := f.watchConfig()
			if err != nil {
				return err
			}
			if n := watchProcs(f.procs, cmd.Flags().Changed("procs"), os.Getenv("GOMAXPROCS")); n > 0 {
				defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(n))
			}
			level := slog.LevelWarn
			if f.verbose {
				level = slog.LevelDebug
			}
			cfg.Logger = slog.New(slog.NewTextHandler(cmd.ErrOrStderr(), &slog.HandlerOptions{Level: level}))
			cfg.Out = cmd.OutOrStdout()
			if term.IsTerminal(int(os.Stderr.Fd())) && cmd.ErrOrStderr() == os.Stderr {
				cfg.Status = os.Stderr
			}
			ctx := cmd.Context()
			if f.duration > 0 {
				// --for counts from when the watch is up (the initial dumps
				// in, the sniffer bound), not from the start: a loaded host's
				// slow first dump must not eat the time watched.
				var cancel func()
				ctx, cancel = context.WithCancel(ctx)
				defer cancel()
				ready := make(chan struct{})
				cfg.Ready = ready
				go func() {
					select {
					case <-ready:
						t := time.NewTimer(f.duration)
						defer t.Stop()
						select {
						case <-t.C:
							cancel()
						case <-ctx.Done():
						}
					case <-ctx.Done():
					}
				}()
			}
			err = livewatch.Run(ctx, cfg)
			if errors.Is(err, livewatch.ErrNoSuchDev) {
				return cli.BadInput(err)
			}
			return err
		},
	}
	fl := cmd.Flags()
	fl.BoolVar(&f.json, "json", false, "print JSON lines instead of ip -ts monitor text")
	fl.IntVar(&f.family, "family", 0, "follow only IPv4 (4) or IPv6 (6)")
	fl.StringVar(&f.dev, "dev", "", "print only events about this interface (it must exist in the namespace)")
	fl.StringVar(&f.prefix, "prefix", "", "print only events inside this prefix")
	fl.StringVar(&f.netns, "netns", "", "watch this network namespace (name under /run/netns, or a path)")
	fl.StringVar(&f.metrics, "metrics", "", "serve Prometheus metrics on this address, e.g. 127.0.0.1:9740")
	fl.BoolVar(&f.sniff, "sniff", false, "capture ARP and NA frames on the namespace's interfaces")
	fl.BoolVar(&f.heal, "heal", false, "delete a route-cache entry that contradicts its route (that entry only)")
	fl.BoolVar(&f.quiet, "quiet", false, "print findings only")
	fl.DurationVar(&f.cachePoll, "cache-poll", livewatch.DefaultCachePoll, "how often to dump the IPv6 route cache (negative: never)")
	fl.DurationVar(&f.neighPoll, "neigh-poll", livewatch.DefaultNeighPoll, "how often to dump the neighbour tables for entries that changed unannounced (negative: never)")
	fl.DurationVar(&f.dropsPoll, "drops-poll", livewatch.DefaultDropsPoll, "how often to check other processes' netlink sockets for drops in /proc/net/netlink (negative: never)")
	fl.DurationVar(&f.window, "window", 0, "longest delete-to-add gap counted as a non-atomic change (default 50ms)")
	fl.DurationVar(&f.margin, "garp-margin", 0, "wait beyond locktime before calling a gratuitous ARP ignored (default 500ms)")
	fl.DurationVar(&f.locktime, "locktime", 0, "the watched host's neighbour locktime (default 1s)")
	fl.DurationVar(&f.duration, "for", 0, "stop after watching this long, counted once the watch is up (default: until interrupted)")
	fl.IntVar(&f.rcvbuf, "rcvbuf", 0, "netlink receive buffer in bytes, forced past net.core.rmem_max with CAP_NET_ADMIN (0: 32 MiB); a smaller one overflows sooner, and each overflow costs a dump of every table")
	fl.IntVar(&f.procs, "procs", 1, "threads running the watch's Go code at once (GOMAXPROCS; 0: one per core the process may use; a GOMAXPROCS in the environment stands unless --procs is given). On one, the socket's reader hands each batch to the decoder on the same thread, 13 % less CPU per event than on two; two take a backlog about 1.3x as fast (bench/watch-drain.sh)")
	fl.BoolVarP(&f.verbose, "verbose", "v", false, "log diagnostics")
	fl.StringVar(&f.kernel, "kernel", "", "the watched kernel, for the reasons findings give: a `PROFILE`, a release as uname -r prints it, or auto (the default: the running kernel)")
	return cmd
}

// watchProcs returns the GOMAXPROCS the watch runs with, 0 to leave the
// runtime's own (one per core the process may use): --procs, unless it
// was not given and the environment sets GOMAXPROCS. The watch's work
// is one pipeline (a reader draining the socket, a decoder behind it),
// concurrent but not parallel: on one P the reader's hand-over of a
// batch is a goroutine switch on the same thread, where across two it
// wakes a thread on the other core and the batch's bytes follow it there
// (bench/README.md, 2026-12-03 13:50: 13 % less CPU per event on the
// 600,000-event storm, and a backlog drained at 287,000 events/s against
// two threads' 390,000).
func watchProcs(procs int, given bool, env string) int {
	if !given && env != "" {
		return 0
	}
	return procs
}
