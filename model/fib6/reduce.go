package fib6

import (
	"encoding/binary"
	"math/bits"
	"slices"
	"unsafe"

	"raceroute/explore"
	"raceroute/explore/visited"
)

// The model's side of the explorer's reductions: each actor's footprint
// for the rest of its run (persistent sets), and the interchangeable
// actors (symmetry). Both are read off the prefix tree once, when the
// model is built: an agent's ops write their nodes and every node below
// them (fib6_add()/fib6_del() and the clone pruning they do); a flow
// reads the nodes covering its destination and, on clone-on-lookup
// kernels, writes its /128. A flow to a /80 no agent touches is so
// independent of every agent's op.

// initReduction computes the agents' futures (from their steps, which
// initSteps computed) and the groups of interchangeable actors.
func (m *Model) initReduction() {
	for a := range m.actors {
		ai := &m.actors[a]
		if ai.dst >= 0 || ai.kind != 0 {
			continue
		}
		ai.future = make([]uint64, len(ai.ops)+1)
		for pc := len(ai.ops) - 1; pc >= 0; pc-- {
			ai.future[pc] = ai.future[pc+1] | ai.step[pc].Footprint.Write
		}
	}
	// Actors are interchangeable when they run the same program: flows
	// with the same destination and packets, agents with the same ops.
	// Nothing in a State names an actor but its own PC, Reg, Tries and
	// Sent, so renaming them is an automorphism of the model. ICMP and GC
	// actors (exc.go) are never grouped: their messages differ in what
	// the actor does not show (mtu, target).
	same := func(a, b *actorInfo) bool {
		return a.kind == 0 && b.kind == 0 && a.dst == b.dst && a.packets == b.packets && slices.EqualFunc(a.ops, b.ops, sameOp)
	}
	grouped := make([]bool, len(m.actors))
	for a := range m.actors {
		if grouped[a] {
			continue
		}
		g := []int{a}
		for b := a + 1; b < len(m.actors); b++ {
			if !grouped[b] && same(&m.actors[a], &m.actors[b]) {
				g = append(g, b)
				grouped[b] = true
			}
		}
		if len(g) > 1 {
			m.groups = append(m.groups, g)
			var mask uint64
			for _, a := range g {
				mask |= 1 << uint(a)
				m.groupOf[a] = uint8(len(m.groups) - 1)
			}
			m.groupMask = append(m.groupMask, mask)
			m.grouped |= mask
		}
	}
	for a := range m.actors {
		if m.actors[a].kind == kindICMP {
			m.regKey[a/8] |= 0xff << (8 * uint(a%8))
		}
	}
	// An actor's seed is its group's (the first member's number) or its
	// own, above the actor bits' 32 of the local state.
	m.class = make([]uint64, len(m.actors))
	for a := range m.class {
		m.class[a] = uint64(a+1) << 32
	}
	for _, g := range m.groups {
		for _, a := range g {
			m.class[a] = uint64(g[0]+1) << 32
		}
	}
}

// Future returns what actor a can still read and write from s on: an
// agent, the nodes of its remaining ops and everything below them; an
// unfinished flow, the path to its destination (fib6_lookup()) and its
// /128 (the clone's fib6_add()).
func (m *Model) Future(s *State, a int) explore.Footprint {
	ai := &m.actors[a]
	switch ai.kind {
	case kindGC:
		// one run after every other actor, over every table (excStep)
		if s.PC[a] != 0 {
			return explore.Footprint{}
		}
		return explore.Footprint{Write: m.allNodes()}
	case kindICMP:
		// the lookup reads the path, the insert writes the /128 or the
		// matched route's exception table (excStep): any node on the path
		if s.PC[a] == 0 && s.Sent[a] > 0 {
			return explore.Footprint{}
		}
		d := &m.u.Dsts[ai.dst]
		return explore.Footprint{Read: d.Mask, Write: d.Mask | 1<<uint(d.Node)}
	}
	if ai.dst < 0 {
		pc := min(int(s.PC[a]), len(ai.ops))
		return explore.Footprint{Write: ai.future[pc]}
	}
	if s.PC[a] == 0 && int(s.Sent[a]) >= ai.packets {
		return explore.Footprint{}
	}
	d := &m.u.Dsts[ai.dst]
	f := explore.Footprint{Read: d.Mask}
	if m.p.ClonesOnLookup() {
		f.Write = 1 << uint(d.Node)
	}
	return f
}

