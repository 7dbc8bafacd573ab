package scenario

import (
	"fmt"
	"net/netip"
	"sort"
	"strings"

	"go.yaml.in/yaml/v3"

	"raceroute/explore"
	"raceroute/model/fib6"
	"raceroute/model/profile"
)

// fib6Doc is a scenario file of model fib6.
type fib6Doc struct {
	Header     `yaml:",inline"`
	Host       fib6Host    `yaml:"host"`
	Actors     []fib6Actor `yaml:"actors"`
	Properties []fib6Prop  `yaml:"properties"`
}

type fib6Host struct {
	Name    string `yaml:"name"`
	Devices []Line `yaml:"devices"`
	// Routes in `ip -6 route` syntax, added in order.
	Routes Lines `yaml:"routes"`
	// Warm lists destinations looked up once before the actors start.
	Warm []Line `yaml:"warm"`
}

type fib6Actor struct {
	Name string `yaml:"name"`
	// Ops are route changes: `add|del|replace|change|append ROUTE`.
	Ops Lines `yaml:"ops"`
	// Modify changes From to To with a strategy.
	Modify *fib6Modify `yaml:"modify"`
	// Flow sends packets to Dst, one route lookup each.
	Flow *fib6Flow `yaml:"flow"`
	line int
}

func (a *fib6Actor) UnmarshalYAML(n *yaml.Node) error {
	type plain fib6Actor
	if err := n.Decode((*plain)(a)); err != nil {
		return err
	}
	a.line = n.Line
	return nil
}

type fib6Modify struct {
	From     Line `yaml:"from"`
	To       Line `yaml:"to"`
	Strategy Line `yaml:"strategy"`
}

type fib6Flow struct {
	Dst     Line `yaml:"dst"`
	Packets int  `yaml:"packets"`
}

// fib6Prop is `clones-agree`, or a mapping {routes-at: PREFIX, metric: N,
// want: [ROUTE...]}, or {clones-kept: PREFIX}.
type fib6Prop struct {
	Kind    string
	Prefix  Line
	Metric  *uint32
	Want    Lines
	Line    int
	Name    string
	hasWant bool
}

func (p *fib6Prop) UnmarshalYAML(n *yaml.Node) error {
	p.Line = n.Line
	if n.Kind == yaml.ScalarNode {
		p.Kind = n.Value
		return nil
	}
	var m struct {
		Name       string  `yaml:"name"`
		RoutesAt   *Line   `yaml:"routes-at"`
		ClonesKept *Line   `yaml:"clones-kept"`
		Metric     *uint32 `yaml:"metric"`
		Want       *Lines  `yaml:"want"`
	}
	if err := n.Decode(&m); err != nil {
		return err
	}
	p.Name, p.Metric = m.Name, m.Metric
	switch {
	case m.RoutesAt != nil && m.ClonesKept == nil:
		p.Kind, p.Prefix = "routes-at", *m.RoutesAt
		if m.Want != nil {
			p.Want, p.hasWant = *m.Want, true
		}
	case m.ClonesKept != nil && m.RoutesAt == nil:
		p.Kind, p.Prefix = "clones-kept", *m.ClonesKept
	default:
		return fmt.Errorf("line %d: want a property: clones-agree, {routes-at: PREFIX, metric: N, want: [ROUTE...]} or {clones-kept: PREFIX}", n.Line)
	}
	return nil
}

// Modify strategies: how an agent changes a route.
var modifyStrategies = []string{"delete-add", "replace", "add-delete"}

