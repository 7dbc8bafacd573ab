// Package plan is the route writer's (package apply) plan: from the
// kernel's state (apply/internal/state) and the desired routes it
// validates the routes, decides which nexthop object holds each set of
// next hops (one replace of an object moves every route using it) and
// computes the changes, each with the strategy apply/internal/strategy
// chooses for the kernel profile, as requests in phases with their
// dependencies; text.go prints a plan. It writes nothing: package apply
// sends the requests and checks them.
package plan

import (
	"cmp"
	"fmt"
	"maps"
	"net/netip"
	"slices"
	"sort"
	"strings"
	"sync/atomic"

	"golang.org/x/sys/unix"

	"raceroute/apply/internal/rtnl"
	"raceroute/apply/internal/state"
	"raceroute/apply/internal/strategy"
	"raceroute/apply/route"
	"raceroute/kernel"
	"raceroute/profile"
)

// ChangeKind is what a change does to a route.
type ChangeKind string

// Change kinds.
const (
	KindAdd    ChangeKind = "add"    // a route at a key none of ours holds
	KindModify ChangeKind = "modify" // the route at its key changes
	KindMove   ChangeKind = "move"   // a route of ours changes metric (its key)
	KindDelete ChangeKind = "delete" // a route of ours goes (--prune)
)

// Change is one route change of a plan: what changes, how (the
// strategy) and why, and the library scenarios that show the strategy
// safe on the kernel (`raceroute check NAME/VARIANT`).
type Change struct {
	Kind ChangeKind
	// From is the route now (nil for an add), To the route wanted (nil
	// for a delete).
	From, To *route.Route
	Strategy strategy.Strategy
	// Heal: after the change, route-cache entries under the prefix that
	// contradict its route are deleted (kernels that clone on lookup).
	Heal     bool
	Why      string
	Evidence []string
	// Nexthop names the nexthop object the new route uses, "" for none.
	Nexthop string
	steps   []int
}

func (c *Change) String() string {
	switch c.Kind {
	case KindAdd:
		return "+ " + c.To.String()
	case KindDelete:
		return "- " + c.From.String()
	}
	return "~ " + c.From.String() + " -> " + c.To.String()
}

// Plan is what the writer will do to bring its routes to the desired
// state: every change with its strategy, the nexthop objects written,
// and what the kernel will hold afterwards (checked by reading it back).
type Plan struct {
	// Netns is the namespace, "" for the caller's.
	Netns string
	// Profile is the kernel profile the strategies were chosen for, as
	// `raceroute check --kernel` takes it; ProfileName its name.
	Profile, ProfileName string
	// Nexthops says whether routes use nexthop objects; NexthopsWhy why
	// (or why not: the kernel has none before 5.3).
	Nexthops    bool
	NexthopsWhy string
	Changes     []Change
	// NexthopWrites describe the nexthop objects created, replaced and
	// deleted, in order.
	NexthopWrites []string
	// Unchanged counts the desired routes the kernel already holds.
	Unchanged int
	steps     []Step
	// expList is what each key the plan touches must hold: first the
	// desired routes' keys (in their order), then those a change
	// empties. The entry of a key a route of ours holds is found by its
	// claim (1 + its index, by the route's Seq: no map of the keys the
	// kernel holds already), any other's by expect.
	expList []Expected
	claim   []int32
	expect  map[state.Key]int32
	owned   map[uint32]bool
	prune   bool
	// st is the state the plan was computed from (Before reads it).
	st *state.State
	// replaced are the specs of the objects replaced, by id.
	replaced map[uint32]state.Spec
}

// Empty reports whether the plan writes nothing.
func (p *Plan) Empty() bool { return len(p.steps) == 0 }

// What the writer needs to carry a plan out and check it. These are
// functions, not methods or exported fields, so that Plan and Change,
// which package apply names with type aliases, show its users nothing
// more than they did before the plan had a package of its own.

// Steps returns the requests of p: a step is sent in its Phase once
// every step of its Deps succeeded.
func Steps(p *Plan) []Step { return p.steps }

// ChangeSteps returns the indices in Steps of the requests that make
// change c (for a NexthopReplace change, its object's replace).
func ChangeSteps(c *Change) []int { return c.steps }

// Expect returns what the kernel must hold at each key p touches once
// it is applied (read only).
func Expect(p *Plan) []Expected { return p.expList }

// ExpectAt returns what the kernel must hold at key k once p is
// applied; false when p does not touch k.
func ExpectAt(p *Plan, k route.Key) (Expected, bool) {
	i, ok := p.expectIndex(state.KeyOf(k))
	if !ok {
		return Expected{}, false
	}
	return p.expList[i], true
}

// expectIndex is the index in expList of key k's entry.
func (p *Plan) expectIndex(k state.Key) (int, bool) {
	if in := p.st.Ours.Get(k); in != nil {
		c := p.claim[in.Seq]
		return int(c) - 1, c != 0
	}
	i, ok := p.expect[k]
	return int(i), ok
}

// Replaced returns, when p's only writes are replaces of nexthop
// objects that routes of ours use and every change of p is a route moved
// by one of them (strategy.NexthopReplace), the spec each replaced
// object is given, by id; nil otherwise. The read-back of such a plan
// need only check those objects and that the routes still use them.
func Replaced(p *Plan) map[uint32]state.Spec {
	if len(p.steps) == 0 {
		return nil
	}
	for i := range p.steps {
		if p.steps[i].Kind != stepNexthopReplace {
			return nil
		}
	}
	for i := range p.Changes {
		if p.Changes[i].Strategy != strategy.NexthopReplace {
			return nil
		}
	}
	return p.replaced
}

// Owned returns the tables p was computed for.
func Owned(p *Plan) map[uint32]bool { return p.owned }

// Before returns the routes of ours as p found them: what a rollback
// restores.
func Before(p *Plan) []route.Route {
	before := make([]route.Route, 0, p.st.Ours.Len())
	for in := range p.st.Ours.All() {
		before = append(before, in.Route)
	}
	sortRoutes(before)
	return before
}

