package fib6

import (
	"fmt"
	"net/netip"
	"strings"

	"raceroute/explore"
	"raceroute/kernel"
)

// agrees reports whether clone c tells the same story as the route that
// covers its destination now: the same type, and for unicast the same
// device and gateway (a copy-on-write clone of a device route has the
// destination as its gateway).
func (m *Model) agrees(s *State, c uint8) (cover uint8, ok bool) {
	ci := &m.routes[c]
	cover = m.covering(s, ci.dst)
	if cover == 0 {
		return 0, ci.r.Type.Reject()
	}
	ri := &m.routes[cover]
	if ri.r.Type != ci.r.Type || ri.r.Dev != ci.r.Dev {
		return cover, false
	}
	if ri.r.Type.Reject() {
		return cover, true
	}
	if ri.r.Gateway.IsValid() {
		return cover, ri.r.Gateway == ci.r.Gateway
	}
	return cover, ci.r.Gateway == m.u.Dsts[ci.dst].Addr
}

// clones lists the clones in s, node by node.
func (m *Model) clones(s *State) []uint8 {
	var out []uint8
	for n := range m.u.Nodes {
		for _, id := range s.Slots[n] {
			if id != 0 && m.routes[id].isCache() {
				out = append(out, id)
			}
		}
	}
	return out
}

// ClonesAgree is the final property "no route-cache entry contradicts the
// route that covers its destination".
func (m *Model) ClonesAgree() explore.Property[State] {
	return explore.Property[State]{
		Name: "clones-agree",
		Kind: explore.Final,
		Holds: func(s *State) bool {
			for n := range m.u.Nodes {
				for _, id := range s.Slots[n] {
					if id != 0 && m.routes[id].isCache() {
						if _, ok := m.agrees(s, id); !ok {
							return false
						}
					}
				}
			}
			return true
		},
		Explain: func(s *State) string {
			cs := m.clones(s)
			var bad []string
			for _, c := range cs {
				cover, ok := m.agrees(s, c)
				if ok {
					continue
				}
				addr := m.u.Dsts[m.routes[c].dst].Addr
				covered, under := "no route covers it", "a new route"
				if cover != 0 {
					covered = fmt.Sprintf("the route that covers it is `%s`", m.RouteText(cover))
					under = "the next change of " + m.shortPrefix(m.routes[cover].node)
				}
				bad = append(bad, fmt.Sprintf(
					"the cache entry `%s` contradicts the table: %s. Every packet to %s hits the clone first (it is the /128 match) and is %s, until %s prunes it; traffic keeps it alive (each hit refreshes its lastuse, so GC never takes it)",
					m.RouteText(c), covered, addr, m.verdict(c), under))
			}
			if len(bad) == 0 {
				if len(cs) == 0 {
					return "no route-cache entries at the end"
				}
				return fmt.Sprintf("all %d route-cache entries agree with the routes covering their destinations", len(cs))
			}
			return strings.Join(bad, "\n")
		},
	}
}

// RoutesAt is the final property "exactly these routes remain at
// (table, prefix, metric)", in list order.
func (m *Model) RoutesAt(name string, table uint32, prefix netip.Prefix, metric uint32, want []Route) (explore.Property[State], error) {
	n := -1
	for i, ni := range m.u.Nodes {
		if ni.Table == table && ni.Prefix == prefix {
			n = i
		}
	}
	if n < 0 {
		return explore.Property[State]{}, fmt.Errorf("prefix %s is neither in the table nor changed by an actor", prefix)
	}
	var ids []uint8
	for _, w := range want {
		found := uint8(0)
		for id := 1; id < len(m.routes); id++ {
			if !m.routes[id].isCache() && m.routes[id].r == w {
				found = uint8(id)
			}
		}
		if found == 0 {
			return explore.Property[State]{}, fmt.Errorf("route %s never exists in this scenario", w)
		}
		ids = append(ids, found)
	}
	at := func(s *State) []uint8 {
		var out []uint8
		for _, id := range s.Slots[n] {
			if id != 0 && !m.routes[id].isCache() && m.routes[id].r.Metric == metric {
				out = append(out, id)
			}
		}
		return out
	}
	list := func(ids []uint8) string {
		if len(ids) == 0 {
			return "none"
		}
		parts := make([]string, len(ids))
		for i, id := range ids {
			parts[i] = "`" + m.RouteText(id) + "`"
		}
		return strings.Join(parts, ", ")
	}
	return explore.Property[State]{
		Name: name,
		Kind: explore.Final,
		Holds: func(s *State) bool {
			got := at(s)
			if len(got) != len(ids) {
				return false
			}
			for i := range got {
				if got[i] != ids[i] {
					return false
				}
			}
			return true
		},
		Explain: func(s *State) string {
			got := at(s)
			return fmt.Sprintf("routes left for %s metric %d: %s; wanted exactly %s", prefix, metric, list(got), list(ids))
		},
	}, nil
}

