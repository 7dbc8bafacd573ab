package explore

import (
	"context"
	"math"
	"math/bits"
	"raceroute/explore/visited"
	"time"
)

// frame is one state on the DFS stack, with its alternatives.
type frame[S any] struct {
	s     S
	steps []Step
	lohi  [][2]Time
	alts  []alt
	next  int
	// sleep holds the actors whose steps need not be explored here (sleep
	// sets); done the actors fully explored here so far, which later
	// siblings may put to sleep.
	sleep, done uint64
	now         Time
	last        int
	preempt     int
	choice      Choice
	// fp is the state's fingerprint; persist the actors of its persistent
	// set, when reduced says that it leaves some enabled actor out
	// (reduce.go).
	fp      uint64
	persist uint64
	reduced bool
	// kids holds the successors of alts[:fired], fired ahead (dfs's
	// prefire) so that their visited-set slots load together, and kfp
	// their fingerprints.
	kids  []S
	kfp   []uint64
	fired int
	// enabledSet and frozenSet are the actors of steps and those of them
	// whose step is frozen (fires at now only), and idx each one's index
	// in steps (actors below 64; read only for the actors of enabledSet).
	enabledSet, frozenSet uint64
	idx                   [64]uint8
	// parts is the state's fingerprint in parts, and kparts its fired
	// children's (with a ClassStepper only).
	parts  ClassParts
	kparts []ClassParts
}

// expand computes the alternatives of f's state.
func (e *engine[S]) expand(f *frame[S]) {
	f.steps, f.lohi = e.enabled(&f.s, f.steps[:0], f.lohi[:0])
	f.alts = f.alts[:0]
	f.next = 0
	f.done = 0
	f.fired = 0
	f.now = e.m.Clock(&f.s)
	f.enabledSet, f.frozenSet = 0, 0
	for i := range f.steps {
		n := outcomes(&f.steps[i])
		lo, hi := f.lohi[i][0], f.lohi[i][1]
		if a := f.steps[i].Actor; a < 64 {
			f.enabledSet |= 1 << uint(a)
			if lo == f.now && hi == f.now {
				f.frozenSet |= 1 << uint(a)
			}
			f.idx[a] = uint8(i)
		}
		for o := 0; o < n; o++ {
			f.alts = append(f.alts, alt{step: int32(i), outcome: int32(o), at: lo})
			if hi != lo {
				f.alts = append(f.alts, alt{step: int32(i), outcome: int32(o), at: hi})
			}
		}
	}
}

// frozen reports whether step i of f only fires at the current time, so
// that it commutes with independent steps without moving the clock.
func (f *frame[S]) frozen(i int) bool {
	return f.lohi[i][0] == f.now && f.lohi[i][1] == f.now
}

// take advances f to its next alternative and returns it with the step
// it fires. skip is true when the step's actor sleeps, or the step would
// pass the preemption bound (bound >= 0). pre is the child's preemption
// count (0 without a bound: nothing reads it then). With sleep sets
// (reduce) and a step that fires now without moving the clock, csleep is
// the child's sleep set, and the actor is done once its step's last
// alternative is taken.
func (f *frame[S]) take(bound int, reduce bool) (a alt, st *Step, pre int, csleep uint64, skip bool) {
	a = f.alts[f.next]
	f.next++
	st = &f.steps[a.step]
	bit := actorBit(st.Actor)
	if f.sleep&bit != 0 {
		return a, st, 0, 0, true
	}
	if bound >= 0 {
		if pre = f.preemptions(st); pre > bound {
			return a, st, pre, 0, true
		}
	}
	if reduce && f.frozen(int(a.step)) {
		csleep = f.childSleep(st)
		if f.next >= len(f.alts) || f.alts[f.next].step != a.step {
			f.done |= bit
		}
	}
	return a, st, pre, csleep, false
}

