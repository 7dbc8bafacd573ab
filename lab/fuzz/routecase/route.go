// Package routecase is lab/fuzz's route category: IPv6 route add,
// delete, replace, change and append with lookups between them, on the
// live kernel and in model/fib6.
package routecase

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net/netip"
	"slices"
	"strings"

	"raceroute/kernel"
	"raceroute/lab/fuzz/fuzzcase"
	"raceroute/model/fib6"
	"raceroute/profile"
)

// The route category: IPv6 route changes (add, del, replace, change,
// append) of every route type the model knows but throw (unicast via a
// link-local gateway, unicast on a device, unreachable, blackhole,
// prohibit), on two devices, with metrics and in two tables, and lookups
// (RTM_GETROUTE with RTM_F_FIB_MATCH) between them. After every step the
// answer (errno and extended ACK, or the route found) is compared, and at
// the end the tables and the route cache.

// routeDevs are the case's devices (veths whose peers stay in the same
// namespace, so that both are up with carrier).
var routeDevs = []string{"d0", "d1"}

// routePrefixes are the prefixes a case changes: three nested, one apart.
var routePrefixes = []string{"2001:db8:1::/48", "2001:db8:1:1::/64", "2001:db8:1:1:1::/80", "2001:db8:2::/64"}

// routeDsts are the destinations looked up: under all three nested
// prefixes, under the /48 only, under the separate /64, and under none.
var routeDsts = []netip.Addr{
	netip.MustParseAddr("2001:db8:1:1:1::1"), netip.MustParseAddr("2001:db8:1:2::1"),
	netip.MustParseAddr("2001:db8:2::5"), netip.MustParseAddr("2001:db8:3::1"),
}

// routeScope is what the comparison looks at: the prefixes above (the
// kernel's own fe80::/64 and local-table routes are outside it).
var routeScope = netip.MustParsePrefix("2001:db8::/32")

// routeStep is one step of a route case: a route change, or a lookup
// when line is empty.
type routeStep struct {
	verb string // add, del, replace, change, append
	line string // the route in `ip -6 route` syntax
	dst  netip.Addr
}

func (s routeStep) isLookup() bool { return s.line == "" }

func (s routeStep) String() string {
	if s.isLookup() {
		return "get " + s.dst.String()
	}
	return s.verb + " " + s.line
}

// routeCase is a sequence of route steps on an empty table.
type routeCase struct {
	steps []routeStep
	last  *routeOutcome // the kernel's outcome of the last run
}

func (c *routeCase) Len() int { return len(c.steps) }

func (c *routeCase) Drop(i int) fuzzcase.Case {
	if len(c.steps) <= 1 {
		return nil
	}
	return &routeCase{steps: slices.Delete(slices.Clone(c.steps), i, i+1)}
}

// genRoute draws a route case: per (table, prefix) a pool of at most
// fib6.MaxSlots distinct routes (the model's capacity per prefix), and
// 3 to 12 steps over them.
func Generate(rng *rand.Rand, _ *profile.Profile) (fuzzcase.Case, int, error) {
	type node struct {
		table  string
		prefix string
		pool   []string
	}
	var nodes []node
	for _, i := range rng.Perm(len(routePrefixes))[:1+rng.IntN(3)] {
		tables := []string{""}
		if rng.IntN(4) == 0 {
			tables = append(tables, " table 100")
		}
		for _, t := range tables {
			n := node{table: t, prefix: routePrefixes[i]}
			for len(n.pool) < 1+rng.IntN(fib6.MaxSlots) {
				r := randRoute(rng, n.prefix) + t
				if !slices.Contains(n.pool, r) {
					n.pool = append(n.pool, r)
				}
			}
			nodes = append(nodes, n)
		}
	}
	c := &routeCase{}
	for len(c.steps) < 3+rng.IntN(10) {
		if rng.IntN(10) < 3 {
			c.steps = append(c.steps, routeStep{dst: routeDsts[rng.IntN(len(routeDsts))]})
			continue
		}
		n := nodes[rng.IntN(len(nodes))]
		r := n.pool[rng.IntN(len(n.pool))]
		verbs := []string{"add", "add", "add", "del", "del", "replace", "replace", "change", "append", "append"}
		v := verbs[rng.IntN(len(verbs))]
		if v == "del" {
			r = delLine(rng, r)
		}
		c.steps = append(c.steps, routeStep{verb: v, line: r})
	}
	return c, 0, nil
}

