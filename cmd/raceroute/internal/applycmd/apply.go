// Package applycmd is raceroute apply FILE: the route writer on the command line.
package applycmd

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"runtime/debug"
	"strconv"
	"strings"

	"github.com/spf13/cobra"
	"golang.org/x/term"

	"raceroute/apply"
	"raceroute/apply/routefile"
	"raceroute/cmd/raceroute/internal/cli"
	"raceroute/kernel"
	"raceroute/profile"
)

// applyFlags are the flags of `raceroute apply`.
type applyFlags struct {
	netns    string
	proto    string
	tables   []string
	prune    bool
	dryRun   bool
	rollback bool
	nexthops string
	kernel   string
	batch    int
	family   int
	report   string
	list     int
	moved    bool
}

// New is the apply command.
func New() *cobra.Command {
	f := &applyFlags{}
	cmd := &cobra.Command{
		Use:   "apply FILE",
		Short: "Bring the routes of one protocol to the desired state of FILE: atomic, batched, verified",
		Long: `apply reads the desired routes of FILE ("-" for standard input): one per
line in iproute2 syntax, as ip -batch takes them after "route replace"
("10.0.0.0/24 via 10.9.0.2 dev eth0 metric 10"; a leading "route replace"
is allowed), or JSON as "ip -j route" prints it. The whole file is checked
first (syntax, devices, tables, keys held by other protocols' routes);
nothing is written if any route is refused.

It then reads the kernel's tables, plans the difference for the routes of
its protocol (--proto) in its tables, and writes it with NLM_F_REPLACE in
batches, every acknowledgement checked, choosing for each change the
strategy the model shows safe on the kernel (make before break where IPv6
replace adds instead, add then delete for a metric change, a heal of the
IPv6 route cache where lookups clone), using nexthop objects where the
kernel has them, and reads the tables back. Routes of other protocols are
never touched. A second apply of the same file writes nothing.`,
		Args: cli.ExactArgs(1, "a route file (or - for standard input)"),
		RunE: func(cmd *cobra.Command, args []string) error { return runApply(cmd, args[0], f) },
	}
	fl := cmd.Flags()
	fl.StringVar(&f.netns, "netns", "", "the network namespace (a name under /run/netns or a path)")
	fl.StringVar(&f.proto, "proto", strconv.Itoa(int(apply.DefaultProto)), "the routing protocol (name or number) of the routes this apply owns")
	fl.StringSliceVar(&f.tables, "table", nil, "a table this apply owns beside main and those FILE names (repeatable; for --prune)")
	fl.BoolVar(&f.prune, "prune", false, "delete the routes of --proto in the owned tables that FILE does not list")
	fl.BoolVar(&f.dryRun, "dry-run", false, "print the plan (every change and its strategy) and write nothing")
	fl.BoolVar(&f.rollback, "rollback-on-error", false, "if any change fails or does not read back, restore the routes as they were")
	fl.StringVar(&f.nexthops, "nexthops", "auto", "nexthop objects: auto (where the kernel has them), on (required), off")
	fl.StringVar(&f.kernel, "kernel", "auto", "the kernel profile to choose strategies for: auto (the running kernel), a profile or a release")
	fl.IntVar(&f.batch, "batch", 0, "requests per sendmsg (0: the default, 512)")
	fl.IntVar(&f.family, "family", 0, "the family (4 or 6) of `default` routes that do not show theirs")
	fl.StringVar(&f.report, "report", "", "write every change and its outcome to this file, as JSON")
	fl.BoolVar(&f.moved, "read-back-moved", false, "after a move that only replaces nexthop objects, also dump the routes and check that those of ours using them are still the ones planned (they were not written; by default only the objects are read back)")
	fl.IntVar(&f.list, "list", 20, "after a partial failure, list at most this many applied changes (-1: all)")
	return cmd
}

