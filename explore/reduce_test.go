package explore

import (
	"context"
	"testing"

	"raceroute/trace"
)

// writers is a toy model for the reductions: actor a writes its
// program's values into variable a%vars in turn, one a step; a looping
// actor starts its program again (a cycle), else it stops at the end.
// Footprint bit v is variable v. Actors with the same program and
// variable are interchangeable.
type writers struct {
	progs [][]uint8
	vars  int
	loop  []bool
}

type wstate struct {
	V  [4]uint8
	PC [4]uint8
}

func (w *writers) Init() wstate { return wstate{} }
func (w *writers) Actors() []string {
	return []string{"w0", "w1", "w2", "w3"}[:len(w.progs)]
}
func (w *writers) Clock(*wstate) Time { return 0 }
func (w *writers) Pending(s *wstate, buf []Step) []Step {
	for a := range w.progs {
		if int(s.PC[a]) < len(w.progs[a]) {
			buf = append(buf, Step{Actor: a, Latest: Never, Footprint: Footprint{Write: 1 << uint(a%w.vars)}})
		}
	}
	return buf
}
func (w *writers) Fire(s *wstate, st Step, _ Time, _ int, _ trace.Recorder) {
	a := st.Actor
	s.V[a%w.vars] = w.progs[a][s.PC[a]]
	s.PC[a]++
	if w.loop[a] && int(s.PC[a]) == len(w.progs[a]) {
		s.PC[a] = 0
	}
}
func (w *writers) Encode(s *wstate, buf []byte) []byte {
	return append(append(buf, s.V[:]...), s.PC[:]...)
}
func (w *writers) Future(s *wstate, a int) Footprint {
	if int(s.PC[a]) >= len(w.progs[a]) {
		return Footprint{}
	}
	return Footprint{Write: 1 << uint(a%w.vars)}
}

// invariant is "not every variable in mask is 1".
func notAllOne(vars ...int) Property[wstate] {
	var reads uint64
	for _, v := range vars {
		reads |= 1 << uint(v)
	}
	return Property[wstate]{Name: "not-all-one", Kind: Invariant, Reads: reads, Holds: func(s *wstate) bool {
		for _, v := range vars {
			if s.V[v] != 1 {
				return true
			}
		}
		return false
	}}
}

func checkWith(t *testing.T, m Model[wstate], props []Property[wstate], r Reductions) Result {
	t.Helper()
	opts := DefaultOptions()
	opts.Reduce, opts.ShrinkBudget = r, -1
	return NewChecker(m, props).Check(context.Background(), opts)
}

// TestPersistentSetsVisibility: two independent actors each set their
// variable to 1 and back to 0; the invariant fails only where both are
// 1 at once, a state persistent sets without the visibility condition
// would skip (each actor run alone, in turn).
func TestPersistentSetsVisibility(t *testing.T) {
	m := &writers{progs: [][]uint8{{1, 0}, {1, 0}}, vars: 2, loop: []bool{false, false}}
	for _, r := range []Reductions{ReduceNone, ReducePOR, ReduceAll} {
		res := checkWith(t, m, []Property[wstate]{notAllOne(0, 1)}, r)
		if res.Verdict != Violated {
			t.Errorf("reduce=%s: %s, want violated", r, res.Verdict)
		}
	}
	// An invariant that reads only variable 0 (and holds) lets actor 1
	// be left out of persistent sets: fewer states, the same verdict.
	never3 := Property[wstate]{Name: "never-3", Kind: Invariant, Reads: 1, Holds: func(s *wstate) bool { return s.V[0] != 3 }}
	plain := checkWith(t, m, []Property[wstate]{never3}, ReduceNone)
	red := checkWith(t, m, []Property[wstate]{never3}, ReducePOR)
	if plain.Verdict != Holds || red.Verdict != Holds || red.States >= plain.States {
		t.Errorf("invariant on variable 0: plain %s in %d states, reduced %s in %d", plain.Verdict, plain.States, red.Verdict, red.States)
	}
}

