package fib6file

import (
	"fmt"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"raceroute/explore"
	"raceroute/model/fib6"
	"raceroute/model/fib6/exception"
	"raceroute/scenario/format"
)

// This file is the format's part for ICMPv6 route-cache entries: the
// actors `pmtu:` (a Packet Too Big), `redirect:` and `gc:` (the route
// garbage collector's run), the host's `icmp:` messages handled before
// the actors start, and the properties no-cache-in-dump,
// entries-with-route and mtu-follows-path.

// ICMPSpec is a `pmtu: {dst, mtu}` or `redirect: {dst, target}` actor.
type ICMPSpec struct {
	Dst    format.Line `yaml:"dst"`
	MTU    format.Line `yaml:"mtu"`
	Target format.Line `yaml:"target"`
}

// GCSpec is a `gc: {after, mtu_expires, gc_interval}` actor: the GC's run
// `after` the other actors are done, with the two sysctls it reads
// (net.ipv6.route.mtu_expires, gc_interval; defaults 600s and 30s).
type GCSpec struct {
	After      format.Line `yaml:"after"`
	MTUExpires format.Line `yaml:"mtu_expires"`
	GCInterval format.Line `yaml:"gc_interval"`
}

// excKinds are the property kinds of this file.
var excKinds = []string{"no-cache-in-dump", "entries-with-route", "mtu-follows-path"}

// excActor reads an actor's pmtu:, redirect: or gc: into act, and
// returns how many of them it has.
func (c *compiler) excActor(a Actor, act *fib6.Actor) (int, error) {
	n := 0
	for _, x := range []struct {
		spec *ICMPSpec
		kind fib6.ICMPKind
	}{{a.PMTU, fib6.PacketTooBig}, {a.Redirect, fib6.Redirect}} {
		if x.spec == nil {
			continue
		}
		n++
		m, err := c.icmpSpec(*x.spec, x.kind, a.At)
		if err != nil {
			return n, err
		}
		act.ICMP = &m
	}
	if a.GC != nil {
		n++
		r := fib6.GCRun{Sysctls: exception.DefaultSysctls()}
		for _, f := range []struct {
			l    format.Line
			into *time.Duration
			key  string
			need bool
		}{{a.GC.After, &r.After, "after", true}, {a.GC.MTUExpires, &r.Sysctls.MTUExpires, "mtu_expires", false}, {a.GC.GCInterval, &r.Sysctls.GCInterval, "gc_interval", false}} {
			s, err := c.text(f.l)
			if err != nil {
				return n, err
			}
			if s == "" {
				if f.need {
					return n, c.sc.Errorf(a.At, "gc: want `after:` (the time of the GC's run after the other actors are done, e.g. 601s)")
				}
				continue
			}
			d, err := time.ParseDuration(s)
			if err != nil || d < 0 {
				return n, c.sc.ErrorAt(f.l, "gc: %s: want a duration such as 30s or 10m, got %q", f.key, s)
			}
			*f.into = d
		}
		act.GC = &r
	}
	return n, nil
}

// icmpSpec reads one message: its destination and its mtu (a Packet
// Too Big) or target (a Redirect).
func (c *compiler) icmpSpec(sp ICMPSpec, kind fib6.ICMPKind, at format.Pos) (fib6.ICMP, error) {
	m := fib6.ICMP{Kind: kind}
	if sp.Dst.Text == "" {
		return m, c.sc.Errorf(at, "%s: want `dst:`, the destination the message is about", kindKey(kind))
	}
	var err error
	if m.Dst, err = c.ip6(sp.Dst, kindKey(kind)+" dst"); err != nil {
		return m, err
	}
	if kind == fib6.PacketTooBig {
		if sp.Target.Text != "" {
			return m, c.sc.ErrorAt(sp.Target, "pmtu takes no target (a redirect does)")
		}
		s, err := c.text(sp.MTU)
		if err != nil {
			return m, err
		}
		v, err := strconv.Atoi(s)
		if err != nil || v < 1280 || v > 1499 {
			return m, c.sc.ErrorAt(sp.MTU, "pmtu mtu: want a whole number from 1280 (IPV6_MIN_MTU) to 1499 (below the devices' MTU 1500), got %q", s)
		}
		m.MTU = uint16(v)
		return m, nil
	}
	if sp.MTU.Text != "" {
		return m, c.sc.ErrorAt(sp.MTU, "redirect takes no mtu (a pmtu does)")
	}
	if m.Target, err = c.ip6(sp.Target, "redirect target"); err != nil {
		return m, err
	}
	if !m.Target.IsLinkLocalUnicast() {
		return m, c.sc.ErrorAt(sp.Target, "redirect target %s: want a link-local address (rt6_do_redirect() refuses any other)", m.Target)
	}
	return m, nil
}

func kindKey(k fib6.ICMPKind) string {
	if k == fib6.Redirect {
		return "redirect"
	}
	return "pmtu"
}

