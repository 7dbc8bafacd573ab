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
// comparison covers. Window measures the seed's delete+add window on
// the running kernel.
package lab

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"raceroute/explore"
	"raceroute/live/netns"
	"raceroute/scenario"
	"raceroute/scenario/fib6file"
	"raceroute/scenario/neighfile"
)

// Limits of what the lab builds.
const (
	// MaxNamespaces bounds the namespaces of one run (hosts, peers and
	// the segment).
	MaxNamespaces = 16
	// ifNameMax is IFNAMSIZ - 1: the longest interface name the kernel
	// takes (dev_valid_name()).
	ifNameMax = 15
)

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
	neigh *neighRun
	fib6  *fib6Run
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
		l.neigh, reasons = prepareNeigh(m.Config(), time.Duration(horizon)*time.Millisecond, h, l.Properties)
		if l.neigh != nil {
			l.Timed, l.Duration, l.Notes = true, l.neigh.duration(), l.neigh.notes
		}
	case "fib6":
		c, err := fib6file.Build(sc, v, h.Profile)
		if err != nil {
			return nil, err
		}
		l.fib6, reasons = prepareFib6(c, h)
		if l.fib6 != nil {
			l.Duration, l.Notes = l.fib6.duration(), l.fib6.notes
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

// Options of a live run.
type Options struct {
	// Seed draws the times the scenario leaves open (windows such as
	// `start: 300ms..1300ms`, jitter): one live run is one draw.
	Seed uint64
	// Progress, if set, is called about once a second during a timed
	// run with the time played so far.
	Progress func(elapsed, total time.Duration)
}

// Result is a live run's verdict, in the shape of a check report.
type Result struct {
	Scenario string `json:"scenario"`
	// Release is the running kernel's; Profile the profile chosen for it.
	Release string `json:"release"`
	Profile string `json:"profile"`
	// Property is the first violated property, or every property's name
	// when none is violated.
	Property string          `json:"property"`
	Verdict  explore.Verdict `json:"verdict"`
	// Properties has every property's live verdict.
	Properties []PropertyResult `json:"properties"`
	// ElapsedMS is the run's wall-clock time, building included.
	ElapsedMS float64 `json:"elapsed_ms"`
	Seed      uint64  `json:"seed"`
	// Draws are the times drawn for this run from the scenario's windows.
	Draws []Draw `json:"draws,omitempty"`
	// Notes say where this run departed from the model's reading.
	Notes []string `json:"notes,omitempty"`
	// Namespaces are those the run created (all deleted at its end).
	Namespaces []string `json:"namespaces"`
	// Events are every netlink event, frame and lab action recorded,
	// in time order.
	Events []Event `json:"events"`

	// watched are the hosts whose frames the story shows: those a
	// property watches or a flow sends from.
	watched map[string]bool
}

// Story is the part of Events a reader follows: the lab's actions, the
// kernel's route, route-cache and neighbour changes from t=0 on, and the
// frames seen by the hosts the properties watch.
func (r *Result) Story() []Event {
	var out []Event
	for _, e := range r.Events {
		switch {
		case e.Source == "lab":
		case e.T < 0 || e.Initial:
			continue
		case e.Source == "frame" && !r.watched[e.Host]:
			continue
		case e.Source == "netlink" && e.Label != "[NEIGH]" && e.Label != "[ROUTE]" && e.Label != "[RTCAH]" && e.Label != "[OVERFLOW]" && e.Label != "[RESYNC]":
			continue
		}
		out = append(out, e)
	}
	return out
}

// PropertyResult is one property's live verdict.
type PropertyResult struct {
	Name        string          `json:"name"`
	Kind        explore.Kind    `json:"kind"`
	Verdict     explore.Verdict `json:"verdict"`
	Explanation string          `json:"explanation"`
}

// Draw is one time drawn from a window of the scenario.
type Draw struct {
	What string  `json:"what"`
	At   float64 `json:"at_s"`
	// Window is the scenario's window, as "0.300..1.300 s".
	Window string `json:"window"`
}

// finish fills the verdict fields from the properties.
func (r *Result) finish() {
	r.Verdict = explore.Holds
	var names []string
	for _, p := range r.Properties {
		names = append(names, p.Name)
		if p.Verdict == explore.Violated && r.Verdict != explore.Violated {
			r.Verdict, r.Property = explore.Violated, p.Name
		}
	}
	if r.Verdict != explore.Violated {
		r.Property = strings.Join(names, ", ")
	}
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
		err = l.neigh.run(ctx, run, o, res)
	case l.fib6 != nil:
		err = l.fib6.run(ctx, run, o, res)
	}
	if err != nil {
		return res, fmt.Errorf("%s live: %w", l.Scenario, err)
	}
	if err := ctx.Err(); err != nil {
		return res, fmt.Errorf("%s live: interrupted: %w", l.Scenario, err)
	}
	res.finish()
	return res, nil
}
