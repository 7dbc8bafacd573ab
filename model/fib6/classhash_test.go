package fib6

import (
	"context"
	"fmt"
	"net/netip"
	"slices"
	"testing"
	"time"

	"raceroute/explore"
	"raceroute/explore/statetest"
	"raceroute/model/fib6/exception"
)

// symModel is a model with two groups of interchangeable flows (two to
// ::1, two to ::2), an ungrouped flow and an agent moving their /80.
func symModel(t *testing.T, kernel string) *Model {
	t.Helper()
	gw := []string{
		"2001:db8:0:10::/80 via fe80::1 dev eth0 metric 1024",
		"2001:db8:0:10::/80 via fe80::2 dev eth1 metric 1024",
	}
	cfg := Config{
		Profile: prof(t, kernel),
		Routes:  []Route{mustRoute(t, "unreachable 2001:db8::/48 dev lo metric 1024"), mustRoute(t, gw[0])},
		Actors: []Actor{{Name: "babeld", Ops: []Op{
			{Kind: OpDel, Route: mustRoute(t, gw[0])}, {Kind: OpAdd, Route: mustRoute(t, gw[1])},
		}}},
	}
	for i, d := range []string{"::1", "::2", "::1", "::2", "::3"} {
		cfg.Actors = append(cfg.Actors, Actor{Name: fmt.Sprintf("f%d", i), Dst: netip.MustParseAddr("2001:db8:0:10" + d), Packets: 1})
	}
	m, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if len(m.groups) != 2 {
		t.Fatalf("groups %v, want two", m.groups)
	}
	return m
}

// reachable lists every state reachable from Init (no reduction).
func reachable(m *Model) []State {
	seen := map[State]bool{m.Init(): true}
	todo := []State{m.Init()}
	for len(todo) > 0 {
		s := todo[len(todo)-1]
		todo = todo[:len(todo)-1]
		for _, st := range m.Pending(&s, nil) {
			c := s
			m.Fire(&c, st, 0, 0, nil)
			if !seen[c] {
				seen[c] = true
				todo = append(todo, c)
			}
		}
	}
	out := make([]State, 0, len(seen))
	for s := range seen {
		out = append(out, s)
	}
	return out
}

// ClassFingerprint tells states apart exactly as the encoding of their
// canonical representative does, over every reachable state; Ranks gives
// Canonicalize's renaming, for the groups that meet the set it is asked
// for and the identity elsewhere.
func TestClassFingerprintIsTheCanonicalEncoding(t *testing.T) {
	for _, kernel := range []string{"linux-3.16", "linux-6.12"} {
		t.Run(kernel, func(t *testing.T) {
			m := symModel(t, kernel)
			states := reachable(m)
			classOf := map[uint64]string{}
			fpOf := map[string]uint64{}
			n := len(m.actors)
			for _, s := range states {
				c, perm := s, make([]int, n)
				m.Canonicalize(&c, perm)
				enc := string(m.Encode(&c, nil))
				fp := m.ClassFingerprint(&s)
				if fp == 0 {
					t.Fatal("fingerprint 0")
				}
				if e, ok := classOf[fp]; ok && e != enc {
					t.Fatalf("two classes share fingerprint %#x", fp)
				}
				if f, ok := fpOf[enc]; ok && f != fp {
					t.Fatalf("one class has fingerprints %#x and %#x", f, fp)
				}
				classOf[fp], fpOf[enc] = enc, fp
				if m.ClassFingerprint(&c) != fp {
					t.Fatal("the representative's fingerprint differs from its state's")
				}
				got := make([]int, n)
				for a := range got {
					got[a] = a
				}
				moved := m.Ranks(&s, ^uint64(0), got)
				if !slices.Equal(got, perm) {
					t.Fatalf("Ranks %v, Canonicalize %v", got, perm)
				}
				var renamed uint64
				for a := range perm {
					if perm[a] != a {
						renamed |= 1 << uint(a)
					}
				}
				if moved != renamed {
					t.Fatalf("Ranks says it renames %#x, its renaming %v renames %#x", moved, got, renamed)
				}
				for a := range got {
					got[a] = -1
				}
				m.Ranks(&s, m.groupMask[1], got)
				for a := range got {
					want := -1 // left as it was
					if m.groupMask[1]&(1<<uint(a)) != 0 {
						want = perm[a]
					}
					if got[a] != want {
						t.Fatalf("Ranks for group %v: %v, want %d at %d (Canonicalize %v)", m.groups[1], got, want, a, perm)
					}
				}
			}
			// the renamings merge states: fewer classes than states
			t.Logf("%d classes of %d states", len(fpOf), len(states))
			if len(fpOf) >= len(states) || len(fpOf) < 10 {
				t.Fatalf("%d classes of %d states", len(fpOf), len(states))
			}
		})
	}
}

// Every field of the used part of a State changes its class fingerprint
// (a field added later and left out fails here), with and without the
// ICMP and nexthop parts.
func TestClassFingerprintCoversEveryField(t *testing.T) {
	m := symModel(t, "linux-3.16")
	used := func(l statetest.Leaf) bool {
		switch l.Field {
		case "Slots":
			return l.Index < len(m.u.Nodes)
		case "PC", "Reg", "Tries", "Sent":
			return l.Index < len(m.actors)
		case "Tables":
			return true
		case "X":
			return m.x != nil
		case "NH", "NHLive":
			return l.Index < len(m.nh.ids)
		}
		t.Errorf("state field %s: the test does not know its used part", l.Field)
		return false
	}
	fp := func(s *State) []byte {
		h := m.ClassFingerprint(s)
		return []byte(fmt.Sprint(h))
	}
	if k := statetest.EveryFieldEncoded(t, m.Init(), fp, used); k < 20 {
		t.Fatalf("only %d leaves checked", k)
	}
}

