package fib6file

import (
	"net/netip"
	"slices"
	"sort"
	"strconv"
	"strings"

	"raceroute/explore"
	"raceroute/model/fib6"
	"raceroute/model/fib6/nexthop"
	"raceroute/profile"
	"raceroute/scenario/format"
)

// Model is the fib6 model's part of the format.
func Model() format.Model {
	var verbs []string
	for _, o := range opKinds {
		verbs = append(verbs, o.verb)
	}
	return format.Model{
		Name:     "fib6",
		NewDoc:   func() format.Doc { return new(Doc) },
		Compile:  compile,
		Switches: fib6.Switches(),
		// nexthop-objects and the exception switches only for the files
		// that use them
		SwitchesOf: switchesOf,
		Words:      map[string][]string{"modify strategy": modifyStrategies, "fib6 property": propKinds, "op": verbs},
	}
}

// switchesOf is the model's switches that sc can make it read: all but
// nexthop-objects, which only a scenario with nexthop objects reads
// (any line or variable that names nexthop or nhid counts, expanded or
// not).
func switchesOf(sc *format.Scenario) []string {
	out := fib6.Switches()
	if !usesNexthops(sc) {
		out = slices.DeleteFunc(out, func(s string) bool { return s == "nexthop-objects" })
	}
	if usesExceptions(sc.Doc().(*Doc)) {
		out = append(out, fib6.ExceptionSwitches()...)
	}
	return out
}

func usesNexthops(sc *format.Scenario) bool {
	doc := sc.Doc().(*Doc)
	mentions := func(s string) bool { return strings.Contains(s, "nexthop") || strings.Contains(s, "nhid") }
	if len(doc.Host.Nexthops) > 0 {
		return true
	}
	var lines []format.Line
	lines = append(lines, doc.Host.Routes...)
	for _, a := range doc.Actors {
		lines = append(lines, a.Ops...)
		if a.Modify != nil {
			lines = append(lines, a.Modify.From, a.Modify.To)
		}
	}
	for _, l := range lines {
		if mentions(l.Text) {
			return true
		}
	}
	for _, p := range sc.Vars.List {
		if mentions(p.Value.Text) {
			return true
		}
	}
	for _, v := range sc.Variants {
		for _, val := range v.Vars {
			if mentions(val) {
				return true
			}
		}
	}
	return false
}

// modifyStrategies are how an agent changes a route.
var modifyStrategies = []string{"delete-add", "replace", "add-delete", "replace-delete-old"}

// compiler compiles one variant of a fib6 scenario.
type compiler struct {
	sc      *format.Scenario
	v       format.Variant
	devices map[string]bool
	order   []string // the devices, in the file's order
}

func (c *compiler) text(l format.Line) (string, error) {
	s, err := c.sc.Expand(l, c.v)
	return strings.TrimSpace(s), err
}

func (c *compiler) route(l format.Line) (fib6.Route, error) {
	text, err := c.text(l)
	if err != nil {
		return fib6.Route{}, err
	}
	r, err := fib6.ParseRoute(text)
	if err != nil {
		return r, c.sc.ErrorAt(l, "%v", err)
	}
	if r.Dev != "" && !c.devices[r.Dev] {
		return r, c.sc.ErrorAt(l, "route %q: unknown device %q (host devices: %s)", text, r.Dev, strings.Join(sortedKeys(c.devices), ", "))
	}
	return r, nil
}

func (c *compiler) ip6(l format.Line, what string) (netip.Addr, error) {
	text, err := c.text(l)
	if err != nil {
		return netip.Addr{}, err
	}
	a, err := netip.ParseAddr(text)
	if err != nil || !a.Is6() || a.Is4In6() {
		return a, c.sc.ErrorAt(l, "%s %q is not an IPv6 address", what, text)
	}
	return a, nil
}

// positions are the file positions of a fib6.Config's items, to place the
// model's own errors.
type positions struct {
	host                      format.Pos
	routes, actors, warm, nhs []format.Pos
}

// Compiled is a fib6 scenario variant compiled on one profile: the
// model, the Config it was built from, and the properties both as the
// explorer checks them and as data (Props, in the same order), which the
// live lab evaluates on the running kernel.
type Compiled struct {
	Model  *fib6.Model
	Config fib6.Config
	// Devices are the host's interfaces, in the file's order.
	Devices []string
	Props   []PropSpec
	props   []explore.Property[fib6.State]
}

