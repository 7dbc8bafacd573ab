package explore

import (
	"cmp"
	"context"
	"math"
	"math/rand/v2"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"raceroute/explore/visited"
)

// The parallel, sharded and swarm searches share one scheme: the states
// up to a split depth are enumerated breadth first, and the states at the
// split depth, the frontier, are the roots of depth-first searches. Both
// run the sequential search's reductions (parallelReducer says which):
// persistent sets and symmetry where the model has them, as dfs runs
// them (at each new state the persistent set less twins, states stored
// by their symmetry class, transient states not stored), or else sleep
// sets, under the order described below. Workers of one process share
// one visited set (lock-free inserts) and take frontier states from a
// common counter; a shard of N takes only the frontier states whose
// fingerprint is its index modulo N, and has a visited set of its own.
//
// Every state up to the split depth is in every shard's visited set, so a
// frontier state reached again below another one is never explored twice
// in a process: only its owner explores it. What lies below the frontier
// may be reached from frontier states of several shards and is then
// explored (and counted) by each of them: the shards' state counts
// overlap, and the union of their fingerprint sets is the single search's
// state set.
//
// Sleep sets with state caching (dfs) rest on an order: an actor asleep
// at a state, or a cached state's stored sleep set, is trusted because
// some exploration earlier in dfs's order covers what it leaves out.
// Workers have no common time order, so the parallel search makes one
// out of ranks (docs/reductions.md, "Sleep sets in the parallel search"):
//
//   - The prefix is a tree explored with dfs's sleep sets, so that each
//     frontier state carries the sleep set of its path. An actor asleep
//     there rests on the subtrees of earlier siblings of an ancestor (the
//     children by that actor of the node where it was done), that is on
//     the frontier states below them, all before it in the tree's order.
//     A frontier state's rank is 0 when its sleep set is empty, else one
//     more than the greatest rank of the frontier states it rests on.
//   - An exploration records, when it finishes, its sleep set and its
//     frontier state's rank (visited.Set.Finish: an entry holds a rank
//     and the intersection of sleep sets of finished explorations of
//     ranks up to it; one of a rank at least the stored one intersects
//     and raises it, one of a lower rank replaces both). A worker trusts
//     a cached entry only if explorations have finished and its rank is
//     at most the worker's; an entry under way, or of a higher rank, is
//     explored again, relying on neither (and its finish then lowers the
//     entry's rank, so that the same rank trusts it from then on).
//
// Every reliance then goes down in the order (rank, time finished): on an
// entry of a lower rank, or of the same rank that finished before; on a
// done sibling of the same frontier state, finished before; on frontier
// states of a lower rank (its own sleep set). There is no cycle of
// explorations each relying on the other's (which lost 7 of 25,301 states
// when entries were trusted under way), and the dfs argument (each
// exploration covers what its sleep set leaves out, by induction) holds
// along that order. Frontier states are taken in order of rank, so that
// workers mostly run explorations of one rank at once and trust each
// other's: the states found are the sequential search's
// (TestParallelAndShardsMatchSequential in model/fib6 and check), with
// about its transitions (k=5 m=3: 34.2 to 36.6 M at 2 workers, dfs
// 34.0 M; a prefix without sleep sets, as before, cost 14 to 37 % more).

// splitMin is how many frontier states the split aims at (per shard, at
// least 64), so that workers and shards get balanced shares.
const splitMin = 1024

// treeMax bounds the prefix tree (with sleep sets) at treeMax times the
// frontier states the split aims at.
const treeMax = 1

// maxSplitDepth bounds the split depth.
const maxSplitDepth = 64

// node is a state of the breadth-first prefix, with how it was reached.
type node[S any] struct {
	s             S
	last, preempt int
	sleep         uint64 // with sleep sets: its path's, as in dfs
	path          []Choice
	// id is the node's index in psearch.tree; rank, of a frontier state,
	// the length of the longest chain of frontier states its sleep set
	// rests on (rank).
	id   int32
	rank int64
}

// pnode is a node of the prefix tree (with sleep sets): its parent, and
// for each actor asleep in it, the nodes its sleep rests on.
type pnode struct {
	parent int32
	just   []justBit
}