// Expected is what the kernel must hold at a key after the plan: the
// route and the nexthop object it uses (0 for none), or nothing.
type Expected struct {
	// Key is the key (Route's, when Route is not nil).
	Key    state.Key
	NHID   uint32 // beside Key: 32 bytes, no padding
	Route  *route.Route
	Change int // the change that makes it so, -1 for a route left as it is
	// held is the route of ours at the key when the plan was made.
	held *state.Installed
}

type stepKind uint8

const (
	stepNexthopCreate stepKind = iota
	stepNexthopReplace
	stepRouteAdd
	stepRouteReplace
	stepRouteDelete
	stepNexthopDelete
)

// Phases: nexthop objects are created and replaced before the routes
// that use them are written, routes are added or replaced before the
// routes they replace are deleted, and objects are deleted once no route
// uses them.
const (
	phaseSingleCreate = iota
	phaseSingleReplace
	phaseGroupCreate
	phaseGroupReplace
	phaseRouteWrite
	phaseRouteDelete
	phaseGroupDelete
	phaseSingleDelete
	NPhases
)

// Step is one request of a plan.
type Step struct {
	Kind   stepKind
	Phase  int
	Req    rtnl.Request
	Change int    // the change it belongs to, -1 for a nexthop object's
	Deps   []int  // steps that must have succeeded before it is sent
	What   string // a nexthop object's step; a route's is told by StepText
	// GoneOK: a delete that finds nothing (ESRCH, ENOENT) has done its
	// job (the replace before it already removed the old route).
	GoneOK bool
}

// Problem is one thing wrong with a desired route.
type Problem struct {
	// Index is the route's index in the desired list.
	Index int
	Route route.Route
	Msg   string
}

// ValidationError lists every problem of a desired state; nothing was
// written.
type ValidationError struct{ Problems []Problem }

func (e *ValidationError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%d desired route(s) refused, nothing written:", len(e.Problems))
	for _, p := range e.Problems {
		fmt.Fprintf(&b, "\n  route %d (%s): %s", p.Index+1, p.Route, p.Msg)
	}
	return b.String()
}

// NexthopMode says whether the writer uses nexthop objects.
type NexthopMode string

// Nexthop modes.
const (
	// NexthopsAuto uses nexthop objects where the kernel has them.
	NexthopsAuto NexthopMode = "auto"
	// NexthopsOn requires them (an error on a kernel before 5.3).
	NexthopsOn NexthopMode = "on"
	// NexthopsOff writes every route with its own next hops.
	NexthopsOff NexthopMode = "off"
)

// Config is what a plan is computed with.
type Config struct {
	// Proto is the writer's protocol: its routes and nexthop objects.
	Proto kernel.Proto
	// Owned are the writer's tables.
	Owned map[uint32]bool
	// Prune deletes the routes of ours in Owned that are not desired.
	Prune    bool
	Nexthops NexthopMode
	// Profile is the kernel profile strategies are chosen for.
	Profile profile.Profile
	// IDBase is the lowest id of a new nexthop object.
	IDBase uint32
	// Netns is the namespace's name, for messages.
	Netns string
}

// planner holds the work of one Compute.
type planner struct {
	st   *state.State
	cfg  Config
	plan *Plan
	// assigned maps a nexthop spec to the object that will hold it.
	assigned map[state.Spec]uint32
	// nhStep is the create or replace step of an object, when written.
	nhStep map[uint32]int
	// repurposed are the objects replaced with another spec.
	repurposed map[uint32]state.Spec
	nextID     uint32
	used       map[uint32]bool
	// want are the desired routes (validated), held the route of ours at
	// each one's key.
	want []route.Route
	held []*state.Installed
	// bufs are the slices of a route each the plan fills.
	bufs *buffers
	// leaving are the changes that may take a route of ours off its
	// object, entered/entering count by object the desired routes put on
	// one they are not on (addChange, enter: for deleteUnused).
	leaving  []int
	entered  map[uint32]int
	entering struct {
		id uint32
		n  int
	}
	// chosen caches strategy.Choose(): its answer depends on the family
	// and class.
	chosen     map[[2]int]strategy.Choice
	lastChoice struct {
		k  [2]int
		ch strategy.Choice
		ok bool
	}
	nhText map[uint32]string
	// specs are the specs of the desired routes' objects (Prepared.specs);
	// specList each of them once, sorted (assignNexthops).
	specs    []state.Spec
	specList []state.Spec
	// lastObj is what object() returned last.
	lastObj struct {
		spec state.Spec
		id   uint32
		deps []int
		text string
		ok   bool
	}
}

func (pl *planner) choose(fam int, c strategy.Class) strategy.Choice {
	k := [2]int{fam, int(c)}
	if l := &pl.lastChoice; l.ok && l.k == k {
		return l.ch // a move's 200,000 routes ask the same
	}
	ch, ok := pl.chosen[k]
	if !ok {
		ch = strategy.Choose(pl.cfg.Profile, fam, c)
		pl.chosen[k] = ch
	}
	pl.lastChoice.k, pl.lastChoice.ch, pl.lastChoice.ok = k, ch, true
	return ch
}

// Compute plans the changes from st to the desired routes, with the
// strategy of each chosen for cfg.Profile; a desired state with
// problems gives a *ValidationError listing every one.
func Compute(st *state.State, desired []route.Route, cfg Config) (*Plan, error) {
	return ComputePrepared(st, Prepare(desired, cfg.Owned), cfg)
}

