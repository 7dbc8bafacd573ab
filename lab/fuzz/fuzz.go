// Package fuzz is raceroute's differential test of its models against
// the live kernel (`raceroute lab --fuzz N`): it generates random cases,
// runs each in network namespaces of its own on the running kernel and
// in the model of the kernel's profile, compares what both did, and
// shrinks every disagreement to the fewest steps that still disagree,
// printed in scenario syntax.
//
// Two categories exist: route (IPv6 route add, delete, replace, change
// and append, with lookups between them, against model/fib6) and arp
// (ARP frames and traffic over a veth, against model/neigh at
// checkpoints). docs/lab-fuzz.md says what each compares and what it
// leaves out.
//
// Namespaces are named Prefix + a case number + a role; each is removed
// when its case ends, whether it agreed, disagreed, failed or was
// cancelled.
package fuzz

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"runtime"
	"runtime/debug"
	"slices"
	"strings"
	"sync"
	"time"

	"raceroute/lab/fuzz/arpcase"
	"raceroute/lab/fuzz/fuzzcase"
	"raceroute/lab/fuzz/routecase"
	"raceroute/profile"
)

// Categories are the case categories, in the order cases are dealt out.
var categoryNames = []string{"arp", "route"}

// Categories returns the names of the categories Run knows.
func Categories() []string { return slices.Clone(categoryNames) }

// Options configure a run.
type Options struct {
	// N is the number of cases, dealt out in turn to the categories.
	N int
	// Seed makes the run reproducible: case i of a run with seed S is
	// always the same case.
	Seed uint64
	// Categories restricts the run to these categories (empty: all).
	Categories []string
	// Profile is the model's kernel profile: the running kernel's
	// (live/host.Profile()).
	Profile profile.Profile
	// Progress, if set, is called after each case with the number of
	// cases done and the total.
	Progress func(done, total int)
	// Parallel is the number of cases run at once (0: 16). ARP cases
	// spend most of their time waiting for the kernel's timers.
	Parallel int
	// Prefix starts the name of every namespace (default "rr-PID-fz").
	Prefix string
	// MaxShrink bounds the live runs spent shrinking one disagreement
	// (0: 40).
	MaxShrink int
}

// Report is the outcome of a run.
type Report struct {
	Kernel     string           `json:"kernel"`
	Seed       uint64           `json:"seed"`
	Cases      int              `json:"cases"`
	Agree      int              `json:"agree"`
	Elapsed    time.Duration    `json:"elapsed_ns"`
	Categories []CategoryReport `json:"categories"`
	// Disagreements lists every case on which model and kernel
	// disagreed, each shrunk.
	Disagreements []Disagreement `json:"disagreements"`
}

// CategoryReport counts one category's cases.
type CategoryReport struct {
	Name  string `json:"name"`
	Cases int    `json:"cases"`
	Agree int    `json:"agree"`
	// Redrawn counts generated cases thrown away before running because
	// the model's outcome moved when a time moved by the margin (a gap
	// too close to a threshold, or to the ends of reachable_time's
	// random draw): scheduling noise would decide them.
	Redrawn int `json:"redrawn"`
	// Reruns counts live runs repeated because the run itself was late
	// by more than the margin allows (a loaded machine), in the parallel
	// pass and in the second pass, where the cases whose every run was
	// late run again one at a time.
	Reruns int `json:"reruns"`
	// Late counts cases not compared: every run of theirs was late, in
	// both passes.
	Late int `json:"late"`
}

// Disagreement is one case on which the kernel and the model differ.
type Disagreement struct {
	Category string `json:"category"`
	// Case is the case's number in the run: with the run's seed it
	// regenerates the case.
	Case int `json:"case"`
	// Steps and ShrunkSteps are the case's length before and after
	// shrinking.
	Steps       int `json:"steps"`
	ShrunkSteps int `json:"shrunk_steps"`
	// Differences say what differed, in the shrunk case.
	Differences []string `json:"differences"`
	// Reproducer is the shrunk case in scenario syntax.
	Reproducer string `json:"reproducer"`
}

// Compared is the number of cases run to a comparison.
func (c CategoryReport) Compared() int { return c.Cases - c.Late }

