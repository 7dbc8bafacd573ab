// Package liverun holds what every live run of the lab shares, whatever
// it plays: the host it runs on (DetectHost), its options, the recorder
// of the netlink events, frames and actions it sees, and its result in
// the shape of a check report. Package lab prepares and runs scenarios
// on it (lab/segment for neigh, lab/fib6host for fib6); lab/window
// measures on it.
package liverun

import (
	"context"
	"strings"
	"time"

	"raceroute/explore"
)

// Limits of what the lab builds.
const (
	// MaxNamespaces bounds the namespaces of one run (hosts, peers and
	// the segment).
	MaxNamespaces = 16
	// IfNameMax is IFNAMSIZ - 1: the longest interface name the kernel
	// takes (dev_valid_name()).
	IfNameMax = 15
)

// ValidIfName mirrors dev_valid_name() (net/core/dev.c): not empty,
// shorter than IFNAMSIZ, not "." or "..", no '/', ':' or white space.
func ValidIfName(n string) bool {
	return n != "" && len(n) <= IfNameMax && n != "." && n != ".." && !strings.ContainsAny(n, "/: \t\n\r\v\f")
}

// SleepUntil waits until t or until ctx ends, and returns ctx's error
// then.
func SleepUntil(ctx context.Context, t time.Time) error {
	d := time.Until(t)
	if d <= 0 {
		return ctx.Err()
	}
	tm := time.NewTimer(d)
	defer tm.Stop()
	select {
	case <-tm.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
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

	// Watched are the hosts whose frames the story shows: those a
	// property watches or a flow sends from.
	Watched map[string]bool `json:"-"`
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
		case e.Source == "frame" && !r.Watched[e.Host]:
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

// Finish fills the verdict fields from the properties.
func (r *Result) Finish() {
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
