package fib6

import (
	"cmp"
	"fmt"
	"math/bits"
	"slices"
	"strings"

	"raceroute/kernel"
	"raceroute/model/fib6/nexthop"
	"raceroute/profile"
	"raceroute/trace"
)

// This file is the model of nexthop objects (net/ipv4/nexthop.c, read at
// 5.4.0 and 6.12.0; IPv6 routes that use one through RTA_NH_ID,
// net/ipv6/route.c): objects with one next hop or a group of others, the
// routes pointing at them, a replace of an object that moves all its
// routes in one step, and a delete that takes its routes and its place in
// groups with it.

// MaxNexthops is the most nexthop objects one model holds.
const MaxNexthops = 8

// nhTable is the model's static knowledge of nexthop objects: the ids
// the run can ever see (slot i of State.NH is ids[i]) and every definition
// any of them can ever hold (defs[0] unused).
type nhTable struct {
	ids     []uint32
	defs    []nexthop.Nexthop
	defSlot []int   // defs[i] is a definition of object ids[defSlot[i]]
	initial []uint8 // the definitions made before the routes, in order
}

// isNexthop reports whether k changes a nexthop object.
func (k OpKind) isNexthop() bool { return k >= OpNexthopAdd && k <= OpNexthopDel }

// usesNexthops reports whether cfg needs nexthop objects.
func usesNexthops(cfg Config) bool {
	if len(cfg.Nexthops) > 0 {
		return true
	}
	for _, r := range cfg.Routes {
		if r.NHID != 0 {
			return true
		}
	}
	for _, a := range cfg.Actors {
		for _, op := range a.Ops {
			if op.Kind.isNexthop() || op.Route.NHID != 0 {
				return true
			}
		}
	}
	return false
}

// build interns cfg's nexthop objects, or refuses them on a kernel that
// has none.
func (t *nhTable) build(p profile.Profile, cfg Config) error {
	if !usesNexthops(cfg) {
		return nil
	}
	if !p.NexthopObjects {
		return fmt.Errorf("nexthop objects (nexthops:, nhid, nexthop ops) need a kernel that has them: Linux 5.3 and later (nexthop-objects=yes; ab84be7e54fc \"net: Initial nexthop code\", f88d8ea67fbd for IPv6 routes); kernel profile %s has nexthop-objects=no, where RTM_NEWNEXTHOP has no handler (-EOPNOTSUPP) and RTA_NH_ID is not an attribute", p.ID())
	}
	t.defs = make([]nexthop.Nexthop, 1)
	t.defSlot = make([]int, 1)
	slot := func(id uint32) (int, error) {
		for i, x := range t.ids {
			if x == id {
				return i, nil
			}
		}
		if len(t.ids) >= MaxNexthops {
			return 0, fmt.Errorf("more than %d nexthop ids: the model holds at most %d", MaxNexthops, MaxNexthops)
		}
		t.ids = append(t.ids, id)
		return len(t.ids) - 1, nil
	}
	intern := func(n nexthop.Nexthop) (uint8, error) {
		sl, err := slot(n.ID)
		if err != nil {
			return 0, err
		}
		for _, g := range n.Group {
			if _, err := slot(g); err != nil {
				return 0, err
			}
		}
		for i := 1; i < len(t.defs); i++ {
			if t.defs[i].Same(n) {
				return uint8(i), nil
			}
		}
		t.defs = append(t.defs, n)
		t.defSlot = append(t.defSlot, sl)
		return uint8(len(t.defs) - 1), nil
	}
	for _, n := range cfg.Nexthops {
		d, err := intern(n)
		if err != nil {
			return fmt.Errorf("nexthop %s: %w", n, err)
		}
		t.initial = append(t.initial, d)
	}
	for ai := range cfg.Actors {
		for oi := range cfg.Actors[ai].Ops {
			op := &cfg.Actors[ai].Ops[oi]
			var err error
			switch op.Kind {
			case OpNexthopAdd, OpNexthopReplace:
				_, err = intern(op.Nexthop)
			case OpNexthopDel:
				_, err = slot(op.Nexthop.ID)
			default:
				if op.Route.NHID != 0 {
					_, err = slot(op.Route.NHID)
				}
			}
			if err != nil {
				return fmt.Errorf("actor %s: %s: %w", cfg.Actors[ai].Name, op, err)
			}
		}
	}
	for _, r := range cfg.Routes {
		if r.NHID != 0 {
			if _, err := slot(r.NHID); err != nil {
				return fmt.Errorf("route %s: %w", r, err)
			}
		}
	}
	return nil
}

