package plan

import (
	"errors"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	"raceroute/apply/internal/rtnl"
	"raceroute/apply/internal/state"
	"raceroute/apply/internal/strategy"
	"raceroute/apply/route"
	"raceroute/kernel"
	"raceroute/profile"
)

// fakeState builds what Read would make of a namespace with links eth0
// (2) and eth1 (3), the given routes of ours (proto 250), routes of other
// protocols, and nexthop objects.
func fakeState(t *testing.T, ours []route.Route, nhids []uint32, foreign []route.Route, objs []rtnl.Nexthop) *state.State {
	t.Helper()
	st := &state.State{Foreign: map[state.Key]string{}, NHRefs: map[uint32]int{},
		Links: map[string]int{"lo": 1, "eth0": 2, "eth1": 3}, Names: map[int]string{1: "lo", 2: "eth0", 3: "eth1"}}
	if objs != nil {
		st.Nexthops = map[uint32]*state.Object{}
		for _, o := range objs {
			st.Nexthops[o.ID] = &state.Object{Wire: o, Proto: kernel.Proto(o.Protocol)}
		}
		for _, o := range st.Nexthops {
			o.Spec = st.SpecOf(&o.Wire)
			for _, m := range o.Wire.Group {
				st.NHRefs[m.ID]++
			}
		}
	} else {
		st.NexthopErr = &rtnl.KernelError{Errno: unix.EOPNOTSUPP}
	}
	for i, r := range ours {
		n := r.Normalise()
		in := &state.Installed{Route: n, Proto: 250}
		w := wireOf(st, &n, 250)
		if i < len(nhids) && nhids[i] != 0 {
			in.NHID, w.NHID = nhids[i], nhids[i]
			in.Route.Nexthops = st.HopsOf(st.Nexthops[nhids[i]])
			in.Route = in.Route.Normalise()
			st.NHRefs[nhids[i]]++
		}
		in.SetWire(w)
		st.PutOurs(in)
	}
	for _, r := range foreign {
		n := r.Normalise()
		st.Foreign[state.KeyOf(n.Key())] = n.String() + " proto static"
	}
	st.Seal()
	return st
}

func wireOf(st *state.State, r *route.Route, proto uint8) rtnl.Route {
	w := rtnl.Route{Dst: r.Dst, Table: r.Table, Protocol: proto, Type: uint8(r.Type), Priority: r.Metric, HasPriority: true}
	w.Family = unix.AF_INET
	if r.Family() == 6 {
		w.Family = unix.AF_INET6
	}
	if len(r.Nexthops) == 1 {
		w.Oif, w.Gateway = st.Links[r.Nexthops[0].Dev], r.Nexthops[0].Gateway
	}
	return w
}

