package fib6

import (
	"context"
	"net/netip"
	"strings"
	"testing"
	"time"

	"raceroute/explore"
	"raceroute/explore/statetest"
	"raceroute/model/fib6/exception"
)

const (
	excOld = "2001:db8:0:10::/80 via fe80::1 dev eth0 metric 1024"
	excNew = "2001:db8:0:10::/80 via fe80::2 dev eth1 metric 1024"
	excDst = "2001:db8:0:10::1"
)

func ptb(mtu uint16) *ICMP {
	return &ICMP{Kind: PacketTooBig, Dst: netip.MustParseAddr(excDst), MTU: mtu}
}

// excModel builds: the old /80, an agent changing it to the new one by
// ops, and (when icmpActor) a Packet Too Big actor, else the message
// handled before the actors start.
func excTestModel(t *testing.T, profName string, icmpActor bool, ops []Op, extra ...Actor) *Model {
	t.Helper()
	cfg := Config{Profile: prof(t, profName), Routes: []Route{mustRoute(t, "unreachable 2001:db8::/48 dev lo metric 1024"), mustRoute(t, excOld)}}
	if len(ops) > 0 {
		cfg.Actors = append(cfg.Actors, Actor{Name: "agent", Ops: ops})
	}
	if icmpActor {
		cfg.Actors = append(cfg.Actors, Actor{Name: "ptb", ICMP: ptb(1400)})
	} else {
		cfg.ICMP = []ICMP{*ptb(1400)}
	}
	cfg.Actors = append(cfg.Actors, extra...)
	m, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func check(t *testing.T, m *Model, p explore.Property[State]) explore.Result {
	t.Helper()
	opts := explore.DefaultOptions()
	opts.Budget = time.Minute
	res := explore.NewChecker[State](m, []explore.Property[State]{p}).Check(context.Background(), opts)
	if res.Verdict == explore.Holds && !res.Exhaustive {
		t.Fatalf("holds, but not exhaustively")
	}
	return res
}

func deleteAdd(t *testing.T) []Op {
	return []Op{{Kind: OpDel, Route: mustRoute(t, excOld)}, {Kind: OpAdd, Route: mustRoute(t, excNew)}}
}

// Where a Packet Too Big's entry lives and what a legacy dump shows of
// it, per version: a tree route to 4.14, hidden 4.15 to 5.2, dumped with
// the routes by a legacy dump from 5.3.
func TestPMTUEntryInDump(t *testing.T) {
	for _, c := range []struct {
		prof   string
		legacy bool
		strict bool
	}{
		{"linux-3.10", true, true}, {"linux-4.14.0", true, true}, {"linux-4.15", false, false},
		{"linux-4.19", false, false}, {"linux-5.4.0", true, false}, {"linux-6.12", true, false},
	} {
		m := excTestModel(t, c.prof, false, nil, Actor{Name: "gc", GC: &GCRun{After: time.Second, Sysctls: exception.DefaultSysctls()}})
		s := m.Init()
		if got := len(m.dumped(&s, exception.Legacy)) > 0; got != c.legacy {
			t.Errorf("%s: legacy dump lists the entry: %v, want %v", c.prof, got, c.legacy)
		}
		if got := len(m.dumped(&s, exception.Strict)) > 0; got != c.strict {
			t.Errorf("%s: strict dump lists the entry: %v, want %v", c.prof, got, c.strict)
		}
		d := m.dstOf(netip.MustParseAddr(excDst))
		if e := m.excLookup(&s, d); m.routes[e].mtu != 1400 {
			t.Errorf("%s: a lookup for %s uses %s, want the PMTU entry", c.prof, excDst, m.RouteText(e))
		}
	}
}

// A replace of the route: the tree prunes its entries (to 4.14);
// 4.15 to 5.10 leave them with the old route (no flush in fib6_purge_rt);
// 5.11 on and the stable lines with d8f5c29653c3 flush them.
func TestReplaceOrphansExceptions(t *testing.T) {
	for _, c := range []struct {
		prof string
		want explore.Verdict
	}{
		{"linux-3.10", explore.Holds}, {"linux-4.14.0", explore.Holds}, {"linux-4.15", explore.Violated},
		{"linux-5.4.0", explore.Violated}, {"linux-5.4.286", explore.Holds}, {"linux-6.12", explore.Holds},
	} {
		m := excTestModel(t, c.prof, false, []Op{{Kind: OpReplace, Route: mustRoute(t, excNew)}})
		if res := check(t, m, m.EntriesWithRoute()); res.Verdict != c.want {
			t.Errorf("%s: entries-with-route %s, want %s", c.prof, res.Verdict, c.want)
		}
	}
}

// The Packet Too Big racing a delete then add: to 4.14 the entry
// allocated from the old route is inserted after the add's prune and
// shadows the new route; from 4.15 it goes to the old route's table:
// refused while a delete marks the bucket flushed (to 5.2), left in the
// deleted route after (5.3 on).
func TestPMTURace(t *testing.T) {
	for _, c := range []struct {
		prof          string
		mtu, outlives explore.Verdict
	}{
		{"linux-3.10", explore.Violated, explore.Violated},
		{"linux-4.14.0", explore.Violated, explore.Violated},
		{"linux-4.15", explore.Holds, explore.Holds},
		{"linux-4.19", explore.Holds, explore.Holds},
		{"linux-5.4.0", explore.Holds, explore.Violated},
		{"linux-6.12", explore.Holds, explore.Violated},
	} {
		m := excTestModel(t, c.prof, true, deleteAdd(t))
		p, err := m.MTUFollowsPath(netip.MustParseAddr(excDst))
		if err != nil {
			t.Fatal(err)
		}
		if res := check(t, m, p); res.Verdict != c.mtu {
			t.Errorf("%s: mtu-follows-path %s, want %s", c.prof, res.Verdict, c.mtu)
		}
		if res := check(t, m, m.EntriesWithRoute()); res.Verdict != c.outlives {
			t.Errorf("%s: entries-with-route %s, want %s", c.prof, res.Verdict, c.outlives)
		}
	}
}

// The late insert's story names the kernel decision per version.
func TestPMTURaceStory(t *testing.T) {
	for _, c := range []struct{ prof, want string }{
		{"linux-4.14.0", "ip6_ins_rt() -> fib6_add()"},
		{"linux-4.19", "refused -EINVAL"},
		{"linux-6.12", "its bucket is not marked flushed"},
	} {
		m := excTestModel(t, c.prof, true, deleteAdd(t))
		// ptb matches the old route, the agent deletes and adds, ptb
		// allocates and inserts.
		_, story := runSeq(t, m, []int{1, 0, 0, 1, 1})
		var text []string
		for _, e := range story {
			text = append(text, e.Reason)
		}
		if all := strings.Join(text, "\n"); !strings.Contains(all, c.want) {
			t.Errorf("%s: story lacks %q:\n%s", c.prof, c.want, all)
		}
	}
}

// The GC removes a PMTU entry only once mtu_expires has passed, and a
// redirect entry once idle for gc_interval.
func TestGCAges(t *testing.T) {
	for _, c := range []struct {
		prof  string
		kind  ICMPKind
		after time.Duration
		gone  bool
	}{
		{"linux-4.14.0", PacketTooBig, 300 * time.Second, false},
		{"linux-4.14.0", PacketTooBig, 601 * time.Second, true},
		{"linux-6.12", PacketTooBig, 600 * time.Second, false},
		{"linux-6.12", PacketTooBig, 601 * time.Second, true},
		{"linux-6.12", Redirect, 29 * time.Second, false},
		{"linux-6.12", Redirect, 30 * time.Second, true},
		{"linux-4.9", Redirect, 30 * time.Second, true},
	} {
		msg := ICMP{Kind: c.kind, Dst: netip.MustParseAddr(excDst), MTU: 1400, Target: netip.MustParseAddr("fe80::9")}
		cfg := Config{Profile: prof(t, c.prof), Routes: []Route{mustRoute(t, excOld)}, ICMP: []ICMP{msg},
			Actors: []Actor{{Name: "gc", GC: &GCRun{After: c.after, Sysctls: exception.DefaultSysctls()}}}}
		m, err := New(cfg)
		if err != nil {
			t.Fatal(err)
		}
		s, _ := runSeq(t, m, []int{0})
		d := m.dstOf(msg.Dst)
		e := m.excLookup(&s, d)
		if gone := !m.routes[e].isCache(); gone != c.gone {
			t.Errorf("%s %s after %s: gone %v, want %v (lookup uses %s)", c.prof, c.kind, c.after, gone, c.gone, m.RouteText(e))
		}
	}
}

// A redirect gives the destination the target as its next hop, in the
// tree or in the exception table.
func TestRedirectEntry(t *testing.T) {
	for _, p := range []string{"linux-4.14.0", "linux-6.12"} {
		cfg := Config{Profile: prof(t, p), Routes: []Route{mustRoute(t, excOld)},
			Actors: []Actor{{Name: "rd", ICMP: &ICMP{Kind: Redirect, Dst: netip.MustParseAddr(excDst), Target: netip.MustParseAddr("fe80::9")}},
				{Name: "flow", Dst: netip.MustParseAddr(excDst), Packets: 1}}}
		m, err := New(cfg)
		if err != nil {
			t.Fatal(err)
		}
		s, story := runSeq(t, m, []int{0, 0, 0, 1})
		e := m.excLookup(&s, m.dstOf(netip.MustParseAddr(excDst)))
		if got := m.RouteText(e); !strings.Contains(got, "via fe80::9") || !strings.Contains(got, "proto redirect") {
			t.Errorf("%s: lookup uses %s, want the redirect entry", p, got)
		}
		if last := story[len(story)-1]; last.Label != "LOOKUP" || !strings.Contains(last.Reason, "sent via fe80::9") {
			t.Errorf("%s: the flow's packet: %s %s, want it sent via the redirect's target", p, last.Text, last.Reason)
		}
	}
}

// Bad messages are refused with a reason.
func TestICMPRefused(t *testing.T) {
	for _, c := range []struct {
		msg  ICMP
		want string
	}{
		{ICMP{Kind: PacketTooBig, Dst: netip.MustParseAddr(excDst), MTU: 1500}, "want 1280"},
		{ICMP{Kind: PacketTooBig, Dst: netip.MustParseAddr(excDst), MTU: 1000}, "want 1280"},
		{ICMP{Kind: Redirect, Dst: netip.MustParseAddr(excDst), Target: netip.MustParseAddr("2001:db8::9")}, "link-local"},
	} {
		_, err := New(Config{Profile: prof(t, "linux-6.12"), Routes: []Route{mustRoute(t, excOld)}, Actors: []Actor{{Name: "x", ICMP: &c.msg}}})
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: error %v, want %q", c.msg, err, c.want)
		}
	}
}