// PropSpec is one compiled property of a fib6 scenario.
type PropSpec struct {
	// Kind is clones-agree, routes-at, clones-kept, no-gap or
	// no-blackhole.
	Kind string
	// Name is the property's name as reports show it.
	Name string
	// Prefix is routes-at's and clones-kept's prefix; Table and Metric
	// are where routes-at looks, Want the routes it wants there, in list
	// order.
	Prefix netip.Prefix
	Table  uint32
	Metric uint32
	Want   []fib6.Route
	// Dst is no-blackhole's destination.
	Dst netip.Addr
}

func compile(sc *format.Scenario, v format.Variant, p profile.Profile) (explore.Checker, error) {
	c, err := Build(sc, v, p)
	if err != nil {
		return nil, err
	}
	return explore.NewChecker[fib6.State](c.Model, c.props), nil
}

// Build compiles variant v of sc on profile p.
func Build(sc *format.Scenario, v format.Variant, p profile.Profile) (*Compiled, error) {
	doc := sc.Doc().(*Doc)
	if sc.Check.Horizon.D != 0 {
		return nil, sc.Errorf(sc.Check.Horizon.At, "check: horizon: the fib6 model is untimed (its steps have no times), so a horizon changes nothing; remove it")
	}
	c := &compiler{sc: sc, v: v, devices: map[string]bool{}}
	if _, err := c.text(doc.Host.Name); err != nil {
		return nil, err
	}
	for _, l := range doc.Host.Devices {
		d, err := c.text(l)
		if err != nil {
			return nil, err
		}
		if d == "" || strings.ContainsAny(d, " \t") {
			return nil, sc.ErrorAt(l, "devices: want an interface name, got %q", d)
		}
		if c.devices[d] {
			return nil, sc.ErrorAt(l, "device %s given twice", d)
		}
		c.devices[d] = true
		c.order = append(c.order, d)
	}
	if len(c.devices) == 0 {
		return nil, sc.Errorf(doc.Host.At, "host: want `devices:` listing the host's interfaces (lo is needed for reject routes)")
	}
	cfg := fib6.Config{Profile: p}
	at := positions{host: doc.Host.At}
	for _, l := range doc.Host.Nexthops {
		n, err := c.nexthop(l, "")
		if err != nil {
			return nil, err
		}
		cfg.Nexthops = append(cfg.Nexthops, n)
		at.nhs = append(at.nhs, l.Pos())
	}
	for _, l := range doc.Host.Routes {
		r, err := c.route(l)
		if err != nil {
			return nil, err
		}
		cfg.Routes = append(cfg.Routes, r)
		at.routes = append(at.routes, l.Pos())
	}
	for _, l := range doc.Host.Warm {
		text, err := c.text(l)
		if err != nil {
			return nil, err
		}
		if text == "" {
			continue // a variable that expands to nothing: no warm-up
		}
		a, err := c.ip6(l, "warm:")
		if err != nil {
			return nil, err
		}
		cfg.Warm = append(cfg.Warm, a)
		at.warm = append(at.warm, l.Pos())
	}
	if err := c.hostICMP(doc.Host.ICMP, &cfg); err != nil {
		return nil, err
	}
	if len(doc.Actors) == 0 {
		return nil, sc.Errorf(sc.At("actors"), "scenario %s: want at least one actor under `actors:`", sc.Name)
	}
	names := map[string]bool{}
	for _, a := range doc.Actors {
		act, err := c.actor(a, names)
		if err != nil {
			return nil, err
		}
		cfg.Actors = append(cfg.Actors, act)
		at.actors = append(at.actors, a.At)
	}
	m, err := c.newModel(cfg, at)
	if err != nil {
		return nil, err
	}
	if len(doc.Properties) == 0 {
		return nil, sc.Errorf(sc.At("properties"), "scenario %s: want at least one property under `properties:` (%s)", sc.Name, strings.Join(propKinds, ", "))
	}
	out := &Compiled{Model: m, Config: cfg, Devices: c.order}
	for _, pr := range doc.Properties {
		spec, prop, err := c.property(m, pr)
		if err != nil {
			return nil, err
		}
		out.Props = append(out.Props, spec)
		out.props = append(out.props, prop)
	}
	return out, nil
}