func mustProfile(t *testing.T, name string) profile.Profile {
	t.Helper()
	p, err := profile.Lookup(name)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func cfgFor(t *testing.T, prof string) Config {
	return Config{Proto: 250, Owned: map[uint32]bool{254: true}, Nexthops: NexthopsAuto, Profile: mustProfile(t, prof), IDBase: 1000}
}

func gw(a, dev string) []route.Nexthop {
	return []route.Nexthop{{Gateway: netip.MustParseAddr(a), Dev: dev}}
}

func pfx(s string) netip.Prefix { return netip.MustParsePrefix(s) }

// The strategy of each change, per kernel: the cases the kernel notes name.
func TestPlanStrategies(t *testing.T) {
	v6gw := route.Route{Dst: pfx("2001:db8:0:10::/80"), Nexthops: gw("fe80::1", "eth0")}
	v6unreach := route.Route{Dst: pfx("2001:db8:0:10::/80"), Type: kernel.RouteUnreachable}
	v6gw2 := route.Route{Dst: pfx("2001:db8:0:10::/80"), Nexthops: gw("fe80::2", "eth1")}
	v6metric := route.Route{Dst: pfx("2001:db8:0:10::/80"), Metric: 2048, Nexthops: gw("fe80::2", "eth1")}
	v4 := route.Route{Dst: pfx("10.1.0.0/24"), Nexthops: gw("10.9.0.2", "eth0")}
	v4b := route.Route{Dst: pfx("10.1.0.0/24"), Nexthops: gw("10.9.0.3", "eth0")}
	for _, tc := range []struct {
		name, prof string
		from, to   route.Route
		kind       ChangeKind
		strategy   strategy.Strategy
		heal       bool
		evidence   string
	}{
		{"retract on 5.6", "linux-5.6", v6gw, v6unreach, KindModify, strategy.Replace, false, "apply-retract/replace"},
		{"retract on 4.9", "linux-4.9", v6gw, v6unreach, KindModify, strategy.ReplaceDeleteOld, false, "apply-retract/replace-delete-old"},
		{"retract where unknown", "debian-10", v6gw, v6unreach, KindModify, strategy.ReplaceDeleteOld, false, "apply-retract/replace-delete-old"},
		{"retract on 3.16 heals", "linux-3.16", v6gw, v6unreach, KindModify, strategy.Replace, true, "apply-clone-race/replace-heal"},
		{"unreachable to gateway on 4.9", "linux-4.9", v6unreach, v6gw, KindModify, strategy.Replace, false, "apply-clone-race/replace"},
		{"gateway move on 4.9", "linux-4.9", v6gw, v6gw2, KindModify, strategy.Replace, false, "apply-clone-race/replace"},
		{"gateway move on 3.16", "linux-3.16", v6gw, v6gw2, KindModify, strategy.Replace, true, "apply-clone-race/replace-heal"},
		{"metric change", "linux-6.1", v6gw, v6metric, KindMove, strategy.AddDelete, false, "apply-metric-change/add-delete"},
		{"IPv4 move", "linux-4.9", v4, v4b, KindModify, strategy.Replace, false, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			st := fakeState(t, []route.Route{tc.from}, nil, nil, nil)
			p, err := Compute(st, []route.Route{tc.to}, cfgFor(t, tc.prof))
			if err != nil {
				t.Fatal(err)
			}
			if len(p.Changes) != 1 {
				t.Fatalf("%d changes", len(p.Changes))
			}
			c := p.Changes[0]
			if c.Kind != tc.kind || c.Strategy != tc.strategy || c.Heal != tc.heal {
				t.Fatalf("%s %s heal=%v, want %s %s heal=%v (%s)", c.Kind, c.Strategy, c.Heal, tc.kind, tc.strategy, tc.heal, c.Why)
			}
			if tc.evidence != "" && !strings.Contains(strings.Join(c.Evidence, " "), tc.evidence) {
				t.Fatalf("evidence %v, want %s", c.Evidence, tc.evidence)
			}
			if c.Why == "" {
				t.Fatal("no reason given")
			}
			// Make before break: the new route is written before the old
			// one is deleted.
			var kinds []stepKind
			for _, si := range c.steps {
				kinds = append(kinds, p.steps[si].Kind)
			}
			switch tc.strategy {
			case strategy.ReplaceDeleteOld, strategy.AddDelete:
				if len(kinds) != 2 || kinds[1] != stepRouteDelete || p.steps[c.steps[1]].Deps[0] != c.steps[0] {
					t.Fatalf("steps %v: want a write, then a delete that depends on it", kinds)
				}
			case strategy.Replace:
				if len(kinds) != 1 || kinds[0] != stepRouteReplace {
					t.Fatalf("steps %v: want one replace", kinds)
				}
			}
		})
	}
}

