package explore

import (
	"fmt"
	"math/bits"
	"strings"
)

// Reductions is a set of the DFS's state-space reductions. The zero value
// means the default: every reduction, each applied only where it is sound
// (docs/reductions.md).
type Reductions uint8

// The reductions.
const (
	// ReduceSleep is sleep sets (Godefroid 1996) over step footprints: it
	// prunes transitions and keeps every state.
	ReduceSleep Reductions = 1 << iota
	// ReducePOR is persistent (stubborn) sets over the actors' future
	// footprints (models implementing Reducer): at a state only a set of
	// actors closed under conflict with the others' futures is explored.
	ReducePOR
	// ReduceSymmetry merges the states that differ only by a renaming of
	// interchangeable actors (models implementing Symmetric).
	ReduceSymmetry
	// ReduceNone turns every reduction off: the explicit empty set, so
	// that the zero value can mean the default.
	ReduceNone
)

// ReduceAll is every reduction.
const ReduceAll = ReduceSleep | ReducePOR | ReduceSymmetry

var reductionNames = []struct {
	r    Reductions
	name string
}{{ReduceSleep, "sleep"}, {ReducePOR, "por"}, {ReduceSymmetry, "sym"}}

// ParseReductions reads "none", "all", "default" (or ""; the zero
// value), or a comma-separated list of sleep, por and sym.
func ParseReductions(s string) (Reductions, error) {
	switch s {
	case "none":
		return ReduceNone, nil
	case "all":
		return ReduceAll, nil
	case "default", "":
		return 0, nil
	}
	var r Reductions
	for _, part := range strings.Split(s, ",") {
		found := false
		for _, n := range reductionNames {
			if strings.TrimSpace(part) == n.name || (n.r == ReduceSymmetry && strings.TrimSpace(part) == "symmetry") {
				r |= n.r
				found = true
			}
		}
		if !found {
			return 0, fmt.Errorf("unknown reduction %q (want none, all, or a comma-separated list of sleep, por, sym)", part)
		}
	}
	return r, nil
}

// resolved is the set r stands for: every reduction for the zero value,
// none for ReduceNone.
func (r Reductions) resolved() Reductions {
	switch r {
	case 0:
		return ReduceAll
	case ReduceNone:
		return 0
	}
	return r &^ ReduceNone
}

// String lists the reductions, "none" for none, "default" for the zero
// value (which ones run depends on the model: Result.Reductions says).
func (r Reductions) String() string {
	if r == 0 {
		return "default"
	}
	r = r.resolved()
	var names []string
	for _, n := range reductionNames {
		if r&n.r != 0 {
			names = append(names, n.name)
		}
	}
	if len(names) == 0 {
		return "none"
	}
	return strings.Join(names, ",")
}

// Reducer is implemented by models that know, for each actor, what it may
// still touch. With it the DFS explores persistent sets instead of every
// enabled actor.
type Reducer[S any] interface {
	// Future returns a footprint covering every step actor a can still
	// take from s, in every state reachable from s (zero when it has none
	// left). Two steps must commute, and neither enable nor disable the
	// other, when their footprints do not conflict; a step that reads or
	// moves the clock must say so in its footprint.
	Future(s *S, actor int) Footprint
}

// Futures is implemented by Reducers that compute every actor's future
// in one call: out[a] = Future(s, a) for every actor a (one dynamic call
// per state instead of one per actor).
type Futures[S any] interface {
	Futures(s *S, out []Footprint)
}

// FutureKeyer is implemented by Reducers whose futures and step
// footprints are a function of a small part of the state (the actors'
// program counters, say): persistent sets are then remembered by that
// part, instead of computed again for every state that shares it.
type FutureKeyer[S any] interface {
	// FutureKey appends to buf words that determine, in s, Future(s, a)
	// for every actor a and the footprint of every step Pending(s)
	// returns: two states with the same words have the same futures and
	// the same footprints for the steps of the same actors.
	FutureKey(s *S, buf []uint64) []uint64
}

