package explore

import (
	"context"
	"fmt"
	"reflect"
	"strings"
	"testing"

	"raceroute/trace"
)

// counters is a toy model: each actor runs `steps` steps; in racy mode an
// actor reads the shared counter in one step and writes it back plus one
// in the next (the lost update), in private mode it increments its own
// counter. Windows, when set, time each actor's steps.
type counters struct {
	actors, steps int
	racy          bool
	windows       [][2]Time // per actor, for every step; nil = untimed
}

type cstate struct {
	Now    Time
	Shared uint8
	Own    [4]uint8
	PC     [4]uint8
	Tmp    [4]uint8
	Order  [8]uint8 // actor+1 of each step fired, in order
	N      uint8
}

func (c *counters) Init() cstate { return cstate{} }
func (c *counters) Actors() []string {
	var n []string
	for i := 0; i < c.actors; i++ {
		n = append(n, fmt.Sprintf("a%d", i))
	}
	return n
}
func (c *counters) Clock(s *cstate) Time { return s.Now }
func (c *counters) Pending(s *cstate, buf []Step) []Step {
	for a := 0; a < c.actors; a++ {
		if int(s.PC[a]) >= c.steps {
			continue
		}
		st := Step{Actor: a, Latest: Never}
		if c.windows != nil {
			st.Earliest, st.Latest = c.windows[a][0], c.windows[a][1]
		}
		if c.racy {
			if s.PC[a]%2 == 0 {
				st.Footprint.Read = 1
			} else {
				st.Footprint.Write = 1
			}
		} else {
			st.Footprint.Write = 1 << uint(a+1)
		}
		buf = append(buf, st)
	}
	return buf
}
func (c *counters) Fire(s *cstate, st Step, at Time, _ int, rec trace.Recorder) {
	a := st.Actor
	s.Now = at
	if c.racy {
		if s.PC[a]%2 == 0 {
			s.Tmp[a] = s.Shared
		} else {
			s.Shared = s.Tmp[a] + 1
		}
	} else {
		s.Own[a]++
	}
	s.PC[a]++
	if int(s.N) < len(s.Order) {
		s.Order[s.N] = uint8(a + 1)
		s.N++
	}
	if rec != nil {
		rec.Record(trace.Event{T: at, Actor: fmt.Sprintf("a%d", a), Label: trace.LabelNote, Text: fmt.Sprintf("pc %d", s.PC[a])})
	}
}
func (c *counters) Encode(s *cstate, buf []byte) []byte {
	buf = append(buf, byte(s.Now), byte(s.Now>>8), s.Shared)
	buf = append(buf, s.Own[:]...)
	buf = append(buf, s.PC[:]...)
	buf = append(buf, s.Tmp[:]...)
	if c.windows != nil {
		buf = append(buf, s.Order[:]...)
	}
	return buf
}

func sumIs(want uint8) Property[cstate] {
	return Property[cstate]{Name: "sum", Kind: Final,
		Holds:   func(s *cstate) bool { return s.Shared == want },
		Explain: func(s *cstate) string { return fmt.Sprintf("shared = %d, want %d", s.Shared, want) }}
}

func TestDFSVerdicts(t *testing.T) {
	tests := []struct {
		name        string
		m           *counters
		prop        Property[cstate]
		bound       int
		want        Verdict
		exhaustive  bool
		storyAtMost int
	}{
		{"lost update is found", &counters{actors: 2, steps: 2, racy: true}, sumIs(2), -1, Violated, false, 4},
		// A bounded search is not exhaustive: it holds only within the bound.
		{"lost update needs a preemption", &counters{actors: 2, steps: 2, racy: true}, sumIs(2), 0, Holds, false, 0},
		{"one preemption suffices", &counters{actors: 2, steps: 2, racy: true}, sumIs(2), 1, Violated, false, 4},
		{"three actors", &counters{actors: 3, steps: 2, racy: true}, sumIs(3), -1, Violated, false, 6},
		{"private counters hold", &counters{actors: 3, steps: 3}, Property[cstate]{Name: "own", Kind: Final, Holds: func(s *cstate) bool { return s.Own[0]+s.Own[1]+s.Own[2] == 9 }}, -1, Holds, true, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := NewChecker[cstate](tt.m, []Property[cstate]{tt.prop})
			opts := DefaultOptions()
			opts.PreemptionBound = tt.bound
			res := c.Check(context.Background(), opts)
			if res.Verdict != tt.want || res.Exhaustive != tt.exhaustive {
				t.Fatalf("verdict %s exhaustive %v, want %s %v", res.Verdict, res.Exhaustive, tt.want, tt.exhaustive)
			}
			if res.Bound != tt.bound {
				t.Fatalf("bound %d, want %d", res.Bound, tt.bound)
			}
			if tt.want == Violated {
				rep := c.Replay(res.Choices, opts)
				if rep.Verdict != Violated || rep.Property != tt.prop.Name {
					t.Fatalf("replay of the counterexample: %s %q", rep.Verdict, rep.Property)
				}
				if len(rep.Events) > tt.storyAtMost {
					t.Fatalf("story has %d events, want at most %d", len(rep.Events), tt.storyAtMost)
				}
			}
		})
	}
}