// dropAsleep removes from f's alternatives, before any is taken, those
// of actors asleep at f, which take would skip one by one: on a revisit
// most of them are.
func (f *frame[S]) dropAsleep() {
	if f.sleep&f.enabledSet == 0 {
		return
	}
	n := 0
	for _, a := range f.alts {
		if f.sleep&actorBit(f.steps[a.step].Actor) == 0 {
			f.alts[n] = a
			n++
		}
	}
	f.alts = f.alts[:n]
}

// preemptions is the preemption count after st fires from f: one more
// when st's actor is not the last one and the last one could have gone on.
func (f *frame[S]) preemptions(st *Step) int {
	if f.last >= 0 && st.Actor != f.last && actorIn(f.steps, f.last) {
		return f.preempt + 1
	}
	return f.preempt
}

// childSleep is the sleep set of the child st leads to from f: the
// actors asleep or done in f whose steps are independent of st (only
// while the clock stands still; st is frozen).
func (f *frame[S]) childSleep(st *Step) uint64 {
	var csleep uint64
	for m := (f.sleep | f.done) & f.frozenSet &^ actorBit(st.Actor); m != 0; m &= m - 1 {
		a := bits.TrailingZeros64(m)
		if !f.steps[f.idx[a]].Footprint.Conflicts(st.Footprint) {
			csleep |= 1 << uint(a)
		}
	}
	return csleep
}

// fireAhead fires f's alternatives ahead (all of actors awake at f:
// prefire drops the others first), keeps their successors and
// fingerprints (key, never 0) in f.kids and f.kfp, and prefetches their
// slots in fps, so that the table's cache misses overlap instead of
// coming one per transition. Only where key needs nothing but the state
// (no preemption context); it reads fps's directory (not safe beside
// Grow). With a ClassStepper (step), the fingerprints are the children's
// classes, computed from f's parts.
func (e *engine[S]) fireAhead(f *frame[S], fps *visited.Set, key func(*S) uint64, step ClassStepper[S]) {
	n := len(f.alts)
	if cap(f.kids) < n {
		f.kids, f.kfp = make([]S, n, n+n/2), make([]uint64, n, n+n/2)
	}
	f.kids, f.kfp = f.kids[:n], f.kfp[:n]
	if step != nil {
		if cap(f.kparts) < n {
			f.kparts = make([]ClassParts, n, n+n/2)
		}
		f.kparts = f.kparts[:n]
	}
	for i, a := range f.alts {
		st := &f.steps[a.step]
		k := &f.kids[i]
		*k = f.s
		e.m.Fire(k, *st, a.at, int(a.outcome), nil)
		if step != nil {
			f.kfp[i], f.kparts[i] = step.ChildClass(&f.s, &f.parts, k)
		} else {
			f.kfp[i] = key(k)
		}
		fps.Prefetch(f.kfp[i])
	}
	f.fired = n
}

// successor puts in c the state that f's alternative idx (a, of step
// st) leads to: the one fireAhead kept, with its fingerprint, or, where
// it fired none, f's state fired now, with fingerprint 0 (not computed).
func (e *engine[S]) successor(f, c *frame[S], idx int, a alt, st *Step) uint64 {
	if idx < f.fired {
		c.s = f.kids[idx]
		if f.kparts != nil {
			c.parts = f.kparts[idx]
		}
		return f.kfp[idx]
	}
	c.s = f.s
	e.m.Fire(&c.s, *st, a.at, int(a.outcome), nil)
	return 0
}

func actorBit(a int) uint64 {
	if a >= 64 {
		return 0
	}
	return 1 << uint(a)
}

