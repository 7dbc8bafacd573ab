package fib6

import (
	"fmt"
	"net/netip"
	"strings"

	"raceroute/explore"
	"raceroute/model/fib6/exception"
)

// dumped lists the route-cache entries a route dump of kind d lists in s:
// RTF_CACHE routes of the tree, or the exceptions of the routes in the
// FIB when the kernel dumps them (exception.InDump).
func (m *Model) dumped(s *State, d exception.Dump) []uint8 {
	var out []uint8
	if m.treeCache {
		return m.clones(s)
	}
	if ok, _ := exception.InDump(m.p, d); !ok || m.x == nil {
		return nil
	}
	for k := range m.x.pairs {
		if e := s.X.Live[k]; e != 0 {
			out = append(out, e)
		}
	}
	return out
}

func (m *Model) quoteAll(ids []uint8) string {
	parts := make([]string, len(ids))
	for i, id := range ids {
		parts[i] = "`" + m.RouteText(id) + "`"
	}
	return strings.Join(parts, ", ")
}

// NoCacheInDump is the invariant "a route dump of kind d lists no
// route-cache entry": a daemon that exports the kernel's table from such
// a dump, without testing RTM_F_CLONED, would announce each as a /128
// route.
func (m *Model) NoCacheInDump(d exception.Dump) explore.Property[State] {
	return explore.Property[State]{
		Name:  "no-cache-in-dump",
		Kind:  explore.Invariant,
		Holds: func(s *State) bool { return len(m.dumped(s, d)) == 0 },
		Explain: func(s *State) string {
			got := m.dumped(s, d)
			_, why := exception.InDump(m.p, d)
			if len(got) == 0 {
				return fmt.Sprintf("a %s lists no route-cache entry at any step (%s)", d, why)
			}
			return fmt.Sprintf("a %s here lists %s as routes (%s): a daemon that exports the table from it without testing RTM_F_CLONED announces each as a /128 route", d, m.quoteAll(got), why)
		},
	}
}

// outlived lists the ICMP entries left without the route they were made
// from: in the tree, an entry whose route is no longer in the FIB (by its
// text: a route deleted and added again is the same route); in the
// exception tables, an entry left with an unlinked route.
func (m *Model) outlived(s *State) (tree []uint8, orphans []uint8) {
	if m.x == nil {
		return nil, nil
	}
	if m.x.home == exception.InTree {
		for _, c := range m.clones(s) {
			ci := &m.routes[c]
			if ci.icmp != 0 && !m.inFIB(s, ci.parent) {
				tree = append(tree, c)
			}
		}
		return tree, nil
	}
	for k, p := range m.x.pairs {
		if s.X.Orphan&(1<<uint(k)) != 0 {
			for _, key := range m.x.keys {
				if key.parent == p.parent && key.dst == p.dst {
					orphans = append(orphans, key.id)
					break
				}
			}
		}
	}
	return nil, orphans
}

// inFIB reports whether route id is in the FIB in s.
func (m *Model) inFIB(s *State, id uint8) bool {
	for _, o := range s.Slots[m.routes[id].node] {
		if o == id {
			return true
		}
	}
	return false
}

// EntriesWithRoute is the final property "no PMTU or redirect entry
// outlives the route it was made from".
func (m *Model) EntriesWithRoute() explore.Property[State] {
	return explore.Property[State]{
		Name: "entries-with-route",
		Kind: explore.Final,
		Holds: func(s *State) bool {
			t, o := m.outlived(s)
			return len(t) == 0 && len(o) == 0
		},
		Explain: func(s *State) string {
			t, o := m.outlived(s)
			var out []string
			for _, c := range t {
				out = append(out, fmt.Sprintf("`%s` is still a route of the tree, made from `%s`, which is gone: packets to %s use it until it expires or the GC ages it", m.RouteText(c), m.RouteText(m.routes[c].parent), m.u.Dsts[m.routes[c].dst].Addr))
			}
			for _, c := range o {
				out = append(out, fmt.Sprintf("`%s` was left in the exception table of `%s`, a route no longer in the FIB: no lookup, dump or GC reaches it, and its dst holds a reference to that route (ip6_rt_cache_alloc) and to the device until the route itself goes", m.RouteText(c), m.RouteText(m.routes[c].parent)))
			}
			if len(out) == 0 {
				return "every PMTU and redirect entry left belongs to a route in the FIB"
			}
			return strings.Join(out, "\n")
		},
	}
}

// MTUFollowsPath is the final property "a packet to dst gets a lowered
// MTU only from the route that covers it now": the PMTU entry a lookup for
// dst uses was made from that route.
func (m *Model) MTUFollowsPath(dst netip.Addr) (explore.Property[State], error) {
	d := m.dstOf(dst)
	if d < 0 {
		return explore.Property[State]{}, fmt.Errorf("%s is no destination of a flow or an ICMP message in this scenario", dst)
	}
	bad := func(s *State) (uint8, uint8) {
		e := m.excLookup(s, d)
		if e == 0 || m.routes[e].mtu == 0 {
			return 0, 0
		}
		cover := m.covering(s, d)
		if m.routes[e].parent == cover {
			return 0, cover
		}
		return e, cover
	}
	return explore.Property[State]{
		Name:  "mtu-follows-path",
		Kind:  explore.Final,
		Holds: func(s *State) bool { e, _ := bad(s); return e == 0 },
		Explain: func(s *State) string {
			e, cover := bad(s)
			if e == 0 {
				if u := m.excLookup(s, d); u != 0 && m.routes[u].mtu != 0 {
					return fmt.Sprintf("packets to %s use `%s`, learned on the route that covers it", dst, m.RouteText(u))
				}
				return fmt.Sprintf("packets to %s use no lowered MTU at the end", dst)
			}
			now := "no route"
			if cover != 0 {
				now = "`" + m.RouteText(cover) + "`"
			}
			return fmt.Sprintf("packets to %s still use `%s`, learned on `%s`, though the table routes it by %s: the lowered MTU (and the old next hop) stay until mtu_expires passes (RTF_EXPIRES: traffic does not keep it alive, nor does it end it sooner)", dst, m.RouteText(e), m.RouteText(m.routes[e].parent), now)
		},
	}, nil
}