// ComputePrepared is Compute of routes Prepare prepared (again, if for
// other tables than cfg.Owned).
func ComputePrepared(st *state.State, prep *Prepared, cfg Config) (*Plan, error) {
	if !maps.Equal(prep.owned, cfg.Owned) {
		prep = Prepare(prep.desired, cfg.Owned)
	}
	pl := &planner{st: st, cfg: cfg, assigned: map[state.Spec]uint32{}, nhStep: map[uint32]int{},
		repurposed: map[uint32]state.Spec{}, used: map[uint32]bool{}, nextID: cfg.IDBase,
		chosen: map[[2]int]strategy.Choice{}, nhText: map[uint32]string{},
		entered: map[uint32]int{}}
	pl.plan = &Plan{Netns: cfg.Netns, Profile: cfg.Profile.ID(), ProfileName: cfg.Profile.Name,
		expect: map[state.Key]int32{}, claim: make([]int32, st.NumOurs()), owned: cfg.Owned, prune: cfg.Prune, st: st}
	pl.specs = prep.specs
	if pl.bufs = prep.take(); pl.bufs == nil {
		pl.bufs = newBuffers(len(prep.desired))
	}
	want, err := pl.validate(prep)
	if err != nil {
		return nil, err
	}
	pl.plan.Changes = pl.bufs.changes[:0]
	pl.plan.steps = make([]Step, 0, len(want)+16)
	if err := pl.decideNexthops(); err != nil {
		return nil, err
	}
	// Pair the desired routes with ours: by key, then, for a key none of
	// ours holds, a route of ours at the same destination whose metric is
	// not desired (a metric change).
	// held[i] is the route of ours at want[i]'s key (from[i] paired by
	// key), nil for none; validate found it. from is held itself unless
	// some desired route pairs by destination.
	held := pl.held
	from := held
	byKey := 0
	for _, in := range held {
		if in != nil {
			byKey++
		}
	}
	// taken are the routes of ours paired by other than their key; a
	// route of ours paired by its key is held[i] of the route at it. The
	// pairing by destination is needed only when some desired key is
	// not held while some route of ours is not at a desired key.
	taken := map[*state.Installed]bool{}
	if byKey < len(want) && byKey < st.Ours.Len() {
		from = slices.Clone(held)
		byDst := map[route.Key][]*state.Installed{} // Key with Metric 0: (table, dst)
		for in := range st.Ours.All() {
			k := in.Key()
			k.Metric = 0
			byDst[k] = append(byDst[k], in)
		}
		for _, l := range byDst {
			slices.SortFunc(l, func(a, b *state.Installed) int { return cmp.Compare(a.Metric, b.Metric) })
		}
		for i := range want {
			if from[i] != nil {
				continue
			}
			k := want[i].Key()
			k.Metric = 0
			for _, in := range byDst[k] {
				if _, wanted := pl.wantAt(in); !wanted && !taken[in] {
					from[i] = in
					taken[in] = true
					break
				}
			}
		}
	}
	pl.want = want
	var gone []*state.Installed
	if cfg.Prune && byKey+len(taken) < st.Ours.Len() {
		for in := range st.Ours.All() {
			if _, desired := pl.wantAt(in); !desired && !taken[in] {
				gone = append(gone, in)
			}
		}
		slices.SortFunc(gone, func(a, b *state.Installed) int { return compareRoutes(&a.Route, &b.Route) })
	}
	if pl.plan.Nexthops {
		pl.assignNexthops(want, gone)
	}
	if !pl.movesInChunks(want, held, len(taken) == 0) {
		for i := range want {
			pl.change(i, &want[i], from[i], held[i])
		}
	}
	for _, in := range gone {
		pl.remove(in)
	}
	pl.deleteUnused(gone)
	return pl.plan, nil
}

// wantAt returns the index of the desired route at in's key.
func (pl *planner) wantAt(in *state.Installed) (int, bool) {
	i := int(pl.plan.claim[in.Seq]) - 1
	return i, i >= 0 && i < len(pl.want)
}

// validate finishes the checks of the prepared routes against the
// state and lists every problem; it gives each its entry of what the
// plan expects (desired[i]'s is expList[i]: the claim of the route of
// ours at its key, or in the expect map) and fills pl.held with the
// route of ours at each.
func (pl *planner) validate(prep *Prepared) ([]route.Route, error) {
	desired, want, keys := prep.desired, prep.want, prep.keys
	pl.held = pl.bufs.held
	pl.plan.expList = pl.bufs.expList
	// The devices, the routes of ours at each key (a cursor each: a file
	// in the dump's order walks Ours) and the other protocols' routes
	// there, read concurrently (the state is read only); then the
	// claims, in order.
	found := make([]uint8, len(desired))
	inChunks(len(desired), func(lo, hi int) {
		ours := pl.st.Ours.Cursor()
		for i := lo; i < hi; i++ {
			if prep.bad[i] {
				continue
			}
			if missingDev(pl.st, &want[i]) != "" {
				found[i] = foundNoDev
				continue
			}
			pl.held[i] = ours.Get(keys[i])
			if _, ok := pl.st.Foreign[keys[i]]; ok {
				found[i] = foundForeign
			}
		}
	})
	var probs []Problem
	// A key given twice is one claimed already, or one the insert in the
	// expect map does not grow it by (no lookup before the insert).
	byKey := pl.plan.expect
	// inMap[i]: desired[i]'s key went in (a claim or the map), for
	// firstAt.
	inMap := make([]bool, len(desired))
	for i := range desired {
		bad := func(format string, args ...any) {
			probs = append(probs, Problem{Index: i, Route: desired[i], Msg: fmt.Sprintf(format, args...)})
		}
		switch {
		case prep.bad[i]:
			bad("%s", prep.msgs[i])
			continue
		case found[i] == foundNoDev:
			bad("dev %s: no such device%s", missingDev(pl.st, &want[i]), InNetns(pl.cfg.Netns))
			continue
		}
		k := keys[i]
		j := -1
		if held := pl.held[i]; held != nil {
			if c := &pl.plan.claim[held.Seq]; *c != 0 {
				j = int(*c) - 1
			} else {
				*c = int32(i) + 1
			}
		} else {
			was := len(byKey)
			if byKey[k] = int32(i); len(byKey) == was {
				j = firstAt(keys[:i], inMap, k)
				byKey[k] = int32(j)
			}
		}
		if j >= 0 {
			pl.held[i] = nil
			rk := want[i].Key()
			bad("the same key (table %s, %s, metric %d) as route %d: one route per table, destination and metric", route.TableName(rk.Table), rk.Dst, rk.Metric, j+1)
			continue
		}
		inMap[i] = true
		if found[i] == foundForeign {
			f, rk := pl.st.Foreign[k], want[i].Key()
			bad("its key (table %s, %s, metric %d) is held by `%s`: the writer owns only routes of proto %s and never writes over another's", route.TableName(rk.Table), rk.Dst, rk.Metric, f, pl.cfg.Proto)
			continue
		}
		pl.plan.expList[i].Key = k
	}
	if len(probs) > 0 {
		return nil, &ValidationError{Problems: probs}
	}
	return want, nil
}