// The exception part of the state is encoded when the model has ICMP
// actors.
func TestExcStateEncoded(t *testing.T) {
	m := excTestModel(t, "linux-6.12", true, deleteAdd(t))
	used := func(l statetest.Leaf) bool {
		switch l.Field {
		case "Slots":
			return l.Index < len(m.u.Nodes)
		case "PC", "Reg", "Tries", "Sent":
			return l.Index < len(m.actors)
		case "NH", "NHLive":
			return l.Index < len(m.nh.ids)
		}
		return true
	}
	enc := func(s *State) []byte { return m.Encode(s, nil) }
	statetest.EveryFieldEncoded(t, m.Init(), enc, used)
}

// With no story recorded, the ICMP and GC steps allocate nothing either:
// a Packet Too Big, a Redirect and a flow race an agent's changes, then
// the GC runs, on every home of the entries.
func TestExcStepsAllocationFree(t *testing.T) {
	for _, name := range []string{"linux-3.10", "linux-4.14.0", "linux-4.15", "linux-6.12"} {
		cfg := Config{Profile: prof(t, name), Routes: []Route{mustRoute(t, excOld)}, Actors: []Actor{
			{Name: "agent", Ops: []Op{{Kind: OpReplace, Route: mustRoute(t, excNew)}, {Kind: OpDel, Route: mustRoute(t, excNew)}, {Kind: OpAdd, Route: mustRoute(t, excOld)}}},
			{Name: "ptb", ICMP: ptb(1400)},
			{Name: "ptb2", ICMP: ptb(1300)},
			{Name: "rd", ICMP: &ICMP{Kind: Redirect, Dst: netip.MustParseAddr("2001:db8:0:10::2"), Target: netip.MustParseAddr("fe80::9")}},
			{Name: "flow", Dst: netip.MustParseAddr("2001:db8:0:10::2"), Packets: 2},
			{Name: "gc", GC: &GCRun{After: 700 * time.Second, Sysctls: exception.DefaultSysctls()}},
		}}
		m, err := New(cfg)
		if err != nil {
			t.Fatal(err)
		}
		var s State
		buf := make([]explore.Step, 0, 8)
		steps := 0
		allocs := testing.AllocsPerRun(10, func() {
			s = m.Init()
			for steps = 0; ; steps++ {
				if buf = m.Pending(&s, buf[:0]); len(buf) == 0 {
					break
				}
				m.Fire(&s, buf[steps%len(buf)], 0, 0, nil)
			}
		})
		if allocs != 0 {
			t.Errorf("%s: %v allocations in a run of %d steps without a story", name, allocs, steps)
		}
		if steps < 12 {
			t.Errorf("%s: only %d steps: the run does not exercise the model", name, steps)
		}
	}
}

// On a clone-on-lookup kernel a flow to a destination no message names
// still clones, beside a Packet Too Big (a model built with both).
func TestFlowBesideICMPClones(t *testing.T) {
	m := excTestModel(t, "linux-3.10", true, nil, Actor{Name: "flow", Dst: netip.MustParseAddr("2001:db8:0:10::7"), Packets: 1})
	s, _ := runSeq(t, m, []int{1, 1, 1, 0, 0, 0})
	var clones []string
	for _, c := range m.clones(&s) {
		clones = append(clones, m.RouteText(c))
	}
	if len(clones) != 2 || !strings.Contains(strings.Join(clones, "; "), "2001:db8:0:10::7 via fe80::1") {
		t.Errorf("cache after a flow and a Packet Too Big: %v, want the flow's clone and the PMTU entry", clones)
	}
}
