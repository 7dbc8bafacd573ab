package explore

import (
	"context"
	"math/bits"
	"time"

	"raceroute/trace"
)

// alt is one alternative at a state: fire step (by index into the
// state's enabled steps) at a time with an outcome.
type alt struct {
	step    int32
	outcome int32
	at      Time
}

// maxProperties is how many properties one check can follow: each one is a
// bit of a mask.
const maxProperties = 64

// engine holds what every strategy needs for one model.
type engine[S any] struct {
	m     Model[S]
	props []Property[S]
	opts  Options
	nAct  int
	// all has one bit per property; ofKind[k] those of the properties
	// of kind k.
	all    uint64
	ofKind [256]uint64
}

// enabled fills steps with the steps of s that may fire next and returns
// them, with lo (earliest firing time) and hi (latest) per step.
//
// The rule of the engine: a step may fire at any t with
// max(now, Earliest) <= t <= min over all pending steps of Latest, and
// t <= Horizon.
func (e *engine[S]) enabled(s *S, buf []Step, lohi [][2]Time) ([]Step, [][2]Time) {
	pending := e.m.Pending(s, buf[:0])
	now := e.m.Clock(s)
	// Untimed steps (no deadline, due now or before) and no horizon: each
	// fires at now, in a window [now, now], as the general rule below gives.
	untimed := true
	for i := range pending {
		if pending[i].Latest != Never || pending[i].Earliest > now {
			untimed = false
			break
		}
	}
	if untimed && e.opts.Horizon == Never {
		lohi = lohi[:0]
		for range pending {
			lohi = append(lohi, [2]Time{now, now})
		}
		return pending, lohi
	}
	minLatest := Never
	for i := range pending {
		if pending[i].Latest < minLatest {
			minLatest = pending[i].Latest
		}
	}
	if minLatest < now {
		minLatest = now // a model's late deadline: fire now
	}
	limit := minLatest
	if e.opts.Horizon < limit {
		limit = e.opts.Horizon
	}
	lohi = lohi[:0]
	n := 0
	for i := range pending {
		lo := pending[i].Earliest
		if lo < now {
			lo = now
		}
		if lo > limit {
			continue
		}
		hi := limit
		if hi == Never {
			hi = lo
		}
		if n != i {
			pending[n] = pending[i]
		}
		lohi = append(lohi, [2]Time{lo, hi})
		n++
	}
	return pending[:n], lohi
}

func outcomes(st *Step) int {
	if st.Outcomes < 1 {
		return 1
	}
	return st.Outcomes
}

// violated returns the mask of the properties of kind k among live that
// do not hold at s.
func (e *engine[S]) violated(s *S, k Kind, live uint64) uint64 {
	var m uint64
	for rest := live & e.ofKind[k]; rest != 0; rest &= rest - 1 {
		if i := bits.TrailingZeros64(rest); !e.props[i].Holds(s) {
			m |= 1 << uint(i)
		}
	}
	return m
}

// lowest returns the index of the lowest bit of a non-zero mask.
func lowest(m uint64) int {
	for i := 0; i < maxProperties; i++ {
		if m&(1<<uint(i)) != 0 {
			return i
		}
	}
	return -1
}

// runOutcome is the result of executing one schedule.
type runOutcome[S any] struct {
	// violated is the mask of the properties violated in the run; first
	// the first one violated (-1 if none).
	violated uint64
	first    int
	choices  []Choice
	steps    int
	preempt  int
	// quiescent is true when the run ended because no step was enabled
	// (so that final properties were evaluated), false when it stopped
	// at a violation.
	quiescent bool
	final     S // the last state of the run
	// explained holds, when the run was recorded, each violated
	// invariant's explanation at the state that violated it, and atStep
	// the number of steps fired when it was violated.
	explained map[int]string
	atStep    map[int]int
}

// Stop rules of runOne.
const (
	// untilAll runs to quiescence, or until every property is violated.
	untilAll = -1
	// untilAny stops at the first violation of any property.
	untilAny = -2
)

// scheduler picks the next alternative during a single run; it returns
// the step index, time and outcome.
type scheduler func(steps []Step, lohi [][2]Time, depth int, last int) (int, Time, int)

