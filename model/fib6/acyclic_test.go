package fib6

import (
	"fmt"
	"net/netip"
	"testing"
	"time"

	"raceroute/explore"
	"raceroute/model/fib6/exception"
)

// progress is actor a's progress in s, which Acyclic says every step of
// a moves on: (Sent, Tries, PC), compared in that order.
func progress(s *State, a int) uint32 {
	return uint32(s.Sent[a])<<16 | uint32(s.Tries[a])<<8 | uint32(s.PC[a])
}

// Every transition of models with each kind of actor (agents, flows with
// and without clone-on-lookup, ICMP actors, the GC) moves its actor's
// progress on and leaves every other actor's local state as it was: the
// ground of Acyclic, which lets the parallel search run persistent sets
// with invariants and no cycle proviso.
func TestStepsAdvanceTheirActor(t *testing.T) {
	flows := func(profName string) *Model {
		cfg := Config{Profile: prof(t, profName), Routes: []Route{
			mustRoute(t, "unreachable 2001:db8::/48 dev lo metric 1024"), mustRoute(t, excOld)}}
		cfg.Actors = append(cfg.Actors, Actor{Name: "babeld", Ops: []Op{
			{Kind: OpDel, Route: mustRoute(t, excOld)}, {Kind: OpAdd, Route: mustRoute(t, excNew)},
			{Kind: OpDel, Route: mustRoute(t, excNew)}, {Kind: OpAdd, Route: mustRoute(t, excOld)}}})
		for i := 0; i < 3; i++ { // two of them to one destination: insert races and retries
			cfg.Actors = append(cfg.Actors, Actor{Name: fmt.Sprintf("flow-%d", i),
				Dst: netip.MustParseAddr(fmt.Sprintf("2001:db8:0:10::%d", i/2+1)), Packets: 2})
		}
		m, err := New(cfg)
		if err != nil {
			t.Fatal(err)
		}
		return m
	}
	gc := Actor{Name: "gc", GC: &GCRun{After: 601 * time.Second, Sysctls: exception.DefaultSysctls()}}
	flow := Actor{Name: "flow", Dst: netip.MustParseAddr(excDst), Packets: 2}
	ptb2 := Actor{Name: "ptb-1300", ICMP: ptb(1300)}
	for _, c := range []struct {
		name string
		m    *Model
	}{
		{"flows, linux-3.16", flows("linux-3.16")},
		{"flows, linux-6.12", flows("linux-6.12")},
		{"ICMP and GC, linux-4.14.0", excTestModel(t, "linux-4.14.0", true, deleteAdd(t), flow, ptb2, gc)},
		{"ICMP and GC, linux-6.12", excTestModel(t, "linux-6.12", true, deleteAdd(t), flow, ptb2, gc)},
	} {
		if !c.m.Acyclic() {
			t.Fatalf("%s: not Acyclic", c.name)
		}
		states, transitions := walkSteps(t, c.name, c.m)
		if transitions < 50 {
			t.Errorf("%s: %d transitions: too few to say anything", c.name, transitions)
		}
		t.Logf("%s: %d states, %d transitions, each one moved its actor on", c.name, states, transitions)
	}
}

// walkSteps fires every step the engine could fire (at both ends of its
// window, with each outcome) from every reachable state, and fails t on a
// transition that does not move its actor's progress on or that changes
// another actor's local state.
func walkSteps(t *testing.T, name string, m *Model) (states, transitions int) {
	t.Helper()
	init := m.Init()
	seen := map[string]bool{string(stateBytes(&init)): true}
	queue := []State{init}
	for len(queue) > 0 && len(seen) < 200000 {
		s := queue[0]
		queue = queue[1:]
		steps := m.Pending(&s, nil)
		now, until := m.Clock(&s), explore.Never
		for _, st := range steps {
			until = min(until, st.Latest)
		}
		for _, st := range steps {
			lo := max(st.Earliest, now)
			if lo > until {
				continue // not enabled: another step must fire first
			}
			ats := []explore.Time{lo}
			if until != explore.Never && until != lo {
				ats = append(ats, until)
			}
			for _, at := range ats {
				for o := 0; o < max(1, st.Outcomes); o++ {
					c := s
					m.Fire(&c, st, at, o, nil)
					transitions++
					a := st.Actor
					if progress(&c, a) <= progress(&s, a) {
						t.Fatalf("%s: %s's step from (Sent %d, Tries %d, PC %d) left it at (%d, %d, %d)", name, m.names[a],
							s.Sent[a], s.Tries[a], s.PC[a], c.Sent[a], c.Tries[a], c.PC[a])
					}
					for b := range m.actors {
						if b != a && (c.PC[b] != s.PC[b] || c.Reg[b] != s.Reg[b] || c.Tries[b] != s.Tries[b] || c.Sent[b] != s.Sent[b]) {
							t.Fatalf("%s: %s's step changed %s's local state", name, m.names[a], m.names[b])
						}
					}
					if k := string(stateBytes(&c)); !seen[k] {
						seen[k] = true
						queue = append(queue, c)
					}
				}
			}
		}
	}
	if len(queue) > 0 {
		t.Fatalf("%s: more than %d states: the walk did not finish", name, len(seen))
	}
	return len(seen), transitions
}