// slotOf returns object id's slot, or -1.
func (t *nhTable) slotOf(id uint32) int {
	for i, x := range t.ids {
		if x == id {
			return i
		}
	}
	return -1
}

// exists reports whether object id exists in s (nexthop_find_by_id()).
func (t *nhTable) exists(s *State, id uint32) bool {
	sl := t.slotOf(id)
	return sl >= 0 && s.NH[sl] != 0
}

// def returns the definition d.
func (t *nhTable) def(d uint8) *nexthop.Nexthop { return &t.defs[d] }

// members returns the bit set of the slots of group definition d.
func (t *nhTable) members(d uint8) uint8 {
	var m uint8
	for _, g := range t.defs[d].Group {
		m |= 1 << uint(t.slotOf(g))
	}
	return m
}

// add puts definition d in place (newNexthop decides whether it may).
func (t *nhTable) add(s *State, d uint8) {
	sl := t.defSlot[d]
	s.NH[sl] = d
	s.NHLive[sl] = 0
	if t.defs[d].IsGroup() {
		s.NHLive[sl] = t.members(d)
	}
}

// nhWhy is what rtm_new_nexthop() / rtm_del_nexthop() decided.
type nhWhy struct {
	err     kernel.Errno
	ext     string  // the extended ACK text, when refused
	routes  []uint8 // routes deleted with the object (or moved by a replace)
	groups  []uint32
	removed []uint32 // groups removed because their last member went
}

// newNexthop mirrors rtm_new_nexthop() -> nexthop_add() -> insert_nexthop()
// (6.12): an existing id is -EEXIST without NLM_F_REPLACE; with it,
// replace_nexthop() swaps the definition in place, so every route and
// group using the object uses the new one from the same instant
// (__nexthop_replace_notify() then notifies the routes). A group's
// members must exist and not be groups (nh_check_attr_group(),
// nexthop_create_group()); a group and a single nexthop can not replace
// each other (replace_nexthop_grp(), replace_nexthop_single()).
func (m *Model) newNexthop(s *State, d uint8, replace bool) nhWhy {
	t := &m.nh
	n := t.def(d)
	sl := t.defSlot[d]
	old := s.NH[sl]
	var w nhWhy
	refuse := func(err kernel.Errno, ext string) nhWhy { return nhWhy{err: err, ext: ext} }
	switch {
	case old != 0 && !replace:
		return refuse(kernel.EEXIST, "") // insert_nexthop(): rc = -EEXIST
	case old != 0 && t.def(old).IsGroup() && !n.IsGroup():
		return refuse(kernel.EINVAL, "Can not replace a nexthop group with a nexthop.")
	case old != 0 && !t.def(old).IsGroup() && n.IsGroup():
		return refuse(kernel.EINVAL, "Can not replace a nexthop with a nexthop group.")
	}
	for _, g := range n.Group {
		gs := t.slotOf(g)
		if s.NH[gs] == 0 {
			return refuse(kernel.EINVAL, fmt.Sprintf("Invalid nexthop id: %d does not exist", g))
		}
		if t.def(s.NH[gs]).IsGroup() {
			return refuse(kernel.EINVAL, "Multipath group can not be a nexthop within a group")
		}
		if t.def(s.NH[gs]).Blackhole && len(n.Group) > 1 {
			return refuse(kernel.EINVAL, "Blackhole nexthop can not be used in a group with more than 1 path")
		}
	}
	if old != 0 && n.Blackhole {
		// replace_nexthop(): a group using the object may not then hold a
		// blackhole among several paths.
		for g := range t.ids {
			if s.NH[g] != 0 && s.NHLive[g]&(1<<uint(sl)) != 0 && bits.OnesCount8(s.NHLive[g]) > 1 {
				return refuse(kernel.EINVAL, "Blackhole nexthop can not be a member of a group with more than one path")
			}
		}
	}
	t.add(s, d)
	if old != 0 {
		w.routes = m.routesUsing(s, sl)
	}
	return w
}

// delNexthop mirrors rtm_del_nexthop() -> remove_nexthop() (6.12):
// __remove_nexthop_fib() deletes every route that uses the object
// (ip6_del_rt() for each fib6_info on nh->f6i_list); a single nexthop
// then leaves every group it is in (remove_nexthop_from_groups() ->
// remove_nh_grp_entry()), and a group whose last member it was is itself
// removed ("last entry, keep it visible and remove the parent"), with its
// routes.
func (m *Model) delNexthop(s *State, id uint32) nhWhy {
	t := &m.nh
	sl := t.slotOf(id)
	if sl < 0 || s.NH[sl] == 0 {
		return nhWhy{err: kernel.ENOENT} // rtm_del_nexthop(): nexthop_find_by_id() fails
	}
	var w nhWhy
	m.removeNexthop(s, sl, &w)
	return w
}

