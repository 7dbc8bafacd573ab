// Package lab runs a scenario on the live kernel and compares what the
// kernel did with what the model says it does.
//
// A scenario's hosts become network namespaces (live/netns), named
// rr-<pid>-..., joined by veth pairs and, where several hosts share an
// Ethernet segment, a bridge in a namespace of its own. The lab sets the
// scenario's addresses, routes, neighbour entries and per-interface
// sysctls through netlink and /proc/sys inside those namespaces, then
// plays the actors on the scenario's timeline in real time: route
// changes through netlink with the scenario's exact flags, ARP frames
// through AF_PACKET (iputils arping where the scenario's preset is
// arping, keepalived where it is keepalived), traffic through real
// sockets inside the namespaces. It records
// every netlink event and ARP frame with its time, evaluates the
// scenario's properties on what the kernel did, and deletes everything
// it created on every exit path (a run killed outright leaves what
// netns.Cleanup removes).
//
// Prepare refuses, before anything is created, a scenario the running
// kernel or the lab cannot host, with the reasons. Compare sets a live
// verdict beside the model's (exhaustive or sampled) and says what the
// comparison covers; RunItem checks the model with package check, runs
// the scenario live and compares the two, and WriteText and WriteMatrix
// print that as `raceroute lab` does.
//
// Its parts: lab/liverun holds what every run shares (the host, the
// recorder, the result), lab/segment plays neigh scenarios, lab/fib6host
// fib6 scenarios; lab/window measures the seed's delete+add window on
// the running kernel, lab/fuzz tests the models against it with random
// cases.
package lab

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"raceroute/lab/fib6host"
	"raceroute/lab/liverun"
	"raceroute/lab/segment"
	"raceroute/live/netns"
	"raceroute/scenario"
	"raceroute/scenario/fib6file"
	"raceroute/scenario/neighfile"
)

// What a run shares with the packages that play it (lab/liverun).
type (
	// Host is the machine a run runs on: its kernel, profile and tools.
	Host = liverun.Host
	// Options are a live run's.
	Options = liverun.Options
	// Result is a live run's verdict, in the shape of a check report.
	Result = liverun.Result
	// Event is one thing that happened in a live run.
	Event = liverun.Event
)

// DetectHost reads the running kernel's release and profile and what
// the lab finds on it (liverun.DetectHost).
func DetectHost(ctx context.Context) (Host, error) { return liverun.DetectHost(ctx) }

// Refused is a scenario the lab cannot host here, with every reason.
type Refused struct {
	Scenario string
	Reasons  []string
}

func (e *Refused) Error() string {
	return fmt.Sprintf("%s cannot run live on this kernel: %s", e.Scenario, strings.Join(e.Reasons, "; "))
}

// Live is a scenario variant prepared for a live run: compiled on the
// running kernel's profile and checked hostable. Nothing exists on the
// kernel until Run.
type Live struct {
	// Scenario is the scenario's full name (NAME/VARIANT).
	Scenario string
	// Model is the scenario's model: fib6 or neigh.
	Model string
	// Duration is how long the run takes: the horizon of a timed
	// scenario, which runs in real time, plus the time to build its
	// hosts; Timed tells which.
	Duration time.Duration
	Timed    bool
	// Properties are the names of the scenario's properties, as the
	// model's checker names them.
	Properties []string
	// Notes say where the live run departs from the model's reading of
	// the scenario (approximations the lab cannot avoid).
	Notes []string

	host  Host
	neigh *segment.Plan
	fib6  *fib6host.Plan
}

// Prepare compiles variant v of sc on h's profile and checks that the
// lab can host it on h. A scenario it cannot host gives a *Refused with
// every reason; nothing is created either way.
func Prepare(sc *scenario.Scenario, v scenario.Variant, h Host) (*Live, error) {
	l := &Live{Scenario: sc.FullName(v), Model: sc.Model, host: h}
	chk, err := sc.Compile(v, h.Profile)
	if err != nil {
		return nil, err
	}
	l.Properties = chk.Properties()
	var reasons []string
	switch sc.Model {
	case "neigh":
		m, horizon, err := neighfile.Build(sc, v, h.Profile)
		if err != nil {
			return nil, err
		}
		l.neigh, reasons = segment.Prepare(m.Config(), time.Duration(horizon)*time.Millisecond, h, l.Properties)
		if l.neigh != nil {
			l.Timed, l.Duration, l.Notes = true, l.neigh.Duration(), l.neigh.Notes()
		}
	case "fib6":
		c, err := fib6file.Build(sc, v, h.Profile)
		if err != nil {
			return nil, err
		}
		l.fib6, reasons = fib6host.Prepare(c, h)
		if l.fib6 != nil {
			l.Duration, l.Notes = l.fib6.Duration(), l.fib6.Notes()
		}
	default:
		reasons = []string{fmt.Sprintf("the lab plays models fib6 and neigh, not %q", sc.Model)}
	}
	if len(reasons) > 0 {
		return nil, &Refused{Scenario: l.Scenario, Reasons: reasons}
	}
	return l, nil
}

// IsRefused reports whether err is a refusal to host a scenario.
func IsRefused(err error) bool {
	var r *Refused
	return errors.As(err, &r)
}

// Run builds the scenario's hosts, plays it, judges its properties on
// what the kernel did, and deletes everything it created on every way
// out: an error, ctx ending (SIGINT), a panic (re-raised once the
// namespaces are gone).
func (l *Live) Run(ctx context.Context, o Options) (res *Result, err error) {
	start := time.Now()
	res = &Result{Scenario: l.Scenario, Release: l.host.Release, Profile: l.host.Profile.Name, Seed: o.Seed,
		Notes: append([]string(nil), l.Notes...)}
	run, err := netns.NewRun()
	if err != nil {
		return nil, err
	}
	defer func() {
		p := recover()
		res.Namespaces = run.Names()
		if cerr := run.Close(); cerr != nil {
			err = errors.Join(err, fmt.Errorf("%s: delete what the run created: %w", l.Scenario, cerr))
		}
		res.ElapsedMS = float64(time.Since(start).Microseconds()) / 1000
		if p != nil {
			panic(p)
		}
	}()
	switch {
	case l.neigh != nil:
		err = l.neigh.Run(ctx, run, o, res)
	case l.fib6 != nil:
		err = l.fib6.Run(ctx, run, o, res)
	}
	if err != nil {
		return res, fmt.Errorf("%s live: %w", l.Scenario, err)
	}
	if err := ctx.Err(); err != nil {
		return res, fmt.Errorf("%s live: interrupted: %w", l.Scenario, err)
	}
	res.Finish()
	return res, nil
}
