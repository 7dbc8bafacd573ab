package check_test

import (
	"bytes"
	"context"
	"fmt"
	"maps"
	"slices"
	"testing"
	"time"

	"raceroute/check"
	"raceroute/explore"
	"raceroute/internal/seed000"
	"raceroute/profile"
	"raceroute/scenario"
)

// searchOf is what a reduced search must keep of the plain one: every
// property's verdict, and, from a run that never stops early, the
// terminal states (concrete, and up to symmetry) with the final
// properties each violates.
type searchOf struct {
	verdicts  []explore.Verdict
	terminals map[string]uint64 // encoding -> final properties violated
	classes   map[string]uint64 // the same, of the symmetry classes
	res       explore.Result
}

func search(t *testing.T, c explore.Checker, opts explore.Options, r explore.Reductions) searchOf {
	t.Helper()
	opts.Reduce = r
	opts.Budget, opts.ShrinkBudget, opts.Progress = 5*time.Minute, -1, nil
	var out searchOf
	out.res = c.Check(context.Background(), opts)
	if !out.res.Exhaustive && out.res.Verdict != explore.Violated {
		t.Fatalf("reduce=%s: not exhaustive (%s, %d states)", r, out.res.Verdict, out.res.States)
	}
	for _, p := range out.res.Properties {
		out.verdicts = append(out.verdicts, p.Verdict)
	}
	out.terminals, out.classes = map[string]uint64{}, map[string]uint64{}
	opts.Terminal = func(enc, canon []byte, violated uint64) {
		out.terminals[string(enc)] |= violated
		out.classes[string(canon)] |= violated
	}
	c.Check(context.Background(), opts)
	return out
}

// sameSearch fails t when reduced lost anything of plain; symmetric says
// whether the reduced search merged symmetric states (then terminal
// states are compared up to symmetry).
func sameSearch(t *testing.T, name string, plain, reduced searchOf, symmetric bool) {
	t.Helper()
	if !slices.Equal(plain.verdicts, reduced.verdicts) {
		t.Errorf("%s: verdicts %v, plain search %v", name, reduced.verdicts, plain.verdicts)
	}
	want, got := plain.terminals, reduced.terminals
	if symmetric {
		want, got = plain.classes, reduced.classes
	}
	if !maps.Equal(want, got) {
		missing, extra, differ := 0, 0, 0
		for k, v := range want {
			g, ok := got[k]
			switch {
			case !ok:
				missing++
			case g != v:
				differ++
			}
		}
		for k := range got {
			if _, ok := want[k]; !ok {
				extra++
			}
		}
		t.Errorf("%s: terminal states: %d of the plain search's %d missing, %d extra, %d with other violations", name, missing, len(want), extra, differ)
	}
	// (A search that stops at its first violation stops where its order
	// of exploration met it: only whole searches' counts compare.)
	if plain.res.Exhaustive && reduced.res.Exhaustive && reduced.res.States > plain.res.States {
		t.Errorf("%s: %d states, more than the plain search's %d", name, reduced.res.States, plain.res.States)
	}
}

// reductionSets are the reduced searches compared with the plain one (0
// is the default).
var reductionSets = []explore.Reductions{
	0,
	explore.ReduceSleep,
	explore.ReducePOR,
	explore.ReduceSleep | explore.ReducePOR,
	explore.ReduceSymmetry,
	explore.ReduceAll,
}