// A second plan of the state the kernel already holds writes nothing;
// routes of ours not desired are left alone unless pruned.
func TestPlanIdempotentAndPrune(t *testing.T) {
	a := route.Route{Dst: pfx("10.1.0.0/24"), Nexthops: gw("10.9.0.2", "eth0")}
	b := route.Route{Dst: pfx("10.2.0.0/24"), Nexthops: gw("10.9.0.2", "eth0")}
	st := fakeState(t, []route.Route{a, b}, nil, nil, nil)
	cfg := cfgFor(t, "linux-6.1")
	p, err := Compute(st, []route.Route{a}, cfg)
	if err != nil || !p.Empty() || p.Unchanged != 1 || p.Nexthops {
		t.Fatalf("plan %+v, %v: want nothing to write", p, err)
	}
	if !strings.Contains(p.NexthopsWhy, "the kernel has none") {
		t.Fatalf("no nexthop objects, and the plan does not say why: %q", p.NexthopsWhy)
	}
	cfg.Prune = true
	p, err = Compute(st, []route.Route{a}, cfg)
	if err != nil || len(p.Changes) != 1 || p.Changes[0].Kind != KindDelete || p.Changes[0].From.Dst != b.Dst {
		t.Fatalf("prune plan %+v, %v", p, err)
	}
}

func TestPlanRefusesWithEveryProblem(t *testing.T) {
	st := fakeState(t, nil, nil, []route.Route{{Dst: pfx("10.7.0.0/24"), Nexthops: gw("10.9.0.2", "eth0")}}, nil)
	_, err := Compute(st, []route.Route{
		{Dst: pfx("10.7.0.0/24"), Nexthops: gw("10.9.0.3", "eth0")},           // held by another protocol
		{Dst: pfx("10.8.0.0/24"), Nexthops: gw("10.9.0.3", "eth9")},           // no such device
		{Dst: pfx("10.9.0.0/24")},                                             // no next hop
		{Dst: pfx("10.1.0.0/24"), Table: 7, Nexthops: gw("10.9.0.3", "eth0")}, // not an owned table
		{Dst: pfx("10.2.0.0/24"), Nexthops: gw("10.9.0.3", "eth0")},
		{Dst: pfx("10.2.0.0/24"), Nexthops: gw("10.9.0.4", "eth0")}, // the same key twice
		{Dst: pfx("10.3.0.0/24"), Type: kernel.RouteBlackhole, Nexthops: gw("10.9.0.4", "eth0")},
		{Dst: pfx("10.7.0.0/24"), Nexthops: gw("10.9.0.4", "eth0")}, // the key of the first (refused) twice
		{Dst: pfx("10.2.0.0/24"), Nexthops: gw("10.9.0.5", "eth0")}, // the same key a third time
	}, cfgFor(t, "linux-6.1"))
	var ve *ValidationError
	if !errors.As(err, &ve) {
		t.Fatalf("error %v", err)
	}
	want := []struct {
		index int
		msg   string
	}{
		{0, "is held by `10.7.0.0/24 via 10.9.0.2 dev eth0 proto static`"},
		{1, "dev eth9: no such device"},
		{2, "a unicast route needs a gateway (via) or a device (dev)"},
		{3, "table 7 is not one this writer owns (its tables: main)"},
		{5, "as route 5"},
		{6, "a blackhole route has no next hop"},
		{7, "as route 1:"},
		{8, "as route 5:"},
	}
	if len(ve.Problems) != len(want) {
		t.Fatalf("%d problems, want %d:\n%v", len(ve.Problems), len(want), err)
	}
	for i, w := range want {
		if ve.Problems[i].Index != w.index || !strings.Contains(ve.Problems[i].Msg, w.msg) {
			t.Errorf("problem %d: route %d %q, want route %d %q", i, ve.Problems[i].Index, ve.Problems[i].Msg, w.index, w.msg)
		}
	}
}

func single(id uint32, gwip string, oif int) rtnl.Nexthop {
	return rtnl.Nexthop{ID: id, Family: unix.AF_INET, Protocol: 250, Oif: oif, Gateway: netip.MustParseAddr(gwip)}
}