// justBit says that an actor asleep in a prefix node sleeps for the
// subtrees of nodes lo to hi-1: the children by that actor of the
// ancestor where it was explored before (dfs's done set), which a path
// through it reaches again by commuting its steps.
type justBit struct {
	actor  uint8
	lo, hi int32
}

// psearch is one parallel, sharded or swarm search.
type psearch[S any] struct {
	e *engine[S]
	// reduce is whether sleep sets run; red, the split's reduction layer
	// (each worker has its own: parallelReducer).
	reduce bool
	red    *reducer[S]
	fps    *visited.Set
	exact  *visited.Exact
	exMu   sync.Mutex
	// world is held for reading by every working worker; Grow runs under
	// the write lock.
	world sync.RWMutex

	live      atomic.Uint64
	halt      atomic.Bool // every property violated: stop
	unknown   atomic.Bool // budget, context or state bound: stop, no verdict
	mu        sync.Mutex
	firstPath [][]Choice
	pollMu    sync.Mutex

	items   []node[S]
	tree    []pnode
	next    atomic.Int64
	workers []*pworker[S]
	prefix  int64 // states up to the split depth
	// prefixTransitions are the transitions fired up to it.
	prefixTransitions int64
	depth             int
}

// pworker is one worker's own counters and stack, apart from the others'.
type pworker[S any] struct {
	states, transitions atomic.Int64
	stack               []frame[S]
	fps, claims         []uint64
	slots               []visited.Slot
	enc                 []byte
	rng                 *rand.Rand // swarm: the order of alternatives
	red                 *reducer[S]
	_                   [64]byte
}

func (p *psearch[S]) states() int64 {
	n := p.prefix
	for _, w := range p.workers {
		n += w.states.Load()
	}
	return n
}

func (p *psearch[S]) transitions() int64 {
	n := p.prefixTransitions
	for _, w := range p.workers {
		n += w.transitions.Load()
	}
	return n
}

// key appends the visited-set key of a state: the encoding of its
// symmetry class's representative where red runs symmetry, else its own
// (the preemption context is part of it under a preemption bound, as in
// dfs).
func (p *psearch[S]) key(red *reducer[S], s *S, last, preempt int, enc []byte) []byte {
	enc = p.e.encode(red, s, enc[:0])
	if p.e.opts.PreemptionBound >= 0 {
		enc = append(enc, byte(last), byte(last>>8), byte(preempt), byte(preempt>>8))
	}
	return enc
}

// fpOf returns the fingerprint s is stored under (its symmetry class's
// where w runs symmetry); with the exact set it returns 0 and leaves the
// key in w.enc, which store and has then take.
func (p *psearch[S]) fpOf(w *pworker[S], s *S, last, preempt int) uint64 {
	if w.red.hash != nil {
		return w.red.hash.ClassFingerprint(s) // never 0; never with the exact set
	}
	w.enc = p.key(w.red, s, last, preempt, w.enc)
	if p.exact != nil {
		return 0
	}
	return fingerprint(w.enc)
}

// frameFP is fpOf of f's state, and, with a ClassStepper, puts the parts
// of its fingerprint in f, from which fireAhead fingerprints f's
// children.
func (p *psearch[S]) frameFP(w *pworker[S], f *frame[S]) uint64 {
	if w.red.step != nil {
		fp, parts := w.red.step.ClassParts(&f.s)
		f.parts = parts
		return fp
	}
	return p.fpOf(w, &f.s, f.last, f.preempt)
}

// store looks a state up by what fpOf returned and stores it if it is
// new (while the world is held for reading). A state found reports what
// the explorations of it that have finished recorded (visited.Finished
// reads it; visited.Unfinished while none has); finish records one.
func (p *psearch[S]) store(w *pworker[S], fp uint64) (at visited.Slot, stored uint64, found bool) {
	if p.exact != nil {
		p.exMu.Lock()
		defer p.exMu.Unlock()
		_, found = p.exact.LookupOrInsert(w.enc, 0)
		return at, 0, found
	}
	return p.insertFP(fp)
}