// Agreement is the share of the compared cases that agreed, in [0, 1].
func (c CategoryReport) Agreement() float64 {
	if c.Compared() == 0 {
		return 1
	}
	return float64(c.Agree) / float64(c.Compared())
}

// Late is the number of cases not compared, every run of theirs late.
func (r *Report) Late() int {
	n := 0
	for _, c := range r.Categories {
		n += c.Late
	}
	return n
}

// Agreement is the share of all compared cases that agreed, in [0, 1].
func (r *Report) Agreement() float64 {
	if r.Cases-r.Late() == 0 {
		return 1
	}
	return float64(r.Agree) / float64(r.Cases-r.Late())
}

// maxReruns bounds how often a late live run is repeated.
const maxReruns = 3

func generatorOf(name string) fuzzcase.Generator {
	switch name {
	case "arp":
		return arpcase.Generate
	case "route":
		return routecase.Generate
	}
	return nil
}

// caseRNG is case i's random source: a function of the run's seed and i
// alone, so that any case can be regenerated on its own.
func caseRNG(seed uint64, i int) *rand.Rand {
	return rand.New(rand.NewPCG(seed, uint64(i)*0x9e3779b97f4a7c15+1))
}

// Run generates and runs opts.N cases and reports how often the model
// agreed with the kernel. It returns an error for what stops a run (bad
// options, a namespace that cannot be made, a cancelled context), never
// for a disagreement.
func Run(ctx context.Context, opts Options) (*Report, error) {
	cats := opts.Categories
	if len(cats) == 0 {
		cats = categoryNames
	}
	for _, c := range cats {
		if generatorOf(c) == nil {
			return nil, fmt.Errorf("fuzz: unknown category %q (known: %s)", c, strings.Join(categoryNames, ", "))
		}
	}
	if opts.N < 0 {
		return nil, fmt.Errorf("fuzz: want a number of cases of 0 or more, got %d", opts.N)
	}
	if opts.Profile.Name == "" {
		return nil, fmt.Errorf("fuzz: no kernel profile given (the running kernel's: live/host.Profile())")
	}
	par := opts.Parallel
	if par <= 0 {
		par = 16
	}
	prefix := opts.Prefix
	if prefix == "" {
		prefix = fmt.Sprintf("rr-%d-fz", os.Getpid())
	}
	rep := &Report{Kernel: opts.Profile.Name, Seed: opts.Seed, Cases: opts.N}
	idx := map[string]int{}
	for _, c := range cats {
		idx[c] = len(rep.Categories)
		rep.Categories = append(rep.Categories, CategoryReport{Name: c})
	}
	start := time.Now()
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	// Every case is drawn before any runs: drawing is CPU work (the
	// robustness check runs the model dozens of times), and live ARP
	// cases need the CPU on time to keep their schedule.
	drawn := make([]drawnCase, opts.N)
	var gwg sync.WaitGroup
	next := make(chan int)
	for w := 0; w < runtime.GOMAXPROCS(0); w++ {
		gwg.Add(1)
		go func() {
			defer gwg.Done()
			for i := range next {
				drawn[i] = draw(&opts, cats[i%len(cats)], i)
			}
		}()
	}
	for i := 0; i < opts.N; i++ {
		next <- i
	}
	close(next)
	gwg.Wait()
	var (
		mu    sync.Mutex
		done  int
		first error
		wg    sync.WaitGroup
	)
	// tally counts case i's outcome, under mu; with deferLate, a case
	// whose every run was late (among the others running at once) is
	// kept for the second pass instead.
	var late []int
	tally := func(i int, res caseResult, err error, deferLate bool) {
		cat := cats[i%len(cats)]
		cr := &rep.Categories[idx[cat]]
		cr.Reruns += res.reruns
		switch {
		case err == nil && res.late && deferLate:
			late = append(late, i)
			return
		case err == nil && res.late:
			cr.Late++
		case err != nil:
			if first == nil {
				first = fmt.Errorf("fuzz: %s case %d: %w", cat, i, err)
				cancel()
			}
		case res.dis == nil:
			cr.Agree++
			rep.Agree++
		default:
			rep.Disagreements = append(rep.Disagreements, *res.dis)
		}
		cr.Cases++
		cr.Redrawn += drawn[i].redrawn
		done++
		if opts.Progress != nil {
			opts.Progress(done, opts.N)
		}
	}
	jobs := make(chan int)
	for w := 0; w < par; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range jobs {
				res, err := runCase(ctx, &opts, prefix, cats[i%len(cats)], i, drawn[i])
				mu.Lock()
				tally(i, res, err, true)
				mu.Unlock()
			}
		}()
	}