// dfs explores every schedule depth-first. Partial-order reduction: sleep
// sets (Godefroid 1996) over footprints, for steps that fire without
// moving the clock; with state caching, a revisited state is explored
// again only for the actors that slept at the first visit but are awake
// now, and its stored sleep set shrinks to the intersection. With a
// Reducer model, persistent sets; with a Symmetric one, states are stored
// as their symmetry class's representative (reduce.go, docs/reductions.md).
func (e *engine[S]) dfs(ctx context.Context) Result {
	stop := newStopper(ctx, e.opts)
	red := e.newReducer()
	reduce := red.sleep
	keepGoing := e.opts.Terminal != nil
	var fps *visited.Set
	var exact *visited.Exact
	if e.opts.Exact {
		exact = visited.NewExact()
	} else {
		fps = visited.NewSet(visited.Config{Sleep: reduce, Expect: e.opts.ExpectStates})
		defer fps.Free()
	}
	var enc []byte
	states := int64(0)
	// key encodes s (its symmetry class's representative) and returns
	// its fingerprint; store looks the encoding up, or stores it with its
	// sleep set.
	key := func(s *S, last, preempt int) uint64 {
		if red.hash != nil {
			return red.hash.ClassFingerprint(s) // never 0; no preemption bound with symmetry
		}
		enc = e.encode(red, s, enc[:0])
		if e.opts.PreemptionBound >= 0 {
			enc = append(enc, byte(last), byte(last>>8), byte(preempt), byte(preempt>>8))
		}
		fp := visited.Fingerprint(enc)
		if fp == 0 {
			fp = 1 // 0 marks a frame that was not stored (transient)
		}
		return fp
	}
	// has probes for fp and remembers where (probed), so that the store
	// of the same fingerprint right after walks the table no more.
	var at visited.Pos
	probed := false
	store := func(s *S, fp, sleep uint64) (uint64, bool) {
		var stored uint64
		var found bool
		if red.hash != nil {
			red.ranksOf, red.ranked, red.moved = s, 0, 0 // renamed when a sleep set needs it
		}
		sleep = red.toCanon(sleep)
		switch {
		case exact != nil:
			stored, found = exact.LookupOrInsert(enc, sleep)
		case probed:
			stored, found = fps.Place(at, fp, sleep)
		default:
			stored, found = fps.LookupOrInsert(fp, sleep)
		}
		probed = false
		if !found {
			states++
		}
		return red.fromCanon(stored), found
	}
	has := func(fp uint64) bool {
		if exact != nil {
			return exact.Contains(enc)
		}
		var found bool
		at, found = fps.Probe(fp)
		probed = true
		return found
	}
	// terminal reports a terminal state to the Terminal hook.
	terminal := func(s *S) {
		if keepGoing {
			e.opts.Terminal(e.m.Encode(s, nil), e.canonical(s), e.violated(s, Final, e.all))
		}
	}
	res := Result{Verdict: Holds, Exhaustive: true}
	// live holds the properties not violated yet; firstPath the schedule
	// that first violated each of the others.
	live := e.all
	firstPath := make([][]Choice, len(e.props))
	var stack []frame[S]
	// note records the properties in m as violated by the schedule that
	// leads to the child of stack[top] by extra (top < 0: the initial
	// state) and reports whether every property is now violated.
	note := func(m uint64, top int, extra Choice) bool {
		if m == 0 {
			return false
		}
		path := []Choice{}
		if top >= 0 {
			path = make([]Choice, 0, top+1)
			for i := 1; i <= top; i++ {
				path = append(path, stack[i].choice)
			}
			path = append(path, extra)
		}
		for i := range e.props {
			if m&(1<<uint(i)) != 0 {
				firstPath[i] = path
			}
		}
		live &^= m
		return live == 0
	}
	finish := func() Result {
		res.States = states
		res.Elapsed = time.Since(stop.start)
		if states > 0 {
			if exact != nil {
				res.BytesPerState = float64(exact.Bytes()) / float64(states)
			} else {
				res.BytesPerState, res.HugePages = float64(fps.PeakBytes())/float64(states), fps.HugePages()
				n := float64(states)
				res.OmissionProbability = math.Min(1, n*n/math.Exp2(65))
			}
		}
		if e.opts.PreemptionBound >= 0 {
			res.Bound = e.opts.PreemptionBound
			res.Exhaustive = false
		} else {
			res.Bound = -1
		}
		setProperties(&res, e.props, firstPath, res.Verdict != Unknown)
		res.Reductions = red.ran().String()
		return res
	}

	stack = make([]frame[S], 1, 64)
	stack[0].s = e.m.Init()
	stack[0].last = -1
	if note(e.violated(&stack[0].s, Invariant, live), -1, Choice{}) && !keepGoing {
		res.Exhaustive = false
		return finish()
	}
	if red.step != nil {
		stack[0].fp, stack[0].parts = red.step.ClassParts(&stack[0].s)
	} else {
		stack[0].fp = key(&stack[0].s, -1, 0)
	}
	store(&stack[0].s, stack[0].fp, 0)
	e.expand(&stack[0])
	e.restrict(red, &stack[0])
	// prefire fires f's alternatives ahead (fireAhead). Only where a
	// fingerprint needs nothing kept beside it until its store (no exact
	// set, no renaming computed with the encoding, no preemption context).
	ahead := exact == nil && (red.sym == nil || red.hash != nil) && e.opts.PreemptionBound < 0
	keyAhead := func(s *S) uint64 { return key(s, -1, 0) }
	prefire := func(f *frame[S]) {
		f.dropAsleep()
		if ahead {
			e.fireAhead(f, fps, keyAhead, red.step)
		}
	}
	prefire(&stack[0])
	if len(stack[0].steps) == 0 {
		terminal(&stack[0].s)
		note(e.violated(&stack[0].s, Final, live), -1, Choice{})
		return finish()
	}
	for len(stack) > 0 {
		if (res.Transitions&1023 == 0 && stop.poll(Progress{States: states, Transitions: res.Transitions})) ||
			(e.opts.MaxStates > 0 && states >= e.opts.MaxStates) {
			res.Exhaustive = false
			res.Verdict = Unknown
			return finish()
		}
		top := len(stack) - 1
		f := &stack[top]
		if f.next >= len(f.alts) {
			stack = stack[:top]
			continue
		}
		idx := f.next
		a, st, pre, csleep, skip := f.take(e.opts.PreemptionBound, reduce)
		if skip {
			continue
		}
		choice := Choice{Actor: st.Actor, At: a.at, Outcome: int(a.outcome)}

		// Push the child, reusing the slot's buffers.
		if len(stack) == cap(stack) {
			stack = append(stack, frame[S]{})
			stack = stack[:len(stack)-1]
			f = &stack[top]
		}
		stack = stack[:top+2]
		c := &stack[top+1]
		fp := e.successor(f, c, idx, a, st)
		res.Transitions++
		c.choice, c.last, c.preempt = choice, st.Actor, pre

		if note(e.violated(&c.s, Invariant, live), top, choice) && !keepGoing {
			res.Exhaustive = false
			return finish()
		}
		// With persistent sets a new child is expanded first: a transient
		// one (reduce.go) is not stored.
		if fp == 0 {
			if red.step != nil {
				fp, c.parts = red.step.ClassParts(&c.s) // not fired ahead: parts from the state
			} else {
				fp = key(&c.s, c.last, c.preempt)
			}
		}
		early := red.por != nil && !has(fp)
		if early {
			e.expand(c)
			if e.transient(red, &stack[top], c) {
				c.sleep = csleep
				probed = false
				prefire(c)
				continue
			}
		}
		stored, seen := store(&c.s, fp, csleep)
		c.fp = fp
		if seen {
			if cycleProviso(red, stack[:top+1], fp) {
				e.widen(&stack[top])
			}
			awake := stored &^ csleep
			if !reduce || awake == 0 {
				stack = stack[:top+1]
				continue
			}
			csleep = ^awake
		}
		c.sleep = csleep
		if !early {
			e.expand(c)
		}
		if !seen {
			// A revisit explores the actors that slept at the first
			// visit, persistent set or not (Godefroid 1996, ch. 5: sleep sets with state caching).
			e.restrict(red, c)
		} else {
			c.persist, c.reduced = 0, false
		}
		if len(c.steps) == 0 {
			terminal(&c.s)
			if note(e.violated(&c.s, Final, live), top, choice) && !keepGoing {
				res.Exhaustive = false
				return finish()
			}
			stack = stack[:top+1]
			continue
		}
		prefire(c)
	}
	return finish()
}