// has reports whether the state fpOf last took is stored, storing
// nothing.
func (p *psearch[S]) has(w *pworker[S], fp uint64) bool {
	if p.exact != nil {
		p.exMu.Lock()
		defer p.exMu.Unlock()
		return p.exact.Contains(w.enc)
	}
	return p.fps.Contains(fp)
}

// insertFP is store of a fingerprint (the fingerprint set's).
func (p *psearch[S]) insertFP(fp uint64) (at visited.Slot, stored uint64, found bool) {
	for {
		at, stored, found, ok := p.fps.InsertConcurrent(fp)
		if ok {
			return at, stored, found
		}
		p.safePoint()
	}
}

// fingerprint is visited.Fingerprint, never 0 (the set stores 0 as 1,
// and the workers' stacks and fire-ahead compare fingerprints).
func fingerprint(enc []byte) uint64 {
	if fp := visited.Fingerprint(enc); fp != 0 {
		return fp
	}
	return 1
}

// finish records that an exploration of fp with sleep set sleep, from
// the frontier state of index order, has finished.
func (p *psearch[S]) finish(at visited.Slot, fp, sleep uint64, order int64) {
	if p.fps != nil {
		p.fps.Finish(at, fp, sleep, order)
	}
}

// safePoint lets the visited set grow: the worker gives up its read hold
// of the world, and the first to get the write lock grows the table,
// the others rehashing segments beside it while they wait.
// One that finds the growth done (by another) takes its read hold back
// without asking for the write lock: asking for it then would wait until
// every other worker came to its next safe point, which, with nothing
// pending, is the next growth (measured: half of a 2-worker search spent
// so).
func (p *psearch[S]) safePoint() {
	p.world.RUnlock()
	for p.fps.GrowPending() {
		if p.world.TryLock() {
			if p.fps.GrowPending() {
				p.fps.Grow()
			}
			p.world.Unlock()
			break
		}
		p.fps.HelpGrow() // the growth under way, if the other got the lock
		runtime.Gosched()
	}
	p.world.RLock()
}

// note records the properties in m (not 0) as violated by the schedule
// path gives and reports whether every property is now violated.
func (p *psearch[S]) note(m uint64, path func() []Choice) bool {
	keepGoing := p.e.opts.Terminal != nil // as in dfs: never stop early
	if p.live.Load()&m == 0 {
		return p.live.Load() == 0 && !keepGoing
	}
	pp := path()
	p.mu.Lock()
	for i := range p.e.props {
		bit := uint64(1) << uint(i)
		if m&bit != 0 && p.firstPath[i] == nil {
			p.firstPath[i] = pp
		}
	}
	live := p.live.Load() &^ m
	p.live.Store(live)
	p.mu.Unlock()
	if live == 0 && !keepGoing {
		p.halt.Store(true)
	}
	return live == 0 && !keepGoing
}

// terminal reports a terminal state to the Terminal hook (Options), one
// worker at a time.
func (p *psearch[S]) terminal(s *S) {
	if p.e.opts.Terminal == nil {
		return
	}
	e := p.e
	enc, canon, violated := e.m.Encode(s, nil), e.canonical(s), e.violated(s, Final, e.all)
	p.mu.Lock()
	defer p.mu.Unlock()
	e.opts.Terminal(enc, canon, violated)
}

func extend(path []Choice, c Choice) []Choice {
	return append(append(make([]Choice, 0, len(path)+1), path...), c)
}