func runApply(cmd *cobra.Command, file string, f *applyFlags) error {
	proto, ok := kernel.ParseProto(f.proto)
	if !ok {
		return cli.BadInput(fmt.Errorf("--proto %q: want a protocol name or a number from 1 to 255", f.proto))
	}
	if f.family != 0 && f.family != 4 && f.family != 6 {
		return cli.BadInput(fmt.Errorf("--family %d: want 4 or 6", f.family))
	}
	tables := routefile.SystemTables()
	var owned []uint32
	for _, t := range f.tables {
		n, err := strconv.ParseUint(t, 0, 32)
		if err != nil {
			v, ok := tables[t]
			if !ok {
				return cli.BadInput(fmt.Errorf("--table %q: no such table (a number, or a name of iproute2's rt_tables)", t))
			}
			n = uint64(v)
		}
		owned = append(owned, uint32(n))
	}
	var prof *profile.Profile
	if f.kernel != "auto" {
		p, err := profile.Lookup(f.kernel)
		if err != nil {
			return cli.BadInput(fmt.Errorf("--kernel: %w", err))
		}
		prof = &p
	}
	stderr := cmd.ErrOrStderr()
	opts := apply.Options{Netns: f.netns, Proto: proto, Tables: owned, Prune: f.prune, Nexthops: apply.NexthopMode(f.nexthops),
		Profile: prof, Batch: f.batch, RollbackOnError: f.rollback, ReadBackMoved: f.moved}
	if tf, ok := stderr.(*os.File); ok && term.IsTerminal(int(tf.Fd())) {
		opts.Progress = func(done, total int) {
			fmt.Fprintf(stderr, "\rapply: %d of %d requests answered", done, total)
		}
	}
	ctx := cmd.Context()
	hint := routesHint(file)
	setGC(hint)
	// The kernel dumps its tables while the file is read; a file's
	// errors still come before the writer's (an unknown namespace).
	w, openErr := apply.Open(opts)
	if openErr == nil {
		defer w.Close()
		w.Prefetch(ctx, hint)
	}
	routes, meta, name, err := readRoutes(cmd, file, f.family, tables)
	if err != nil {
		return err
	}
	var bad []string
	for _, m := range meta {
		if m.Proto != 0 && m.Proto != proto {
			bad = append(bad, fmt.Sprintf("%s:%d: proto %s: this apply owns proto %s (--proto) and writes no other", name, m.Line, m.Proto, proto))
		}
	}
	if len(bad) > 0 {
		return cli.BadInput(errors.New(strings.Join(bad, "\n")))
	}
	if openErr != nil {
		return cli.BadInput(openErr)
	}
	plan, err := w.Plan(ctx, routes)
	var ve *apply.ValidationError
	if errors.As(err, &ve) {
		lines := make([]string, len(ve.Problems))
		for i, p := range ve.Problems {
			lines[i] = fmt.Sprintf("%s:%d: %s: %s", name, meta[p.Index].Line, p.Route, p.Msg)
		}
		return cli.BadInput(fmt.Errorf("%d route(s) refused, nothing written:\n%s", len(lines), strings.Join(lines, "\n")))
	}
	if err != nil {
		return err
	}
	out := cmd.OutOrStdout()
	if f.dryRun {
		plan.WriteText(out)
		return nil
	}
	res, err := w.Apply(ctx, plan)
	if opts.Progress != nil {
		fmt.Fprint(stderr, "\r\033[K")
	}
	if res != nil {
		res.WriteText(out, f.list)
		if f.report != "" {
			if rerr := writeReport(f.report, res); rerr != nil {
				return errors.Join(err, rerr)
			}
		}
	}
	if err != nil {
		return err
	}
	if e := res.Err(); e != nil {
		return fmt.Errorf("apply %s: %w", name, e)
	}
	return nil
}

