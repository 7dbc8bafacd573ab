// Package fib6file is the fib6 model's part of the scenario format: the
// keys of a `model: fib6` file (one host with its devices and routes, the
// actors that change routes or send packets, the properties), their
// checks, and their compilation into a fib6.Config and an
// explore.Checker. docs/scenarios.md, "model fib6", is its reference.
package fib6file

import (
	"strings"

	"go.yaml.in/yaml/v3"

	"raceroute/scenario/format"
)

// Doc is a scenario file of model fib6.
type Doc struct {
	format.Header `yaml:",inline"`
	Host          Host    `yaml:"host"`
	Actors        []Actor `yaml:"actors"`
	Properties    []Prop  `yaml:"properties"`
}

// Host is the one host of a fib6 scenario: its devices, its routes
// before the actors start, and the destinations looked up once before.
type Host struct {
	At format.Pos `yaml:"-"`
	// Name is a label for the reader; the model has one host.
	Name    format.Line   `yaml:"name"`
	Devices []format.Line `yaml:"devices"`
	// Routes in `ip -6 route` syntax, added in order.
	Routes format.Lines `yaml:"routes"`
	// Warm lists destinations looked up once before the actors start.
	Warm []format.Line `yaml:"warm"`
	// ICMP lists ICMPv6 messages handled before the actors start:
	// `pmtu DST mtu N` or `redirect DST target ADDR` (exception.go).
	ICMP []format.Line `yaml:"icmp"`
	// Nexthops are nexthop objects made before the routes, in `ip
	// nexthop` syntax (5.3 and later).
	Nexthops format.Lines `yaml:"nexthops"`
}

// Actor is a concurrent actor: a daemon changing routes (`ops:` or
// `modify:`) or a packet flow (`flow:`), exactly one of them.
type Actor struct {
	At   format.Pos  `yaml:"-"`
	Name format.Line `yaml:"name"`
	// Ops are route changes: `add|del|replace|change|append ROUTE`,
	// `heal PREFIX`, or `nexthop add|replace|del ...`.
	Ops format.Lines `yaml:"ops"`
	// Modify changes From to To with a strategy.
	Modify *Modify `yaml:"modify"`
	// Flow sends packets to Dst, one route lookup each.
	Flow *Flow `yaml:"flow"`
	// PMTU, Redirect and GC are ICMPv6 messages and the route GC's run
	// (exception.go).
	PMTU     *ICMPSpec `yaml:"pmtu"`
	Redirect *ICMPSpec `yaml:"redirect"`
	GC       *GCSpec   `yaml:"gc"`
}

// Modify is one route change by a strategy (delete-add, replace,
// add-delete, replace-delete-old), then, with Heal, a heal of the route
// cache under the new route's prefix.
type Modify struct {
	From     format.Line `yaml:"from"`
	To       format.Line `yaml:"to"`
	Strategy format.Line `yaml:"strategy"`
	Heal     format.Line `yaml:"heal"`
}

// Flow sends Packets packets to Dst (1 if not given).
type Flow struct {
	Dst     format.Line `yaml:"dst"`
	Packets format.Line `yaml:"packets"`
}

// Prop is `clones-agree`, or a mapping {routes-at: PREFIX, metric: N,
// want: [ROUTE...]}, {clones-kept: PREFIX}, {no-gap: PREFIX} or
// {no-blackhole: ADDRESS}.
type Prop struct {
	At   format.Pos `yaml:"-"`
	Kind string     // clones-agree, routes-at, clones-kept, no-gap or no-blackhole
	Map  PropMap    `yaml:",inline"`
	// Arg is the value of a property of exception.go in mapping form.
	Arg format.Line `yaml:"-"`
}

// PropMap is the mapping form of a fib6 property.
type PropMap struct {
	Name        format.Line   `yaml:"name"`
	RoutesAt    *format.Line  `yaml:"routes-at"`
	ClonesKept  *format.Line  `yaml:"clones-kept"`
	NoGap       *format.Line  `yaml:"no-gap"`
	NoBlackhole *format.Line  `yaml:"no-blackhole"`
	Metric      *format.Line  `yaml:"metric"`
	Want        *format.Lines `yaml:"want"`
}

// propKinds are the fib6 properties.
var propKinds = append([]string{"clones-agree", "routes-at", "clones-kept", "no-gap", "no-blackhole"}, excKinds...)

const propHelp = "want a property: clones-agree, {routes-at: PREFIX, metric: N, want: [ROUTE...]}, {clones-kept: PREFIX}, {no-gap: PREFIX} or {no-blackhole: ADDRESS}"

// DecodeNode reads a property in either form, refusing a mapping of
// neither or both kinds.
func (p *Prop) DecodeNode(d *format.Decoder, n *yaml.Node, at format.Pos) error {
	p.At = at
	if ok, err := p.decodeExc(d, n, at); ok {
		return err
	}
	if n.Kind == yaml.ScalarNode && !format.IsNull(n) {
		switch n.Value {
		case "clones-agree":
			p.Kind = n.Value
			return nil
		case "routes-at", "clones-kept", "no-gap":
			return d.Errorf(format.PosOf(n), "%s needs its prefix: write {%s: PREFIX, ...}", n.Value, n.Value)
		case "no-blackhole":
			return d.Errorf(format.PosOf(n), "no-blackhole needs its destination: write {no-blackhole: ADDRESS}")
		}
		return d.Errorf(format.PosOf(n), "unknown property %q (want %s)", n.Value, strings.Join(propKinds, ", "))
	}
	if n.Kind != yaml.MappingNode {
		return d.Errorf(format.PosOf(n), "%s; got %s", propHelp, format.Got(n))
	}
	if err := d.DecodeFields(n, at, &p.Map); err != nil {
		return err
	}
	m := &p.Map
	given := 0
	for _, x := range []*format.Line{m.RoutesAt, m.ClonesKept, m.NoGap, m.NoBlackhole} {
		if x != nil {
			given++
		}
	}
	switch {
	case given != 1:
		return d.Errorf(at, "%s (one of routes-at, clones-kept, no-gap or no-blackhole)", propHelp)
	case m.RoutesAt != nil:
		p.Kind = "routes-at"
	default:
		p.Kind = "clones-kept"
		switch {
		case m.NoGap != nil:
			p.Kind = "no-gap"
		case m.NoBlackhole != nil:
			p.Kind = "no-blackhole"
		}
		for _, f := range []struct {
			key   string
			given bool
		}{{"name", m.Name.Text != ""}, {"metric", m.Metric != nil}, {"want", m.Want != nil}} {
			if f.given {
				return d.Errorf(at, "%s takes no `%s:` (it is a property of the prefix or destination alone)", p.Kind, f.key)
			}
		}
	}
	return nil
}