// split enumerates the states breadth first up to the first depth with
// at least want states (or none left), checking properties on the way;
// it leaves the deepest level in p.items. It returns false when the
// search must stop (every property violated, or out of budget).
//
// With sleep sets the prefix is a tree, explored with dfs's sleep sets in
// dfs's order of alternatives, so that each frontier state carries the
// sleep set dfs would have given it on its path, resting only on the
// frontier states before it (see the header). A state reached again in
// the prefix is a node again (its sleep set is its path's); its entry
// stays Unfinished, so that nothing relies on it. Without sleep sets a
// state reached again is left out: its first node explores it.
func (p *psearch[S]) split(stop *stopper, want int) bool {
	e := p.e
	p.world.RLock()
	defer p.world.RUnlock()
	root := node[S]{s: e.m.Init(), last: -1}
	empty := func() []Choice { return []Choice{} }
	if m := e.violated(&root.s, Invariant, p.live.Load()); m != 0 && p.note(m, empty) {
		return false
	}
	if b, _ := e.enabled(&root.s, nil, nil); len(b) == 0 {
		p.terminal(&root.s)
		if m := e.violated(&root.s, Final, p.live.Load()); m != 0 && p.note(m, empty) {
			return false
		}
	}
	sw := &pworker[S]{red: p.red} // the split's scratch, as a worker's
	p.store(sw, p.fpOf(sw, &root.s, -1, 0))
	p.prefix = 1
	level := []node[S]{root}
	p.tree = append(p.tree[:0], pnode{parent: -1})
	var f, cf frame[S]
	// kids[a] is the range of the children by actor a of the node being
	// expanded (each step's alternatives come together).
	kids := make([][2]int32, p.e.nAct)
	// A tree holds each state once per path to it: it stops at treeMax
	// nodes (as when the whole space lies within a few levels), its last
	// level then the frontier.
	for depth := 0; len(level) > 0 && len(level) < want && len(p.tree) < treeMax*want && depth < maxSplitDepth; depth++ {
		var next []node[S]
		for ni := range level {
			n := &level[ni]
			if stop.poll(Progress{States: p.prefix}) {
				p.unknown.Store(true)
				return false
			}
			f.s, f.last, f.preempt, f.sleep = n.s, n.last, n.preempt, n.sleep
			f.fp = 1     // stored (transient reads only that)
			e.expand(&f) // quiescent: its final properties were checked when found
			e.restrict(p.red, &f)
			for _, st := range f.steps {
				if st.Actor < len(kids) {
					kids[st.Actor] = [2]int32{}
				}
			}
			for f.next < len(f.alts) {
				a, st, pre, csleep, skip := f.take(e.opts.PreemptionBound, p.reduce)
				if skip {
					continue
				}
				c := node[S]{s: f.s, last: st.Actor, preempt: pre, sleep: csleep}
				e.m.Fire(&c.s, *st, a.at, int(a.outcome), nil)
				p.prefixTransitions++
				choice := Choice{Actor: st.Actor, At: a.at, Outcome: int(a.outcome)}
				path := func() []Choice { return extend(n.path, choice) }
				if m := e.violated(&c.s, Invariant, p.live.Load()); m != 0 && p.note(m, path) {
					return false
				}
				fp := p.fpOf(sw, &c.s, c.last, c.preempt)
				if p.red.por != nil && !p.has(sw, fp) {
					// A transient child (as in dfs: an invisible local
					// step next, explored alone) is not stored: the
					// state after that step is the prefix's node.
					cf.s, cf.last, cf.preempt = c.s, c.last, c.preempt
					e.expand(&cf)
					if e.transient(p.red, &f, &cf) {
						a2 := cf.alts[0]
						st2 := &cf.steps[a2.step]
						e.m.Fire(&c.s, *st2, a2.at, int(a2.outcome), nil)
						p.prefixTransitions++
						c.last = st2.Actor
						choice2 := Choice{Actor: st2.Actor, At: a2.at, Outcome: int(a2.outcome)}
						pathTo := path
						path = func() []Choice { return extend(pathTo(), choice2) }
						if m := e.violated(&c.s, Invariant, p.live.Load()); m != 0 && p.note(m, path) {
							return false
						}
						fp = p.fpOf(sw, &c.s, c.last, c.preempt)
					}
				}
				_, _, seen := p.store(sw, fp)
				if seen && !p.reduce {
					continue
				}
				if !seen {
					p.prefix++
					if e.opts.MaxStates > 0 && p.prefix >= e.opts.MaxStates {
						p.unknown.Store(true)
						return false
					}
					if cb, _ := e.enabled(&c.s, nil, nil); len(cb) == 0 {
						p.terminal(&c.s)
						if m := e.violated(&c.s, Final, p.live.Load()); m != 0 && p.note(m, path) {
							return false
						}
					}
				}
				if len(next) > visited.MaxOrder {
					// Frontier states are ranked by their index (the
					// visited set's order): this many cannot be.
					p.unknown.Store(true)
					return false
				}
				c.path = path()
				if p.reduce {
					c.id = int32(len(p.tree))
					k := &kids[st.Actor]
					if k[1] == 0 {
						k[0] = c.id
					}
					k[1] = c.id + 1
					p.tree = append(p.tree, pnode{parent: n.id, just: p.justify(n, c.sleep, kids)})
				}
				next = append(next, c)
			}
		}
		level = next
		p.depth = depth + 1
	}
	p.items = level
	if p.reduce {
		p.rank()
	}
	return true
}