// randRoute draws a route at prefix p.
func randRoute(rng *rand.Rand, p string) string {
	var b strings.Builder
	switch rng.IntN(6) {
	case 0, 1:
		fmt.Fprintf(&b, "%s via fe80::%d dev %s", p, 1+rng.IntN(2), routeDevs[rng.IntN(2)])
	case 2:
		fmt.Fprintf(&b, "%s dev %s", p, routeDevs[rng.IntN(2)])
	case 3:
		fmt.Fprintf(&b, "unreachable %s", p)
	case 4:
		fmt.Fprintf(&b, "blackhole %s", p)
	default:
		fmt.Fprintf(&b, "prohibit %s", p)
	}
	switch rng.IntN(4) {
	case 1:
		b.WriteString(" metric 100")
	case 2:
		b.WriteString(" metric 2000")
	}
	return b.String()
}

// delLine is a delete of route r as a user writes it: the prefix and the
// device (a reject route's is lo), with the gateway and the metric or
// without.
func delLine(rng *rand.Rand, r string) string {
	rt, err := fib6.ParseRoute(r)
	if err != nil {
		return r
	}
	pfx := rt.Prefix.String()
	if rt.Prefix.Bits() == 0 {
		pfx = "default"
	}
	s := pfx
	if rt.Gateway.IsValid() && rng.IntN(2) == 0 {
		s += " via " + rt.Gateway.String()
	}
	s += " dev " + rt.Dev
	if rng.IntN(2) == 0 {
		s += fmt.Sprintf(" metric %d", rt.Metric)
	}
	if rt.Table != fib6.MainTable {
		s += fmt.Sprintf(" table %d", rt.Table)
	}
	return s
}

// parsed is a route case read into the model's types.
type parsed struct {
	ops []fib6.Op // per step; Kind 0 for a lookup
}

var verbKinds = map[string]fib6.OpKind{"add": fib6.OpAdd, "del": fib6.OpDel, "replace": fib6.OpReplace, "change": fib6.OpChange, "append": fib6.OpAppend}

func (c *routeCase) parse() (parsed, error) {
	var p parsed
	for _, s := range c.steps {
		if s.isLookup() {
			p.ops = append(p.ops, fib6.Op{})
			continue
		}
		r, err := fib6.ParseRoute(s.line)
		if err != nil {
			return p, fmt.Errorf("route case: %w", err)
		}
		p.ops = append(p.ops, fib6.Op{Kind: verbKinds[s.verb], Route: r})
	}
	return p, nil
}

// routeOutcome is what one side (kernel or model) did with a case.
type routeOutcome struct {
	answers []string // per step: an op's errno and extended ACK, or a lookup's result
	table   []string // the routes in scope at the end, by table and prefix
	cache   []string // the route-cache entries (exceptions) in scope
}

// model runs the case in the fib6 model of p.
func (c *routeCase) model(p *profile.Profile) (routeOutcome, error) {
	ps, err := c.parse()
	if err != nil {
		return routeOutcome{}, err
	}
	cfg := fib6.Config{Profile: *p}
	agent := fib6.Actor{Name: "agent"}
	for _, op := range ps.ops {
		if op.Kind != 0 {
			agent.Ops = append(agent.Ops, op)
		}
	}
	if len(agent.Ops) > 0 {
		cfg.Actors = append(cfg.Actors, agent)
	}
	for i, d := range routeDsts {
		cfg.Actors = append(cfg.Actors, fib6.Actor{Name: fmt.Sprintf("get%d", i), Dst: d, Packets: 1})
	}
	m, err := fib6.New(cfg)
	if err != nil {
		return routeOutcome{}, fmt.Errorf("route case: model: %w", err)
	}
	s := m.Init()
	var out routeOutcome
	for i, op := range ps.ops {
		if op.Kind == 0 {
			l, err := m.Get(&s, c.steps[i].dst)
			if err != nil {
				return out, err
			}
			if len(l.Group) > 0 {
				out.answers = append(out.answers, multipathText(l.Group))
				continue
			}
			out.answers = append(out.answers, lookupText(l.Err, l.Route, !l.Null))
			continue
		}
		a, err := m.Exec(&s, op)
		if err != nil {
			return out, err
		}
		out.answers = append(out.answers, answerText(a.Err, a.Ext))
	}
	for _, r := range m.Table(&s) {
		if r.Cache {
			out.cache = append(out.cache, routeText(r.Route))
		} else {
			out.table = append(out.table, routeText(r.Route))
		}
	}
	return out, nil
}

// answerText renders an op's answer.
func answerText(e kernel.Errno, ext string) string {
	if e == 0 {
		return "ok"
	}
	if ext != "" {
		return fmt.Sprintf("%s: %q", e, ext)
	}
	return e.String()
}

// lookupText renders a lookup's result: the error a packet gets, or the
// route matched.
func lookupText(e kernel.Errno, r fib6.Route, found bool) string {
	if e != 0 {
		return "error " + e.String()
	}
	if !found {
		return "no route"
	}
	return routeText(r)
}