// Sleep sets must not lose states (they prune transitions), and the
// fingerprint and exact visited sets must agree.
func TestReductionKeepsStates(t *testing.T) {
	for _, racy := range []bool{false, true} {
		m := &counters{actors: 3, steps: 4, racy: racy}
		always := Property[cstate]{Name: "true", Kind: Final, Holds: func(*cstate) bool { return true }}
		c := NewChecker[cstate](m, []Property[cstate]{always})
		run := func(noRed, exact bool) Result {
			o := DefaultOptions()
			o.NoReduction, o.Exact = noRed, exact
			return c.Check(context.Background(), o)
		}
		full, red, exact := run(true, false), run(false, false), run(false, true)
		if full.States != red.States || red.States != exact.States {
			t.Fatalf("racy=%v: states full %d, reduced %d, exact %d: must be equal", racy, full.States, red.States, exact.States)
		}
		// the fingerprint search fires children ahead, the exact one not:
		// the same transitions
		if red.Transitions != exact.Transitions {
			t.Fatalf("racy=%v: transitions %d with fingerprints, %d exact", racy, red.Transitions, exact.Transitions)
		}
		if !racy && red.Transitions >= full.Transitions {
			t.Fatalf("independent actors: reduction explored %d transitions, full %d", red.Transitions, full.Transitions)
		}
		if !full.Exhaustive || !red.Exhaustive {
			t.Fatal("not exhaustive")
		}
	}
}

func TestTimedWindows(t *testing.T) {
	firstIsA0 := Property[cstate]{Name: "a0-first", Kind: Final, Holds: func(s *cstate) bool { return s.Order[0] == 1 }}
	tests := []struct {
		name    string
		windows [][2]Time
		want    Verdict
	}{
		// a1 at exactly 50 may come before a0, which may wait until 100.
		{"overlapping windows allow both orders", [][2]Time{{0, 100}, {50, 50}}, Violated},
		// a0 must fire by 100, before a1 can (150).
		{"a deadline forces the order", [][2]Time{{0, 100}, {150, 150}}, Holds},
		// a1's window ends before a0's opens.
		{"disjoint windows", [][2]Time{{200, 300}, {0, 10}}, Violated},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := &counters{actors: 2, steps: 1, windows: tt.windows}
			c := NewChecker[cstate](m, []Property[cstate]{firstIsA0})
			res := c.Check(context.Background(), DefaultOptions())
			if res.Verdict != tt.want {
				t.Fatalf("verdict %s, want %s", res.Verdict, tt.want)
			}
			if res.Verdict == Violated {
				rep := c.Replay(res.Choices, DefaultOptions())
				for i, ch := range rep.Choices {
					w := tt.windows[ch.Actor]
					if ch.At < w[0] || ch.At > w[1] {
						t.Fatalf("choice %d fired actor %d at %d, outside %v", i, ch.Actor, ch.At, w)
					}
				}
			}
		})
	}
}

func TestHorizon(t *testing.T) {
	m := &counters{actors: 2, steps: 1, windows: [][2]Time{{0, 10}, {500, 600}}}
	nothingAfter := Property[cstate]{Name: "a1-never", Kind: Final, Holds: func(s *cstate) bool { return s.PC[1] == 0 }}
	c := NewChecker[cstate](m, []Property[cstate]{nothingAfter})
	opts := DefaultOptions()
	opts.Horizon = 100
	if res := c.Check(context.Background(), opts); res.Verdict != Holds {
		t.Fatalf("with horizon 100: %s", res.Verdict)
	}
	opts.Horizon = Never
	if res := c.Check(context.Background(), opts); res.Verdict != Violated {
		t.Fatalf("without horizon: %s", res.Verdict)
	}
}