// justify says what the actors asleep in a child of n (sleep) rest on:
// one asleep in n what it rested on there, one done in n its children by
// that actor (kids).
func (p *psearch[S]) justify(n *node[S], sleep uint64, kids [][2]int32) []justBit {
	var just []justBit
	for a := 0; sleep>>uint(a) != 0; a++ {
		if sleep&(1<<uint(a)) == 0 {
			continue
		}
		if n.sleep&(1<<uint(a)) != 0 {
			for _, j := range p.tree[n.id].just {
				if int(j.actor) == a {
					just = append(just, j)
				}
			}
			continue
		}
		just = append(just, justBit{actor: uint8(a), lo: kids[a][0], hi: kids[a][1]})
	}
	return just
}

// rank gives each frontier state its rank: 0 when its sleep set is empty,
// else one more than the greatest rank of the frontier states below the
// nodes its sleep set rests on (all before it in the tree's order, so
// ranked before it); and puts the frontier states in order of rank, so
// that workers take those of one rank together (a worker relies on the
// explorations that have finished from frontier states of a rank up to
// its own: those of a higher rank it explores again).
func (p *psearch[S]) rank() {
	most := make([]int64, len(p.tree)) // the greatest rank below a node, -1 for none
	for i := range most {
		most[i] = -1
	}
	for i := range p.items {
		n := &p.items[i]
		n.rank = 0
		for _, j := range p.tree[n.id].just {
			for q := j.lo; q < j.hi; q++ {
				n.rank = max(n.rank, most[q]+1)
			}
		}
		for q := n.id; q >= 0 && most[q] < n.rank; q = p.tree[q].parent {
			most[q] = n.rank
		}
	}
	slices.SortStableFunc(p.items, func(a, b node[S]) int { return cmp.Compare(a.rank, b.rank) })
}

// poll is stopper.poll for whichever worker gets to it first.
func (p *psearch[S]) poll(stop *stopper) bool {
	if !p.pollMu.TryLock() {
		return false
	}
	defer p.pollMu.Unlock()
	return stop.poll(Progress{States: p.states(), Transitions: p.transitions()})
}

// run explores from the items on nw workers.
func (p *psearch[S]) run(stop *stopper, nw int) {
	p.workers = make([]*pworker[S], nw)
	for i := range p.workers {
		p.workers[i] = &pworker[S]{red: p.red}
		if i > 0 {
			p.workers[i].red = p.e.parallelReducer() // its own scratch and memo
		}
		if sw := p.e.opts.Swarm; sw.Count > 0 {
			p.workers[i].rng = runRNG(p.e.opts.Seed, int64(sw.Index*max(len(p.workers), 1)+i))
		}
	}
	var wg sync.WaitGroup
	for _, w := range p.workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			p.world.RLock()
			defer p.world.RUnlock()
			for !p.halt.Load() && !p.unknown.Load() {
				k := p.next.Add(1) - 1
				if k >= int64(len(p.items)) {
					return
				}
				p.explore(w, &p.items[k], stop)
			}
		}()
	}
	wg.Wait()
}