// What validate's chunks found of a desired route (found[i]).
const (
	foundNoDev   = 1 + iota // a device of its next hops is not there
	foundForeign            // another protocol's route holds its key
)

// missingDev is the first device of r's next hops that st has no link
// of, "" when there is none.
func missingDev(st *state.State, r *route.Route) string {
	for _, h := range r.Nexthops {
		if h.Dev != "" && st.Links[h.Dev] == 0 {
			return h.Dev
		}
	}
	return ""
}

// firstAt is the index of the first key of keys at k that went in
// (inMap): of a key given twice, whose first index the insert of the
// second overwrote.
func firstAt(keys []state.Key, inMap []bool, k state.Key) int {
	for j := range keys {
		if inMap[j] && keys[j] == k {
			return j
		}
	}
	return -1
}

// setExpect says what key k must hold after the plan: the entry of a
// desired route's key, or a new one.
func (pl *planner) setExpect(k state.Key, e Expected) {
	e.Key = k
	p := pl.plan
	if i, ok := p.expectIndex(k); ok {
		p.expList[i] = e
		return
	}
	if in := p.st.Ours.Get(k); in != nil {
		p.claim[in.Seq] = int32(len(p.expList)) + 1
	} else {
		p.expect[k] = int32(len(p.expList))
	}
	p.expList = append(p.expList, e)
}

// InNetns is " in netns NS" for messages, "" for the caller's namespace.
func InNetns(ns string) string {
	if ns == "" {
		return ""
	}
	return " in netns " + ns
}

// decideNexthops says whether routes use nexthop objects.
func (pl *planner) decideNexthops() error {
	p := pl.plan
	switch {
	case pl.cfg.Nexthops == NexthopsOff:
		p.NexthopsWhy = "off (asked for): every route is written with its own next hops"
	case pl.st.Nexthops == nil && pl.cfg.Nexthops == NexthopsOn:
		return fmt.Errorf("nexthop objects asked for, but the kernel has none (%v; they came in 5.3)", pl.st.NexthopErr)
	case pl.st.Nexthops == nil:
		p.NexthopsWhy = fmt.Sprintf("the kernel has none (RTM_GETNEXTHOP: %v; they came in 5.3): every route is written with its own next hops", pl.st.NexthopErr)
	default:
		p.Nexthops = true
		p.NexthopsWhy = "the kernel has them (5.3 and later): routes with the same next hops share one nexthop object, so moving them all is one nexthop replace"
	}
	return nil
}

// canUseObject reports whether a desired route can use a nexthop
// object (where the plan uses them): a unicast route whose next hops all
// name their device (a nexthop object needs one: "Device attribute
// required") and whose gateways are of its own family.
func canUseObject(r *route.Route) bool {
	if r.Type != kernel.RouteUnicast {
		return false
	}
	for _, h := range r.Nexthops {
		if h.Dev == "" || (h.Gateway.IsValid() && h.Gateway.Is4() != r.Dst.Addr().Is4()) {
			return false
		}
	}
	return true
}

// assignNexthops decides which nexthop object each spec of the desired
// routes will be held by: an object of ours whose every user wants the
// same new spec is replaced in place (one message moves them all);
// otherwise an object that already holds the spec is used; otherwise a
// new one is created.
func (pl *planner) assignNexthops(want []route.Route, gone []*state.Installed) {
	st := pl.st
	// specOf[i] is the spec of want[i], "" for a route that uses no
	// object (made by Prepare; the plan uses objects).
	specOf := pl.specs
	var specs []state.Spec
	seen := map[state.Spec]bool{}
	var last state.Spec // mostly the same spec as the route before
	for i := range want {
		s := specOf[i]
		if s == "" {
			continue
		}
		if s != last && !seen[s] {
			seen[s] = true
			specs = append(specs, s)
		}
		last = s
	}
	slices.Sort(specs)
	pl.specList = specs
	// The routes of ours that use each object, and what they will want:
	// an object is replaced in place when every user of it is either
	// deleted (gone) or at the key of a desired route, the same spec for
	// all of these (counted per object, not a list of users).
	type use struct {
		n, gone, desired int
		spec             state.Spec
		mixed            bool
	}
	uses := map[uint32]*use{}
	for id, n := range st.OursOn() {
		uses[id] = &use{n: n}
	}
	for _, in := range gone {
		if in.NHID != 0 {
			uses[in.NHID].gone++
		}
	}
	for i, h := range pl.held {
		if h == nil || h.NHID == 0 {
			continue
		}
		u := uses[h.NHID]
		switch sp := specOf[i]; {
		case sp == "" || (u.spec != "" && u.spec != sp):
			u.mixed = true
		default:
			u.spec = sp
			u.desired++
		}
	}
	pure := map[uint32]state.Spec{}
	for id, o := range st.Nexthops {
		u := uses[id]
		if o.Proto != pl.cfg.Proto || o.Spec == "" || u == nil || u.n != st.NHRefs[id] {
			continue // not ours, not describable, unused, or used by another's route or a group
		}
		if !u.mixed && u.gone+u.desired == u.n && u.spec != "" && state.IsGroup(u.spec) == state.IsGroup(o.Spec) {
			pure[id] = u.spec
		}
	}
	nUsers := func(id uint32) int {
		if u := uses[id]; u != nil {
			return u.n
		}
		return 0
	}
	ids := slices.Sorted(maps.Keys(st.Nexthops))
	for _, s := range specs {
		var best uint32
		for _, id := range ids {
			if pure[id] != s || pl.used[id] {
				continue
			}
			if best == 0 || nUsers(id) > nUsers(best) {
				best = id
			}
		}
		if best == 0 {
			for _, id := range ids {
				o := st.Nexthops[id]
				if o.Proto == pl.cfg.Proto && o.Spec == s && !pl.used[id] && (pure[id] == "" || pure[id] == s) {
					best = id
					break
				}
			}
		}
		if best != 0 {
			pl.used[best] = true
			pl.assigned[s] = best
			if st.Nexthops[best].Spec != s {
				pl.repurposed[best] = s
			}
		}
	}
	// Singles before groups: a group's members must exist first.
	for _, s := range specs {
		if !state.IsGroup(s) {
			pl.hold(s, nil, 0)
		}
	}
	for i := range want {
		if s := specOf[i]; s != "" && state.IsGroup(s) {
			pl.hold(s, want[i].Nexthops, want[i].Family())
		}
	}
}