feed:
	for i := 0; i < opts.N; i++ {
		select {
		case jobs <- i:
		case <-ctx.Done():
			break feed
		}
	}
	close(jobs)
	wg.Wait()
	// The cases late in company run again one at a time: most of the
	// lateness of a loaded machine is the cases' own crowding (ARP cases
	// keep schedules to 50 ms). Only a case late here too is not
	// compared.
	slices.Sort(late)
	for _, i := range late {
		if ctx.Err() != nil {
			break
		}
		res, err := runCase(ctx, &opts, prefix, cats[i%len(cats)], i, drawn[i])
		res.reruns++ // this pass's first run repeats a late one too
		tally(i, res, err, false)
	}
	rep.Elapsed = time.Since(start)
	slices.SortFunc(rep.Disagreements, func(a, b Disagreement) int { return a.Case - b.Case })
	if first == nil && ctx.Err() != nil {
		first = ctx.Err()
	}
	return rep, first
}

type caseResult struct {
	dis             *Disagreement
	redrawn, reruns int
	late            bool // every run was late: not compared
}

// drawnCase is a case drawn, or why none could be.
type drawnCase struct {
	c       fuzzcase.Case
	redrawn int
	err     error
}

// draw generates case i of category cat.
func draw(opts *Options, cat string, i int) (d drawnCase) {
	defer func() {
		if r := recover(); r != nil {
			d.err = fmt.Errorf("panic: %v\n%s", r, debug.Stack())
		}
	}()
	d.c, d.redrawn, d.err = generatorOf(cat)(caseRNG(opts.Seed, i), &opts.Profile)
	return d
}

// runCase runs and (on a disagreement) shrinks case i, drawn as d.
func runCase(ctx context.Context, opts *Options, prefix, cat string, i int, d drawnCase) (res caseResult, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("panic: %v\n%s", r, debug.Stack())
		}
	}()
	c := d.c
	res.redrawn = d.redrawn
	if d.err != nil {
		return res, d.err
	}
	name := fmt.Sprintf("%s%d", prefix, i)
	run := func(c fuzzcase.Case) ([]string, error) {
		for try := 0; ; try++ {
			diffs, err := c.Run(ctx, name, &opts.Profile)
			if !errors.Is(err, fuzzcase.ErrLate) || try >= maxReruns {
				return diffs, err
			}
			res.reruns++
		}
	}
	diffs, err := run(c)
	if errors.Is(err, fuzzcase.ErrLate) {
		res.late = true
		return res, nil
	}
	if err != nil || len(diffs) == 0 {
		return res, err
	}
	dis := &Disagreement{Category: cat, Case: i, Steps: c.Len()}
	budget := opts.MaxShrink
	if budget <= 0 {
		budget = 40
	}
	c, diffs = shrink(c, diffs, budget, run)
	dis.ShrunkSteps, dis.Differences = c.Len(), diffs
	dis.Reproducer = c.Reproducer(&opts.Profile, diffs)
	res.dis = dis
	return res, nil
}

// shrink removes steps one at a time, keeping each removal after which
// model and kernel still disagree, until no single step can go or the
// budget of runs is spent (delta debugging with one-step chunks, which
// suits cases of a few dozen steps).
func shrink(c fuzzcase.Case, diffs []string, budget int, run func(fuzzcase.Case) ([]string, error)) (fuzzcase.Case, []string) {
	for changed := true; changed && budget > 0; {
		changed = false
		for i := c.Len() - 1; i >= 0 && budget > 0; i-- {
			d := c.Drop(i)
			if d == nil {
				continue
			}
			budget--
			got, err := run(d)
			if err != nil || len(got) == 0 {
				continue
			}
			c, diffs, changed = d, got, true
		}
	}
	return c, diffs
}