// explore is dfs from a frontier state, with the shared visited set: it
// relies on explorations that have finished from frontier states of a
// rank up to its own (the header says why).
func (p *psearch[S]) explore(w *pworker[S], root *node[S], stop *stopper) {
	e, order := p.e, root.rank
	if cap(w.stack) == 0 {
		w.stack = make([]frame[S], 1, 64)
	}
	stack := w.stack[:1]
	defer func() { w.stack = stack[:0] }()
	// fps and claims hold, per stack frame, the state's fingerprint and
	// the sleep set its exploration is recorded with when it finishes.
	f := &stack[0]
	f.s, f.last, f.preempt, f.sleep = root.s, root.last, root.preempt, root.sleep
	fp := p.frameFP(w, f)
	at, stored, _ := p.store(w, fp)
	f.fp = max(fp, 1) // stored (transient reads that; 0 only with the exact set)
	fps, claims, slots := append(w.fps[:0], fp), append(w.claims[:0], root.sleep), append(w.slots[:0], at)
	defer func() { w.fps, w.claims, w.slots = fps[:0], claims[:0], slots[:0] }()
	if sleep, o, ok := visited.Finished(stored); p.reduce && ok && o <= order {
		// Explored before, from another path to it (a frontier state
		// reached again, in the prefix or below it).
		awake := sleep &^ root.sleep
		if awake == 0 {
			return
		}
		f.sleep = ^awake
	}
	p.expand(w, f)
	e.restrict(w.red, f)
	// As dfs, drop the alternatives of actors asleep at a frame, then
	// fire the rest ahead and prefetch their slots (fireAhead): not with
	// the exact set nor under a preemption bound (whose keys need the
	// preemption context), nor with symmetry unless the model hashes
	// classes. Without the drop every asleep alternative is fired and
	// hashed only for take to skip it.
	ahead := p.exact == nil && (w.red.sym == nil || w.red.hash != nil) && e.opts.PreemptionBound < 0
	keyAhead := func(s *S) uint64 { return p.fpOf(w, s, -1, 0) }
	prefire := func(f *frame[S]) {
		f.dropAsleep()
		if ahead {
			e.fireAhead(f, p.fps, keyAhead, w.red.step)
		}
	}
	prefire(f)
	path := func(top int, extra Choice) func() []Choice {
		return func() []Choice {
			pp := append(make([]Choice, 0, len(root.path)+top+1), root.path...)
			for i := 1; i <= top; i++ {
				pp = append(pp, stack[i].choice)
			}
			return append(pp, extra)
		}
	}
	// Counted here and published every 256 steps (and at the end), not
	// with an atomic add per transition.
	var states, transitions int64
	defer func() { w.states.Add(states); w.transitions.Add(transitions) }()
	for iter := 0; len(stack) > 0; iter++ {
		if iter&255 == 0 {
			w.states.Add(states)
			w.transitions.Add(transitions)
			states, transitions = 0, 0
			if p.halt.Load() || p.unknown.Load() {
				return
			}
			if p.exact == nil && p.fps.GrowPending() {
				p.safePoint()
			}
			if p.poll(stop) {
				p.unknown.Store(true)
				return
			}
			if e.opts.MaxStates > 0 && p.states() >= e.opts.MaxStates {
				p.unknown.Store(true)
				return
			}
		}
		top := len(stack) - 1
		f := &stack[top]
		if f.next >= len(f.alts) {
			if p.reduce {
				p.finish(slots[top], fps[top], claims[top], order)
			}
			stack = stack[:top]
			continue
		}
		idx := f.next
		a, st, pre, csleep, skip := f.take(e.opts.PreemptionBound, p.reduce)
		if skip {
			continue
		}
		choice := Choice{Actor: st.Actor, At: a.at, Outcome: int(a.outcome)}
		if len(stack) == cap(stack) {
			stack = append(stack, frame[S]{})
			stack = stack[:len(stack)-1]
			f = &stack[top]
		}
		stack = stack[:top+2]
		c := &stack[top+1]
		fp := e.successor(f, c, idx, a, st)
		transitions++
		c.choice, c.last, c.preempt = choice, st.Actor, pre
		if m := e.violated(&c.s, Invariant, p.live.Load()); m != 0 && p.note(m, path(top, choice)) {
			return
		}
		if fp == 0 {
			fp = p.frameFP(w, c) // not fired ahead
		}
		// With persistent sets a new child is expanded first: a transient
		// one (reduce.go) is not stored, as in dfs.
		early := w.red.por != nil && !p.has(w, fp)
		if early {
			p.expand(w, c)
			if e.transient(w.red, f, c) {
				c.sleep = csleep
				fps, claims, slots = append(fps[:top+1], 0), append(claims[:top+1], 0), append(slots[:top+1], visited.Slot{})
				prefire(c)
				continue
			}
		}
		at, stored, seen := p.store(w, fp)
		c.fp = max(fp, 1) // stored (0 only with the exact set)
		claim := csleep
		switch {
		case !seen:
			states++
		case !p.reduce:
			stack = stack[:top+1]
			continue
		case !p.trusted(&stored, order) && !onStack(fps, fp, claims, &stored):
			// Under way, or finished only from frontier states after this
			// one: explored here too, relying on neither.
		default:
			// Finished (or an ancestor, as in dfs): explore only the
			// actors that slept there and are awake here.
			awake := stored &^ csleep
			if awake == 0 {
				stack = stack[:top+1]
				continue
			}
			csleep = ^awake
		}
		c.sleep = csleep
		fps, claims, slots = append(fps[:top+1], fp), append(claims[:top+1], claim), append(slots[:top+1], at)
		if !early {
			p.expand(w, c)
		}
		e.restrict(w.red, c) // a new state: with sleep sets (a revisit too) w.red runs neither persistent sets nor symmetry
		if len(c.steps) == 0 {
			p.terminal(&c.s)
			if m := e.violated(&c.s, Final, p.live.Load()); m != 0 && p.note(m, path(top, choice)) {
				return
			}
			if p.reduce {
				p.finish(at, fp, 0, order)
			}
			stack = stack[:top+1]
			continue
		}
		prefire(c)
	}
}