// hold makes sure spec s has an object: creating it, replacing the one
// assigned with s, or nothing when the assigned one holds s already.
// hops and fam give a group's members.
func (pl *planner) hold(s state.Spec, hops []route.Nexthop, fam int) uint32 {
	id, ok := pl.assigned[s]
	if ok {
		if _, done := pl.nhStep[id]; done || (pl.repurposed[id] == "" && pl.st.Nexthops[id] != nil) {
			return id
		}
	} else {
		id = pl.newID()
		pl.assigned[s] = id
	}
	replace := pl.repurposed[id] != ""
	var n rtnl.Nexthop
	var deps []int
	var text string
	if state.IsGroup(s) {
		for _, h := range hops {
			ms := state.SingleSpec(fam, route.Nexthop{Gateway: h.Gateway, Dev: h.Dev, Onlink: h.Onlink})
			mid := pl.member(ms, fam)
			n.Group = append(n.Group, rtnl.GroupMember{ID: mid, Weight: h.Weight})
			if si, ok := pl.nhStep[mid]; ok {
				deps = append(deps, si)
			}
		}
		text = groupText(hops, n.Group)
	} else {
		h, hfam := state.SpecHop(s)
		n = pl.single(h, hfam)
		text = h.String()
	}
	n.ID = id
	n.Protocol = uint8(pl.cfg.Proto)
	kind, phase, flags := stepNexthopCreate, phaseSingleCreate, uint16(unix.NLM_F_CREATE|unix.NLM_F_EXCL)
	what := fmt.Sprintf("nexthop %d: create %s", id, text)
	if replace {
		if pl.plan.replaced == nil {
			pl.plan.replaced = map[uint32]state.Spec{}
		}
		pl.plan.replaced[id] = s
		kind, flags = stepNexthopReplace, unix.NLM_F_REPLACE
		phase = phaseSingleReplace
		what = fmt.Sprintf("nexthop %d: replace %s with %s", id, pl.describe(pl.st.Nexthops[id]), text)
	}
	if state.IsGroup(s) {
		phase += phaseGroupCreate
	}
	body, err := rtnl.AppendNexthop(nil, &n)
	if err != nil {
		panic(fmt.Sprintf("apply: nexthop %d: %v (validated routes give valid objects)", id, err))
	}
	pl.nhStep[id] = pl.addStep(Step{Kind: kind, Phase: phase, Change: -1, Deps: deps, What: what,
		Req: rtnl.Request{Type: unix.RTM_NEWNEXTHOP, Flags: flags, Body: body}})
	pl.plan.NexthopWrites = append(pl.plan.NexthopWrites, what)
	return id
}

// member returns the object of a group member's spec: the one assigned
// to it, one of ours that holds it, or a new one.
func (pl *planner) member(ms state.Spec, fam int) uint32 {
	if _, ok := pl.assigned[ms]; !ok {
		for _, id := range slices.Sorted(maps.Keys(pl.st.Nexthops)) {
			o := pl.st.Nexthops[id]
			if o.Proto == pl.cfg.Proto && o.Spec == ms && pl.repurposed[id] == "" {
				pl.assigned[ms] = id
				pl.used[id] = true
				break
			}
		}
	}
	return pl.hold(ms, nil, fam)
}

// single is the object message of one next hop of family fam.
func (pl *planner) single(h route.Nexthop, fam int) rtnl.Nexthop {
	n := rtnl.Nexthop{Oif: pl.st.Links[h.Dev], Gateway: h.Gateway}
	n.Family = unix.AF_INET
	if fam == 6 {
		n.Family = unix.AF_INET6
	}
	if h.Onlink {
		n.Flags |= unix.RTNH_F_ONLINK
	}
	return n
}

func (pl *planner) describe(o *state.Object) string {
	if o == nil {
		return "?"
	}
	hops := pl.st.HopsOf(o)
	if len(o.Wire.Group) > 0 {
		return groupText(hops, o.Wire.Group)
	}
	if len(hops) == 1 {
		return hops[0].String()
	}
	return "?"
}

func groupText(hops []route.Nexthop, members []rtnl.GroupMember) string {
	parts := make([]string, len(hops))
	for i, h := range hops {
		unweighted := h
		unweighted.Weight = 0
		parts[i] = fmt.Sprintf("%s weight %d", unweighted.String(), h.Weight)
		if i < len(members) {
			parts[i] = fmt.Sprintf("[%d: %s]", members[i].ID, parts[i])
		}
	}
	return "group " + strings.Join(parts, " ")
}

func (pl *planner) newID() uint32 {
	for pl.used[pl.nextID] || pl.st.Nexthops[pl.nextID] != nil || pl.nextID == 0 {
		pl.nextID++
	}
	id := pl.nextID
	pl.used[id] = true
	pl.nextID++
	return id
}

