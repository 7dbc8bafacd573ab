package fib6host

import (
	"context"
	"fmt"

	"github.com/mdlayher/netlink"
	"golang.org/x/sys/unix"

	"raceroute/live/netns"
	"raceroute/live/nl"
	"raceroute/live/nl/write"
	"raceroute/model/fib6"
	"raceroute/model/fib6/nexthop"
	"raceroute/scenario/fib6file"
)

// Nexthop objects live: the scenario's initial objects are made before
// its routes, in order, and its actors' nexthop ops are written as `ip
// nexthop` sends them (RTM_NEWNEXTHOP with NLM_F_CREATE|NLM_F_EXCL for
// add, NLM_F_CREATE|NLM_F_REPLACE for replace, RTM_DELNEXTHOP for del;
// live/nl/write). A single next hop is an AF_INET6 object, as the
// model's are (iproute2 makes a blackhole AF_INET unless told -6, which
// an IPv6 route can not use: fib6_check_nexthop()); a group is
// AF_UNSPEC, its members of weight 1 (the model reads no weights).

// isNexthopOp reports whether k changes a nexthop object.
func isNexthopOp(k fib6.OpKind) bool {
	return k == fib6.OpNexthopAdd || k == fib6.OpNexthopReplace || k == fib6.OpNexthopDel
}

// nexthopWrite is the writer operation of a nexthop op.
func nexthopWrite(k fib6.OpKind) write.Op {
	switch k {
	case fib6.OpNexthopAdd:
		return write.OpAdd
	case fib6.OpNexthopReplace:
		return write.OpReplace
	}
	return write.OpDelete
}

// nexthopDefs lists every nexthop object definition cfg makes: its
// initial objects and its actors' adds and replaces.
func nexthopDefs(cfg fib6.Config) []nexthop.Nexthop {
	out := append([]nexthop.Nexthop(nil), cfg.Nexthops...)
	for _, a := range cfg.Actors {
		for _, op := range a.Ops {
			if op.Kind == fib6.OpNexthopAdd || op.Kind == fib6.OpNexthopReplace {
				out = append(out, op.Nexthop)
			}
		}
	}
	return out
}

// usesNexthops reports whether c has nexthop objects or routes on them.
func usesNexthops(c *fib6file.Compiled) bool {
	if len(c.Config.Nexthops) > 0 {
		return true
	}
	for _, r := range c.Config.Routes {
		if r.NHID != 0 {
			return true
		}
	}
	for _, a := range c.Config.Actors {
		for _, op := range a.Ops {
			if isNexthopOp(op.Kind) || op.Route.NHID != 0 {
				return true
			}
		}
	}
	return false
}

// liveNexthop is the object the lab writes for a model one.
func (t *Topology) liveNexthop(n nexthop.Nexthop) nl.Nexthop {
	out := nl.Nexthop{ID: n.ID, Family: 6, Gateway: n.Gateway, Blackhole: n.Blackhole}
	if n.Dev != "" {
		out.Ifindex = t.Ifidx[n.Dev]
	}
	for _, g := range n.Group {
		out.Group = append(out.Group, nl.GroupMember{ID: g, Weight: 1})
	}
	return out
}

// writeNexthop applies one nexthop request on the host, through w or,
// when w is nil, a writer of its own.
func writeNexthop(ctx context.Context, t *Topology, w *write.RouteWriter, op write.Op, n nexthop.Nexthop) error {
	if w == nil {
		var err error
		if w, err = write.NewRouteWriter(nl.Options{Netns: t.Host.Name}); err != nil {
			return err
		}
		defer w.Close()
	}
	return w.Nexthop(ctx, op, t.liveNexthop(n))
}

// dumpNexthops lists ns's nexthop objects (an RTM_GETNEXTHOP dump, in
// the kernel's order: by id, rtm_dump_walk_nexthops()), in the model's
// terms, devices by name.
func dumpNexthops(ns *netns.NS, byIdx map[int]string) ([]nexthop.Nexthop, error) {
	c, err := netlink.Dial(unix.NETLINK_ROUTE, &netlink.Config{NetNS: ns.FD(), Strict: true})
	if err != nil {
		return nil, fmt.Errorf("dump nexthops in %s: %w", ns.Name, err)
	}
	defer c.Close()
	msgs, err := c.Execute(netlink.Message{Header: netlink.Header{Type: unix.RTM_GETNEXTHOP, Flags: netlink.Request | netlink.Dump}, Data: nl.NexthopDumpRequest()})
	if err != nil {
		return nil, fmt.Errorf("dump nexthops in %s: %w", ns.Name, err)
	}
	var out []nexthop.Nexthop
	for _, m := range msgs {
		if m.Header.Type != unix.RTM_NEWNEXTHOP {
			continue
		}
		n, err := nl.DecodeNexthop(m.Data)
		if err != nil {
			return nil, fmt.Errorf("dump nexthops in %s: %w", ns.Name, err)
		}
		out = append(out, modelNexthop(n, byIdx))
	}
	return out, nil
}

// modelNexthop is a live object in the model's terms.
func modelNexthop(n nl.Nexthop, byIdx map[int]string) nexthop.Nexthop {
	out := nexthop.Nexthop{ID: n.ID, Gateway: n.Gateway, Blackhole: n.Blackhole}
	if n.Ifindex != 0 {
		out.Dev = byIdx[n.Ifindex]
		if out.Dev == "" {
			out.Dev = fmt.Sprintf("if%d", n.Ifindex)
		}
	}
	for _, g := range n.Group {
		out.Group = append(out.Group, g.ID)
	}
	return out
}