// trusted reports whether the word InsertConcurrent stored says that
// explorations of the state have finished, every one from a frontier
// state of index at most order; if so, stored becomes the intersection
// of their sleep sets.
func (p *psearch[S]) trusted(stored *uint64, order int64) bool {
	sleep, o, ok := visited.Finished(*stored)
	if ok && o <= order {
		*stored = sleep
		return true
	}
	return false
}

// onStack reports whether fp is a state on the worker's own stack (a
// cycle); if so, stored becomes the sleep set it is being explored with.
func onStack(fps []uint64, fp uint64, claims []uint64, stored *uint64) bool {
	for i := range fps {
		if fps[i] == fp {
			*stored = claims[i]
			return true
		}
	}
	return false
}

// expand is engine.expand; a swarm member then puts the steps in its own
// random order (each step's alternatives stay together: the sleep sets
// mark an actor done after its last alternative).
func (p *psearch[S]) expand(w *pworker[S], f *frame[S]) {
	p.e.expand(f)
	if w.rng == nil || len(f.steps) < 2 {
		return
	}
	order := w.rng.Perm(len(f.steps))
	alts := make([]alt, 0, len(f.alts))
	for _, i := range order {
		for _, a := range f.alts {
			if int(a.step) == i {
				alts = append(alts, a)
			}
		}
	}
	f.alts = alts
}

// search runs the sequential dfs, or the parallel search when opts asks
// for workers, a shard or a swarm member.
func (e *engine[S]) search(ctx context.Context) Result {
	if e.opts.Workers > 1 || e.opts.Shard.Count > 1 || e.opts.Swarm.Count > 0 {
		return e.parallel(ctx)
	}
	return e.dfs(ctx)
}