func (c *compiler) actor(a Actor, names map[string]bool) (fib6.Actor, error) {
	sc := c.sc
	name, err := c.text(a.Name)
	if err != nil {
		return fib6.Actor{}, err
	}
	switch {
	case name == "":
		return fib6.Actor{}, sc.Errorf(a.At, "actor without `name:`")
	case names[name]:
		return fib6.Actor{}, sc.ErrorAt(a.Name, "actor %q given twice", name)
	}
	names[name] = true
	act := fib6.Actor{Name: name}
	kinds := 0
	if len(a.Ops) > 0 {
		kinds++
		for _, l := range a.Ops {
			if text, err := c.text(l); err == nil && text == "" {
				continue // a variable that expands to nothing: no op
			}
			op, err := c.op(l)
			if err != nil {
				return act, err
			}
			act.Ops = append(act.Ops, op)
		}
	}
	if a.Modify != nil {
		kinds++
		ops, err := c.modify(a.Modify)
		if err != nil {
			return act, err
		}
		act.Ops = append(act.Ops, ops...)
	}
	if a.Flow != nil {
		kinds++
		if act.Dst, err = c.ip6(a.Flow.Dst, "flow dst"); err != nil {
			return act, err
		}
		s, err := c.text(a.Flow.Packets)
		if err != nil {
			return act, err
		}
		act.Packets = 1
		if s != "" {
			n, err := strconv.Atoi(s)
			if err != nil || n < 1 || n > 255 {
				return act, sc.ErrorAt(a.Flow.Packets, "packets: want a whole number from 1 to 255, got %q", s)
			}
			act.Packets = n
		}
	}
	n, err := c.excActor(a, &act)
	if err != nil {
		return act, err
	}
	if kinds += n; kinds != 1 {
		return act, sc.Errorf(a.At, "actor %q: want exactly one of `ops:`, `modify:`, `flow:`, %s", name, excActorKinds)
	}
	return act, nil
}

// newModel builds the model; an error of the model (a capacity exceeded,
// an initial route refused) is placed at the first route, actor or warm
// destination whose addition makes it fail.
func (c *compiler) newModel(cfg fib6.Config, at positions) (*fib6.Model, error) {
	m, err := fib6.New(cfg)
	if err == nil {
		return m, nil
	}
	fails := func(nr, na, nw int) bool {
		t := cfg
		t.Routes, t.Actors, t.Warm = cfg.Routes[:nr], cfg.Actors[:na], cfg.Warm[:nw]
		_, err := fib6.New(t)
		return err != nil
	}
	nr, na, nw := len(cfg.Routes), len(cfg.Actors), len(cfg.Warm)
	where := at.host
	switch {
	case len(cfg.Nexthops) > 0 && firstFailing(len(cfg.Nexthops), func(i int) bool {
		t := cfg
		t.Nexthops, t.Routes, t.Actors, t.Warm = cfg.Nexthops[:i], nil, nil, nil
		_, err := fib6.New(t)
		return err != nil
	}, at.nhs, &where):
	case firstFailing(nr, func(i int) bool { return fails(i, 0, 0) }, at.routes, &where):
	case firstFailing(na, func(i int) bool { return fails(nr, i, 0) }, at.actors, &where):
	case firstFailing(nw, func(i int) bool { return fails(nr, na, i) }, at.warm, &where):
	}
	return nil, c.sc.Errorf(where, "%v", err)
}

// firstFailing sets *where to the position of the first of n items whose
// addition makes fails true.
func firstFailing(n int, fails func(int) bool, pos []format.Pos, where *format.Pos) bool {
	for i := 1; i <= n; i++ {
		if fails(i) {
			*where = pos[i-1]
			return true
		}
	}
	return false
}