// Futures sets out[a] to Future(s, a) for every actor a.
func (m *Model) Futures(s *State, out []explore.Footprint) {
	for a := range out {
		out[a] = m.Future(s, a)
	}
}

// allNodes is the footprint of a step that may touch every node.
func (m *Model) allNodes() uint64 { return 1<<uint(len(m.u.Nodes)) - 1 }

// sameOp reports whether two ops of agents are the same op.
func sameOp(x, y opInfo) bool {
	return x.node == y.node && x.route == y.route && x.op.Kind == y.op.Kind && x.op.Route == y.op.Route && x.op.Nexthop.Same(y.op.Nexthop)
}

// Acyclic reports that fib6's state graphs have no cycle: every step
// advances its own actor's progress, (Sent, Tries, PC) in lexicographic
// order, and writes no other actor's local state. An agent's op moves
// its PC on (Fire); a flow's lookup goes from match to allocate to insert
// (PC 0, 1, 2: lookupMatch, lookupAlloc), a failed insert starts again
// with one more try (lookupInsert: Tries, at most 3) and a packet done
// moves Sent on (at most the flow's packets); from 4.2 a lookup is one
// step that moves Sent on (lookupNoClone); an ICMP actor's message goes
// through PC 0, 1, 2 and then moves Sent on (excFire); the GC runs once
// (PC 0 to 1). TestStepsAdvanceTheirActor checks it on every transition
// of models with each kind of actor.
func (m *Model) Acyclic() bool { return true }

// Interchangeable reports whether two actors run the same program.
func (m *Model) Interchangeable() bool { return len(m.groups) > 0 }

// Canonicalize sorts the local states (PC, Reg, Tries, Sent) of each
// group of interchangeable actors, and sets perm[a] to the actor whose
// place actor a takes.
func (m *Model) Canonicalize(s *State, perm []int) {
	for a := range perm {
		perm[a] = a
	}
	// key: the local state above the actor's rank in its group, so that
	// sorting keys sorts the actors too.
	var keys [MaxActors]uint64
	for _, g := range m.groups {
		k := keys[:len(g)]
		for i, a := range g {
			k[i] = uint64(s.PC[a])<<40 | uint64(s.Reg[a])<<32 | uint64(s.Tries[a])<<24 | uint64(s.Sent[a])<<16 | uint64(i)
		}
		// insertion sort in place: a group has at most MaxActors
		// actors, where slices.Sort's general sort costs more; a group
		// already in order (the ranks make keys distinct) is left as it is
		moved := false
		for i := 1; i < len(k); i++ {
			x, j := k[i], i
			for ; j > 0 && k[j-1] > x; j-- {
				k[j] = k[j-1]
			}
			k[j] = x
			moved = moved || j != i
		}
		if !moved {
			continue
		}
		for i, a := range g {
			perm[g[k[i]&0xffff]] = a
			s.PC[a], s.Reg[a], s.Tries[a], s.Sent[a] = uint8(k[i]>>40), uint8(k[i]>>32), uint8(k[i]>>24), uint8(k[i]>>16)
		}
	}
}

// ClassFingerprint hashes s's symmetry class without sorting: the shared
// part (the table, Tables, the ICMP and nexthop parts) by its bytes, each
// actor's local state (PC, Reg, Tries, Sent) with its group's seed (its
// own when it is in none) through a 64-bit bijective mixer, and the
// actors' hashes summed, so that the sum is one of the multiset of local
// states of each group: a renaming of interchangeable actors leaves it as
// it is. The sum's low bits are weak (bit 0 is a parity), so it goes
// through the mixer again before it is combined; two classes collide by
// chance only (a group of up to 16 twins loses at most 4 bits in the rare
// case that the hashes of two multisets differ by a multiple of 2^60).
func (m *Model) ClassFingerprint(s *State) uint64 {
	fp, _ := m.ClassParts(s)
	return fp
}

