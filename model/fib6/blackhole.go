package fib6

import (
	"fmt"
	"net/netip"

	"raceroute/explore"
)

// NoBlackhole is the invariant "every packet to dst finds a usable route
// at every instant": in every state the explorer reaches, not only at
// quiescence, the route a lookup for dst would use now (fib6_lookup()
// with backtracking and rt6_select(), the route-cache entry first where
// the kernel clones: match) exists and forwards: not ip6_null_entry, not
// a reject route or a clone of one, not a blackhole nexthop. A delete
// then add of dst's route opens a window where it does not, on kernels
// that no longer clone as on those that do; a replace closes it.
func (m *Model) NoBlackhole(dst netip.Addr) (explore.Property[State], error) {
	if !dst.Is6() || dst.Is4In6() {
		return explore.Property[State]{}, fmt.Errorf("%s is not an IPv6 address", dst)
	}
	// The nodes covering dst, deepest first (fib6_node_lookup() then
	// backtracking up the tree).
	var path []int
	for bits := 128; bits >= 0; bits-- {
		for n, ni := range m.u.Nodes {
			if ni.Table == MainTable && ni.Prefix.Bits() == bits && ni.Prefix.Contains(dst) {
				path = append(path, n)
			}
		}
	}
	if len(path) == 0 {
		return explore.Property[State]{}, fmt.Errorf("no route of the scenario, initial or written by an actor, covers %s", dst)
	}
	match := func(s *State) uint8 {
		for _, n := range path {
			if id := s.Slots[n][0]; id != 0 {
				return id
			}
		}
		return 0
	}
	usable := func(s *State) bool {
		id := match(s)
		if id == 0 || m.routes[id].err != 0 {
			return false
		}
		if m.routes[id].r.NHID == 0 {
			return true
		}
		drop, _ := m.resolve(s, id)
		return !drop
	}
	return explore.Property[State]{
		Name:  "no-blackhole",
		Kind:  explore.Invariant,
		Holds: usable,
		Explain: func(s *State) string {
			id := match(s)
			_, verdict := m.resolve(s, id)
			if usable(s) {
				return fmt.Sprintf("every packet to %s finds a usable route at every instant: here `%s`, %s", dst, m.RouteText(id), verdict)
			}
			if id == 0 {
				return fmt.Sprintf("at this instant a packet to %s finds no route at all and is %s: the blackhole window between the changes", dst, verdict)
			}
			return fmt.Sprintf("at this instant a packet to %s matches `%s` and is %s: the blackhole window between the changes", dst, m.RouteText(id), verdict)
		},
	}, nil
}

// routedAt reports whether node n holds a route that is not a clone.
func (m *Model) routedAt(s *State, n int) bool {
	for _, id := range s.Slots[n] {
		if id != 0 && !m.routes[id].isCache() {
			return true
		}
	}
	return false
}