// The search with class fingerprints (and children fired ahead) explores
// what the exact one explores, which builds and encodes each state's
// representative: the same states and transitions, with the default
// reductions and with every one (sleep sets stored under canonical names).
func TestClassFingerprintSearchMatchesExact(t *testing.T) {
	for _, kernel := range []string{"linux-3.16", "linux-6.12"} {
		m := symModel(t, kernel)
		always := explore.Property[State]{Name: "true", Kind: explore.Final, Holds: func(*State) bool { return true }}
		c := explore.NewChecker[State](m, []explore.Property[State]{always})
		for _, tc := range []struct {
			reduce explore.Reductions
			ran    string
		}{{0, "por,sym"}, {explore.ReduceAll, "sleep,por,sym"}} {
			o := explore.DefaultOptions()
			o.Reduce = tc.reduce
			fp := c.Check(context.Background(), o)
			o.Exact = true
			exact := c.Check(context.Background(), o)
			if !fp.Exhaustive || fp.States != exact.States || fp.Transitions != exact.Transitions {
				t.Errorf("%s, %s: fingerprints %d states %d transitions, exact %d and %d", kernel, tc.ran, fp.States, fp.Transitions, exact.States, exact.Transitions)
			}
			if fp.Reductions != tc.ran {
				t.Errorf("%s: reductions %s, want %s", kernel, fp.Reductions, tc.ran)
			}
		}
	}
}

// ChildClass, from a parent's parts, gives every successor the
// fingerprint and parts ClassParts gives it from scratch; ClassParts
// agrees with ClassFingerprint. Over every reachable state and step of
// the symmetric model, with and without ICMP actors and nexthop objects
// (where the shared hash covers the rest of State).
func TestChildClassIsClassParts(t *testing.T) {
	models := map[string]*Model{
		"linux-3.16": symModel(t, "linux-3.16"),
		"linux-6.12": symModel(t, "linux-6.12"),
	}
	for name, m := range models {
		t.Run(name, func(t *testing.T) {
			steps := 0
			for _, s := range reachable(m) {
				fp, pp := m.ClassParts(&s)
				if fp != m.ClassFingerprint(&s) {
					t.Fatalf("ClassParts %x, ClassFingerprint %x", fp, m.ClassFingerprint(&s))
				}
				for _, st := range m.Pending(&s, nil) {
					c := s
					m.Fire(&c, st, 0, 0, nil)
					gfp, gp := m.ChildClass(&s, &pp, &c)
					wfp, wp := m.ClassParts(&c)
					if gfp != wfp || gp != wp {
						t.Fatalf("step of actor %d: ChildClass %x %v, ClassParts %x %v", st.Actor, gfp, gp, wfp, wp)
					}
					steps++
				}
			}
			if steps < 100 {
				t.Fatalf("%d steps checked: the model is smaller than the test means", steps)
			}
		})
	}
}

// FutureKey decides what the explorer's persistent-set memo assumes it
// does: over every reachable state of models with symmetric flows, an
// ICMP actor, a GC run and a heal, two states with the same key have the
// same futures, and the same footprint for each actor's pending step.
func TestFutureKeyDecidesFutures(t *testing.T) {
	flow := Actor{Name: "flow", Dst: netip.MustParseAddr(excDst), Packets: 2}
	gc := Actor{Name: "gc", GC: &GCRun{After: time.Second, Sysctls: exception.DefaultSysctls()}}
	models := map[string]*Model{
		"sym/linux-3.16":     symModel(t, "linux-3.16"),
		"sym/linux-6.12":     symModel(t, "linux-6.12"),
		"icmp/linux-4.14.0":  excTestModel(t, "linux-4.14.0", true, deleteAdd(t), flow),
		"icmp/linux-5.4.0":   excTestModel(t, "linux-5.4.0", true, deleteAdd(t), flow),
		"icmp+gc/linux-6.12": excTestModel(t, "linux-6.12", true, deleteAdd(t), flow, gc),
		"heal/linux-3.16":    healModel(t, "linux-3.16"),
	}
	shared := 0 // states whose key another state has too
	for name, m := range models {
		t.Run(name, func(t *testing.T) {
			type seen struct {
				fut []explore.Footprint
				fp  map[int]explore.Footprint
			}
			byKey := map[string]seen{}
			states := reachable(m)
			for _, s := range states {
				key := fmt.Sprint(m.FutureKey(&s, nil))
				fut := make([]explore.Footprint, len(m.actors))
				m.Futures(&s, fut)
				fp := map[int]explore.Footprint{}
				for _, st := range m.Pending(&s, nil) {
					fp[st.Actor] = st.Footprint
				}
				was, ok := byKey[key]
				if !ok {
					byKey[key] = seen{fut, fp}
					continue
				}
				if !slices.Equal(was.fut, fut) {
					t.Fatalf("key %s: futures %v and %v", key, was.fut, fut)
				}
				for a, f := range fp {
					if g, ok := was.fp[a]; ok && g != f {
						t.Fatalf("key %s: actor %d's step footprint %v and %v", key, a, g, f)
					}
				}
			}
			shared += len(states) - len(byKey)
		})
	}
	if shared == 0 {
		t.Fatal("every state has a key of its own: the test shows nothing")
	}
}