// parallel runs the parallel, sharded or swarm search.
func (e *engine[S]) parallel(ctx context.Context) Result {
	stop := newStopper(ctx, e.opts)
	nw := max(e.opts.Workers, 1)
	if e.opts.Swarm.Count > 0 {
		nw = 1 // a member is one randomised search from the root
	}
	// Sleep sets with state caching, as in dfs, except that a worker
	// trusts only explorations that have finished, of a rank up to its
	// own (the header): with the sleep set stored when a state was first
	// reached, as dfs stores it, one worker relied on another's
	// exploration still under way while that one relied on the first's,
	// and a test found states lost (7 of 25,301, in 1 run of 6). At most
	// visited.SleepBits (40) actors: the word's upper bits hold the rank.
	// The exact set keeps no
	// sleep sets here: with it, no reduction. Nor under a preemption
	// bound: a path that sleep sets leave out for a commuted one may have
	// fewer preemptions than it, so that the bounded set of (state,
	// preemption context) keys is not kept (TestPartsFindTheSequentialStates:
	// dfs stores 15,002 of 25,617).
	// Sleep sets run only where neither persistent sets nor symmetry do
	// (parallelReducer): the ranks above do not rename actors.
	red := e.parallelReducer()
	p := &psearch[S]{e: e, reduce: red.sleep, red: red, firstPath: make([][]Choice, len(e.props))}
	p.live.Store(e.all)
	if e.opts.Exact {
		p.exact = visited.NewExact()
	} else {
		p.fps = visited.NewSet(visited.Config{Sleep: p.reduce, Expect: e.opts.ExpectStates, Concurrent: true})
		defer p.fps.Free()
	}
	sh := e.opts.Shard
	want := 0 // swarm: no split, one randomised search from the root
	if e.opts.Swarm.Count == 0 {
		want = splitMin
		if e.opts.Split > 0 {
			want = e.opts.Split
		}
		want = max(want, 64*sh.Count) // not of nw: the shards of one check must agree
	}
	res := Result{Verdict: Holds, Exhaustive: true, Bound: -1, Shard: sh, Swarm: e.opts.Swarm, Reductions: red.ran().String()}
	if p.split(stop, want) && sh.Count > 1 {
		mine := p.items[:0]
		var enc []byte
		for _, n := range p.items {
			enc = p.key(p.red, &n.s, n.last, n.preempt, enc)
			if visited.Fingerprint(enc)%uint64(sh.Count) == uint64(sh.Index) {
				mine = append(mine, n)
			}
		}
		res.Frontier = len(p.items)
		p.items = mine
	}
	res.SplitDepth, res.PrefixStates = p.depth, p.prefix
	if res.Frontier == 0 {
		res.Frontier = len(p.items)
	}
	res.ShardFrontier = len(p.items)
	if !p.halt.Load() && !p.unknown.Load() {
		p.run(stop, nw)
	}
	res.States, res.Transitions = p.states(), p.transitions()
	res.Elapsed = time.Since(stop.start)
	if p.halt.Load() {
		res.Exhaustive = false
	}
	if p.unknown.Load() {
		res.Exhaustive, res.Verdict = false, Unknown
	}
	if e.opts.Visited != nil && p.fps != nil {
		p.fps.Each(e.opts.Visited)
	}
	if res.States > 0 {
		if p.exact != nil {
			res.BytesPerState = float64(p.exact.Bytes()) / float64(res.States)
		} else {
			res.BytesPerState, res.HugePages = float64(p.fps.PeakBytes())/float64(res.States), p.fps.HugePages()
			n := float64(res.States)
			res.OmissionProbability = math.Min(1, n*n/math.Exp2(65))
		}
	}
	if e.opts.PreemptionBound >= 0 {
		res.Bound, res.Exhaustive = e.opts.PreemptionBound, false
	}
	res.Workers = nw
	setProperties(&res, e.props, p.firstPath, res.Verdict != Unknown)
	return res
}

// parallelReducer is the reduction layer of one worker of the parallel,
// sharded or swarm search (or of its split): dfs's (newReducer), except
// that
//
//   - sleep sets run only where neither persistent sets nor symmetry do:
//     the ranks that let workers trust each other's sleep sets (the
//     header) are kept under the real actor names, and persistent sets
//     would change which explorations a sleep set rests on;
//   - persistent sets run only where no cycle proviso is needed: when no
//     invariant is checked (persistent sets keep every terminal state of
//     a finite graph) or when the model's graphs have no cycle (Acyclic).
//     The proviso looks for the state on the DFS stack, and a worker
//     cannot see the others' stacks.
func (e *engine[S]) parallelReducer() *reducer[S] {
	r := e.newReducer()
	if r.por != nil && r.invariants && !acyclic(e.m) {
		r.por, r.futs, r.fut, r.keyer, r.memo = nil, nil, nil, nil, nil
	}
	want := e.opts.Reduce.resolved()
	if e.opts.NoReduction {
		want = 0
	}
	r.sleep = want&ReduceSleep != 0 && r.por == nil && r.sym == nil &&
		e.nAct <= visited.SleepBits && !e.opts.Exact && e.opts.PreemptionBound < 0
	return r
}