// TestPersistentSetsCycleProviso: actor 0 toggles variable 0 forever
// (a cycle, invisible to the invariant), actor 1 sets variable 1 once;
// a search that keeps choosing actor 0 alone would close the cycle and
// never run actor 1 (the ignoring problem).
func TestPersistentSetsCycleProviso(t *testing.T) {
	m := &writers{progs: [][]uint8{{1, 0}, {1}}, vars: 2, loop: []bool{true, false}}
	for _, r := range []Reductions{ReduceNone, ReducePOR, ReduceAll} {
		res := checkWith(t, m, []Property[wstate]{notAllOne(1)}, r)
		if res.Verdict != Violated {
			t.Errorf("reduce=%s: %s, want violated", r, res.Verdict)
		}
		if r == ReducePOR && res.Reductions != "por" {
			t.Errorf("reduce=por ran %s", res.Reductions)
		}
	}
}

// TestPersistentSetsOffWhenTimed: a step that moves the clock is never
// left out.
func TestPersistentSetsOffWhenTimed(t *testing.T) {
	c := &counters{actors: 2, steps: 2, windows: [][2]Time{{0, 10}, {5, 20}}}
	plain := NewChecker[cstate](c, []Property[cstate]{sumIs(0)})
	opts := DefaultOptions()
	opts.Reduce = ReduceNone
	a := plain.Check(context.Background(), opts)
	opts.Reduce = ReduceAll
	b := plain.Check(context.Background(), opts)
	if a.States != b.States || a.Verdict != b.Verdict {
		t.Errorf("timed: plain %d states %s, reduced %d states %s", a.States, a.Verdict, b.States, b.Verdict)
	}
}

func TestParseReductions(t *testing.T) {
	for _, tc := range []struct {
		in, want string
		err      bool
	}{
		{"none", "none", false}, {"all", "sleep,por,sym", false}, {"por", "por", false},
		{"sleep,sym", "sleep,sym", false}, {"symmetry", "sym", false}, {"fast", "", true}, {"por,", "", true},
		{"default", "default", false}, {"", "default", false},
	} {
		r, err := ParseReductions(tc.in)
		if (err != nil) != tc.err {
			t.Errorf("%q: error %v", tc.in, err)
			continue
		}
		if err == nil && r.String() != tc.want {
			t.Errorf("%q: %s, want %s", tc.in, r, tc.want)
		}
	}
	var zero Reductions
	if zero.resolved() != ReduceAll {
		t.Errorf("zero value resolves to %s, want every reduction", zero.resolved())
	}
}

// The default runs sleep sets only where persistent sets do not: the
// symmetric writers (persistent sets, symmetry) run por,sym, the plain
// writers por, the writers seen as a bare Model (no Reducer) sleep sets,
// and ReduceAll runs all three.
func TestDefaultReductions(t *testing.T) {
	w := &writers{progs: [][]uint8{{1, 2}, {1, 2}, {1, 2}, {1, 2}}, vars: 2, loop: make([]bool, 4)}
	always := []Property[wstate]{{Name: "true", Kind: Final, Holds: func(*wstate) bool { return true }}}
	for _, tc := range []struct {
		name   string
		m      Model[wstate]
		reduce Reductions
		want   string
	}{
		{"default, persistent sets", symWriters{w}, 0, "por,sym"},
		{"all, persistent sets", symWriters{w}, ReduceAll, "sleep,por,sym"},
		{"default, no persistent sets", struct{ Model[wstate] }{w}, 0, "sleep"},
		{"default, plain", w, 0, "por"},
	} {
		e := newEngine[wstate](tc.m, always, DefaultOptions())
		e.opts.Reduce = tc.reduce
		if got := e.dfs(context.Background()).Reductions; got != tc.want {
			t.Errorf("%s: ran %s, want %s", tc.name, got, tc.want)
		}
	}
}

// symWriters is writers whose actors with the same program and variable
// are interchangeable.
type symWriters struct{ *writers }

func (w symWriters) Interchangeable() bool { return true }

func (w symWriters) Canonicalize(s *wstate, perm []int) {
	n := len(w.progs)
	for a := range perm {
		perm[a] = a
	}
	// a selection sort of the PCs within each class of equal actors,
	// carrying the names along
	names := make([]int, n)
	for i := range names {
		names[i] = i
	}
	for i := 0; i < n; i++ {
		for j := i + 1; j < n; j++ {
			if w.same(i, j) && s.PC[j] < s.PC[i] {
				s.PC[i], s.PC[j] = s.PC[j], s.PC[i]
				names[i], names[j] = names[j], names[i]
			}
		}
	}
	for i, a := range names {
		perm[a] = i
	}
}

