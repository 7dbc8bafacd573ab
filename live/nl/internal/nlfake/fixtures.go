package nlfake

import (
	"fmt"
	"net/netip"
	"strings"

	"golang.org/x/sys/unix"

	"raceroute/kernel"
	"raceroute/trace"
)

// The constructors below build the objects of test tables as nl.Decode
// returns them from the kernel's messages (a route in table main,
// protocol static, type unicast, metric 1024), with Dev set as a dump
// or a subscription names it. They panic on a malformed literal: they
// are meant for tests, as netip's Must functions are.

// Link is an Ethernet link of that index and name (MTU 1500, MAC
// 02:00:00:00:00:index).
func Link(index int, name string, up bool) trace.Record {
	return trace.Record{Kind: trace.KindLink, Action: trace.ActionNew, Link: trace.Link{
		Index: index, Name: name, Up: up, MTU: 1500, MAC: kernel.MACFrom6([6]byte{2, 0, 0, 0, 0, byte(index)})}}
}

// Addr is an address (with its prefix length) on a device.
func Addr(prefix string, ifindex int, dev string) trace.Record {
	p := netip.MustParsePrefix(prefix)
	return trace.Record{Kind: trace.KindAddr, Action: trace.ActionNew, Addr: trace.Addr{
		Family: family(p.Addr()), Prefix: p, Ifindex: ifindex, Dev: dev}}
}

// Route is a unicast route to dst via gw on a device.
func Route(dst, gw string, ifindex int, dev string) trace.Record {
	p := netip.MustParsePrefix(dst)
	return trace.Record{Kind: trace.KindRoute, Action: trace.ActionNew, Route: trace.Route{
		Family: family(p.Addr()), Dst: p, Gateway: netip.MustParseAddr(gw), Ifindex: ifindex, Dev: dev,
		Table: unix.RT_TABLE_MAIN, Proto: kernel.Proto(unix.RTPROT_STATIC), Type: kernel.RouteUnicast, Metric: 1024}}
}

// Cache is an IPv6 route-cache entry (an exception) for dst via gw.
func Cache(dst, gw string, ifindex int, dev string) trace.Record {
	r := Route(dst, gw, ifindex, dev)
	r.Route.Cloned = true
	return r
}

// Neigh is a neighbour entry for addr on a device.
func Neigh(addr, lladdr string, state kernel.NUD, ifindex int, dev string) trace.Record {
	a := netip.MustParseAddr(addr)
	return trace.Record{Kind: trace.KindNeigh, Action: trace.ActionNew, Neigh: trace.Neigh{
		Family: family(a), Addr: a, LLAddr: kernel.MustParseMAC(lladdr), State: state, Ifindex: ifindex, Dev: dev}}
}

// Del is the deletion of r's object.
func Del(r trace.Record) trace.Record {
	r.Action = trace.ActionDel
	return r
}

// Replace is r as an NLM_F_REPLACE route change.
func Replace(r trace.Record) trace.Record {
	r.Replace = true
	return r
}

func family(a netip.Addr) int {
	if a.Is4() {
		return 4
	}
	return 6
}

// Show describes a record in one line, for comparing the records a
// subscription delivers with a test's expectations: "new route
// 10.1.0.0/24 via 10.9.0.2 dev va (replace)", "overflow", "resync lost
// 3". Ages, counters and times are left out.
func Show(r trace.Record) string {
	var s string
	switch r.Kind {
	case trace.KindOverflow:
		return "overflow"
	case trace.KindResync:
		return fmt.Sprintf("resync lost %d", r.Lost)
	case trace.KindLink:
		up := "down"
		if r.Link.Up {
			up = "up"
		}
		s = fmt.Sprintf("link %d %s %s mtu %d", r.Link.Index, r.Link.Name, up, r.Link.MTU)
	case trace.KindAddr:
		s = fmt.Sprintf("addr %s dev %s", r.Addr.Prefix, r.Addr.Dev)
	case trace.KindRoute:
		s = fmt.Sprintf("route %s via %s dev %s", r.Route.Dst, r.Route.Gateway, r.Route.Dev)
		if r.Route.Cloned {
			s += " cache"
		}
	case trace.KindNeigh:
		s = fmt.Sprintf("neigh %s lladdr %s %v dev %s", r.Neigh.Addr, r.Neigh.LLAddr, r.Neigh.State, r.Neigh.Dev)
	default:
		return fmt.Sprintf("record kind %d", r.Kind)
	}
	act := "new "
	if r.Action == trace.ActionDel {
		act = "del "
	}
	var flags []string
	for _, f := range []struct {
		on   bool
		name string
	}{{r.Initial, "initial"}, {r.Replace, "replace"}, {r.Resync, "resync"}, {r.Inferred, "inferred"}, {r.Polled, "polled"}} {
		if f.on {
			flags = append(flags, f.name)
		}
	}
	if len(flags) > 0 {
		s += " (" + strings.Join(flags, ", ") + ")"
	}
	return act + s
}