// Symmetric is implemented by models with interchangeable actors (the same
// program on the same destination). Their properties must not tell such
// actors apart.
type Symmetric[S any] interface {
	// Interchangeable reports whether any two actors are interchangeable.
	Interchangeable() bool
	// Canonicalize renames the interchangeable actors of s so that their
	// local states come in a canonical (sorted) order: two states that
	// differ only by such a renaming become equal. It sets perm[a] (one
	// entry per actor) to the name actor a has in the result.
	Canonicalize(s *S, perm []int)
	// Twins returns the actors of set that have, in s, an interchangeable
	// actor of set with a lower number and the same local state: firing
	// either gives states equal up to a renaming.
	Twins(s *S, set uint64) uint64
}

// Acyclic is implemented by models whose state graphs have no cycle (for
// example because every step advances its actor's progress and leaves the
// others' as they are). Persistent sets then need no cycle proviso for
// invariants, which lets the parallel search run them: its workers cannot
// look for a state on each other's stacks.
type Acyclic interface {
	// Acyclic reports whether no sequence of steps leads from a state
	// back to itself.
	Acyclic() bool
}

func acyclic(m any) bool {
	a, ok := m.(Acyclic)
	return ok && a.Acyclic()
}

// ClassHasher is implemented by Symmetric models that fingerprint a
// state's symmetry class directly, without building its representative
// (Canonicalize) and encoding it: the DFS then hashes each state once,
// with no copy and no sort, and names its actors canonically (for sleep
// sets) only when a sleep set has to be stored or read.
type ClassHasher[S any] interface {
	// ClassFingerprint returns a 64-bit fingerprint of s's symmetry
	// class, never 0: states equal up to a renaming of interchangeable
	// actors have the same one, other states different ones but by a
	// chance of about 2^-64 per pair (as a hash of the representative's
	// encoding).
	ClassFingerprint(s *S) uint64
	// Ranks sets perm[a] as Canonicalize(s, perm) does for the actors a
	// of the symmetry groups that have a member in set, leaving s and the
	// other entries as they are. (A group's actors are renamed among
	// themselves, an actor in no group never: the renaming of a set of
	// actors needs only the groups that meet it, and a stale entry, of
	// another state, names an actor of the same group.) It returns the
	// actors of those groups that it renames (perm[a] != a).
	Ranks(s *S, set uint64, perm []int) uint64
}

// ClassParts is a ClassStepper's fingerprint of a state in parts, from
// which its successors' are computed: opaque to the engine.
type ClassParts [2]uint64

// ClassStepper is implemented by ClassHashers that fingerprint a
// successor from its parent's parts, touching only what the step changed:
// the DFS fingerprints a state from its parent's wherever it fires
// children ahead.
type ClassStepper[S any] interface {
	// ClassParts returns ClassFingerprint(s) and its parts.
	ClassParts(s *S) (uint64, ClassParts)
	// ChildClass returns what ClassParts(child) returns, given a parent
	// of child and the parent's parts.
	ChildClass(parent *S, pp *ClassParts, child *S) (uint64, ClassParts)
}

// reducer is the reduction layer of one DFS: which reductions run, and
// the scratch space of the persistent-set computation.
type reducer[S any] struct {
	sleep bool
	por   Reducer[S]
	futs  Futures[S]
	sym   Symmetric[S]
	// inv is the union of what the invariants read (their Reads), all
	// bits when one of them does not say; invariants whether there is
	// one.
	inv        uint64
	invariants bool
	// hash fingerprints symmetry classes (nil: encode the representative
	// and hash that).
	hash ClassHasher[S]
	// step fingerprints a state from its parent's parts (nil: from the
	// state alone).
	step ClassStepper[S]
	// scratch for canonicalisation and the persistent sets; perm is the
	// renaming of the last state encoded, or, with hash, of ranksOf, for
	// the groups that meet ranked (computed when first needed).
	canon   S
	perm    []int
	ranksOf *S
	ranked  uint64
	// moved holds the actors of the groups ranked that perm renames: a
	// sleep set that meets none of them is its own renaming.
	moved uint64
	fut   []Footprint
	// keyer and memo: persistent sets remembered by the model's key
	// (nil: computed for every state).
	keyer FutureKeyer[S]
	memo  *persistMemo
}