// StepText describes step i of p: a route write by its change's route.
func StepText(p *Plan, i int) string {
	s := &p.steps[i]
	if s.Change < 0 {
		return s.What
	}
	c := &p.Changes[s.Change]
	switch s.Kind {
	case stepRouteAdd:
		return "add " + c.To.String()
	case stepRouteReplace:
		return "replace " + c.To.String()
	case stepRouteDelete:
		return "delete " + c.From.String()
	}
	return s.What
}

func (pl *planner) addStep(s Step) int {
	pl.plan.steps = append(pl.plan.steps, s)
	return len(pl.plan.steps) - 1
}

// object returns the object that holds spec s, the step that writes it
// (none if it is not written) and its text for a change; the last is
// kept, as the routes of a large file mostly share one. The steps are
// shared by the changes and read only.
func (pl *planner) object(s state.Spec) (uint32, []int, string) {
	if c := &pl.lastObj; c.ok && c.spec == s {
		return c.id, c.deps, c.text
	}
	id := pl.assigned[s]
	var deps []int
	si, written := pl.nhStep[id]
	if written {
		deps = []int{si}
	}
	text := pl.nhText[id]
	if text == "" {
		text = fmt.Sprintf("nexthop object %d", id)
		if written {
			text += map[stepKind]string{stepNexthopCreate: " (new)", stepNexthopReplace: " (replaced)"}[pl.plan.steps[si].Kind]
		}
		pl.nhText[id] = text
	}
	pl.lastObj.spec, pl.lastObj.id, pl.lastObj.deps, pl.lastObj.text, pl.lastObj.ok = s, id, deps, text, true
	return id, deps, text
}

// change plans desired route to (desired[i]) from the route of ours it
// replaces (nil for none).
func (pl *planner) change(i int, to *route.Route, from, held *state.Installed) {
	var nhid uint32
	var nhDeps []int
	nhText := ""
	if s := pl.specs[i]; pl.plan.Nexthops && s != "" {
		nhid, nhDeps, nhText = pl.object(s)
	}
	idx := len(pl.plan.Changes)
	if from != nil && from.NHID == nhid && to.HeldBy(&from.Route) {
		pl.plan.Unchanged++
		e := &pl.plan.expList[i]
		e.Route, e.NHID, e.Change, e.held = to, nhid, -1, held
		return
	}
	e := &pl.plan.expList[i]
	e.Route, e.NHID, e.Change, e.held = to, nhid, idx, held
	ch := Change{To: to, Nexthop: nhText}
	fam := to.Family()
	switch {
	case from == nil:
		ch.Kind = KindAdd
	case from.Metric != to.Metric:
		ch.Kind = KindMove
	default:
		ch.Kind = KindModify
	}
	// Desired entries are final here: a key a change empties later
	// (setExpect) is none of the desired routes'.
	if nhid != 0 && (held == nil || held.NHID != nhid || ch.Kind == KindMove) {
		pl.enter(nhid)
	}
	if from != nil {
		ch.From = &from.Route // the plan keeps its state; nothing writes a change's routes
	}
	if from != nil && nhid != 0 && from.NHID == nhid && pl.repurposed[nhid] != "" && sameButNexthops(&from.Route, to) {
		// The object's replace moves the route: nothing to write.
		c := pl.choose(fam, strategy.ClassNexthopMove)
		ch.Strategy, ch.Why, ch.Evidence = c.Strategy, c.Why, c.Evidence
		ch.steps = nhDeps
		pl.addChange(ch)
		return
	}
	var fromRoute *route.Route
	if from != nil {
		fromRoute = &from.Route
	}
	c := pl.choose(fam, strategy.Classify(fromRoute, to, from != nil && from.NHID != 0, nhid != 0))
	ch.Strategy, ch.Heal, ch.Why, ch.Evidence = c.Strategy, c.Heal, c.Why, c.Evidence
	w := pl.routeMessage(to, nhid)
	switch c.Strategy {
	case strategy.Add:
		ch.steps = append(ch.steps, pl.addStep(Step{Kind: stepRouteAdd, Phase: phaseRouteWrite, Change: idx, Deps: nhDeps,
			Req: rtnl.Request{Type: unix.RTM_NEWROUTE, Flags: unix.NLM_F_CREATE | unix.NLM_F_EXCL, Body: w}}))
	case strategy.Replace, strategy.ReplaceDeleteOld, strategy.AddDelete:
		flags := uint16(unix.NLM_F_CREATE | unix.NLM_F_REPLACE)
		kind := stepRouteReplace
		if c.Strategy == strategy.AddDelete {
			flags, kind = unix.NLM_F_CREATE|unix.NLM_F_EXCL, stepRouteAdd
		}
		first := pl.addStep(Step{Kind: kind, Phase: phaseRouteWrite, Change: idx, Deps: nhDeps,
			Req: rtnl.Request{Type: unix.RTM_NEWROUTE, Flags: flags, Body: w}})
		ch.steps = append(ch.steps, first)
		if c.Strategy != strategy.Replace {
			ch.steps = append(ch.steps, pl.addStep(Step{Kind: stepRouteDelete, Phase: phaseRouteDelete, Change: idx, Deps: []int{first},
				GoneOK: true,
				Req:    rtnl.Request{Type: unix.RTM_DELROUTE, Body: pl.deleteMessage(from)}}))
		}
		if c.Strategy == strategy.AddDelete {
			pl.setExpect(state.KeyOf(from.Key()), Expected{Change: idx})
		}
	}
	pl.addChange(ch)
}

// Classes of a desired route for movesInChunks.
const (
	heldAsIs = iota // the route of ours at its key is it already
	movedBy         // its object's replace moves the route of ours there
	written         // anything else: change plans it, in order
)