// With nexthop objects, moving every route of an object to another next
// hop is one replace of the object; a split gets a new object.
func TestPlanNexthopMoves(t *testing.T) {
	var rs []route.Route
	var ids []uint32
	for i := 0; i < 5; i++ {
		rs = append(rs, route.Route{Dst: netip.PrefixFrom(netip.AddrFrom4([4]byte{10, 1, byte(i), 0}), 24), Nexthops: gw("10.9.0.2", "eth0")})
		ids = append(ids, 1000)
	}
	objs := []rtnl.Nexthop{single(1000, "10.9.0.2", 2)}
	moved := func(n int, to string) []route.Route {
		var out []route.Route
		for i, r := range rs {
			r.Nexthops = gw("10.9.0.2", "eth0")
			if i < n {
				r.Nexthops = gw(to, "eth0")
			}
			out = append(out, r)
		}
		return out
	}
	cfg := cfgFor(t, "linux-6.1")
	// all move: one nexthop replace, no route write
	p, err := Compute(fakeState(t, rs, ids, nil, objs), moved(5, "10.9.0.3"), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if len(p.steps) != 1 || p.steps[0].Kind != stepNexthopReplace || len(p.Changes) != 5 {
		t.Fatalf("steps %d (%v), changes %d: want one nexthop replace", len(p.steps), p.NexthopWrites, len(p.Changes))
	}
	for _, c := range p.Changes {
		if c.Strategy != strategy.NexthopReplace {
			t.Fatalf("change %s by %s", c.String(), c.Strategy)
		}
	}
	// two of five move: a new object for them, the rest stay
	p, err = Compute(fakeState(t, rs, ids, nil, objs), moved(2, "10.9.0.3"), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Changes) != 2 || p.Unchanged != 3 || len(p.NexthopWrites) != 1 || !strings.Contains(p.NexthopWrites[0], "create via 10.9.0.3") {
		t.Fatalf("changes %d unchanged %d nexthop writes %v", len(p.Changes), p.Unchanged, p.NexthopWrites)
	}
	// a route of another protocol uses the object: it is not replaced
	st := fakeState(t, rs, ids, nil, objs)
	st.NHRefs[1000]++
	p, err = Compute(st, moved(5, "10.9.0.3"), cfg)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range p.steps {
		if s.Kind == stepNexthopReplace {
			t.Fatalf("replaced an object another's route uses: %s", s.What)
		}
	}
	// legacy routes (own next hops) move onto an object
	p, err = Compute(fakeState(t, rs, nil, nil, []rtnl.Nexthop{}), rs, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Changes) != 5 || len(p.NexthopWrites) != 1 || p.Changes[0].Nexthop == "" {
		t.Fatalf("legacy: changes %d, nexthop writes %v", len(p.Changes), p.NexthopWrites)
	}
	// an object of ours no route uses is kept when desired routes come
	// onto it (an add, a route of ours leaving another object), deleted
	// when none does (all the routes of an object moving to what it
	// holds replace theirs instead)
	for _, c := range []struct {
		name       string
		ours       []route.Route
		ids        []uint32
		desired    []route.Route
		deleted    []uint32
		nexthopsOn string // the object the first desired route uses
	}{
		{"added onto it", nil, nil, moved(1, "10.9.0.3")[:1], []uint32{1000}, "nexthop object 1001"},
		{"moved onto it, one stays", rs[:2], ids[:2], moved(1, "10.9.0.3")[:2], nil, "nexthop object 1001"},
		{"all moved: their object replaced instead", rs[:2], ids[:2], moved(2, "10.9.0.3")[:2], []uint32{1001}, "nexthop object 1000 (replaced)"},
		{"none onto it", rs[:2], ids[:2], moved(0, "")[:2], []uint32{1001}, ""},
	} {
		objs2 := []rtnl.Nexthop{single(1000, "10.9.0.2", 2), single(1001, "10.9.0.3", 2)}
		p, err := Compute(fakeState(t, c.ours, c.ids, nil, objs2), c.desired, cfg)
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		var deleted []uint32
		for _, s := range p.steps {
			if s.Kind == stepNexthopDelete {
				n, err := rtnl.ParseNexthop(s.Req.Body)
				if err != nil {
					t.Fatal(err)
				}
				deleted = append(deleted, n.ID)
			}
		}
		if !slices.Equal(deleted, c.deleted) {
			t.Errorf("%s: objects deleted %v, want %v (%v)", c.name, deleted, c.deleted, p.NexthopWrites)
		}
		if len(p.Changes) > 0 && c.nexthopsOn != "" && !strings.HasPrefix(p.Changes[0].Nexthop, c.nexthopsOn) {
			t.Errorf("%s: the first change is on %q, want %s", c.name, p.Changes[0].Nexthop, c.nexthopsOn)
		}
	}
	// the object no route uses any more is deleted after the routes left
	p, err = Compute(fakeState(t, rs, ids, nil, objs), moved(5, "10.9.0.3")[:0], Config{Proto: 250, Owned: map[uint32]bool{254: true}, Nexthops: NexthopsAuto, Profile: cfg.Profile, IDBase: 1000, Prune: true})
	if err != nil {
		t.Fatal(err)
	}
	last := p.steps[len(p.steps)-1]
	if last.Kind != stepNexthopDelete || len(last.Deps) != 5 {
		t.Fatalf("last step %s with %d deps: want the object's delete after the 5 route deletes", last.What, len(last.Deps))
	}
}

// A large plan is prepared and looked up in chunks, concurrently: the
// problems are the same, in the order of the routes, a key given twice
// across chunks among them; and a move of every route is still one
// nexthop replace with every route at its key claimed.
func TestPlanLargeInChunks(t *testing.T) {
	const n = 4 * chunkMin
	var rs []route.Route
	var ids []uint32
	for i := 0; i < n; i++ {
		rs = append(rs, route.Route{Dst: netip.PrefixFrom(netip.AddrFrom4([4]byte{10, byte(i >> 16), byte(i >> 8), byte(i)}), 32), Nexthops: gw("10.9.0.2", "eth0")})
		ids = append(ids, 1000)
	}
	objs := []rtnl.Nexthop{single(1000, "10.9.0.2", 2)}
	cfg := cfgFor(t, "linux-6.1")
	moved := make([]route.Route, n)
	for i, r := range rs {
		r.Nexthops = gw("10.9.0.3", "eth0")
		moved[i] = r
	}
	p, err := Compute(fakeState(t, rs, ids, nil, objs), moved, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if len(p.steps) != 1 || p.steps[0].Kind != stepNexthopReplace || len(p.Changes) != n || Replaced(p) == nil {
		t.Fatalf("steps %d (%v), changes %d: want one nexthop replace moving %d routes", len(p.steps), p.NexthopWrites, len(p.Changes), n)
	}
	for i := range moved {
		n := moved[i].Normalise()
		if e, ok := ExpectAt(p, n.Key()); !ok || e.Route == nil || e.NHID != 1000 || e.Change != i {
			t.Fatalf("route %d: expect %+v, %v", i, e, ok)
		}
	}
	bad := slices.Clone(moved)
	bad[3*chunkMin+1].Nexthops = gw("10.9.0.3", "eth9")
	bad = append(bad, moved[5], route.Route{Dst: pfx("10.200.0.0/16"), Nexthops: gw("10.9.0.3", "eth0")}, route.Route{Dst: pfx("10.200.0.0/16"), Nexthops: gw("10.9.0.4", "eth0")})
	_, err = Compute(fakeState(t, rs, ids, nil, objs), bad, cfg)
	var ve *ValidationError
	if !errors.As(err, &ve) {
		t.Fatalf("error %v", err)
	}
	want := []struct {
		index int
		msg   string
	}{
		{3*chunkMin + 1, "dev eth9: no such device"},
		{n, "as route 6:"},                             // held by ours: a claim taken
		{n + 2, "as route " + strconv.Itoa(n+2) + ":"}, // none of ours: the map
	}
	if len(ve.Problems) != len(want) {
		t.Fatalf("%d problems, want %d:\n%v", len(ve.Problems), len(want), err)
	}
	for i, w := range want {
		if ve.Problems[i].Index != w.index || !strings.Contains(ve.Problems[i].Msg, w.msg) {
			t.Errorf("problem %d: route %d %q, want route %d %q", i, ve.Problems[i].Index, ve.Problems[i].Msg, w.index, w.msg)
		}
	}
}

// A Prepared gives its buffers (made for a large file, below
// prefaultMin none) to the first plan only: a second plan of it is the
// same plan in memory of its own.
func TestPreparedPlannedTwice(t *testing.T) {
	for _, n := range []int{100, prefaultMin} {
		t.Run(strconv.Itoa(n), func(t *testing.T) {
			var rs, moved []route.Route
			var ids []uint32
			for i := 0; i < n; i++ {
				r := route.Route{Dst: netip.PrefixFrom(netip.AddrFrom4([4]byte{10, byte(i >> 16), byte(i >> 8), byte(i)}), 32), Nexthops: gw("10.9.0.2", "eth0")}
				rs, ids = append(rs, r), append(ids, 1000)
				r.Nexthops = gw("10.9.0.3", "eth0")
				moved = append(moved, r)
			}
			objs := []rtnl.Nexthop{single(1000, "10.9.0.2", 2)}
			cfg := cfgFor(t, "linux-6.1")
			// The first plan's memory mapped throughout (Prepare), or not
			// at all, or in part (PrepareWhile: the dump ends at once, or
			// after a step): the plans are the same.
			calls := 0
			for _, prep := range []*Prepared{
				Prepare(moved, cfg.Owned),
				PrepareWhile(moved, cfg.Owned, func() bool { return false }),
				PrepareWhile(moved, cfg.Owned, func() bool { calls++; return calls < 2 }),
			} {
				if got := prep.bufs != nil; got != (n >= prefaultMin) {
					t.Fatalf("buffers made: %v, want %v", got, n >= prefaultMin)
				}
				planTwice(t, prep, n, func() *state.State { return fakeState(t, rs, ids, nil, objs) }, cfg)
			}
		})
	}
}

// planTwice plans prep twice and checks that the plans are the same, in
// memory of their own.
func planTwice(t *testing.T, prep *Prepared, n int, st func() *state.State, cfg Config) {
	t.Helper()
	var ps [2]*Plan
	for k := range ps {
		p, err := ComputePrepared(st(), prep, cfg)
		if err != nil {
			t.Fatal(err)
		}
		ps[k] = p
	}
	a, b := ps[0], ps[1]
	if len(a.Changes) != n || len(b.Changes) != n || len(a.expList) != len(b.expList) {
		t.Fatalf("changes %d and %d, expectations %d and %d: want %d of each", len(a.Changes), len(b.Changes), len(a.expList), len(b.expList), n)
	}
	if &a.Changes[0] == &b.Changes[0] || &a.expList[0] == &b.expList[0] {
		t.Fatal("the two plans share their changes or expectations")
	}
	for i := range a.Changes {
		ca, cb := &a.Changes[i], &b.Changes[i]
		if ca.Kind != cb.Kind || ca.Strategy != cb.Strategy || ca.To.String() != cb.To.String() || ca.Nexthop != cb.Nexthop {
			t.Fatalf("change %d: %v and %v", i, ca, cb)
		}
		if ea, eb := a.expList[i], b.expList[i]; ea.Key != eb.Key || ea.NHID != eb.NHID || ea.Change != eb.Change {
			t.Fatalf("expectation %d: %+v and %+v", i, ea, eb)
		}
	}
}

// A large move and a large second apply (every route held as it is):
// the plan movesInChunks makes in chunks is what change makes of the
// same routes one by one (a plan below its size); a large change with a
// route that must be written is planned route by route.
func TestMovesInChunksAsChange(t *testing.T) {
	const n = 2*chunkMin + 3
	objs := []rtnl.Nexthop{single(1000, "10.9.0.2", 2)}
	cfg := cfgFor(t, "linux-6.1")
	for _, c := range []struct {
		name   string
		to     func(i int) []route.Nexthop
		chunks bool
	}{
		{"all moved", func(int) []route.Nexthop { return gw("10.9.0.3", "eth0") }, true},
		{"all held", func(int) []route.Nexthop { return gw("10.9.0.2", "eth0") }, true},
		{"one written", func(i int) []route.Nexthop {
			if i == n-2 {
				return gw("10.9.0.4", "eth1")
			}
			return gw("10.9.0.3", "eth0")
		}, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			var rs, desired []route.Route
			var ids []uint32
			for i := 0; i < n; i++ {
				r := route.Route{Dst: netip.PrefixFrom(netip.AddrFrom4([4]byte{10, byte(i >> 16), byte(i >> 8), byte(i)}), 32), Nexthops: gw("10.9.0.2", "eth0")}
				rs, ids = append(rs, r), append(ids, 1000)
				r.Nexthops = c.to(i)
				desired = append(desired, r)
			}
			big, err := Compute(fakeState(t, rs, ids, nil, objs), desired, cfg)
			if err != nil {
				t.Fatal(err)
			}
			if !c.chunks {
				// Declined: the object is not replaced (a route stays
				// off it), so every route is written onto a new one.
				for i := range big.Changes {
					if big.Changes[i].Strategy == strategy.NexthopReplace {
						t.Fatalf("change %d moved by a replace", i)
					}
				}
				if len(big.Changes) != n || Replaced(big) != nil {
					t.Fatalf("changes %d, replaced %v: want %d routes written", len(big.Changes), Replaced(big), n)
				}
				return
			}
			// The same routes where they differ (the last 100), as a small
			// plan: change, one by one.
			small, err := Compute(fakeState(t, rs[n-100:], ids[n-100:], nil, objs), desired[n-100:], cfg)
			if err != nil {
				t.Fatal(err)
			}
			off := len(big.Changes) - len(small.Changes)
			if big.Unchanged-small.Unchanged != n-100-off || len(big.steps) != len(small.steps) {
				t.Fatalf("changes %d unchanged %d steps %d; the small plan's %d, %d, %d", len(big.Changes), big.Unchanged, len(big.steps), len(small.Changes), small.Unchanged, len(small.steps))
			}
			for i := range small.Changes {
				b, s := &big.Changes[off+i], &small.Changes[i]
				if b.Kind != s.Kind || b.Strategy != s.Strategy || b.Why != s.Why || b.Nexthop != s.Nexthop || b.To.String() != s.To.String() ||
					b.From.String() != s.From.String() || !slices.Equal(b.steps, s.steps) || !slices.Equal(b.Evidence, s.Evidence) {
					t.Fatalf("change %d: %+v, the small plan's %+v", off+i, *b, *s)
				}
			}
			for i := range small.expList[:100] {
				b, s := big.expList[n-100+i], small.expList[i]
				if bc, sc := b.Change-off, s.Change; (b.Change < 0) != (s.Change < 0) || (b.Change >= 0 && bc != sc) || b.NHID != s.NHID || b.Key != s.Key || b.held.Route.String() != s.held.Route.String() {
					t.Fatalf("expectation %d: %+v, the small plan's %+v", n-100+i, b, s)
				}
			}
			if got := Replaced(big) != nil; got != (c.name == "all moved") {
				t.Errorf("Replaced: %v", got)
			}
		})
	}
}