// newReducer decides which reductions run for the engine's options and
// model.
func (e *engine[S]) newReducer() *reducer[S] {
	want := e.opts.Reduce.resolved()
	if e.opts.NoReduction {
		want = 0
	}
	r := &reducer[S]{}
	small := e.nAct <= 64
	unbounded := e.opts.PreemptionBound < 0
	if sym, ok := e.m.(Symmetric[S]); ok && want&ReduceSymmetry != 0 && unbounded && sym.Interchangeable() {
		r.sym = sym
		r.perm = make([]int, e.nAct)
		if h, ok := e.m.(ClassHasher[S]); ok && !e.opts.Exact {
			r.hash = h
			r.step, _ = e.m.(ClassStepper[S])
			for a := range r.perm {
				r.perm[a] = a
			}
		}
	}
	if red, ok := e.m.(Reducer[S]); ok && want&ReducePOR != 0 && unbounded && small {
		r.por = red
		r.futs, _ = e.m.(Futures[S])
		r.fut = make([]Footprint, e.nAct)
		if k, ok := e.m.(FutureKeyer[S]); ok {
			r.keyer = k
			r.memo = newPersistMemo()
		}
	}
	// Sleep sets store actor numbers with each state: with symmetry they
	// are stored under the canonical state's names (toCanon, fromCanon),
	// so that a state met again under other names wakes the right actors.
	// Under a preemption bound they are off: a sleeping step relies on the
	// other order of two independent steps having been explored, and the
	// bound may have cut that order, so a state within the bound could be
	// missed (TestBoundedSearchKeepsStatesWithinBound; Coons, Musuvathi
	// and McKinley, "Bounded partial-order reduction", OOPSLA 2013).
	//
	// The default (Reduce zero) leaves them out where persistent sets
	// run: on the seed-000 family they cut transitions by a quarter, but
	// they double the visited set's slots (a sleep set beside each
	// fingerprint) and rename every sleep set stored or read, so the
	// search takes 14 to 34 % more CPU and twice the memory with them
	// (docs/reductions.md, "Sleep sets beside persistent sets").
	r.sleep = want&ReduceSleep != 0 && small && unbounded && (e.opts.Reduce != 0 || r.por == nil)
	for _, p := range e.props {
		if p.Kind == Invariant {
			r.invariants = true
			if p.Reads == 0 {
				r.inv = ^uint64(0)
			}
			r.inv |= p.Reads
		}
	}
	return r
}

// ran names the reductions that run.
func (r *reducer[S]) ran() Reductions {
	var x Reductions
	if r.sleep {
		x |= ReduceSleep
	}
	if r.por != nil {
		x |= ReducePOR
	}
	if r.sym != nil {
		x |= ReduceSymmetry
	}
	if x == 0 {
		return ReduceNone
	}
	return x
}

// encode appends the encoding of s's symmetry class representative.
func (e *engine[S]) encode(r *reducer[S], s *S, buf []byte) []byte {
	if r.sym == nil {
		return e.m.Encode(s, buf)
	}
	r.canon = *s
	r.sym.Canonicalize(&r.canon, r.perm)
	return e.m.Encode(&r.canon, buf)
}

// ranks makes perm the renaming of the state last stored, for the
// actors in set at least (hash only).
func (r *reducer[S]) ranks(set uint64) {
	if r.hash == nil || set&^r.ranked == 0 {
		return
	}
	r.moved |= r.hash.Ranks(r.ranksOf, set, r.perm) // the groups ranked before stay
	r.ranked |= set
}

// canonical returns the encoding of s's symmetry class representative
// when the model has interchangeable actors, else s's own.
func (e *engine[S]) canonical(s *S) []byte {
	sym, ok := e.m.(Symmetric[S])
	if !ok {
		return e.m.Encode(s, nil)
	}
	c := *s
	sym.Canonicalize(&c, make([]int, e.nAct))
	return e.m.Encode(&c, nil)
}

// toCanon renames the actors of a sleep set of the state last encoded
// to their names in its canonical state.
func (r *reducer[S]) toCanon(set uint64) uint64 {
	if r.sym == nil || set == 0 {
		return set
	}
	r.ranks(set)
	if r.hash != nil && set&r.moved == 0 {
		return set
	}
	var out uint64
	for m := set; m != 0; m &= m - 1 {
		a := bits.TrailingZeros64(m)
		if a >= len(r.perm) {
			out |= 1 << uint(a) // not an actor: kept as it is
			continue
		}
		out |= actorBit(r.perm[a])
	}
	return out
}