// movesInChunks plans a large plan whose desired routes are each either
// held as they are by the route of ours at their key or moved there by
// the replace of that route's object (a move of every route, with or
// without some that stay): what change would make of each (no request
// to write, nothing for deleteUnused to note), in chunks on every CPU.
// It returns false having planned nothing when some route is neither,
// or some route of ours pairs by destination (byKeyOnly false), or the
// plan is small or uses no objects: then change plans each in order.
func (pl *planner) movesInChunks(want []route.Route, held []*state.Installed, byKeyOnly bool) bool {
	n := len(want)
	if n < 2*chunkMin || !byKeyOnly || !pl.plan.Nexthops {
		return false
	}
	// What change asks of the planner's caches, asked here once: each
	// spec's object, a move's strategy for each family.
	type obj struct {
		id   uint32
		deps []int
		text string
	}
	objs := make(map[state.Spec]obj, len(pl.specList))
	for _, s := range pl.specList {
		id, deps, text := pl.object(s)
		objs[s] = obj{id, deps, text}
	}
	moves := [2]strategy.Choice{pl.choose(4, strategy.ClassNexthopMove), pl.choose(6, strategy.ClassNexthopMove)}
	for _, c := range moves {
		if c.Strategy != strategy.NexthopReplace || c.Heal {
			return false // what change makes of it would differ
		}
	}
	objOf := func(i int, last *state.Spec, o *obj) {
		if s := pl.specs[i]; s != *last {
			*last, *o = s, objs[s]
		}
	}
	class := make([]uint8, n)
	var other atomic.Bool
	inChunks(n, func(lo, hi int) {
		var last state.Spec
		var o obj
		for i := lo; i < hi && !other.Load(); i++ {
			objOf(i, &last, &o)
			to, from := &want[i], held[i]
			switch {
			case from != nil && from.NHID == o.id && to.HeldBy(&from.Route):
				class[i] = heldAsIs
			case from != nil && o.id != 0 && from.NHID == o.id && from.Metric == to.Metric &&
				pl.repurposed[o.id] != "" && sameButNexthops(&from.Route, to):
				class[i] = movedBy
			default:
				other.Store(true)
			}
		}
	})
	if other.Load() {
		return false
	}
	// Each change's index: the moved routes before it, counted by blocks
	// of 4,096 (a chunk counts from its block's start).
	const block = 4096
	before := make([]int, n/block+1)
	moved := 0
	for i, c := range class {
		if i%block == 0 {
			before[i/block] = moved
		}
		if c == movedBy {
			moved++
		}
	}
	changes := pl.plan.Changes[:moved]
	inChunks(n, func(lo, hi int) {
		idx := before[lo/block]
		for i := lo / block * block; i < lo; i++ {
			if class[i] == movedBy {
				idx++
			}
		}
		var last state.Spec
		var o obj
		for i := lo; i < hi; i++ {
			objOf(i, &last, &o)
			to, from := &want[i], held[i]
			e := &pl.plan.expList[i]
			if class[i] == heldAsIs {
				e.Route, e.NHID, e.Change, e.held = to, o.id, -1, from
				continue
			}
			e.Route, e.NHID, e.Change, e.held = to, o.id, idx, from
			c := &moves[0]
			if to.Family() == 6 {
				c = &moves[1]
			}
			changes[idx] = Change{Kind: KindModify, From: &from.Route, To: to, Strategy: c.Strategy, Why: c.Why, Evidence: c.Evidence,
				Nexthop: o.text, steps: o.deps}
			idx++
		}
	})
	pl.plan.Changes = changes
	pl.plan.Unchanged += n - moved
	return true
}

// addChange appends ch to the plan, noting for deleteUnused a change
// that may take a route of ours off its object (any with a route now but
// the routes an object's replace moves) and, by object, the desired
// routes it puts on one they are not on now.
func (pl *planner) addChange(ch Change) {
	idx := len(pl.plan.Changes)
	pl.plan.Changes = append(pl.plan.Changes, ch)
	if ch.From != nil && ch.Strategy != strategy.NexthopReplace {
		pl.leaving = append(pl.leaving, idx)
	}
}

// enter counts a desired route on object id that is not on it now (a
// run of them at once: an install puts every route on one object).
func (pl *planner) enter(id uint32) {
	if r := &pl.entering; r.n > 0 && r.id != id {
		pl.flushEntering()
	}
	pl.entering.id = id
	pl.entering.n++
}

// flushEntering adds the run enter counts to entered.
func (pl *planner) flushEntering() {
	if r := &pl.entering; r.n > 0 {
		pl.entered[r.id] += r.n
		r.n = 0
	}
}

// sameButNexthops reports whether two routes differ at most in their
// next hops.
func sameButNexthops(a, b *route.Route) bool {
	x, y := *a, *b
	x.Nexthops, y.Nexthops = nil, nil
	return x.HeldBy(&y)
}

// remove plans the delete of a route of ours no longer desired.
func (pl *planner) remove(in *state.Installed) {
	idx := len(pl.plan.Changes)
	c := pl.choose(in.Family(), strategy.ClassDelete)
	ch := Change{Kind: KindDelete, From: &in.Route, Strategy: c.Strategy, Heal: c.Heal, Why: c.Why, Evidence: c.Evidence}
	ch.steps = []int{pl.addStep(Step{Kind: stepRouteDelete, Phase: phaseRouteDelete, Change: idx, GoneOK: true,
		Req: rtnl.Request{Type: unix.RTM_DELROUTE, Body: pl.deleteMessage(in)}})}
	pl.setExpect(state.KeyOf(in.Key()), Expected{Change: idx})
	pl.addChange(ch)
}