func (w symWriters) same(a, b int) bool {
	return a%w.vars == b%w.vars && string(w.progs[a]) == string(w.progs[b])
}

// TestSymmetryCounterexampleIsReal: with symmetry (and the default
// reductions, or every one) the counterexample's choices, run as they are
// (no actor mended), reach the violation; and the states are fewer.
func TestSymmetryCounterexampleIsReal(t *testing.T) {
	for _, tc := range []struct {
		reduce Reductions
		ran    string
	}{{0, "por,sym"}, {ReduceAll, "sleep,por,sym"}} {
		t.Run(tc.ran, func(t *testing.T) { testSymmetryCounterexample(t, tc.reduce, tc.ran) })
	}
}

func testSymmetryCounterexample(t *testing.T, reduce Reductions, ran string) {
	// Actors 0 and 2 write variable 0 (1 then 2), actors 1 and 3 write
	// variable 1 (1 then 2). The invariant "not (variable 0 is 2 and
	// variable 1 is 1)" fails once an actor of variable 0 is done while
	// the last write to variable 1 was a 1.
	w := &writers{progs: [][]uint8{{1, 2}, {1, 2}, {1, 2}, {1, 2}}, vars: 2, loop: make([]bool, 4)}
	final := Property[wstate]{Name: "not-2-1", Kind: Invariant, Reads: 3, Holds: func(s *wstate) bool { return !(s.V[0] == 2 && s.V[1] == 1) }}
	e := newEngine[wstate](symWriters{w}, []Property[wstate]{final}, DefaultOptions())
	e.opts.Reduce = reduce
	plainE := newEngine[wstate](w, e.props, DefaultOptions())
	plainE.opts.Reduce = ReduceNone
	plain := plainE.dfs(context.Background())
	res := e.dfs(context.Background())
	if res.Reductions != ran {
		t.Fatalf("ran %s, want %s", res.Reductions, ran)
	}
	if res.Verdict != Violated || plain.Verdict != Violated {
		t.Fatalf("verdicts %s (reduced), %s (plain)", res.Verdict, plain.Verdict)
	}
	s := w.Init()
	for i, c := range res.Properties[0].Choices {
		var buf [4]Step
		var st *Step
		for _, p := range w.Pending(&s, buf[:0]) {
			if p.Actor == c.Actor {
				st = &p
			}
		}
		if st == nil {
			t.Fatalf("choice %d: actor %d has no step", i, c.Actor)
		}
		w.Fire(&s, *st, c.At, c.Outcome, nil)
	}
	if final.Holds(&s) {
		t.Errorf("the counterexample %v ends at %+v: not a violation", res.Properties[0].Choices, s)
	}
	// the whole space, for the state counts
	plainE.opts.Terminal = func(_, _ []byte, _ uint64) {}
	e.opts.Terminal = plainE.opts.Terminal
	if a, b := plainE.dfs(context.Background()).States, e.dfs(context.Background()).States; b >= a {
		t.Errorf("%d states with symmetry, %d without", b, a)
	}
}

func (w symWriters) Twins(s *wstate, set uint64) uint64 {
	var tw uint64
	for a := range w.progs {
		for b := 0; b < a; b++ {
			if set&(1<<uint(a)) != 0 && set&(1<<uint(b)) != 0 && w.same(a, b) && s.PC[a] == s.PC[b] {
				tw |= 1 << uint(a)
				break
			}
		}
	}
	return tw
}

// hops is a toy model whose futures change along a run: actor a's step
// at PC p writes variable prog[a][p] (footprint bit of that number), so
// that states with the same enabled actors have different futures. A
// FutureKey of its PCs decides them; futures counts Future calls.
type hops struct {
	prog    [][]uint8
	futures *int
}