func (m *Model) removeNexthop(s *State, sl int, w *nhWhy) {
	t := &m.nh
	w.routes = append(w.routes, m.unlinkUsing(s, sl)...)
	isGroup := t.def(s.NH[sl]).IsGroup()
	s.NH[sl], s.NHLive[sl] = 0, 0
	if isGroup {
		return
	}
	for g := range t.ids {
		if s.NH[g] == 0 || s.NHLive[g]&(1<<uint(sl)) == 0 {
			continue
		}
		if bits.OnesCount8(s.NHLive[g]) == 1 {
			w.removed = append(w.removed, t.ids[g])
			m.removeNexthop(s, g, w)
			continue
		}
		s.NHLive[g] &^= 1 << uint(sl)
		w.groups = append(w.groups, t.ids[g])
	}
}

// routesUsing lists the routes in s that use object slot sl directly
// (nh->f6i_list) or through a group holding it.
func (m *Model) routesUsing(s *State, sl int) []uint8 {
	var out []uint8
	for n := range m.u.Nodes {
		for _, id := range s.Slots[n] {
			if id != 0 && m.usesSlot(s, id, sl) {
				out = append(out, id)
			}
		}
	}
	return out
}

func (m *Model) usesSlot(s *State, id uint8, sl int) bool {
	nh := m.routes[id].r.NHID
	if nh == 0 {
		return false
	}
	rs := m.nh.slotOf(nh)
	return rs == sl || (s.NH[rs] != 0 && s.NHLive[rs]&(1<<uint(sl)) != 0)
}

// unlinkUsing deletes the routes that use object slot sl itself.
func (m *Model) unlinkUsing(s *State, sl int) []uint8 {
	var out []uint8
	for n := range m.u.Nodes {
		for i := 0; i < MaxSlots && s.Slots[n][i] != 0; {
			id := s.Slots[n][i]
			if nh := m.routes[id].r.NHID; nh != 0 && m.nh.slotOf(nh) == sl {
				out = append(out, id)
				m.unlink(s, n, id)
				continue
			}
			i++
		}
	}
	return out
}

// nexthopOp runs one nexthop op of actor a.
func (m *Model) nexthopOp(s *State, a int, op opInfo, rec trace.Recorder) kernel.Errno {
	var w nhWhy
	switch op.op.Kind {
	case OpNexthopDel:
		w = m.delNexthop(s, op.op.Nexthop.ID)
	default:
		w = m.newNexthop(s, op.route, op.op.Kind == OpNexthopReplace)
	}
	if rec != nil {
		m.describeNexthop(rec, a, s, op.op, w)
	}
	return w.err
}

// defOf finds the definition of n (build interned every op's).
func (t *nhTable) defOf(n nexthop.Nexthop) uint8 {
	d, ok := t.find(n)
	if !ok {
		panic(fmt.Sprintf("fib6: nexthop %s was not interned (New interns every op's)", n))
	}
	return d
}

func (t *nhTable) find(n nexthop.Nexthop) (uint8, bool) {
	for i := 1; i < len(t.defs); i++ {
		if t.defs[i].Same(n) {
			return uint8(i), true
		}
	}
	return 0, false
}

// execNexthop is Exec for a nexthop op: RTM_NEWNEXTHOP or RTM_DELNEXTHOP
// and the kernel's answer.
func (m *Model) execNexthop(s *State, op Op) (Answer, error) {
	if op.Kind == OpNexthopDel {
		if m.nh.slotOf(op.Nexthop.ID) < 0 {
			return Answer{}, fmt.Errorf("fib6: %s: the model was not built with this nexthop id", op)
		}
		return Answer{Err: m.delNexthop(s, op.Nexthop.ID).err}, nil
	}
	d, ok := m.nh.find(op.Nexthop)
	if !ok {
		return Answer{}, fmt.Errorf("fib6: %s: the model was not built with this nexthop", op)
	}
	w := m.newNexthop(s, d, op.Kind == OpNexthopReplace)
	return Answer{Err: w.err, Ext: w.ext}, nil
}