func compileFIB6(sc *Scenario, v Variant, p profile.Profile) (explore.Checker, error) {
	var doc fib6Doc
	if err := sc.Decode(&doc); err != nil {
		return nil, err
	}
	devices := map[string]bool{}
	for _, d := range doc.Host.Devices {
		devices[d.Text] = true
	}
	if len(devices) == 0 {
		return nil, sc.Errorf(findKey0(sc, "host"), 0, "host: want `devices:` listing the host's interfaces (lo is needed for reject routes)")
	}
	route := func(l Line) (fib6.Route, error) {
		text, err := sc.Expand(l, v)
		if err != nil {
			return fib6.Route{}, err
		}
		r, err := fib6.ParseRoute(text)
		if err != nil {
			return r, sc.ErrorAt(l, "%v", err)
		}
		if r.Dev != "" && !devices[r.Dev] {
			return r, sc.ErrorAt(l, "route %q: unknown device %q (host devices: %s)", text, r.Dev, strings.Join(sortedKeys(devices), ", "))
		}
		return r, nil
	}
	cfg := fib6.Config{Profile: p}
	for _, l := range doc.Host.Routes {
		r, err := route(l)
		if err != nil {
			return nil, err
		}
		cfg.Routes = append(cfg.Routes, r)
	}
	for _, l := range doc.Host.Warm {
		text, err := sc.Expand(l, v)
		if err != nil {
			return nil, err
		}
		if strings.TrimSpace(text) == "" {
			continue // a variable that expands to nothing: no warm-up
		}
		a, err := netip.ParseAddr(text)
		if err != nil || !a.Is6() {
			return nil, sc.ErrorAt(l, "warm: %q is not an IPv6 address", text)
		}
		cfg.Warm = append(cfg.Warm, a)
	}
	if len(doc.Actors) == 0 {
		return nil, sc.Errorf(findKey0(sc, "actors"), 0, "want at least one actor under `actors:`")
	}
	names := map[string]bool{}
	for _, a := range doc.Actors {
		if a.Name == "" {
			return nil, sc.Errorf(a.line, 0, "actor without `name:`")
		}
		if names[a.Name] {
			return nil, sc.Errorf(a.line, 0, "actor %q given twice", a.Name)
		}
		names[a.Name] = true
		act := fib6.Actor{Name: a.Name}
		kinds := 0
		if len(a.Ops) > 0 {
			kinds++
			for _, l := range a.Ops {
				op, err := parseOp(sc, l, v, route)
				if err != nil {
					return nil, err
				}
				act.Ops = append(act.Ops, op)
			}
		}
		if a.Modify != nil {
			kinds++
			ops, err := modifyOps(sc, a.Modify, v, route)
			if err != nil {
				return nil, err
			}
			act.Ops = append(act.Ops, ops...)
		}
		if a.Flow != nil {
			kinds++
			dst, err := netip.ParseAddr(a.Flow.Dst.Text)
			if err != nil || !dst.Is6() || dst.Is4In6() {
				return nil, sc.ErrorAt(a.Flow.Dst, "flow dst %q is not an IPv6 address", a.Flow.Dst.Text)
			}
			act.Dst, act.Packets = dst, a.Flow.Packets
			if act.Packets == 0 {
				act.Packets = 1
			}
		}
		if kinds != 1 {
			return nil, sc.Errorf(a.line, 0, "actor %q: want exactly one of `ops:`, `modify:` or `flow:`", a.Name)
		}
		cfg.Actors = append(cfg.Actors, act)
	}
	m, err := fib6.New(cfg)
	if err != nil {
		return nil, sc.Errorf(0, 0, "%v", err)
	}
	if len(doc.Properties) == 0 {
		return nil, sc.Errorf(findKey0(sc, "name"), 0, "want at least one property under `properties:` (clones-agree, routes-at, clones-kept)")
	}
	var props []explore.Property[fib6.State]
	for _, pr := range doc.Properties {
		switch pr.Kind {
		case "clones-agree":
			props = append(props, m.ClonesAgree())
		case "clones-kept":
			pfx, err := netip.ParsePrefix(pr.Prefix.Text)
			if err != nil {
				return nil, sc.ErrorAt(pr.Prefix, "clones-kept: %q is not a prefix", pr.Prefix.Text)
			}
			props = append(props, m.ClonesKept(pfx))
		case "routes-at":
			pfx, err := netip.ParsePrefix(pr.Prefix.Text)
			if err != nil || pfx.Masked() != pfx {
				return nil, sc.ErrorAt(pr.Prefix, "routes-at: %q is not a prefix such as 2001:db8::/48", pr.Prefix.Text)
			}
			metric := uint32(fib6.DefaultMetric)
			if pr.Metric != nil {
				metric = *pr.Metric
			}
			if !pr.hasWant {
				return nil, sc.Errorf(pr.Line, 0, "routes-at: want `want:` with the routes that must remain (an empty list for none)")
			}
			var want []fib6.Route
			for _, l := range pr.Want {
				r, err := route(l)
				if err != nil {
					return nil, err
				}
				want = append(want, r)
			}
			name := pr.Name
			if name == "" {
				name = "routes-at"
			}
			prop, err := m.RoutesAt(name, fib6.MainTable, pfx, metric, want)
			if err != nil {
				return nil, sc.Errorf(pr.Line, 0, "routes-at: %v", err)
			}
			props = append(props, prop)
		default:
			return nil, sc.Errorf(pr.Line, 0, "unknown property %q (want clones-agree, routes-at or clones-kept)", pr.Kind)
		}
	}
	return explore.NewChecker[fib6.State](m, props), nil
}