func TestRandomAndPCTAreDeterministic(t *testing.T) {
	m := &counters{actors: 3, steps: 2, racy: true, windows: [][2]Time{{0, 1000}, {0, 1000}, {10, 900}}}
	c := NewChecker[cstate](m, []Property[cstate]{sumIs(3)})
	for _, s := range []Strategy{Random, PCT} {
		opts := DefaultOptions()
		opts.Strategy, opts.Seed, opts.Runs = s, 7, 500
		r1, st1 := c.Sample(context.Background(), opts)
		r2, st2 := c.Sample(context.Background(), opts)
		if st1 != st2 || !reflect.DeepEqual(r1.Choices, r2.Choices) {
			t.Fatalf("%s: two runs with seed 7 differ: %+v vs %+v", s, st1, st2)
		}
		if st1.Failures == 0 || st1.Runs != 500 {
			t.Fatalf("%s: %d failures in %d runs: the lost update should show", s, st1.Failures, st1.Runs)
		}
		if !(st1.Low <= st1.Rate && st1.Rate <= st1.High) {
			t.Fatalf("%s: rate %v outside its interval [%v, %v]", s, st1.Rate, st1.Low, st1.High)
		}
		if rep := c.Replay(r1.Choices, opts); rep.Verdict != Violated {
			t.Fatalf("%s: the first failing run does not replay as violated", s)
		}
	}
}

func TestWilson(t *testing.T) {
	tests := []struct {
		k, n         int64
		rate, lo, hi float64
	}{
		{0, 0, 0, 0, 1},
		{0, 100, 0, 0, 0.037},
		{50, 100, 0.5, 0.404, 0.596},
		{9710, 10000, 0.971, 0.9675, 0.9741},
	}
	for _, tt := range tests {
		r, lo, hi := wilson(tt.k, tt.n)
		if abs(r-tt.rate) > 1e-9 || abs(lo-tt.lo) > 0.001 || abs(hi-tt.hi) > 0.001 {
			t.Errorf("wilson(%d, %d) = %.4f [%.4f, %.4f], want %.4f [%.4f, %.4f]", tt.k, tt.n, r, lo, hi, tt.rate, tt.lo, tt.hi)
		}
	}
}

func abs(x float64) float64 {
	if x < 0 {
		return -x
	}
	return x
}

func TestTokenRoundTrip(t *testing.T) {
	tok := Token{Scenario: "/tmp/my race.yaml", Digest: "0123456789ab", Variant: "delete-add", Profile: "linux-3.16",
		Property: "clones-agree", Choices: []Choice{{0, 0, 0}, {1, 1500, 2}, {0, 1200, 0}, {3, 90000, 1}}}
	got, err := ParseToken(tok.String())
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, tok) {
		t.Fatalf("round trip: %+v, want %+v", got, tok)
	}
	// A token of the first format (no digest, no property) still reads.
	v1, err := ParseToken("rr1-EGJhYmVsZC10d28tZmxvd3MACmxpbnV4LTMuMTYKAAAAAQAAAAAAAQAAAQAAAQAAAgAAAgAAAgAAAgAA")
	if err != nil || v1.Scenario != "babeld-two-flows" || v1.Profile != "linux-3.16" || len(v1.Choices) != 10 {
		t.Fatalf("rr1 token: %+v %v", v1, err)
	}
	for _, bad := range []string{"", "rr1-", "rr2-", "xx-AAAA", "rr2-!!!", tok.String()[:len(tok.String())-3], tok.String() + "AA"} {
		if _, err := ParseToken(bad); err == nil {
			t.Errorf("ParseToken(%q) accepted a malformed token", bad)
		}
	}
}

func FuzzParseToken(f *testing.F) {
	f.Add(Token{Scenario: "s", Variant: "v", Profile: "p", Choices: []Choice{{1, 2, 3}}}.String())
	f.Add("rr1-AAAA")
	f.Fuzz(func(t *testing.T, s string) {
		tok, err := ParseToken(s)
		if err != nil {
			return
		}
		again, err := ParseToken(tok.String())
		if err != nil || !reflect.DeepEqual(again, tok) {
			t.Fatalf("re-encoding %q: %v", s, err)
		}
	})
}