// ClonesKept is the final property "every route-cache entry under prefix
// at the start is still there at the end" (a change elsewhere must not
// disturb them).
func (m *Model) ClonesKept(prefix netip.Prefix) explore.Property[State] {
	under := func(s *State) []uint8 {
		var out []uint8
		for _, c := range m.clones(s) {
			if prefix.Contains(m.u.Dsts[m.routes[c].dst].Addr) {
				out = append(out, c)
			}
		}
		return out
	}
	initial := under(&m.init)
	missing := func(s *State) []uint8 {
		var out []uint8
		now := under(s)
		for _, c := range initial {
			found := false
			for _, x := range now {
				found = found || x == c
			}
			if !found {
				out = append(out, c)
			}
		}
		return out
	}
	return explore.Property[State]{
		Name:  "clones-kept",
		Kind:  explore.Final,
		Holds: func(s *State) bool { return len(missing(s)) == 0 },
		Explain: func(s *State) string {
			miss := missing(s)
			if len(initial) == 0 {
				return fmt.Sprintf("no route-cache entries under %s at the start (this kernel does not clone on lookup)", prefix)
			}
			if len(miss) == 0 {
				return fmt.Sprintf("the %d route-cache entries under %s survived", len(initial), prefix)
			}
			parts := make([]string, len(miss))
			for i, c := range miss {
				parts[i] = "`" + m.RouteText(c) + "`"
			}
			return fmt.Sprintf("route-cache entries under %s were removed: %s", prefix, strings.Join(parts, ", "))
		},
	}
}

// NoGap is the invariant "prefix always holds a route": at no moment of
// a change does traffic to it fall back to a covering route, or to none
// (make before break).
func (m *Model) NoGap(table uint32, prefix netip.Prefix) (explore.Property[State], error) {
	n := -1
	for i, ni := range m.u.Nodes {
		if ni.Table == table && ni.Prefix == prefix {
			n = i
		}
	}
	if n < 0 {
		return explore.Property[State]{}, fmt.Errorf("prefix %s is neither in the table nor changed by an actor", prefix)
	}
	routed := func(s *State) bool { return m.routedAt(s, n) }
	return explore.Property[State]{
		Name:  "no-gap",
		Kind:  explore.Invariant,
		Holds: routed,
		Explain: func(s *State) string {
			if routed(s) {
				return fmt.Sprintf("%s holds a route at every step", prefix)
			}
			return fmt.Sprintf("%s holds no route here: between the changes traffic to it falls to %s", prefix, m.coverText(s, n))
		},
	}, nil
}

// coverText says what a lookup under node n finds when n holds nothing.
func (m *Model) coverText(s *State, n int) string {
	best, bits := 0, -1
	for i, ni := range m.u.Nodes {
		if ni.Table == m.u.Nodes[n].Table && ni.Prefix.Bits() < m.u.Nodes[n].Prefix.Bits() && ni.Prefix.Bits() > bits && ni.Prefix.Contains(m.u.Nodes[n].Prefix.Addr()) {
			for _, id := range s.Slots[i] {
				if id != 0 && !m.routes[id].isCache() {
					best, bits = int(id), ni.Prefix.Bits()
					break
				}
			}
		}
	}
	if best == 0 {
		return "no route (ip6_null_entry, " + kernel.ENETUNREACH.String() + ")"
	}
	return "`" + m.RouteText(uint8(best)) + "`"
}