// deleteUnused deletes the objects of ours no route or group will use.
func (pl *planner) deleteUnused(gone []*state.Installed) {
	st := pl.st
	if st.Nexthops == nil {
		return
	}
	refs := maps.Clone(st.NHRefs)
	// Routes that leave an object: moved to another, rewritten inline, or
	// deleted. Their steps must be done before the object goes.
	leave := map[uint32][]int{}
	for _, i := range pl.leaving {
		ch := &pl.plan.Changes[i]
		fk := state.KeyOf(ch.From.Key())
		in := st.Ours.Get(fk)
		if in == nil || in.NHID == 0 {
			continue
		}
		var target Expected
		if j, ok := pl.plan.expectIndex(fk); ok {
			target = pl.plan.expList[j]
		}
		if target.Route != nil && target.NHID == in.NHID && ch.Kind != KindMove {
			continue
		}
		refs[in.NHID]--
		leave[in.NHID] = append(leave[in.NHID], ch.steps...)
	}
	// The desired routes changed onto an object they are not on now (or
	// moved to another metric on it), counted as the changes were made.
	pl.flushEntering()
	for id, n := range pl.entered {
		refs[id] += n
	}
	// Group memberships after the plan: a replaced group has its new
	// members.
	groupDel := map[uint32]int{}
	for _, id := range slices.Sorted(maps.Keys(pl.nhStep)) {
		s := pl.plan.steps[pl.nhStep[id]]
		if s.Kind != stepNexthopReplace {
			continue
		}
		for _, m := range st.Nexthops[id].Wire.Group {
			refs[m.ID]--
		}
		if n, err := rtnl.ParseNexthop(s.Req.Body); err == nil {
			for _, m := range n.Group {
				refs[m.ID]++
			}
		}
	}
	for _, id := range slices.Sorted(maps.Keys(st.Nexthops)) {
		o := st.Nexthops[id]
		if o.Proto != pl.cfg.Proto || refs[id] > 0 || len(o.Wire.Group) == 0 || pl.used[id] {
			continue
		}
		for _, m := range o.Wire.Group {
			refs[m.ID]--
		}
		groupDel[id] = pl.deleteObject(id, phaseGroupDelete, leave[id])
	}
	for _, id := range slices.Sorted(maps.Keys(st.Nexthops)) {
		o := st.Nexthops[id]
		if o.Proto != pl.cfg.Proto || refs[id] > 0 || len(o.Wire.Group) > 0 || pl.used[id] {
			continue
		}
		deps := slices.Clone(leave[id])
		for gid, si := range groupDel {
			for _, m := range st.Nexthops[gid].Wire.Group {
				if m.ID == id {
					deps = append(deps, si)
				}
			}
		}
		sort.Ints(deps)
		pl.deleteObject(id, phaseSingleDelete, deps)
	}
}

func (pl *planner) deleteObject(id uint32, phase int, deps []int) int {
	what := fmt.Sprintf("nexthop %d: delete %s (no route uses it any more)", id, pl.describe(pl.st.Nexthops[id]))
	pl.plan.NexthopWrites = append(pl.plan.NexthopWrites, what)
	return pl.addStep(Step{Kind: stepNexthopDelete, Phase: phase, Change: -1, Deps: deps, What: what, GoneOK: true,
		Req: rtnl.Request{Type: unix.RTM_DELNEXTHOP, Body: rtnl.NexthopIDBody(id)}})
}

// routeMessage is the RTM_NEWROUTE body of a desired route, with its
// nexthop object (nhid) or its own next hops.
func (pl *planner) routeMessage(r *route.Route, nhid uint32) []byte {
	w := rtnl.Route{Dst: r.Dst, Table: r.Table, Protocol: uint8(pl.cfg.Proto), Type: uint8(r.Type),
		Priority: r.Metric, HasPriority: true, Prefsrc: r.Src, NHID: nhid}
	w.Family = unix.AF_INET
	if r.Family() == 6 {
		w.Family = unix.AF_INET6
	} else {
		w.Scope = r.Scope()
	}
	if nhid == 0 {
		switch {
		case len(r.Nexthops) == 1:
			h := r.Nexthops[0]
			w.Oif, w.Gateway = pl.st.Links[h.Dev], h.Gateway
			if h.Onlink {
				w.Flags |= unix.RTNH_F_ONLINK
			}
		case len(r.Nexthops) > 1:
			for _, h := range r.Nexthops {
				hop := rtnl.Hop{Ifindex: pl.st.Links[h.Dev], Gateway: h.Gateway, Weight: h.Weight}
				if h.Onlink {
					hop.Flags |= unix.RTNH_F_ONLINK
				}
				w.Multipath = append(w.Multipath, hop)
			}
		}
	}
	b, err := rtnl.AppendRoute(nil, &w)
	if err != nil {
		panic(fmt.Sprintf("apply: route %s: %v (validated routes encode)", r, err))
	}
	return b
}

// deleteMessage is the RTM_DELROUTE body that names exactly one route
// of ours: its protocol, type, table, metric and next hops (or nexthop
// object), with scope RT_SCOPE_NOWHERE, which fib_table_delete() takes
// as any scope.
func (pl *planner) deleteMessage(in *state.Installed) []byte {
	w := in.Wire()
	w.Flags &= unix.RTNH_F_ONLINK // the dump's RTNH_F_LINKDOWN, RTM_F_OFFLOAD, ... say nothing of which route
	w.Multipath = slices.Clone(w.Multipath)
	for i := range w.Multipath {
		w.Multipath[i].Flags &= unix.RTNH_F_ONLINK
	}
	w.HasPriority = true
	w.Prefsrc = netip.Addr{}
	if w.Family == unix.AF_INET {
		w.Scope = unix.RT_SCOPE_NOWHERE
	}
	if w.NHID != 0 {
		w.Oif, w.Gateway, w.Multipath = 0, netip.Addr{}, nil
	}
	b, err := rtnl.AppendRoute(nil, &w)
	if err != nil {
		panic(fmt.Sprintf("apply: delete %s: %v (a dumped route encodes)", in.Route, err))
	}
	return b
}

func compareRoutes(a, b *route.Route) int {
	if c := cmp.Compare(a.Table, b.Table); c != 0 {
		return c
	}
	if c := cmp.Compare(a.Family(), b.Family()); c != 0 {
		return c
	}
	if c := a.Dst.Addr().Compare(b.Dst.Addr()); c != 0 {
		return c
	}
	if c := cmp.Compare(a.Dst.Bits(), b.Dst.Bits()); c != 0 {
		return c
	}
	return cmp.Compare(a.Metric, b.Metric)
}

func sortRoutes(rs []route.Route) {
	slices.SortFunc(rs, func(a, b route.Route) int { return compareRoutes(&a, &b) })
}