func (c *compiler) property(m *fib6.Model, pr Prop) (PropSpec, explore.Property[fib6.State], error) {
	sc := c.sc
	var none explore.Property[fib6.State]
	if spec, prop, ok, err := c.excProperty(m, pr); ok {
		return spec, prop, err
	}
	prefix := func(l *format.Line, what string) (netip.Prefix, error) {
		text, err := c.text(*l)
		if err != nil {
			return netip.Prefix{}, err
		}
		pfx, err := netip.ParsePrefix(text)
		if err != nil || !pfx.Addr().Is6() || pfx.Masked() != pfx {
			return pfx, sc.ErrorAt(*l, "%s: %q is not an IPv6 prefix such as 2001:db8::/48", what, text)
		}
		return pfx, nil
	}
	switch pr.Kind {
	case "clones-kept":
		pfx, err := prefix(pr.Map.ClonesKept, "clones-kept")
		if err != nil {
			return PropSpec{}, none, err
		}
		prop := m.ClonesKept(pfx)
		return PropSpec{Kind: pr.Kind, Name: prop.Name, Prefix: pfx}, prop, nil
	case "no-gap":
		pfx, err := prefix(pr.Map.NoGap, "no-gap")
		if err != nil {
			return PropSpec{}, none, err
		}
		prop, err := m.NoGap(fib6.MainTable, pfx)
		if err != nil {
			return PropSpec{}, none, sc.Errorf(pr.At, "no-gap: %v", err)
		}
		return PropSpec{Kind: pr.Kind, Name: prop.Name, Prefix: pfx}, prop, nil
	case "routes-at":
		pfx, err := prefix(pr.Map.RoutesAt, "routes-at")
		if err != nil {
			return PropSpec{}, none, err
		}
		metric := uint32(fib6.DefaultMetric)
		if pr.Map.Metric != nil {
			s, err := c.text(*pr.Map.Metric)
			if err != nil {
				return PropSpec{}, none, err
			}
			n, err := strconv.ParseUint(s, 10, 32)
			if err != nil {
				return PropSpec{}, none, sc.ErrorAt(*pr.Map.Metric, "metric: want a whole number from 0 to 4294967295, got %q", s)
			}
			metric = uint32(n)
		}
		if pr.Map.Want == nil {
			return PropSpec{}, none, sc.Errorf(pr.At, "routes-at: want `want:` with the routes that must remain (an empty list for none)")
		}
		var want []fib6.Route
		for _, l := range *pr.Map.Want {
			r, err := c.route(l)
			if err != nil {
				return PropSpec{}, none, err
			}
			want = append(want, r)
		}
		name, err := c.text(pr.Map.Name)
		if err != nil {
			return PropSpec{}, none, err
		}
		if name == "" {
			name = "routes-at"
		}
		prop, err := m.RoutesAt(name, fib6.MainTable, pfx, metric, want)
		if err != nil {
			return PropSpec{}, prop, sc.Errorf(pr.At, "routes-at: %v", err)
		}
		return PropSpec{Kind: pr.Kind, Name: name, Prefix: pfx, Table: fib6.MainTable, Metric: metric, Want: want}, prop, nil
	case "no-blackhole":
		a, err := c.ip6(*pr.Map.NoBlackhole, "no-blackhole")
		if err != nil {
			return PropSpec{}, none, err
		}
		prop, err := m.NoBlackhole(a)
		if err != nil {
			return PropSpec{}, none, sc.Errorf(pr.At, "no-blackhole: %v", err)
		}
		return PropSpec{Kind: pr.Kind, Name: prop.Name, Dst: a}, prop, nil
	}
	prop := m.ClonesAgree() // the one scalar property DecodeNode accepts
	return PropSpec{Kind: "clones-agree", Name: prop.Name}, prop, nil
}

// opKinds are the route changes an `ops:` line may start with.
var opKinds = []struct {
	verb string
	kind fib6.OpKind
}{
	{"add", fib6.OpAdd}, {"del", fib6.OpDel}, {"delete", fib6.OpDel},
	{"replace", fib6.OpReplace}, {"change", fib6.OpChange}, {"append", fib6.OpAppend},
	{"heal", fib6.OpHeal},
}

// opKind reads the route change an `ops:` line starts with.
func opKind(verb string) (fib6.OpKind, bool) {
	for _, o := range opKinds {
		if o.verb == verb {
			return o.kind, true
		}
	}
	return 0, false
}

func (c *compiler) op(l format.Line) (fib6.Op, error) {
	text, err := c.text(l)
	if err != nil {
		return fib6.Op{}, err
	}
	verb, rest, _ := strings.Cut(text, " ")
	if verb == "nexthop" {
		return c.nexthopOp(l, text, rest)
	}
	k, ok := opKind(verb)
	if !ok {
		return fib6.Op{}, c.sc.ErrorAt(l, "op %q: want add, del, replace, change or append followed by a route, heal followed by a prefix, or nexthop add|replace|del", text)
	}
	if k == fib6.OpHeal {
		pfx, err := netip.ParsePrefix(strings.TrimSpace(rest))
		if err != nil || !pfx.Addr().Is6() || pfx.Masked() != pfx {
			return fib6.Op{}, c.sc.ErrorAt(l, "heal %q: want an IPv6 prefix such as 2001:db8::/48 (the writer heals the route cache under it)", strings.TrimSpace(rest))
		}
		return fib6.Op{Kind: k, Route: fib6.Route{Prefix: pfx, Table: fib6.MainTable}}, nil
	}
	r, err := c.route(format.Line{Text: rest, Line: l.Line, Col: l.Col})
	if err != nil {
		return fib6.Op{}, err
	}
	return fib6.Op{Kind: k, Route: r}, nil
}