// ClassParts returns s's class fingerprint and its two parts: the hash
// of the shared part, and the sum over the actors (with Tables', when
// the shared part is the table alone).
func (m *Model) ClassParts(s *State) (uint64, explore.ClassParts) {
	h := m.sharedHash(s)
	var sum uint64
	for a, c := range m.class {
		sum += mix64(c | localWord(s, a))
	}
	if !m.hashesRest() {
		sum += tablesTerm(s.Tables)
	}
	return classFP(h, sum), explore.ClassParts{h, sum}
}

// ChildClass returns what ClassParts returns for child, from its parent
// and the parent's parts: the shared hash again only where the shared
// bytes changed, and the sum updated for the actors whose local state
// changed (a step changes its own actor's, mostly).
func (m *Model) ChildClass(parent *State, pp *explore.ClassParts, child *State) (uint64, explore.ClassParts) {
	h, sum := pp[0], pp[1]
	pb, cb := stateBytes(parent), stateBytes(child)
	n := len(m.u.Nodes) * MaxSlots
	rest := unsafe.Offsetof(parent.Tables)
	if string(pb[:n]) != string(cb[:n]) || (m.hashesRest() && string(pb[rest:]) != string(cb[rest:])) {
		h = m.sharedHash(child)
	}
	// the actors' local states, 8 actors to a word of each array: the
	// bytes that differ name the actors whose term changes
	le := binary.LittleEndian
	for w := 0; w*8 < len(m.class); w++ {
		o := w * 8
		// (^ and | bind alike in Go: each xor in parentheses)
		d := (le.Uint64(parent.PC[o:]) ^ le.Uint64(child.PC[o:])) |
			(le.Uint64(parent.Reg[o:]) ^ le.Uint64(child.Reg[o:])) |
			(le.Uint64(parent.Tries[o:]) ^ le.Uint64(child.Tries[o:])) |
			(le.Uint64(parent.Sent[o:]) ^ le.Uint64(child.Sent[o:]))
		for d != 0 {
			a := o + bits.TrailingZeros64(d)/8
			d &^= 0xff << (8 * uint(a-o))
			if a < len(m.class) {
				c := m.class[a]
				sum += mix64(c|localWord(child, a)) - mix64(c|localWord(parent, a))
			}
		}
	}
	if !m.hashesRest() && parent.Tables != child.Tables {
		sum += tablesTerm(child.Tables) - tablesTerm(parent.Tables)
	}
	return classFP(h, sum), explore.ClassParts{h, sum}
}

// hashesRest reports whether the shared part's hash covers the State
// after the per-actor arrays (the ICMP and nexthop parts, and Tables).
func (m *Model) hashesRest() bool { return m.x != nil || len(m.nh.ids) > 0 }

// sharedHash is the hash of the table and, with hashesRest, of the rest
// of State after the per-actor arrays: what is unused there stays as
// Init left it, so hashing it all tells the same states apart as Encode
// does.
func (m *Model) sharedHash(s *State) uint64 {
	b := stateBytes(s)
	h := visited.Fingerprint(b[:len(m.u.Nodes)*MaxSlots])
	if m.hashesRest() {
		h ^= mix64(visited.Fingerprint(b[unsafe.Offsetof(s.Tables):]))
	}
	return h
}

// localWord is actor a's local state as one word.
func localWord(s *State, a int) uint64 {
	return uint64(s.PC[a]) | uint64(s.Reg[a])<<8 | uint64(s.Tries[a])<<16 | uint64(s.Sent[a])<<24
}

// tablesTerm is Tables' term of the actors' sum (it is no actor's: its
// seed, bit 40, is above every actor's).
func tablesTerm(t uint8) uint64 { return mix64(uint64(t) | 1<<40) }