// setGC tunes the garbage collector for an apply of about hint routes
// (0: unknown), unless GOGC or GOMEMLIMIT say otherwise. A large apply
// holds every route a few times over (the file's, the kernel's, the
// plan's), most of it live to the end, and lives under a second: a
// collection finds little to free, and its marking takes a CPU from the
// work on 2 (a tenth of a move's CPU time at 200,000 routes, at
// GOGC=400). With a size known it collects only past a memory limit far
// above what the apply allocates (about 1 KiB a route, all of it, at
// 200,000); from standard input, at GOGC=400.
func setGC(hint int) {
	if os.Getenv("GOGC") != "" || os.Getenv("GOMEMLIMIT") != "" {
		return
	}
	if hint == 0 {
		debug.SetGCPercent(400)
		return
	}
	debug.SetGCPercent(-1)
	debug.SetMemoryLimit(256<<20 + int64(hint)*4096)
}

// routesHint guesses from its size how many routes a file desires (a
// line of iproute2 syntax is some 30 bytes), 0 for standard input.
func routesHint(file string) int {
	fi, err := os.Stat(file)
	if file == "-" || err != nil {
		return 0
	}
	return int(min(fi.Size()/32, 1<<24))
}

// readRoutes reads the route file (or standard input for "-").
func readRoutes(cmd *cobra.Command, file string, family int, tables map[string]uint32) ([]apply.Route, []routefile.Meta, string, error) {
	var r io.Reader
	name := file
	if file == "-" {
		r, name = cmd.InOrStdin(), "stdin"
	} else {
		fh, err := os.Open(file)
		if err != nil {
			return nil, nil, name, cli.BadInput(fmt.Errorf("route file: %w", err))
		}
		defer fh.Close()
		r = fh
	}
	routes, meta, err := routefile.ReadRoutes(r, routefile.Options{Name: name, Family: family, Tables: tables})
	if err != nil {
		return nil, nil, name, cli.BadInput(fmt.Errorf("%w\nnothing written", err))
	}
	return routes, meta, name, nil
}

// reportChange is one change of --report.
type reportChange struct {
	Kind     string   `json:"kind"`
	From     string   `json:"from,omitempty"`
	To       string   `json:"to,omitempty"`
	Strategy string   `json:"strategy,omitempty"`
	Heal     bool     `json:"heal,omitempty"`
	Why      string   `json:"why"`
	Evidence []string `json:"evidence,omitempty"`
	Nexthop  string   `json:"nexthop,omitempty"`
	Outcome  string   `json:"outcome"`
	Error    string   `json:"error,omitempty"`
}

func writeReport(path string, res *apply.Result) error {
	var out struct {
		Changes  []reportChange `json:"changes"`
		Nexthops []reportChange `json:"nexthop_writes"`
		Requests int            `json:"requests"`
		Verified bool           `json:"verified"`
		Checked  string         `json:"checked,omitempty"`
		Verify   string         `json:"verify_error,omitempty"`
		Aborted  string         `json:"aborted,omitempty"`
		Healed   []string       `json:"healed,omitempty"`
	}
	conv := func(c apply.ChangeResult) reportChange {
		rc := reportChange{Kind: string(c.Change.Kind), Strategy: string(c.Change.Strategy), Heal: c.Change.Heal, Why: c.Change.Why,
			Evidence: c.Change.Evidence, Nexthop: c.Change.Nexthop, Outcome: string(c.Outcome)}
		if c.Change.From != nil {
			rc.From = c.Change.From.String()
		}
		if c.Change.To != nil {
			rc.To = c.Change.To.String()
		}
		if rc.Kind == "" {
			rc.Kind = "nexthop"
		}
		if c.Err != nil {
			rc.Error = c.Err.Error()
		}
		return rc
	}
	for _, c := range res.Changes {
		out.Changes = append(out.Changes, conv(c))
	}
	for _, c := range res.NexthopWrites {
		out.Nexthops = append(out.Nexthops, conv(c))
	}
	out.Requests, out.Verified, out.Checked, out.Aborted, out.Healed = res.Requests, res.Verified, res.Checked, res.Aborted, res.Healed
	if res.VerifyErr != nil {
		out.Verify = res.VerifyErr.Error()
	}
	b, err := json.MarshalIndent(out, "", "  ")
	if err != nil {
		return err
	}
	if err := os.WriteFile(path, append(b, '\n'), 0o644); err != nil {
		return fmt.Errorf("--report: %w", err)
	}
	return nil
}