func (h hops) Init() wstate { return wstate{} }
func (h hops) Actors() []string {
	return []string{"h0", "h1", "h2", "h3"}[:len(h.prog)]
}
func (h hops) Clock(*wstate) Time { return 0 }
func (h hops) Pending(s *wstate, buf []Step) []Step {
	for a, p := range h.prog {
		if pc := int(s.PC[a]); pc < len(p) {
			buf = append(buf, Step{Actor: a, Latest: Never, Footprint: Footprint{Write: 1 << p[pc]}})
		}
	}
	return buf
}
func (h hops) Fire(s *wstate, st Step, _ Time, _ int, _ trace.Recorder) {
	a := st.Actor
	v := &s.V[h.prog[a][s.PC[a]]]
	*v = *v*3 + uint8(a+1) // the order of writers shows
	s.PC[a]++
}
func (h hops) Encode(s *wstate, buf []byte) []byte {
	return append(append(buf, s.V[:]...), s.PC[:]...)
}
func (h hops) Future(s *wstate, a int) Footprint {
	*h.futures++
	var f Footprint
	for _, v := range h.prog[a][s.PC[a]:] {
		f.Write |= 1 << v
	}
	return f
}

// keyedHops is hops with the FutureKey of its PCs.
type keyedHops struct{ hops }

func (k keyedHops) FutureKey(s *wstate, buf []uint64) []uint64 {
	return append(buf, uint64(s.PC[0])|uint64(s.PC[1])<<8|uint64(s.PC[2])<<16|uint64(s.PC[3])<<24)
}

var hopProgs = [][]uint8{{0, 1, 0}, {1, 2}, {2, 3, 3}, {3, 0}}

// TestPersistentSetMemo: with a FutureKeyer, persistent sets come from
// the memo for states that share a key (fewer futures computed), and the
// search is the same one: the same verdict, states and transitions, with
// persistent sets alone and with every reduction.
func TestPersistentSetMemo(t *testing.T) {
	props := []Property[wstate]{{Name: "final", Kind: Final, Holds: func(s *wstate) bool { return s.V[0] != 99 }}}
	for _, r := range []Reductions{ReducePOR, ReduceAll} {
		var plainN, keyedN int
		plain := checkWith(t, hops{prog: hopProgs, futures: &plainN}, props, r)
		keyed := checkWith(t, keyedHops{hops{prog: hopProgs, futures: &keyedN}}, props, r)
		if plain.Verdict != Holds || keyed.Verdict != plain.Verdict || keyed.States != plain.States || keyed.Transitions != plain.Transitions {
			t.Errorf("reduce=%s: plain %s %d states %d transitions, keyed %s %d %d", r, plain.Verdict, plain.States, plain.Transitions, keyed.Verdict, keyed.States, keyed.Transitions)
		}
		if plainN == 0 || keyedN >= plainN {
			t.Errorf("reduce=%s: %d futures computed with the memo, %d without", r, keyedN, plainN)
		}
	}
}

// TestPersistentSetMemoPerState: over every reachable state, the
// persistent set a keyed engine gives (from its memo where the key was
// met before) is the one a plain engine computes.
func TestPersistentSetMemoPerState(t *testing.T) {
	var n int
	opts := DefaultOptions()
	h := hops{prog: hopProgs, futures: &n}
	keyed := newEngine[wstate](keyedHops{h}, nil, opts)
	plain := newEngine[wstate](h, nil, opts)
	rk, rp := keyed.newReducer(), plain.newReducer()
	if rk.memo == nil || rp.memo != nil {
		t.Fatalf("memo: keyed %v, plain %v", rk.memo != nil, rp.memo != nil)
	}
	seen := map[wstate]bool{{}: true}
	todo := []wstate{{}}
	reduced := 0
	for len(todo) > 0 {
		s := todo[len(todo)-1]
		todo = todo[:len(todo)-1]
		var fk, fp frame[wstate]
		fk.s, fp.s = s, s
		keyed.expand(&fk)
		plain.expand(&fp)
		gk, okk := keyed.persistent(rk, &fk)
		gp, okp := plain.persistent(rp, &fp)
		if gk != gp || okk != okp {
			t.Fatalf("state %v: keyed %b %v, plain %b %v", s, gk, okk, gp, okp)
		}
		if okp {
			reduced++
		}
		for _, st := range h.Pending(&s, nil) {
			c := s
			h.Fire(&c, st, 0, 0, nil)
			if !seen[c] {
				seen[c] = true
				todo = append(todo, c)
			}
		}
	}
	if rk.memo.hits == 0 || reduced == 0 {
		t.Fatalf("%d states, %d memo hits, %d reduced: the test shows nothing", len(seen), rk.memo.hits, reduced)
	}
}