func compareReductions(t *testing.T, name string, c explore.Checker, opts explore.Options) {
	t.Helper()
	plain := search(t, c, opts, explore.ReduceNone)
	if plain.res.Reductions != "none" {
		t.Fatalf("%s: --reduce=none ran %s", name, plain.res.Reductions)
	}
	for _, r := range reductionSets {
		red := search(t, c, opts, r)
		ran, _ := explore.ParseReductions(red.res.Reductions)
		sameSearch(t, fmt.Sprintf("%s reduce=%s (ran %s)", name, r, red.res.Reductions), plain, red, ran&explore.ReduceSymmetry != 0)
	}
	// The parallel search with its default reductions (persistent sets
	// and symmetry where the model has them, else sleep sets), its
	// prefix small so that the workers search most of the space.
	par := opts
	par.Workers = 2
	par.Split = 4 // the workers, not the breadth-first prefix, explore most of it
	red := search(t, c, par, 0)
	if red.res.Workers != 2 {
		t.Fatalf("%s: --workers 2 ran %d workers", name, red.res.Workers)
	}
	ran, _ := explore.ParseReductions(red.res.Reductions)
	sameSearch(t, fmt.Sprintf("%s 2 workers (ran %s)", name, red.res.Reductions), plain, red, ran&explore.ReduceSymmetry != 0)
}

// TestReductionsLoseNothing checks every dfs scenario of the library, on
// every profile (one per distinct setting of the switches it reads), with
// each set of reductions against the plain search.
func TestReductionsLoseNothing(t *testing.T) {
	lib, err := scenario.Library()
	if err != nil {
		t.Fatal(err)
	}
	checked := 0
	for _, sc := range lib {
		for _, v := range sc.Variants {
			seen := map[string]bool{}
			for _, p0 := range profile.All() {
				for _, p := range p0.Resolve(sc.Switches()) {
					j := check.Job{Scenario: sc, Variant: v, Profile: p}
					k := check.SearchKey(j)
					if seen[k] {
						continue
					}
					seen[k] = true
					ov := scenario.Overrides{}
					opts := sc.Options(ov)
					if opts.Strategy != explore.DFS {
						continue
					}
					c, err := sc.CompileFor(v, p, ov)
					if err != nil {
						if want, _, e := v.Expected(p); e == nil && want == scenario.Refused {
							continue // the kernel lacks what it uses: nothing to search
						}
						t.Fatal(err)
					}
					compareReductions(t, sc.FullName(v)+" on "+p.ID(), c, opts)
					checked++
				}
			}
		}
	}
	if checked < 10 {
		t.Fatalf("only %d library searches compared", checked)
	}
}

// TestReductionsLoseNothingScaled checks the seed-000 family
// (bench/seed000) up to the sizes the plain search finishes in a test.
func TestReductionsLoseNothingScaled(t *testing.T) {
	maxNL := 5
	if testing.Short() {
		maxNL = 3
	}
	for _, kernel := range []string{"linux-3.16", "linux-6.12"} {
		p, err := profile.Lookup(kernel)
		if err != nil {
			t.Fatal(err)
		}
		for nl := 1; nl <= maxNL; nl++ {
			sc, err := scenario.Parse(fmt.Sprintf("seed000-nl%d.yaml", nl), seed000file(t, nl))
			if err != nil {
				t.Fatal(err)
			}
			c, err := sc.Compile(sc.Variants[0], p)
			if err != nil {
				t.Fatal(err)
			}
			name := fmt.Sprintf("seed000 NL=%d on %s", nl, kernel)
			compareReductions(t, name, c, sc.Options(scenario.Overrides{}))
			// Persistent sets alone and symmetry alone choose nothing
			// by the order of exploration: 2 workers store dfs's states.
			for _, r := range []explore.Reductions{explore.ReducePOR, explore.ReduceSymmetry} {
				opts := sc.Options(scenario.Overrides{})
				opts.Reduce, opts.Budget, opts.ShrinkBudget = r, 5*time.Minute, -1
				seq := c.Check(context.Background(), opts)
				opts.Workers, opts.Split = 2, 4
				par := c.Check(context.Background(), opts)
				if par.States != seq.States || par.Verdict != seq.Verdict || par.Reductions != seq.Reductions || !par.Exhaustive {
					t.Errorf("%s reduce=%s: 2 workers %s, %d states, %s; sequential %s, %d states, %s", name, r, par.Verdict, par.States, par.Reductions, seq.Verdict, seq.States, seq.Reductions)
				}
			}
		}
	}
}

// seed000 is the family's scenario at nl.
func seed000file(t *testing.T, nl int) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := seed000.Write(&b, nl); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}