// modify expands a route change by strategy: delete-add (babeld: a
// delete, then an add with NLM_F_CREATE|NLM_F_EXCL), replace
// (NLM_F_CREATE|NLM_F_REPLACE), add-delete (the new route first, then the
// old one deleted), replace-delete-old (replace, then delete the old
// route by its next hop: raceroute apply's make before break where
// replace adds); with heal, the route cache under the new route's prefix
// is healed last.
func (c *compiler) modify(mod *Modify) ([]fib6.Op, error) {
	from, err := c.route(mod.From)
	if err != nil {
		return nil, err
	}
	to, err := c.route(mod.To)
	if err != nil {
		return nil, err
	}
	strategy, err := c.text(mod.Strategy)
	if err != nil {
		return nil, err
	}
	var ops []fib6.Op
	switch strategy {
	case "delete-add":
		ops = []fib6.Op{{Kind: fib6.OpDel, Route: from}, {Kind: fib6.OpAdd, Route: to}}
	case "replace":
		ops = []fib6.Op{{Kind: fib6.OpReplace, Route: to}}
	case "add-delete":
		ops = []fib6.Op{{Kind: fib6.OpAdd, Route: to}, {Kind: fib6.OpDel, Route: from}}
	case "replace-delete-old":
		ops = []fib6.Op{{Kind: fib6.OpReplace, Route: to}, {Kind: fib6.OpDel, Route: from}}
	default:
		return nil, c.sc.ErrorAt(mod.Strategy, "modify strategy %q: want one of %s", strategy, strings.Join(modifyStrategies, ", "))
	}
	heal, err := c.text(mod.Heal)
	if err != nil {
		return nil, err
	}
	switch heal {
	case "", "false":
	case "true":
		ops = append(ops, fib6.Op{Kind: fib6.OpHeal, Route: fib6.Route{Prefix: to.Prefix, Table: to.Table}})
	default:
		return nil, c.sc.ErrorAt(mod.Heal, "heal: want true or false, got %q", heal)
	}
	return ops, nil
}

func sortedKeys(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// nexthopOp reads `nexthop add|replace NEXTHOP` or `nexthop del id N`.
func (c *compiler) nexthopOp(l format.Line, text, rest string) (fib6.Op, error) {
	verb, spec, _ := strings.Cut(strings.TrimSpace(rest), " ")
	kinds := map[string]fib6.OpKind{"add": fib6.OpNexthopAdd, "replace": fib6.OpNexthopReplace, "del": fib6.OpNexthopDel, "delete": fib6.OpNexthopDel}
	k, ok := kinds[verb]
	if !ok {
		return fib6.Op{}, c.sc.ErrorAt(l, "op %q: want nexthop add, replace or del", text)
	}
	if k == fib6.OpNexthopDel {
		f := strings.Fields(spec)
		if len(f) != 2 || f[0] != "id" {
			return fib6.Op{}, c.sc.ErrorAt(l, "op %q: want nexthop del id N", text)
		}
		n, err := nexthop.Parse(spec + " blackhole") // the id alone: parsed as any object's
		if err != nil {
			return fib6.Op{}, c.sc.ErrorAt(l, "op %q: %v", text, err)
		}
		return fib6.Op{Kind: k, Nexthop: nexthop.Nexthop{ID: n.ID}}, nil
	}
	n, err := c.nexthop(format.Line{Text: spec, Line: l.Line, Col: l.Col}, text)
	if err != nil {
		return fib6.Op{}, err
	}
	return fib6.Op{Kind: k, Nexthop: n}, nil
}

// nexthop reads one nexthop object; a device must be one of the host's.
func (c *compiler) nexthop(l format.Line, op string) (nexthop.Nexthop, error) {
	text, err := c.text(l)
	if err != nil {
		return nexthop.Nexthop{}, err
	}
	n, err := nexthop.Parse(text)
	if err != nil {
		if op != "" {
			return n, c.sc.ErrorAt(l, "op %q: %v", op, err)
		}
		return n, c.sc.ErrorAt(l, "%v", err)
	}
	if n.Dev != "" && !c.devices[n.Dev] {
		return n, c.sc.ErrorAt(l, "nexthop %q: unknown device %q (host devices: %s)", text, n.Dev, strings.Join(sortedKeys(c.devices), ", "))
	}
	return n, nil
}
