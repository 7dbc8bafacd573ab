package lab

import (
	"context"
	"errors"
	"os"
	"strings"
	"testing"
	"time"

	"raceroute/explore"
	"raceroute/lab/fib6host"
	"raceroute/live/netns/nstest"
	"raceroute/scenario"
)

// liveHost is the running kernel, for tests that need root.
func liveHost(t *testing.T) Host {
	t.Helper()
	nstest.RequireRoot(t)
	h, err := DetectHost(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return h
}

// modelOf checks variant v on the host's profile as `raceroute check`
// does, for Compare: sampled checks' rates, and for an exhaustive
// violation the share of random schedules that violate.
func modelOf(t *testing.T, sc *scenario.Scenario, v scenario.Variant, h Host) []ModelVerdict {
	t.Helper()
	ctx := context.Background()
	var out []ModelVerdict
	for _, p := range h.Profile.Resolve(sc.Switches()) {
		ov := scenario.Overrides{Seed: 1}
		c, err := sc.CompileFor(v, p, ov)
		if err != nil {
			t.Fatal(err)
		}
		opts := sc.Options(ov)
		mv := ModelVerdict{Kernel: p.ID(), Sampled: opts.Strategy != explore.DFS}
		var res explore.Result
		if mv.Sampled {
			var st explore.SampleStats
			res, st = c.Sample(ctx, opts)
			mv.Runs = st.Runs
		} else {
			res = c.Check(ctx, opts)
			mv.Exhaustive = res.Exhaustive
		}
		share := SampleShare(ctx, c, opts)
		for _, pr := range res.Properties {
			mp := ModelPropVerdict{Name: pr.Name, Verdict: pr.Verdict}
			if mv.Sampled {
				mp.Rate, mp.CIHigh, mp.RateKnown = pr.Rate, pr.High, true
			} else if pr.Verdict == explore.Violated {
				mp.Rate, mp.RateKnown = share[pr.Name], true
			}
			mv.Properties = append(mv.Properties, mp)
		}
		out = append(out, mv)
	}
	return out
}

// runLive prepares and runs one variant, and checks it left nothing.
func runLive(t *testing.T, sc *scenario.Scenario, v scenario.Variant, h Host, o Options) *Result {
	t.Helper()
	l, err := Prepare(sc, v, h)
	if err != nil {
		t.Fatal(err)
	}
	res, err := l.Run(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Namespaces) == 0 {
		t.Error("the run names no namespace it created")
	}
	return res
}

// TestLibraryFib6Live runs every fib6 scenario of the library on the
// running kernel, the apply-* ones with their no-gap property and heal
// op included: the live verdicts must agree with the model's.
func TestLibraryFib6Live(t *testing.T) {
	h := liveHost(t)
	lib, err := scenario.Library()
	if err != nil {
		t.Fatal(err)
	}
	n, noGap, nh := 0, 0, 0
	for _, sc := range lib {
		if sc.Model != "fib6" {
			continue
		}
		for _, v := range sc.Variants {
			if gap := labGap(sc, v, h); gap != "" {
				t.Run(sc.FullName(v), func(t *testing.T) { t.Skipf("not played live: %s", gap) })
				continue
			}
			if _, err := Prepare(sc, v, h); IsRefused(err) && strings.Contains(err.Error(), "the lab sends no ICMPv6 messages") {
				t.Run(sc.FullName(v), func(t *testing.T) { t.Skipf("not played live: %v", err) })
				continue
			}
			if strings.HasPrefix(sc.Name, "multipath-") || strings.Contains(sc.Name, "nexthop") {
				nh++
			}
			t.Run(sc.FullName(v), func(t *testing.T) {
				res := runLive(t, sc, v, h, Options{Seed: 1})
				c := Compare(res, modelOf(t, sc, v, h))
				if c.Agreement != Agree {
					t.Errorf("live %s, comparison %s: %+v\nevents: %+v", res.Verdict, c.Agreement, c.Properties, res.Events)
				}
				want, _, err := v.Expected(h.Profile)
				if err != nil {
					t.Fatal(err)
				}
				if res.Verdict != want {
					t.Errorf("live verdict %s, the library expects %s on %s", res.Verdict, want, h.Profile.Name)
				}
				for _, p := range res.Properties {
					if p.Name == "no-gap" {
						noGap++
					}
				}
			})
			n++
		}
	}
	if n < 27 || noGap < 8 || nh < 8 {
		t.Errorf("ran %d fib6 variants live, %d with no-gap judged, %d of nexthop objects or multipath routes; want 27 at least (the 8 of the apply scenarios with no-gap, the 8 of nexthop-group-delete, apply-nexthop-move and multipath-*)", n, noGap, nh)
	}
	if l := nstest.NamespacesOf(t, os.Getpid()); len(l) > 0 {
		t.Errorf("namespaces left behind: %v", l)
	}
}

// labGap returns the reasons the lab refuses variant v for model
// capabilities it does not play live (fib6host.LabGaps), or "" when it
// hosts it or refuses it for anything else (which runLive then reports).
func labGap(sc *scenario.Scenario, v scenario.Variant, h Host) string {
	_, err := Prepare(sc, v, h)
	var r *Refused
	if !errors.As(err, &r) {
		return ""
	}
	for _, why := range r.Reasons {
		known := false
		for _, g := range fib6host.LabGaps() {
			known = known || strings.HasPrefix(why, g)
		}
		if !known {
			return ""
		}
	}
	return strings.Join(r.Reasons, "; ")
}

// TestNeighLive runs short neigh scenarios in real time: one that holds
// on this kernel as in the model (neutron-garp-2017 cut to 6 s), one
// that is violated live as in the model.
func TestNeighLive(t *testing.T) {
	h := liveHost(t)
	tests := []struct {
		file string
		want explore.Verdict
		// in is a word the explanation of the first property has.
		in string
		// frames: the run sends ARP (the other has no sender and no
		// traffic: the wire stays silent).
		frames bool
	}{
		{"testdata/neutron-garp-short.yaml", explore.Holds, "learnt router-b/qg-b's MAC fa:16:3e:bb:bb:bb", true},
		{"testdata/stale-no-traffic.yaml", explore.Violated, "still does not hold new/eth0's MAC 02:00:00:00:00:03", false},
		// announcement-taken, judged live from the frames and the entry's
		// events (it was left unjudged, and so compared as violated)
		{"../scenario/library/garp-announcement-ignored.yaml", explore.Holds, "held the announced MAC 02:00:00:00:05:0b after the last announcement", true},
	}
	for _, tc := range tests {
		t.Run(tc.file, func(t *testing.T) {
			t.Parallel()
			sc, err := scenario.Load(tc.file)
			if err != nil {
				t.Fatal(err)
			}
			v := sc.Variants[0]
			res := runLive(t, sc, v, h, Options{Seed: 1})
			if res.Verdict != tc.want || !strings.Contains(res.Properties[0].Explanation, tc.in) {
				t.Errorf("live %s (want %s): %+v", res.Verdict, tc.want, res.Properties)
			}
			c := Compare(res, modelOf(t, sc, v, h))
			if c.Agreement != Agree {
				t.Errorf("comparison %s: %+v", c.Agreement, c.Properties)
			}
			hasFrame, hasNeigh := false, false
			for _, e := range res.Events {
				hasFrame = hasFrame || e.Source == "frame"
				hasNeigh = hasNeigh || e.Label == "[NEIGH]"
			}
			if hasFrame != tc.frames || !hasNeigh {
				t.Errorf("the run recorded frames %v (want %v), neighbour events %v (want true)", hasFrame, tc.frames, hasNeigh)
			}
		})
	}
}

// TestRunCleansUpWhenInterrupted: a run whose context ends (SIGINT) or
// whose actor panics deletes everything it created.
func TestRunCleansUpWhenInterrupted(t *testing.T) {
	h := liveHost(t)
	sc, err := scenario.Load("testdata/neutron-garp-short.yaml")
	if err != nil {
		t.Fatal(err)
	}
	l, err := Prepare(sc, sc.Variants[0], h)
	if err != nil {
		t.Fatal(err)
	}
	t.Run("interrupted", func(t *testing.T) {
		// Interrupted at the run's first progress report, a second
		// into its timeline: its hosts are built however long that took
		// (a fixed 2 s could end a loaded machine's run before).
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		res, err := l.Run(ctx, Options{Seed: 1, Progress: func(time.Duration, time.Duration) { cancel() }})
		if err == nil || !errors.Is(err, context.Canceled) {
			t.Errorf("Run after its context ended: %v, want context.Canceled", err)
		}
		if res == nil || len(res.Namespaces) < 5 {
			t.Errorf("the interrupted run did not get to build its hosts: %+v", res)
		}
		if l := nstest.NamespacesOf(t, os.Getpid()); len(l) > 0 {
			t.Errorf("an interrupted run left %v", l)
		}
	})
	t.Run("panic", func(t *testing.T) {
		res, err := l.Run(context.Background(), Options{Seed: 1, Progress: func(time.Duration, time.Duration) { panic("boom") }})
		if err == nil || !strings.Contains(err.Error(), "panic: boom") {
			t.Errorf("Run whose progress panicked: %v", err)
		}
		if res == nil || len(res.Namespaces) == 0 {
			t.Errorf("no namespaces recorded: %+v", res)
		}
		if l := nstest.NamespacesOf(t, os.Getpid()); len(l) > 0 {
			t.Errorf("a run that panicked left %v", l)
		}
	})
}