// runOne executes one schedule from the initial state to quiescence (or
// the horizon), checking properties; rec gets the story when not nil.
// until is a property index (stop when it is violated), untilAny or
// untilAll.
func (e *engine[S]) runOne(pick scheduler, rec trace.Recorder, choices []Choice, until int) (out runOutcome[S]) {
	out.final = e.m.Init()
	s := &out.final
	var buf [64]Step
	var lohiBuf [64][2]Time
	out.first, out.choices = -1, choices[:0]
	// note records the properties in m as violated; it reports whether the
	// run must stop.
	note := func(m uint64) bool {
		if m == 0 {
			return false
		}
		if out.first < 0 {
			out.first = lowest(m)
		}
		out.violated |= m
		if rec != nil {
			if out.explained == nil {
				out.explained, out.atStep = map[int]string{}, map[int]int{}
			}
			for i := range e.props {
				if m&(1<<uint(i)) != 0 && e.props[i].Explain != nil {
					out.explained[i] = e.props[i].Explain(s)
					out.atStep[i] = out.steps
				}
			}
		}
		switch until {
		case untilAny:
			return true
		case untilAll:
			return out.violated == e.all
		}
		return m&(1<<uint(until)) != 0
	}
	if note(e.violated(s, Invariant, e.all)) {
		return out
	}
	last := -1
	for depth := 0; ; depth++ {
		steps, lohi := e.enabled(s, buf[:0], lohiBuf[:0])
		if len(steps) == 0 {
			out.quiescent = true
			note(e.violated(s, Final, e.all&^out.violated))
			return out
		}
		i, at, o := pick(steps, lohi, depth, last)
		st := steps[i]
		if last >= 0 && st.Actor != last && actorIn(steps, last) {
			out.preempt++
		}
		e.m.Fire(s, st, at, o, rec)
		out.choices = append(out.choices, Choice{Actor: st.Actor, At: at, Outcome: o})
		out.steps++
		last = st.Actor
		if note(e.violated(s, Invariant, e.all&^out.violated)) {
			return out
		}
	}
}

func actorIn(steps []Step, actor int) bool {
	for i := range steps {
		if steps[i].Actor == actor {
			return true
		}
	}
	return false
}

// replayScheduler follows choices leniently: a choice whose actor is not
// enabled, or whose time is outside the window, is mended (the same actor
// as before if enabled, else the lowest enabled one; time clamped); once
// the choices are used up it continues without preemption.
func replayScheduler(choices []Choice) scheduler {
	return func(steps []Step, lohi [][2]Time, depth int, last int) (int, Time, int) {
		i := -1
		var want Choice
		if depth < len(choices) {
			want = choices[depth]
			for j := range steps {
				if steps[j].Actor == want.Actor {
					i = j
					break
				}
			}
		} else {
			want.At = -1
		}
		if i < 0 {
			i = 0
			for j := range steps {
				if steps[j].Actor == last {
					i = j
					break
				}
			}
			want.Outcome = 0
			want.At = -1
		}
		at := want.At
		if at < lohi[i][0] {
			at = lohi[i][0]
		}
		if at > lohi[i][1] {
			at = lohi[i][1]
		}
		o := want.Outcome
		if o < 0 || o >= outcomes(&steps[i]) {
			o = 0
		}
		return i, at, o
	}
}

// replay executes choices (leniently, see Checker.Replay) until the
// violation of property until (or untilAny, untilAll) and reports the
// schedule actually run.
func (e *engine[S]) replay(choices []Choice, rec trace.Recorder, until int) runOutcome[S] {
	return e.runOne(replayScheduler(choices), rec, nil, until)
}

// deadline returns the time at which a check with opts must stop.
func deadline(start time.Time, opts Options) time.Time {
	if opts.Budget <= 0 {
		return time.Time{}
	}
	return start.Add(opts.Budget)
}

// stopper tells a long loop when to stop and when to report progress.
type stopper struct {
	ctx      context.Context
	start    time.Time
	deadline time.Time
	next     time.Time
	budget   time.Duration
	progress func(Progress)
}

func newStopper(ctx context.Context, opts Options) *stopper {
	now := time.Now()
	return &stopper{ctx: ctx, start: now, deadline: deadline(now, opts), next: now.Add(200 * time.Millisecond), budget: opts.Budget, progress: opts.Progress}
}

// poll returns true when the check must stop; it reports progress.
func (st *stopper) poll(p Progress) bool {
	now := time.Now()
	if st.progress != nil && now.After(st.next) {
		p.Elapsed = now.Sub(st.start)
		p.Fraction = -1
		if st.budget > 0 {
			p.Fraction = float64(p.Elapsed) / float64(st.budget)
		}
		st.progress(p)
		st.next = now.Add(200 * time.Millisecond)
	}
	if st.ctx.Err() != nil {
		return true
	}
	return !st.deadline.IsZero() && now.After(st.deadline)
}
