package fib6

import (
	"fmt"
	"net/netip"
	"sort"

	"raceroute/kernel"
)

// This file drives the model one netlink request at a time, outside the
// actors and the explorer: what a differential test needs to put the
// same requests to the model and to a live kernel (lab/fuzz). Every
// route and destination must be one the model was built with (an op of
// some actor, a flow's destination), as the model's state only holds
// interned routes.

// Answer is the kernel's reply to one request: 0 or a negative errno, and
// the extended ACK text the kernel attaches (NL_SET_ERR_MSG), if any.
type Answer struct {
	Err kernel.Errno
	Ext string
}

// Extended ACK texts (NL_SET_ERR_MSG), as read in 6.12: ip6_route_del()
// for a table never made (net/ipv6/route.c), and fib6_add_1() for
// NLM_F_REPLACE without NLM_F_CREATE when the tree has no node for the
// prefix (net/ipv6/ip6_fib.c). Kernels before 4.12 send no extended
// ACK at all.
const (
	extTableMissing = "FIB table does not exist"
	extNoMatch      = "Can not replace route - no match found"
)

// Exec applies op to s as one rtnetlink request (RTM_NEWROUTE with the
// flags of op's verb, or RTM_DELROUTE) and returns the kernel's answer.
// op must be an op of one of the model's actors.
func (m *Model) Exec(s *State, op Op) (Answer, error) {
	if op.Kind.isNexthop() {
		return m.execNexthop(s, op)
	}
	n, ok := m.u.Find(op.Route.Table, op.Route.Prefix)
	if !ok {
		return Answer{}, fmt.Errorf("fib6: %s: the model was not built with this prefix", op)
	}
	if op.Kind == OpDel {
		// ip6_route_del() (6.12): fib6_get_table() finds no table.
		if bit := m.u.Nodes[n].TableBit; bit != 0 && s.Tables&bit == 0 {
			return Answer{Err: kernel.ESRCH, Ext: extTableMissing}, nil
		}
		return Answer{Err: m.fib6Del(s, opInfo{op: op, node: n}, nil, -1)}, nil
	}
	id, ok := m.findRoute(op.Route)
	if !ok {
		return Answer{}, fmt.Errorf("fib6: %s: the model was not built with this route", op)
	}
	// fib6_add_1() (6.12) walks the tree to the prefix's node; without
	// NLM_F_CREATE it refuses to make one. With a node but no route to
	// replace, fib6_add_rt2node() answers -ENOENT without a text.
	ext := ""
	if op.Kind == OpChange && !m.inTree(s, n) {
		ext = extNoMatch
	}
	a := Answer{Err: m.fib6Add(s, id, op.Kind.flags(), nil, -1)}
	if a.Err == kernel.ENOENT {
		a.Ext = ext
	}
	return a, nil
}

// inTree reports whether the kernel's radix tree of node n's table has a
// node at n's prefix: one that holds routes (RTN_RTINFO), or an
// intermediate node, which exists exactly where two routed prefixes
// below first differ (fib6_add_1()'s insert_above makes it there, and
// fib6_repair_tree() removes a routeless node with fewer than two
// children).
func (m *Model) inTree(s *State, n int) bool {
	occ := m.occupied(s)
	if occ&(1<<uint(n)) != 0 {
		return true
	}
	k := m.u.Nodes[n].Prefix.Bits()
	if k == 128 {
		return false
	}
	var sides [2]bool
	for _, q := range m.u.Nodes[n].Desc {
		if occ&(1<<uint(q)) != 0 {
			a := m.u.Nodes[q].Prefix.Addr().As16()
			sides[a[k/8]>>(7-uint(k%8))&1] = true
		}
	}
	return sides[0] && sides[1]
}

// Lookup is the result of a route lookup: the route matched (for a
// clone, the clone itself) and the error a packet gets (a reject route's
// dst.error, or -ENETUNREACH of ip6_null_entry).
type Lookup struct {
	Route Route
	// Group lists the ECMP siblings of a multipath match, Route among
	// them, in list order: the kernel chooses one per flow hash
	// (fib6_select_path()), and a fib-match lookup lists them all.
	Group []Route
	Cache bool // the match is a route-cache entry (clone)
	Err   kernel.Errno
	Null  bool // no route matched: ip6_null_entry
}

// Get is an RTM_GETROUTE for dst in the main table with RTM_F_FIB_MATCH
// (`ip -6 route get fibmatch DST`): inet6_rtm_getroute() ->
// ip6_route_output() -> ip6_pol_route(); on kernels that clone on lookup
// it leaves the clone in s, as the lookup does. dst must be the
// destination of one of the model's flows.
func (m *Model) Get(s *State, dst netip.Addr) (Lookup, error) {
	d := -1
	for i := range m.u.Dsts {
		if m.u.Dsts[i].Table == MainTable && m.u.Dsts[i].Addr == dst {
			d = i
		}
	}
	if d < 0 {
		return Lookup{}, fmt.Errorf("fib6: get %s: the model was not built with this destination", dst)
	}
	m.lookupWhole(s, d)
	id := m.match(s, d)
	if id == 0 {
		// ip6_null_entry: dst.error -ENETUNREACH (net/ipv6/route.c).
		return Lookup{Null: true, Err: kernel.ENETUNREACH}, nil
	}
	ri := &m.routes[id]
	l := Lookup{Route: ri.r, Cache: ri.isCache(), Err: ri.err}
	if !l.Cache && m.hasSiblings(s, ri.node, id) {
		for _, o := range s.Slots[ri.node] {
			if o != 0 && qualifyECMP(&m.routes[o]) && m.routes[o].r.Metric == ri.r.Metric {
				l.Group = append(l.Group, m.routes[o].r)
			}
		}
	}
	return l, nil
}

// TableRoute is one route of a table listing.
type TableRoute struct {
	Route Route
	Cache bool
	Err   kernel.Errno
}

// Table lists the routes of s: by table, then prefix (address, then
// length), and at each prefix in the kernel's list order (by metric, then
// insertion), clones included.
func (m *Model) Table(s *State) []TableRoute {
	order := make([]int, len(m.u.Nodes))
	for i := range order {
		order[i] = i
	}
	sort.SliceStable(order, func(a, b int) bool {
		x, y := m.u.Nodes[order[a]], m.u.Nodes[order[b]]
		if x.Table != y.Table {
			return x.Table < y.Table
		}
		if c := x.Prefix.Addr().Compare(y.Prefix.Addr()); c != 0 {
			return c < 0
		}
		return x.Prefix.Bits() < y.Prefix.Bits()
	})
	var out []TableRoute
	for _, n := range order {
		for _, id := range s.Slots[n] {
			if id == 0 {
				break
			}
			ri := &m.routes[id]
			out = append(out, TableRoute{Route: ri.r, Cache: ri.isCache(), Err: ri.err})
		}
	}
	return out
}

func (m *Model) findRoute(r Route) (uint8, bool) {
	for id := 1; id < len(m.routes); id++ {
		if !m.routes[id].isCache() && m.routes[id].r == r {
			return uint8(id), true
		}
	}
	return 0, false
}