// fromCanon is the inverse of toCanon.
func (r *reducer[S]) fromCanon(set uint64) uint64 {
	if r.sym == nil || set == 0 {
		return set
	}
	r.ranks(set)
	if r.hash != nil && set&r.moved == 0 {
		return set // perm fixes set's actors, and moves no other one into it
	}
	var out uint64
	for a := range r.perm {
		if set&actorBit(r.perm[a]) != 0 {
			out |= actorBit(a)
		}
	}
	return out | set&^(actorBit(len(r.perm))-1)
}

// persistent returns the actors to explore at f (a persistent set, as a
// mask of actors) and whether that is fewer than every enabled actor.
//
// The set: an enabled actor whose step touches nothing (an allocation
// outside any lock) alone; else the smallest closure A of one enabled
// actor under "the current step of an actor in A conflicts with the
// future of an actor outside it", when every actor of A is enabled, and,
// when an invariant is checked, no step of A writes what it reads (the
// visibility condition). Only when every enabled step fires at the
// current time without moving the clock.
func (e *engine[S]) persistent(r *reducer[S], f *frame[S]) (uint64, bool) {
	enabled := f.enabledSet
	if r.por == nil || len(f.steps) < 2 || f.frozenSet != enabled {
		return enabled, false
	}
	for i := range f.steps {
		fp := f.steps[i].Footprint
		if fp.Read|fp.Write == 0 {
			return actorBit(f.steps[i].Actor), true
		}
	}
	if r.inv == ^uint64(0) {
		return enabled, false
	}
	// The closure depends on nothing but the enabled steps and the
	// futures, which a FutureKeyer's key determines: a state with the
	// same key and enabled actors as one met recently takes its set from
	// the memo.
	var slot memoSlot
	if r.memo != nil {
		slot = r.memo.lookup(r.keyer.FutureKey(&f.s, append(r.memo.key[:0], enabled)))
		if slot.ok {
			return slot.best, slot.best != enabled
		}
	}
	if r.futs != nil {
		r.futs.Futures(&f.s, r.fut)
	} else {
		for a := range r.fut {
			r.fut[a] = r.por.Future(&f.s, a)
		}
	}
	best := e.closure(r, f, enabled)
	if r.memo != nil {
		r.memo.keep(slot, best)
	}
	return best, best != enabled
}

// closure is the body of persistent, once every enabled step is frozen
// and the futures are in r.fut: the smallest closure that wins, or
// enabled.
func (e *engine[S]) closure(r *reducer[S], f *frame[S], enabled uint64) uint64 {
	// unfinished: the actors with a future; touched and written, what
	// their futures touch and write together.
	var unfinished, touched, written uint64
	for a := range r.fut {
		if r.fut[a].Read|r.fut[a].Write != 0 {
			unfinished |= actorBit(a)
			touched |= r.fut[a].Read | r.fut[a].Write
			written |= r.fut[a].Write
		}
	}
	// conflicts[i]: the unfinished actors whose future conflicts with
	// step i; cur[a] is the index of actor a's step.
	var conflicts [64]uint64
	var cur [64]int8
	for i := range f.steps {
		cur[f.steps[i].Actor] = int8(i)
		fp := f.steps[i].Footprint
		if fp.Write&touched == 0 && (fp.Read|fp.Write)&written == 0 {
			continue // conflicts with no future at all
		}
		for m := unfinished; m != 0; m &= m - 1 {
			b := bits.TrailingZeros64(m)
			if b != f.steps[i].Actor && fp.Conflicts(r.fut[b]) {
				conflicts[i] |= 1 << uint(b)
			}
		}
	}
	// lost: the seeds whose closure cannot win (too big, or holding a
	// disabled actor or a visible step). A closure that reaches a lost
	// seed holds that seed's closure (closures are reachability), so it
	// cannot win either: it stops there, instead of growing to the whole
	// component again for every seed of it.
	var lost uint64
	best, bestN := enabled, bits.OnesCount64(enabled)
	for i := range f.steps {
		seed := actorBit(f.steps[i].Actor)
		set := seed
		todo := set
		ok := true
		for todo != 0 && ok {
			a := bits.TrailingZeros64(todo)
			todo &^= 1 << uint(a)
			if enabled&(1<<uint(a)) == 0 {
				ok = false // a disabled actor in the closure: no reduction
				break
			}
			st := &f.steps[cur[a]]
			if r.invariants && st.Footprint.Write&r.inv != 0 {
				ok = false // visible
				break
			}
			add := conflicts[cur[a]] &^ set
			set |= add
			todo |= add
			if add != 0 && (add&lost != 0 || bits.OnesCount64(set) >= bestN) {
				ok = false // no smaller than the best so far: it cannot win
				break
			}
		}
		if !ok {
			lost |= seed
			continue
		}
		if n := bits.OnesCount64(set); n < bestN {
			best, bestN = set, n
			if n == 1 {
				break
			}
		} else {
			lost |= seed
		}
	}
	return best
}