func parseOp(sc *Scenario, l Line, v Variant, route func(Line) (fib6.Route, error)) (fib6.Op, error) {
	text, err := sc.Expand(l, v)
	if err != nil {
		return fib6.Op{}, err
	}
	verb, rest, _ := strings.Cut(strings.TrimSpace(text), " ")
	kinds := map[string]fib6.OpKind{"add": fib6.OpAdd, "del": fib6.OpDel, "delete": fib6.OpDel, "replace": fib6.OpReplace, "change": fib6.OpChange, "append": fib6.OpAppend}
	k, ok := kinds[verb]
	if !ok {
		return fib6.Op{}, sc.ErrorAt(l, "op %q: want add, del, replace, change or append followed by a route", text)
	}
	r, err := route(Line{Text: rest, Line: l.Line, Col: l.Col})
	if err != nil {
		return fib6.Op{}, err
	}
	return fib6.Op{Kind: k, Route: r}, nil
}

// modifyOps expands a route change by strategy: delete-add (babeld: a
// delete, then an add with NLM_F_CREATE|NLM_F_EXCL), replace
// (NLM_F_CREATE|NLM_F_REPLACE), add-delete (the new route first, then the
// old one deleted).
func modifyOps(sc *Scenario, mod *fib6Modify, v Variant, route func(Line) (fib6.Route, error)) ([]fib6.Op, error) {
	from, err := route(mod.From)
	if err != nil {
		return nil, err
	}
	to, err := route(mod.To)
	if err != nil {
		return nil, err
	}
	strategy, err := sc.Expand(mod.Strategy, v)
	if err != nil {
		return nil, err
	}
	switch strategy {
	case "delete-add":
		return []fib6.Op{{Kind: fib6.OpDel, Route: from}, {Kind: fib6.OpAdd, Route: to}}, nil
	case "replace":
		return []fib6.Op{{Kind: fib6.OpReplace, Route: to}}, nil
	case "add-delete":
		return []fib6.Op{{Kind: fib6.OpAdd, Route: to}, {Kind: fib6.OpDel, Route: from}}, nil
	}
	return nil, sc.ErrorAt(mod.Strategy, "modify strategy %q: want one of %s", strategy, strings.Join(modifyStrategies, ", "))
}

func sortedKeys(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// findKey0 is the line of the first mapping key called key, or 0.
func findKey0(sc *Scenario, key string) int {
	var doc yaml.Node
	if yaml.Unmarshal(sc.data, &doc) != nil {
		return 0
	}
	return findKey(&doc, key)
}