func TestBudgetStopsWithUnknown(t *testing.T) {
	m := &counters{actors: 4, steps: 4}
	always := Property[cstate]{Name: "true", Kind: Final, Holds: func(*cstate) bool { return true }}
	c := NewChecker[cstate](m, []Property[cstate]{always})
	opts := DefaultOptions()
	opts.MaxStates = 10
	res := c.Check(context.Background(), opts)
	if res.Verdict != Unknown || res.Exhaustive {
		t.Fatalf("with 10 states allowed: %s exhaustive=%v", res.Verdict, res.Exhaustive)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if res := c.Check(ctx, DefaultOptions()); res.Verdict != Unknown {
		t.Fatalf("cancelled: %s", res.Verdict)
	}
}

// Every property gets its own verdict: a check goes on past the first
// violation, and a replay reports what it could not evaluate.
func TestEveryPropertyHasItsVerdict(t *testing.T) {
	m := &counters{actors: 2, steps: 2, racy: true}
	// early is violated as soon as one actor has read the counter; sum
	// only at the end of a lost update; own never.
	early := Property[cstate]{Name: "nobody-read", Kind: Invariant,
		Holds:   func(s *cstate) bool { return s.PC[0] == 0 && s.PC[1] == 0 },
		Explain: func(s *cstate) string { return fmt.Sprintf("pcs %d %d", s.PC[0], s.PC[1]) }}
	never := Property[cstate]{Name: "own-zero", Kind: Final,
		Holds:   func(s *cstate) bool { return s.Own[0] == 0 },
		Explain: func(*cstate) string { return "own counters untouched" }}
	c := NewChecker[cstate](m, []Property[cstate]{early, sumIs(2), never})
	for _, strategy := range []Strategy{DFS, Random} {
		t.Run(string(strategy), func(t *testing.T) {
			opts := DefaultOptions()
			opts.Strategy, opts.Runs, opts.Seed = strategy, 500, 3
			res := c.Check(context.Background(), opts)
			want := []Verdict{Violated, Violated, Holds}
			if len(res.Properties) != 3 {
				t.Fatalf("%d property results", len(res.Properties))
			}
			for i, w := range want {
				if got := res.Properties[i].Verdict; got != w {
					t.Errorf("%s: %s, want %s", res.Properties[i].Name, got, w)
				}
			}
			if res.Verdict != Violated || res.Property != "nobody-read" {
				t.Errorf("overall %s %q", res.Verdict, res.Property)
			}
			// The invariant's counterexample stops at its violation: the
			// final properties were not evaluated, and say so.
			rep, err := c.ReplayUntil(res.Properties[0].Choices, "nobody-read", opts)
			if err != nil {
				t.Fatal(err)
			}
			if rep.Verdict != Violated || rep.Properties[1].Verdict != NotEvaluated || rep.Properties[2].Verdict != NotEvaluated {
				t.Errorf("replay of the invariant's story: %+v", rep.Properties)
			}
			if !strings.Contains(rep.Properties[1].Explanation, "not evaluated") {
				t.Errorf("not-evaluated property explains %q", rep.Properties[1].Explanation)
			}
			// The final property's counterexample runs to the end, past the
			// invariant's violation, and evaluates every property.
			rep, err = c.ReplayUntil(res.Properties[1].Choices, "sum", opts)
			if err != nil {
				t.Fatal(err)
			}
			got := []Verdict{rep.Properties[0].Verdict, rep.Properties[1].Verdict, rep.Properties[2].Verdict}
			if !reflect.DeepEqual(got, want) || rep.Property != "sum" {
				t.Errorf("replay of the final property's story: %v (%q), want %v", got, rep.Property, want)
			}
			if rep.Properties[0].Explanation != "pcs 1 0" && rep.Properties[0].Explanation != "pcs 0 1" {
				t.Errorf("the invariant is explained at the state that violated it, got %q", rep.Properties[0].Explanation)
			}
			if _, err := c.ReplayUntil(nil, "nope", opts); err == nil {
				t.Error("replay for an unknown property: no error")
			}
		})
	}
	// Seeded runs count failures per property.
	res, st := c.Sample(context.Background(), Options{Strategy: Random, Runs: 400, Seed: 1, Horizon: Never})
	if st.Failures != 400 || res.Properties[0].Failures != 400 || res.Properties[2].Failures != 0 {
		t.Fatalf("failures overall %d, per property %d %d %d", st.Failures, res.Properties[0].Failures, res.Properties[1].Failures, res.Properties[2].Failures)
	}
	if f := res.Properties[1].Failures; f == 0 || f == 400 {
		t.Fatalf("the lost update fails in some runs only, got %d of 400", f)
	}
	if p := res.Properties[2]; p.Verdict != Holds || p.High <= 0 || p.High > 0.01 {
		t.Fatalf("a property no run violated: %+v", p)
	}
}