// multipathText renders a multipath match: its nexthops sorted, as the
// kernel lists the chosen sibling first.
func multipathText(rs []fib6.Route) string {
	var t []string
	for _, r := range rs {
		t = append(t, routeText(r))
	}
	slices.Sort(t)
	return "multipath " + strings.Join(t, " | ")
}

// routeText renders a route with every field, so that both sides print
// the same text for the same route.
func routeText(r fib6.Route) string {
	r.MetricSet = true
	if r.Table == 0 {
		r.Table = fib6.MainTable
	}
	s := r.String()
	if r.Table == fib6.MainTable {
		s += " table main"
	}
	return s
}

// compareRoute lists the differences between the kernel's outcome and
// the model's.
func (c *routeCase) compare(live, mod routeOutcome) []string {
	var diffs []string
	for i := range c.steps {
		if live.answers[i] != mod.answers[i] {
			diffs = append(diffs, fmt.Sprintf("step %d `%s`: kernel %s, model %s", i+1, c.steps[i], live.answers[i], mod.answers[i]))
		}
	}
	if !slices.Equal(live.table, mod.table) {
		diffs = append(diffs, fmt.Sprintf("table at the end: kernel [%s], model [%s]", strings.Join(live.table, "; "), strings.Join(mod.table, "; ")))
	}
	if !slices.Equal(live.cache, mod.cache) {
		diffs = append(diffs, fmt.Sprintf("route cache at the end: kernel [%s], model [%s]", strings.Join(live.cache, "; "), strings.Join(mod.cache, "; ")))
	}
	return diffs
}

// Run runs the case live and in the model.
func (c *routeCase) Run(ctx context.Context, name string, p *profile.Profile) ([]string, error) {
	mod, err := c.model(p)
	if err != nil {
		return nil, err
	}
	live, err := c.live(ctx, name+"-rt")
	if err != nil {
		return nil, err
	}
	c.last = &live
	return c.compare(live, mod), nil
}

// Reproducer renders the case as a fib6 scenario: the route changes as
// one actor's ops, and as properties the kernel's final routes at every
// prefix the case changed (routes-at, main table). The format has no way
// to state an op's expected errno or a lookup's result, nor a property
// of another table: those differences are in the comments.
func (c *routeCase) Reproducer(p *profile.Profile, diffs []string) string {
	var b strings.Builder
	b.WriteString("# raceroute lab --fuzz: a route case on which the kernel and the model disagree\n")
	for _, d := range diffs {
		fmt.Fprintf(&b, "#   %s\n", d)
	}
	b.WriteString("# The steps, in order (`get` is `ip -6 route get fibmatch DST`; the scenario\n# format has no step for it, nor a property of an op's error):\n")
	for i, s := range c.steps {
		fmt.Fprintf(&b, "#   %d. %s\n", i+1, s)
	}
	b.WriteString("name: fuzz-route\nmodel: fib6\n")
	b.WriteString("description: a route case found by raceroute lab --fuzz; the expectation is the kernel's final table\n")
	b.WriteString("host:\n  devices: [lo, d0, d1]\nactors:\n")
	var ops int
	prefixes := map[string]bool{}
	for _, s := range c.steps {
		if s.isLookup() {
			continue
		}
		if ops == 0 {
			b.WriteString("  - name: agent\n    ops:\n")
		}
		fmt.Fprintf(&b, "      - %s %s\n", s.verb, s.line)
		ops++
		if r, err := fib6.ParseRoute(s.line); err == nil && r.Table == fib6.MainTable {
			prefixes[r.Prefix.String()] = true
		}
	}
	if ops == 0 {
		// An actor needs a step: a lookup, which changes nothing on
		// kernels without clones.
		fmt.Fprintf(&b, "  - name: traffic\n    flow: {dst: %q}\n", routeDsts[0])
	}
	var live routeOutcome
	if c.last != nil {
		live = *c.last
	}
	b.WriteString("properties:\n")
	keys := make([]string, 0, len(prefixes))
	for k := range prefixes {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		for _, metric := range []uint32{100, 1024, 2000} {
			var want []string
			for _, r := range live.table {
				if rt, err := fib6.ParseRoute(r); err == nil && rt.Prefix.String() == k && rt.Metric == metric && rt.Table == fib6.MainTable {
					want = append(want, strings.TrimSuffix(r, " table main"))
				}
			}
			fmt.Fprintf(&b, "  - routes-at: %s\n    metric: %d\n    want: [%s]\n", k, metric, strings.Join(want, ", "))
		}
	}
	if len(keys) == 0 {
		b.WriteString("  - clones-agree\n")
	}
	fmt.Fprintf(&b, "# The expectation is what %s did; other kernels may differ.\nexpect: {\"*\": holds}\n", p.Name)
	return b.String()
}