// restrict keeps f's alternatives of the actors in its persistent set,
// and remembers the set (for the cycle proviso).
func (e *engine[S]) restrict(r *reducer[S], f *frame[S]) {
	f.persist, f.reduced = 0, false
	if r.por == nil && r.sym == nil {
		return
	}
	mask, reduced := e.persistent(r, f)
	if r.sym != nil {
		// Of twins (interchangeable actors in the same local state), the
		// first stands for the others: their steps lead to one state up
		// to a renaming.
		if tw := r.sym.Twins(&f.s, mask); tw != 0 {
			mask &^= tw
			reduced = true
		}
	}
	if !reduced {
		return
	}
	f.persist, f.reduced = mask, true
	n := 0
	for _, a := range f.alts {
		if mask&actorBit(f.steps[a.step].Actor) != 0 {
			f.alts[n] = a
			n++
		}
	}
	f.alts = f.alts[:n]
}

// widen adds back the alternatives restrict took out of f: the cycle
// proviso, for invariants, when a step of the persistent set closes a
// cycle on the stack.
func (e *engine[S]) widen(f *frame[S]) {
	if !f.reduced {
		return
	}
	f.reduced = false
	for i := range f.steps {
		if f.persist&actorBit(f.steps[i].Actor) != 0 {
			continue
		}
		n := outcomes(&f.steps[i])
		lo, hi := f.lohi[i][0], f.lohi[i][1]
		for o := 0; o < n; o++ {
			f.alts = append(f.alts, alt{step: int32(i), outcome: int32(o), at: lo})
			if hi != lo {
				f.alts = append(f.alts, alt{step: int32(i), outcome: int32(o), at: hi})
			}
		}
	}
}

// transient reports whether c, the child of the stored frame f, need not
// be stored: one of its actors has an invisible local step (no footprint,
// one outcome, at the current time), which is then its persistent set
// alone and leads to c's only successor. Such a state is checked (its
// invariants) but not kept in the visited set; the step after it is
// explored as if it were part of the step before. Only right after a
// stored state, so that every cycle keeps a stored state for the cycle
// proviso and the search cannot loop.
func (e *engine[S]) transient(r *reducer[S], f, c *frame[S]) bool {
	if r.por == nil || f.fp == 0 || len(c.steps) == 0 {
		return false
	}
	for i := range c.steps {
		st := &c.steps[i]
		if st.Footprint.Read|st.Footprint.Write != 0 || outcomes(st) != 1 || !c.frozen(i) {
			continue
		}
		c.alts = c.alts[:0]
		c.alts = append(c.alts, alt{step: int32(i), at: c.lohi[i][0]})
		c.persist, c.reduced, c.fp = actorBit(st.Actor), len(c.steps) > 1, 0
		return true
	}
	return false
}

// cycleProviso reports whether fp, a state reached from the reduced top
// frame, is on the stack, where an invariant needs that frame explored in
// full (the stack proviso of Peled and Holzmann).
func cycleProviso[S any](r *reducer[S], stack []frame[S], fp uint64) bool {
	if !r.invariants || !stack[len(stack)-1].reduced {
		return false
	}
	for i := range stack {
		if stack[i].fp == fp && fp != 0 {
			return true
		}
	}
	return false
}