// classFP combines the parts into the fingerprint, never 0.
func classFP(h, sum uint64) uint64 {
	fp := mix64(h + mix64(sum))
	if fp == 0 {
		fp = 1
	}
	return fp
}

// mix64 is SplitMix64's finalizer: a bijection of 64-bit words that
// spreads every input bit over the output.
func mix64(z uint64) uint64 {
	z = (z ^ z>>30) * 0xbf58476d1ce4e5b9
	z = (z ^ z>>27) * 0x94d049bb133111eb
	return z ^ z>>31
}

// Ranks sets perm as Canonicalize(s, perm) would for the actors of every
// group with a member in set, without changing s, and leaves the other
// entries as they are: within a group, the actor at rank r of the sorted
// local states (ties by the actors' order) takes the name of the group's
// r-th member. It returns the actors it renames (perm[a] != a).
func (m *Model) Ranks(s *State, set uint64, perm []int) (moved uint64) {
	if set&m.grouped == 0 {
		return 0
	}
	var keys [MaxActors]uint64
	for rest := set & m.grouped; rest != 0; {
		gi := m.groupOf[bits.TrailingZeros64(rest)]
		rest &^= m.groupMask[gi]
		g := m.groups[gi]
		// the local states above the members' places in the group,
		// sorted by insertion (a group is small): the member at place r
		// of the sorted keys takes the name of the group's r-th member
		k := keys[:len(g)]
		for i, a := range g {
			// PC first, as Canonicalize orders them
			x := uint64(s.PC[a])<<32 | uint64(s.Reg[a])<<24 | uint64(s.Tries[a])<<16 | uint64(s.Sent[a])<<8 | uint64(i)
			j := i
			for ; j > 0 && k[j-1] > x; j-- {
				k[j] = k[j-1]
			}
			k[j] = x
		}
		for r, x := range k {
			perm[g[x&0xff]] = g[r]
			if int(x&0xff) != r {
				moved |= 1 << uint(g[r])
			}
		}
	}
	return moved
}

// Twins returns the actors of set with a lower-numbered interchangeable
// actor of set in the same local state.
func (m *Model) Twins(s *State, set uint64) uint64 {
	var tw uint64
	var local [MaxActors]uint64
	for rest := set & m.grouped; rest != 0; {
		gi := m.groupOf[bits.TrailingZeros64(rest)]
		rest &^= m.groupMask[gi]
		g := m.groups[gi]
		if bits.OnesCount64(set&m.groupMask[gi]) < 2 {
			continue
		}
		for i, a := range g {
			if set&(1<<uint(a)) == 0 {
				continue
			}
			local[i] = localWord(s, a)
			for j, b := range g[:i] {
				if set&(1<<uint(b)) != 0 && local[j] == local[i] {
					tw |= 1 << uint(a)
					break
				}
			}
		}
	}
	return tw
}

var (
	_ explore.Reducer[State]      = (*Model)(nil)
	_ explore.Symmetric[State]    = (*Model)(nil)
	_ explore.ClassHasher[State]  = (*Model)(nil)
	_ explore.Futures[State]      = (*Model)(nil)
	_ explore.FutureKeyer[State]  = (*Model)(nil)
	_ explore.ClassStepper[State] = (*Model)(nil)
)

// FutureKey appends the actors' PC and Sent, and the ICMP actors' Reg
// (regKey): with the model's static tables (each actor's ops,
// destination and packets) they decide Future (an agent's by its PC, a
// flow's and an ICMP actor's by PC and Sent, the GC's by its PC) and
// each pending step's footprint (Pending and excPending: PC and, for an
// ICMP insert into an exception table, the route held in Reg).
func (m *Model) FutureKey(s *State, buf []uint64) []uint64 {
	le := binary.LittleEndian
	return append(buf,
		le.Uint64(s.PC[0:]), le.Uint64(s.PC[8:]),
		le.Uint64(s.Reg[0:])&m.regKey[0], le.Uint64(s.Reg[8:])&m.regKey[1],
		le.Uint64(s.Sent[0:]), le.Uint64(s.Sent[8:]))
}
