package apply

import (
	"cmp"
	"fmt"
	"maps"
	"net/netip"
	"slices"
	"sort"
	"strings"

	"golang.org/x/sys/unix"

	"raceroute/apply/internal/rtnl"
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
	From, To *Route
	Strategy Strategy
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
	steps     []step
	expect    map[Key]expected
	owned     map[uint32]bool
	prune     bool
	before    []Route
}

// Empty reports whether the plan writes nothing.
func (p *Plan) Empty() bool { return len(p.steps) == 0 }

// expected is what the kernel must hold at a key after the plan: the
// route and the nexthop object it uses (0 for none), or nothing.
type expected struct {
	route  *Route
	nhid   uint32
	change int // the change that makes it so, -1 for a route left as it is
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
	nPhases
)

// step is one request of a plan.
type step struct {
	kind   stepKind
	phase  int
	req    rtnl.Request
	change int    // the change it belongs to, -1 for a nexthop object's
	deps   []int  // steps that must have succeeded before it is sent
	what   string // a nexthop object's step; a route's is told by stepText
	// goneOK: a delete that finds nothing (ESRCH, ENOENT) has done its
	// job (the replace before it already removed the old route).
	goneOK bool
}

// Problem is one thing wrong with a desired route.
type Problem struct {
	// Index is the route's index in the desired list.
	Index int
	Route Route
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

// config is what a plan is computed with.
type config struct {
	proto    kernel.Proto
	owned    map[uint32]bool
	prune    bool
	nexthops NexthopMode
	profile  profile.Profile
	idBase   uint32
	netns    string
}

// planner holds the work of one compute.
type planner struct {
	st   *state
	cfg  config
	plan *Plan
	// assigned maps a nexthop spec to the object that will hold it.
	assigned map[nhSpec]uint32
	// nhStep is the create or replace step of an object, when written.
	nhStep map[uint32]int
	// repurposed are the objects replaced with another spec.
	repurposed map[uint32]nhSpec
	nextID     uint32
	used       map[uint32]bool
	// chosen caches choose(): its answer depends on the family and class.
	chosen map[[2]int]choice
	nhText map[uint32]string
}

func (pl *planner) choose(fam int, c class) choice {
	k := [2]int{fam, int(c)}
	ch, ok := pl.chosen[k]
	if !ok {
		ch = choose(pl.cfg.profile, fam, c)
		pl.chosen[k] = ch
	}
	return ch
}

// compute plans the changes from st to the desired routes.
func compute(st *state, desired []Route, cfg config) (*Plan, error) {
	pl := &planner{st: st, cfg: cfg, assigned: map[nhSpec]uint32{}, nhStep: map[uint32]int{},
		repurposed: map[uint32]nhSpec{}, used: map[uint32]bool{}, nextID: cfg.idBase,
		chosen: map[[2]int]choice{}, nhText: map[uint32]string{}}
	pl.plan = &Plan{Netns: cfg.netns, Profile: cfg.profile.ID(), ProfileName: cfg.profile.Name, expect: map[Key]expected{}, owned: cfg.owned, prune: cfg.prune}
	want, err := pl.validate(desired)
	if err != nil {
		return nil, err
	}
	pl.plan.Changes = make([]Change, 0, len(want))
	pl.plan.steps = make([]step, 0, len(want)+16)
	for _, in := range st.ours {
		pl.plan.before = append(pl.plan.before, in.Route)
	}
	sortRoutes(pl.plan.before)
	if err := pl.decideNexthops(); err != nil {
		return nil, err
	}
	// Pair the desired routes with ours: by key, then, for a key none of
	// ours holds, a route of ours at the same destination whose metric is
	// not desired (a metric change).
	byDst := map[Key][]*installed{} // Key with Metric 0: (table, dst)
	for _, in := range st.ours {
		k := in.Key()
		k.Metric = 0
		byDst[k] = append(byDst[k], in)
	}
	wanted := map[Key]bool{}
	for i := range want {
		wanted[want[i].Key()] = true
	}
	for _, l := range byDst {
		slices.SortFunc(l, func(a, b *installed) int { return cmp.Compare(a.Metric, b.Metric) })
	}
	from := make([]*installed, len(want))
	taken := map[Key]bool{}
	for i := range want {
		if in := st.ours[want[i].Key()]; in != nil {
			from[i] = in
			taken[in.Key()] = true
		}
	}
	for i := range want {
		if from[i] != nil {
			continue
		}
		k := want[i].Key()
		k.Metric = 0
		for _, in := range byDst[k] {
			if !wanted[in.Key()] && !taken[in.Key()] {
				from[i] = in
				taken[in.Key()] = true
				break
			}
		}
	}
	var gone []*installed
	if cfg.prune {
		for _, in := range st.ours {
			if !taken[in.Key()] {
				gone = append(gone, in)
			}
		}
		slices.SortFunc(gone, func(a, b *installed) int { return compareRoutes(&a.Route, &b.Route) })
	}
	if pl.plan.Nexthops {
		pl.assignNexthops(want, from, gone)
	}
	for i := range want {
		pl.change(&want[i], from[i])
	}
	for _, in := range gone {
		pl.remove(in)
	}
	pl.deleteUnused(want, from, gone)
	return pl.plan, nil
}

// validate normalises the desired routes and lists every problem.
func (pl *planner) validate(desired []Route) ([]Route, error) {
	want := make([]Route, len(desired))
	var probs []Problem
	byKey := map[Key]int{}
	owned := slices.Sorted(maps.Keys(pl.cfg.owned))
	ownedText := make([]string, len(owned))
	for i, t := range owned {
		ownedText[i] = tableName(t)
	}
	for i, r := range desired {
		n := r.normalise()
		bad := func(format string, args ...any) {
			probs = append(probs, Problem{Index: i, Route: r, Msg: fmt.Sprintf(format, args...)})
		}
		if msg := n.check(); msg != "" {
			bad("%s", msg)
			continue
		}
		if !pl.cfg.owned[n.Table] {
			bad("table %s is not one this writer owns (its tables: %s)", tableName(n.Table), strings.Join(ownedText, ", "))
			continue
		}
		devOK := true
		for _, h := range n.Nexthops {
			if h.Dev != "" && pl.st.links[h.Dev] == 0 {
				bad("dev %s: no such device%s", h.Dev, inNetns(pl.cfg.netns))
				devOK = false
				break
			}
		}
		if !devOK {
			continue
		}
		k := n.Key()
		if j, dup := byKey[k]; dup {
			bad("the same key (table %s, %s, metric %d) as route %d: one route per table, destination and metric", tableName(k.Table), k.Dst, k.Metric, j+1)
			continue
		}
		byKey[k] = i
		if f, ok := pl.st.foreign[k]; ok {
			bad("its key (table %s, %s, metric %d) is held by `%s`: the writer owns only routes of proto %s and never writes over another's", tableName(k.Table), k.Dst, k.Metric, f, pl.cfg.proto)
			continue
		}
		want[i] = n
	}
	if len(probs) > 0 {
		return nil, &ValidationError{Problems: probs}
	}
	return want, nil
}

func inNetns(ns string) string {
	if ns == "" {
		return ""
	}
	return " in netns " + ns
}

// decideNexthops says whether routes use nexthop objects.
func (pl *planner) decideNexthops() error {
	p := pl.plan
	switch {
	case pl.cfg.nexthops == NexthopsOff:
		p.NexthopsWhy = "off (asked for): every route is written with its own next hops"
	case pl.st.nexthops == nil && pl.cfg.nexthops == NexthopsOn:
		return fmt.Errorf("nexthop objects asked for, but the kernel has none (%v; they came in 5.3)", pl.st.nexthopErr)
	case pl.st.nexthops == nil:
		p.NexthopsWhy = fmt.Sprintf("the kernel has none (RTM_GETNEXTHOP: %v; they came in 5.3): every route is written with its own next hops", pl.st.nexthopErr)
	default:
		p.Nexthops = true
		p.NexthopsWhy = "the kernel has them (5.3 and later): routes with the same next hops share one nexthop object, so moving them all is one nexthop replace"
	}
	return nil
}

// eligible reports whether a desired route can use a nexthop object:
// a unicast route whose next hops all name their device (a nexthop
// object needs one: "Device attribute required") and whose gateways are
// of its own family.
func (pl *planner) eligible(r *Route) bool {
	if !pl.plan.Nexthops || r.Type != kernel.RouteUnicast {
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
func (pl *planner) assignNexthops(want []Route, from []*installed, gone []*installed) {
	st := pl.st
	specOf := map[Key]nhSpec{}
	var specs []nhSpec
	seen := map[nhSpec]bool{}
	for i := range want {
		if !pl.eligible(&want[i]) {
			continue
		}
		s := specFor(want[i].Family(), want[i].Nexthops)
		specOf[want[i].Key()] = s
		if !seen[s] {
			seen[s] = true
			specs = append(specs, s)
		}
	}
	slices.Sort(specs)
	// The routes of ours that use each object, and what they will want.
	goneKey := map[Key]bool{}
	for _, in := range gone {
		goneKey[in.Key()] = true
	}
	users := map[uint32][]*installed{}
	for _, in := range st.ours {
		if in.nhid != 0 {
			users[in.nhid] = append(users[in.nhid], in)
		}
	}
	pure := map[uint32]nhSpec{}
	for id, o := range st.nexthops {
		if o.proto != pl.cfg.proto || o.spec == "" || len(users[id]) == 0 || len(users[id]) != st.nhRefs[id] {
			continue // not ours, not describable, unused, or used by another's route or a group
		}
		var s nhSpec
		ok := true
		for _, u := range users[id] {
			us, desired := specOf[u.Key()]
			if goneKey[u.Key()] {
				continue // deleted anyway
			}
			if !desired || (s != "" && us != s) {
				ok = false
				break
			}
			s = us
		}
		if ok && s != "" && isGroup(s) == isGroup(o.spec) {
			pure[id] = s
		}
	}
	ids := slices.Sorted(maps.Keys(st.nexthops))
	for _, s := range specs {
		var best uint32
		for _, id := range ids {
			if pure[id] != s || pl.used[id] {
				continue
			}
			if best == 0 || len(users[id]) > len(users[best]) {
				best = id
			}
		}
		if best == 0 {
			for _, id := range ids {
				o := st.nexthops[id]
				if o.proto == pl.cfg.proto && o.spec == s && !pl.used[id] && (pure[id] == "" || pure[id] == s) {
					best = id
					break
				}
			}
		}
		if best != 0 {
			pl.used[best] = true
			pl.assigned[s] = best
			if st.nexthops[best].spec != s {
				pl.repurposed[best] = s
			}
		}
	}
	// Singles before groups: a group's members must exist first.
	for _, s := range specs {
		if !isGroup(s) {
			pl.hold(s, nil, 0)
		}
	}
	for i := range want {
		s, ok := specOf[want[i].Key()]
		if ok && isGroup(s) {
			pl.hold(s, want[i].Nexthops, want[i].Family())
		}
	}
}

func isGroup(s nhSpec) bool { return strings.HasPrefix(string(s), "group{") }

// hold makes sure spec s has an object: creating it, replacing the one
// assigned with s, or nothing when the assigned one holds s already.
// hops and fam give a group's members.
func (pl *planner) hold(s nhSpec, hops []Nexthop, fam int) uint32 {
	id, ok := pl.assigned[s]
	if ok {
		if _, done := pl.nhStep[id]; done || (pl.repurposed[id] == "" && pl.st.nexthops[id] != nil) {
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
	if isGroup(s) {
		for _, h := range hops {
			ms := singleSpec(fam, Nexthop{Gateway: h.Gateway, Dev: h.Dev, Onlink: h.Onlink})
			mid := pl.member(ms, fam)
			n.Group = append(n.Group, rtnl.GroupMember{ID: mid, Weight: h.Weight})
			if si, ok := pl.nhStep[mid]; ok {
				deps = append(deps, si)
			}
		}
		text = groupText(hops, n.Group)
	} else {
		h, hfam := specHop(s)
		n = pl.single(h, hfam)
		text = h.String()
	}
	n.ID = id
	n.Protocol = uint8(pl.cfg.proto)
	kind, phase, flags := stepNexthopCreate, phaseSingleCreate, uint16(unix.NLM_F_CREATE|unix.NLM_F_EXCL)
	what := fmt.Sprintf("nexthop %d: create %s", id, text)
	if replace {
		kind, flags = stepNexthopReplace, unix.NLM_F_REPLACE
		phase = phaseSingleReplace
		what = fmt.Sprintf("nexthop %d: replace %s with %s", id, pl.describe(pl.st.nexthops[id]), text)
	}
	if isGroup(s) {
		phase += phaseGroupCreate
	}
	body, err := rtnl.AppendNexthop(nil, &n)
	if err != nil {
		panic(fmt.Sprintf("apply: nexthop %d: %v (validated routes give valid objects)", id, err))
	}
	pl.nhStep[id] = pl.addStep(step{kind: kind, phase: phase, change: -1, deps: deps, what: what,
		req: rtnl.Request{Type: unix.RTM_NEWNEXTHOP, Flags: flags, Body: body}})
	pl.plan.NexthopWrites = append(pl.plan.NexthopWrites, what)
	return id
}

// member returns the object of a group member's spec: the one assigned
// to it, one of ours that holds it, or a new one.
func (pl *planner) member(ms nhSpec, fam int) uint32 {
	if _, ok := pl.assigned[ms]; !ok {
		for _, id := range slices.Sorted(maps.Keys(pl.st.nexthops)) {
			o := pl.st.nexthops[id]
			if o.proto == pl.cfg.proto && o.spec == ms && pl.repurposed[id] == "" {
				pl.assigned[ms] = id
				pl.used[id] = true
				break
			}
		}
	}
	return pl.hold(ms, nil, fam)
}

// single is the object message of one next hop of family fam.
func (pl *planner) single(h Nexthop, fam int) rtnl.Nexthop {
	n := rtnl.Nexthop{Oif: pl.st.links[h.Dev], Gateway: h.Gateway}
	n.Family = unix.AF_INET
	if fam == 6 {
		n.Family = unix.AF_INET6
	}
	if h.Onlink {
		n.Flags |= unix.RTNH_F_ONLINK
	}
	return n
}

// specHop reads a single spec back into its next hop and family.
func specHop(s nhSpec) (Nexthop, int) {
	parts := strings.SplitN(string(s), "|", 4)
	h := Nexthop{Dev: parts[1], Onlink: parts[3] == "true", Weight: 1}
	if a, err := netip.ParseAddr(parts[2]); err == nil {
		h.Gateway = a
	}
	fam := 4
	if parts[0] == "6" {
		fam = 6
	}
	return h, fam
}

func (pl *planner) describe(o *nhObject) string {
	if o == nil {
		return "?"
	}
	hops := pl.st.hopsOf(o)
	if len(o.wire.Group) > 0 {
		return groupText(hops, o.wire.Group)
	}
	if len(hops) == 1 {
		return hops[0].String()
	}
	return "?"
}

func groupText(hops []Nexthop, members []rtnl.GroupMember) string {
	parts := make([]string, len(hops))
	for i, h := range hops {
		parts[i] = fmt.Sprintf("%s weight %d", strings.TrimSpace(h.text(false, !h.Gateway.Is6())), h.Weight)
		if i < len(members) {
			parts[i] = fmt.Sprintf("[%d: %s]", members[i].ID, parts[i])
		}
	}
	return "group " + strings.Join(parts, " ")
}

func (pl *planner) newID() uint32 {
	for pl.used[pl.nextID] || pl.st.nexthops[pl.nextID] != nil || pl.nextID == 0 {
		pl.nextID++
	}
	id := pl.nextID
	pl.used[id] = true
	pl.nextID++
	return id
}

// stepText describes step i: a route write by its change's route.
func (p *Plan) stepText(i int) string {
	s := &p.steps[i]
	if s.change < 0 {
		return s.what
	}
	c := &p.Changes[s.change]
	switch s.kind {
	case stepRouteAdd:
		return "add " + c.To.String()
	case stepRouteReplace:
		return "replace " + c.To.String()
	case stepRouteDelete:
		return "delete " + c.From.String()
	}
	return s.what
}

func (pl *planner) addStep(s step) int {
	pl.plan.steps = append(pl.plan.steps, s)
	return len(pl.plan.steps) - 1
}

// change plans desired route to from the route of ours it replaces (nil
// for none).
func (pl *planner) change(to *Route, from *installed) {
	var nhid uint32
	var nhDeps []int
	nhText := ""
	if pl.eligible(to) {
		s := specFor(to.Family(), to.Nexthops)
		nhid = pl.assigned[s]
		si, written := pl.nhStep[nhid]
		if written {
			nhDeps = []int{si}
		}
		nhText = pl.nhText[nhid]
		if nhText == "" {
			nhText = fmt.Sprintf("nexthop object %d", nhid)
			if written {
				nhText += map[stepKind]string{stepNexthopCreate: " (new)", stepNexthopReplace: " (replaced)"}[pl.plan.steps[si].kind]
			}
			pl.nhText[nhid] = nhText
		}
	}
	idx := len(pl.plan.Changes)
	pl.plan.expect[to.Key()] = expected{route: to, nhid: nhid, change: idx}
	if from != nil && from.nhid == nhid && to.heldBy(&from.Route) {
		pl.plan.Unchanged++
		pl.plan.expect[to.Key()] = expected{route: to, nhid: nhid, change: -1}
		return
	}
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
	if from != nil {
		f := from.Route
		ch.From = &f
	}
	if from != nil && nhid != 0 && from.nhid == nhid && pl.repurposed[nhid] != "" && sameButNexthops(&from.Route, to) {
		// The object's replace moves the route: nothing to write.
		c := pl.choose(fam, classNexthopMove)
		ch.Strategy, ch.Why, ch.Evidence = c.strategy, c.why, c.evidence
		ch.steps = nhDeps
		pl.plan.Changes = append(pl.plan.Changes, ch)
		return
	}
	var fromRoute *Route
	if from != nil {
		fromRoute = &from.Route
	}
	c := pl.choose(fam, classify(fromRoute, to, from != nil && from.nhid != 0, nhid != 0))
	ch.Strategy, ch.Heal, ch.Why, ch.Evidence = c.strategy, c.heal, c.why, c.evidence
	w := pl.routeMessage(to, nhid)
	switch c.strategy {
	case Add:
		ch.steps = append(ch.steps, pl.addStep(step{kind: stepRouteAdd, phase: phaseRouteWrite, change: idx, deps: nhDeps,
			req: rtnl.Request{Type: unix.RTM_NEWROUTE, Flags: unix.NLM_F_CREATE | unix.NLM_F_EXCL, Body: w}}))
	case Replace, ReplaceDeleteOld, AddDelete:
		flags := uint16(unix.NLM_F_CREATE | unix.NLM_F_REPLACE)
		kind := stepRouteReplace
		if c.strategy == AddDelete {
			flags, kind = unix.NLM_F_CREATE|unix.NLM_F_EXCL, stepRouteAdd
		}
		first := pl.addStep(step{kind: kind, phase: phaseRouteWrite, change: idx, deps: nhDeps,
			req: rtnl.Request{Type: unix.RTM_NEWROUTE, Flags: flags, Body: w}})
		ch.steps = append(ch.steps, first)
		if c.strategy != Replace {
			ch.steps = append(ch.steps, pl.addStep(step{kind: stepRouteDelete, phase: phaseRouteDelete, change: idx, deps: []int{first},
				goneOK: true,
				req:    rtnl.Request{Type: unix.RTM_DELROUTE, Body: pl.deleteMessage(from)}}))
		}
		if c.strategy == AddDelete {
			pl.plan.expect[from.Key()] = expected{change: idx}
		}
	}
	pl.plan.Changes = append(pl.plan.Changes, ch)
}

// sameButNexthops reports whether two routes differ at most in their
// next hops.
func sameButNexthops(a, b *Route) bool {
	x, y := *a, *b
	x.Nexthops, y.Nexthops = nil, nil
	return x.heldBy(&y)
}

// remove plans the delete of a route of ours no longer desired.
func (pl *planner) remove(in *installed) {
	idx := len(pl.plan.Changes)
	c := pl.choose(in.Family(), classDelete)
	f := in.Route
	ch := Change{Kind: KindDelete, From: &f, Strategy: c.strategy, Heal: c.heal, Why: c.why, Evidence: c.evidence}
	ch.steps = []int{pl.addStep(step{kind: stepRouteDelete, phase: phaseRouteDelete, change: idx, goneOK: true,
		req: rtnl.Request{Type: unix.RTM_DELROUTE, Body: pl.deleteMessage(in)}})}
	pl.plan.expect[in.Key()] = expected{change: idx}
	pl.plan.Changes = append(pl.plan.Changes, ch)
}

// deleteUnused deletes the objects of ours no route or group will use.
func (pl *planner) deleteUnused(want []Route, from []*installed, gone []*installed) {
	st := pl.st
	if st.nexthops == nil {
		return
	}
	refs := maps.Clone(st.nhRefs)
	// Routes that leave an object: moved to another, rewritten inline, or
	// deleted. Their steps must be done before the object goes.
	leave := map[uint32][]int{}
	for i := range pl.plan.Changes {
		ch := &pl.plan.Changes[i]
		if ch.From == nil || ch.Strategy == NexthopReplace {
			continue
		}
		in := st.ours[ch.From.Key()]
		if in == nil || in.nhid == 0 {
			continue
		}
		target := pl.plan.expect[ch.From.Key()]
		if target.route != nil && target.nhid == in.nhid && ch.Kind != KindMove {
			continue
		}
		refs[in.nhid]--
		leave[in.nhid] = append(leave[in.nhid], ch.steps...)
	}
	for _, e := range pl.plan.expect {
		if e.route != nil && e.nhid != 0 && e.change >= 0 {
			if in := st.ours[e.route.Key()]; in == nil || in.nhid != e.nhid || pl.plan.Changes[e.change].Kind == KindMove {
				refs[e.nhid]++
			}
		}
	}
	// Group memberships after the plan: a replaced group has its new
	// members.
	groupDel := map[uint32]int{}
	for _, id := range slices.Sorted(maps.Keys(pl.nhStep)) {
		s := pl.plan.steps[pl.nhStep[id]]
		if s.kind != stepNexthopReplace {
			continue
		}
		for _, m := range st.nexthops[id].wire.Group {
			refs[m.ID]--
		}
		if n, err := rtnl.ParseNexthop(s.req.Body); err == nil {
			for _, m := range n.Group {
				refs[m.ID]++
			}
		}
	}
	for _, id := range slices.Sorted(maps.Keys(st.nexthops)) {
		o := st.nexthops[id]
		if o.proto != pl.cfg.proto || refs[id] > 0 || len(o.wire.Group) == 0 || pl.used[id] {
			continue
		}
		for _, m := range o.wire.Group {
			refs[m.ID]--
		}
		groupDel[id] = pl.deleteObject(id, phaseGroupDelete, leave[id])
	}
	for _, id := range slices.Sorted(maps.Keys(st.nexthops)) {
		o := st.nexthops[id]
		if o.proto != pl.cfg.proto || refs[id] > 0 || len(o.wire.Group) > 0 || pl.used[id] {
			continue
		}
		deps := slices.Clone(leave[id])
		for gid, si := range groupDel {
			for _, m := range st.nexthops[gid].wire.Group {
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
	what := fmt.Sprintf("nexthop %d: delete %s (no route uses it any more)", id, pl.describe(pl.st.nexthops[id]))
	pl.plan.NexthopWrites = append(pl.plan.NexthopWrites, what)
	return pl.addStep(step{kind: stepNexthopDelete, phase: phase, change: -1, deps: deps, what: what, goneOK: true,
		req: rtnl.Request{Type: unix.RTM_DELNEXTHOP, Body: rtnl.NexthopIDBody(id)}})
}

// routeMessage is the RTM_NEWROUTE body of a desired route, with its
// nexthop object (nhid) or its own next hops.
func (pl *planner) routeMessage(r *Route, nhid uint32) []byte {
	w := rtnl.Route{Dst: r.Dst, Table: r.Table, Protocol: uint8(pl.cfg.proto), Type: uint8(r.Type),
		Priority: r.Metric, HasPriority: true, Prefsrc: r.Src, NHID: nhid}
	w.Family = unix.AF_INET
	if r.Family() == 6 {
		w.Family = unix.AF_INET6
	} else {
		w.Scope = r.scope()
	}
	if nhid == 0 {
		switch {
		case len(r.Nexthops) == 1:
			h := r.Nexthops[0]
			w.Oif, w.Gateway = pl.st.links[h.Dev], h.Gateway
			if h.Onlink {
				w.Flags |= unix.RTNH_F_ONLINK
			}
		case len(r.Nexthops) > 1:
			for _, h := range r.Nexthops {
				hop := rtnl.Hop{Ifindex: pl.st.links[h.Dev], Gateway: h.Gateway, Weight: h.Weight}
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
func (pl *planner) deleteMessage(in *installed) []byte {
	w := in.wire
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

func compareRoutes(a, b *Route) int {
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

func sortRoutes(rs []Route) {
	slices.SortFunc(rs, func(a, b Route) int { return compareRoutes(&a, &b) })
}
