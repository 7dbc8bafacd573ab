// Package announcecmd is raceroute announce: gratuitous ARP and unsolicited NA on a preset's schedule.
package announcecmd

import (
	"fmt"
	"io"
	"net/netip"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"raceroute/announce"
	"raceroute/cmd/raceroute/internal/cli"
	"raceroute/kernel"
)

// announceFlags are the flags of `raceroute announce`.
type announceFlags struct {
	netns    string
	preset   string
	count    int
	interval time.Duration
	locktime time.Duration
	mac      string
	explain  bool
	// check runs raceroute check on scenarios, for --explain.
	check func(cmd *cobra.Command, scenarios []string) error
}

// New is the announce command; check runs `raceroute check` on the
// scenarios given (--explain checks the preset's evidence with it).
func New(check func(cmd *cobra.Command, scenarios []string) error) *cobra.Command {
	f := &announceFlags{check: check}
	cmd := &cobra.Command{
		Use:   "announce IP dev IFACE",
		Short: "Tell the link that IP moved to IFACE: gratuitous ARP or unsolicited NA on a schedule receivers honour",
		Long: `announce sends, out of IFACE, the frames that move the hosts' neighbour
entries for IP to IFACE's MAC (or --mac): for IPv4 gratuitous ARP requests
and replies (sender IP = target IP, the target MAC as the preset's peer
sets it), for IPv6 unsolicited neighbour advertisements to ff02::1
(Override set, Solicited clear, with the target link-layer address
option, from IFACE's link-local address, hop limit 255).

--preset chooses the schedule: neutron, keepalived, metallb and kube-vip
send what those agents send; safe (the default) sends a request and a
reply at once, then twice more 2 x --locktime apart, which the neigh model
shows converging on every kernel profile with default sysctls, the
library's receiver traffic included. --explain prints the schedule and
runs that check.`,
		Args: func(cmd *cobra.Command, args []string) error {
			if f.explain && len(args) == 0 {
				return nil
			}
			if len(args) != 3 || args[1] != "dev" {
				return cli.BadInput(fmt.Errorf("%s wants IP dev IFACE (got %q); usage: %s", cmd.CommandPath(), strings.Join(args, " "), cmd.UseLine()))
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error { return runAnnounce(cmd, args, f) },
	}
	fl := cmd.Flags()
	fl.StringVar(&f.netns, "netns", "", "the network namespace of IFACE (a name under /run/netns or a path)")
	fl.StringVar(&f.preset, "preset", "safe", "the schedule: neutron, keepalived, metallb, kube-vip or safe")
	fl.IntVar(&f.count, "count", 0, "rounds of the preset's frames (0: the preset's own)")
	fl.DurationVar(&f.interval, "interval", 0, "the time between rounds (0: the preset's own)")
	fl.DurationVar(&f.locktime, "locktime", announce.DefaultLocktime, "the receivers' net.ipv4.neigh.*.locktime, which the safe preset's spacing exceeds")
	fl.StringVar(&f.mac, "mac", "", "the MAC to announce (default: IFACE's)")
	fl.BoolVar(&f.explain, "explain", false, "print the preset's schedule and run the check that is its evidence")
	return cmd
}

func runAnnounce(cmd *cobra.Command, args []string, f *announceFlags) error {
	if f.count < 0 || f.interval < 0 || f.locktime <= 0 {
		return cli.BadInput(fmt.Errorf("--count and --interval must not be negative and --locktime must be positive (got %d, %v, %v)", f.count, f.interval, f.locktime))
	}
	p, err := announce.Lookup(f.preset, f.locktime)
	if err != nil {
		return cli.BadInput(fmt.Errorf("--preset: %w", err))
	}
	out := cmd.OutOrStdout()
	if f.explain {
		return explainPreset(cmd, out, p, f)
	}
	addr, err := netip.ParseAddr(args[0])
	if err != nil {
		return cli.BadInput(fmt.Errorf("announce: IP %q: %w", args[0], err))
	}
	opts := announce.Options{Netns: f.netns, Dev: args[2], Addr: addr.Unmap(), Preset: p, Count: f.count, Interval: f.interval}
	if f.mac != "" {
		if opts.MAC, err = kernel.ParseMAC(f.mac); err != nil {
			return cli.BadInput(fmt.Errorf("--mac %q: %w", f.mac, err))
		}
	}
	start := time.Now()
	opts.OnSend = func(s announce.Sent) {
		what := "unsolicited NA"
		if opts.Addr.Is4() {
			what = "gratuitous ARP " + s.Frame.Op.String()
		}
		fmt.Fprintf(out, "%8.3f s  %s for %v on %s\n", s.At.Sub(start).Seconds(), what, opts.Addr, opts.Dev)
	}
	rep, err := announce.Announce(cmd.Context(), opts)
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "announced %v at %s: %d frames, preset %s\n", opts.Addr, rep.MAC, len(rep.Sent), p.Name)
	return nil
}

// explainPreset prints p's schedule and runs the library check that is
// its evidence, as `raceroute check` would.
func explainPreset(cmd *cobra.Command, out io.Writer, p announce.Preset, f *announceFlags) error {
	fmt.Fprintf(out, "preset %s: %s\n", p.Name, p.Doc)
	at := time.Duration(0)
	for _, fr := range p.Schedule(f.count, f.interval) {
		at += fr.After
		tha := " (target MAC broadcast)"
		switch {
		case fr.THA == announce.THAZero:
			tha = " (target MAC zero)"
		case fr.Op == announce.Reply && fr.THA == announce.THADefault:
			tha = " (target MAC = sender's)"
		}
		fmt.Fprintf(out, "  +%-6v %s%s (IPv6: an unsolicited NA)\n", at, fr.Op, tha)
	}
	if f.count != 0 || f.interval != 0 || (p.Name == "safe" && f.locktime != announce.DefaultLocktime) {
		fmt.Fprintf(out, "note: the evidence below checks the preset as the library has it, not with --count, --interval or --locktime changed\n")
	}
	fmt.Fprintf(out, "evidence: library scenario %s (raceroute check %s), on every profile:\n\n", p.Evidence, p.Evidence)
	return f.check(cmd, []string{p.Evidence})
}