// resolve says where a packet using route id goes in s: for a route
// using a nexthop object, through the object's definition now (a group
// through its first member still in it: every member of a group is a
// usable path, fib6_select_path() hashes the flow over them).
func (m *Model) resolve(s *State, id uint8) (dropped bool, text string) {
	if id == 0 || m.routes[id].r.NHID == 0 {
		return m.dropped(id), m.verdict(id)
	}
	nh := m.routes[id].r.NHID
	sl := m.nh.slotOf(nh)
	d := s.NH[sl]
	n := m.nh.def(d)
	if n.IsGroup() {
		var paths []string
		holes := 0
		for j := range m.nh.ids {
			if s.NHLive[sl]&(1<<uint(j)) != 0 {
				paths = append(paths, m.nh.def(s.NH[j]).String())
				if m.nh.def(s.NH[j]).Blackhole {
					holes++
				}
			}
		}
		if holes == len(paths) {
			// A group may hold a blackhole only as its one path.
			return true, fmt.Sprintf("dropped: nexthop group %d's one path is a blackhole (%s)", nh, strings.Join(paths, "; "))
		}
		return false, fmt.Sprintf("sent over nexthop group %d (%s)", nh, strings.Join(paths, "; "))
	}
	if n.Blackhole {
		return true, fmt.Sprintf("dropped: nexthop %d is a blackhole", nh)
	}
	if n.Gateway.IsValid() {
		return false, fmt.Sprintf("sent via %s dev %s (nexthop %d)", n.Gateway, n.Dev, nh)
	}
	return false, fmt.Sprintf("sent on-link dev %s (nexthop %d)", n.Dev, nh)
}

// describeNexthop tells a nexthop op's decision w (s is the table after it).
func (m *Model) describeNexthop(rec trace.Recorder, a int, s *State, op Op, w nhWhy) {
	obj := fmt.Sprintf("nexthop %d", op.Nexthop.ID)
	if w.err != 0 {
		why := "refused " + w.err.String()
		switch {
		case w.ext != "":
			why += ": " + w.ext
		case w.err == kernel.EEXIST:
			why += ": the id exists and the request has no NLM_F_REPLACE (insert_nexthop)"
		case w.err == kernel.ENOENT:
			why += ": no such nexthop (rtm_del_nexthop)"
		}
		m.emitOn(rec, a, trace.Event{Label: trace.LabelRoute, Op: trace.OpNone, Text: op.String(), Reason: why, Object: obj, Outcome: trace.OutcomeIgnored})
		return
	}
	list := func(ids []uint8) string {
		parts := make([]string, len(ids))
		for i, id := range ids {
			parts[i] = "`" + m.RouteText(id) + "`"
		}
		return strings.Join(parts, ", ")
	}
	e := trace.Event{Label: trace.LabelRoute, Op: trace.OpAdd, Text: op.String(), Object: obj}
	switch op.Kind {
	case OpNexthopAdd:
		e.Reason = "a new nexthop object (insert_nexthop)"
	case OpNexthopReplace:
		e.Reason = "NLM_F_REPLACE: replace_nexthop() swaps the object's definition in place"
		if len(w.routes) > 0 {
			e.Reason += fmt.Sprintf("; the %d route(s) using it move at the same instant: %s (__nexthop_replace_notify)", len(w.routes), list(w.routes))
		} else {
			e.Reason += "; no route uses it"
		}
	case OpNexthopDel:
		e.Op = trace.OpDel
		e.Reason = "remove_nexthop()"
		if len(w.routes) > 0 {
			e.Reason += fmt.Sprintf(": deletes every route using it, %s (__remove_nexthop_fib)", list(w.routes))
		} else {
			e.Reason += ": no route uses it"
		}
		for _, g := range w.groups {
			e.Reason += fmt.Sprintf("; leaves group %d (remove_nh_grp_entry)", g)
		}
		for _, g := range w.removed {
			e.Reason += fmt.Sprintf("; group %d had it as its last member and is removed with its routes", g)
		}
	}
	m.emitOn(rec, a, e)
}

// Nexthops lists the nexthop objects in s, by id, each group with the
// members still in it (as `ip nexthop show` lists them).
func (m *Model) Nexthops(s *State) []nexthop.Nexthop {
	var out []nexthop.Nexthop
	for sl, id := range m.nh.ids {
		if s.NH[sl] == 0 {
			continue
		}
		n := *m.nh.def(s.NH[sl])
		if n.IsGroup() {
			n.Group = nil
			for _, g := range m.nh.def(s.NH[sl]).Group {
				if s.NHLive[sl]&(1<<uint(m.nh.slotOf(g))) != 0 {
					n.Group = append(n.Group, g)
				}
			}
		}
		n.ID = id
		out = append(out, n)
	}
	slices.SortFunc(out, func(a, b nexthop.Nexthop) int { return cmp.Compare(a.ID, b.ID) })
	return out
}