// hostICMP reads the host's `icmp:` lines, `pmtu DST mtu N` or
// `redirect DST target T`, into cfg.ICMP.
func (c *compiler) hostICMP(lines []format.Line, cfg *fib6.Config) error {
	for _, l := range lines {
		text, err := c.text(l)
		if err != nil {
			return err
		}
		if text == "" {
			continue
		}
		f := strings.Fields(text)
		bad := c.sc.ErrorAt(l, "icmp %q: want `pmtu DST mtu N` or `redirect DST target ADDR`", text)
		if len(f) != 4 {
			return bad
		}
		sp := ICMPSpec{Dst: format.Line{Text: f[1], Line: l.Line, Col: l.Col}}
		v := format.Line{Text: f[3], Line: l.Line, Col: l.Col}
		var kind fib6.ICMPKind
		switch {
		case f[0] == "pmtu" && f[2] == "mtu":
			kind, sp.MTU = fib6.PacketTooBig, v
		case f[0] == "redirect" && f[2] == "target":
			kind, sp.Target = fib6.Redirect, v
		default:
			return bad
		}
		m, err := c.icmpSpec(sp, kind, l.Pos())
		if err != nil {
			return err
		}
		cfg.ICMP = append(cfg.ICMP, m)
	}
	return nil
}

// decodeExc reads this file's property kinds: the scalars
// no-cache-in-dump (a legacy dump) and entries-with-route, and the
// mappings {no-cache-in-dump: legacy|strict|cloned} and
// {mtu-follows-path: ADDR}. It reports whether n is one of them.
func (p *Prop) decodeExc(d *format.Decoder, n *yaml.Node, at format.Pos) (bool, error) {
	switch {
	case n.Kind == yaml.ScalarNode && (n.Value == "no-cache-in-dump" || n.Value == "entries-with-route"):
		p.At, p.Kind = at, n.Value
		return true, nil
	case n.Kind == yaml.ScalarNode && n.Value == "mtu-follows-path":
		return true, d.Errorf(format.PosOf(n), "mtu-follows-path needs its destination: write {mtu-follows-path: ADDR}")
	case n.Kind != yaml.MappingNode || len(n.Content) < 2:
		return false, nil
	}
	key := n.Content[0].Value
	if key != "no-cache-in-dump" && key != "mtu-follows-path" {
		return false, nil
	}
	if len(n.Content) != 2 || n.Content[1].Kind != yaml.ScalarNode {
		return true, d.Errorf(at, "want {%s: VALUE} alone", key)
	}
	p.At, p.Kind = at, key
	p.Arg = format.Line{Text: n.Content[1].Value, Line: n.Content[1].Line, Col: n.Content[1].Column}
	return true, nil
}

// excProperty compiles this file's property kinds; ok is false for the
// others.
func (c *compiler) excProperty(m *fib6.Model, pr Prop) (PropSpec, explore.Property[fib6.State], bool, error) {
	var none explore.Property[fib6.State]
	switch pr.Kind {
	case "no-cache-in-dump":
		kind := exception.Legacy
		if pr.Arg.Text != "" {
			s, err := c.text(pr.Arg)
			if err != nil {
				return PropSpec{}, none, true, err
			}
			switch s {
			case "legacy":
			case "strict":
				kind = exception.Strict
			case "cloned":
				kind = exception.Cloned
			default:
				return PropSpec{}, none, true, c.sc.ErrorAt(pr.Arg, "no-cache-in-dump %q: want legacy (a daemon's dump), strict (ip -6 route show) or cloned (ip -6 route show cache)", s)
			}
		}
		prop := m.NoCacheInDump(kind)
		return PropSpec{Kind: pr.Kind, Name: prop.Name}, prop, true, nil
	case "entries-with-route":
		prop := m.EntriesWithRoute()
		return PropSpec{Kind: pr.Kind, Name: prop.Name}, prop, true, nil
	case "mtu-follows-path":
		a, err := c.ip6(pr.Arg, "mtu-follows-path")
		if err != nil {
			return PropSpec{}, none, true, err
		}
		prop, err := m.MTUFollowsPath(a)
		if err != nil {
			return PropSpec{}, none, true, c.sc.Errorf(pr.At, "mtu-follows-path: %v", err)
		}
		return PropSpec{Kind: pr.Kind, Name: prop.Name, Prefix: netip.PrefixFrom(a, 128)}, prop, true, nil
	}
	return PropSpec{}, none, false, nil
}

// usesExceptions says a file has ICMP messages or a GC run: it depends
// on the exception switches (switchesOf).
func usesExceptions(doc *Doc) bool {
	uses := len(doc.Host.ICMP) > 0
	for _, a := range doc.Actors {
		uses = uses || a.PMTU != nil || a.Redirect != nil || a.GC != nil
	}
	return uses
}

// excActorKinds names the actor kinds of this file, for messages.
var excActorKinds = fmt.Sprintf("`%s:`, `%s:` or `%s:`", "pmtu", "redirect", "gc")
