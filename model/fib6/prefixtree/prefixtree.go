// Package prefixtree is the static universe of the IPv6 FIB model
// (model/fib6): the (table, prefix) nodes a run can ever touch and the
// destinations its lookups look up, with the tree relations between them
// computed once, so that the model's steps walk small index lists and
// bit masks instead of the kernel's radix tree (net/ipv6/ip6_fib.c: a
// node's routes, the nodes below it, a destination's covering nodes from
// the deepest up, as fib6_locate() and fib6_node_lookup() find them).
package prefixtree

import (
	"fmt"
	"math/bits"
	"net/netip"
)

// Node is a (table, prefix) that may hold routes.
type Node struct {
	Table  uint32
	Prefix netip.Prefix
	// TableBit is the node's table's bit in the model's set of tables
	// made, 0 for the tables that always exist (main and local).
	TableBit uint8
	// Desc lists the nodes strictly below this one; Between[i] is the
	// mask of the nodes strictly between this node and Desc[i]; DescMask
	// is the mask of Desc.
	Desc     []int
	Between  []uint64
	DescMask uint64
}

// Dst is a destination that lookups use.
type Dst struct {
	Addr  netip.Addr
	Table uint32
	// Path lists the nodes covering Addr, deepest first; Mask is its mask.
	Path []int
	Mask uint64
	// Node is the /128 node where its route-cache clones live.
	Node int
}

// Universe holds the nodes and destinations of one model.
type Universe struct {
	Nodes []Node
	Dsts  []Dst
	max   int
	fixed [2]uint32 // tables that always exist: no TableBit
}

// New makes an empty universe of at most max nodes (max <= 64: node
// masks are uint64), where tables always[0] and always[1] (main and
// local) need no bit.
func New(max int, always [2]uint32) *Universe {
	return &Universe{max: max, fixed: always}
}

// Node returns (creating) the node of (table, p).
func (u *Universe) Node(table uint32, p netip.Prefix) (int, error) {
	if i, ok := u.Find(table, p); ok {
		return i, nil
	}
	if len(u.Nodes) >= u.max {
		return 0, fmt.Errorf("more than %d distinct prefixes: the model holds at most %d", u.max, u.max)
	}
	n := Node{Table: table, Prefix: p}
	if table != u.fixed[0] && table != u.fixed[1] {
		for _, o := range u.Nodes {
			if o.Table == table {
				n.TableBit = o.TableBit
			}
		}
		if n.TableBit == 0 {
			used := 0
			for _, o := range u.Nodes {
				used = max(used, bits.Len8(o.TableBit))
			}
			if used >= 8 {
				return 0, fmt.Errorf("table %d: the model holds at most 8 tables besides main and local", table)
			}
			n.TableBit = 1 << used
		}
	}
	u.Nodes = append(u.Nodes, n)
	return len(u.Nodes) - 1, nil
}

// Find returns the node of (table, p), if there is one.
func (u *Universe) Find(table uint32, p netip.Prefix) (int, bool) {
	for i, n := range u.Nodes {
		if n.Table == table && n.Prefix == p {
			return i, true
		}
	}
	return 0, false
}

// Dst returns (creating) the destination a in table, with its /128 node.
func (u *Universe) Dst(table uint32, a netip.Addr) (int, error) {
	if !a.Is6() || a.Is4In6() {
		return 0, fmt.Errorf("%s is not an IPv6 address", a)
	}
	for i, d := range u.Dsts {
		if d.Table == table && d.Addr == a {
			return i, nil
		}
	}
	n, err := u.Node(table, netip.PrefixFrom(a, 128))
	if err != nil {
		return 0, err
	}
	u.Dsts = append(u.Dsts, Dst{Addr: a, Table: table, Node: n})
	return len(u.Dsts) - 1, nil
}

// Link computes the tree relations once every node is known.
func (u *Universe) Link() {
	under := func(a, b int) bool { // b strictly below a
		na, nb := u.Nodes[a], u.Nodes[b]
		return na.Table == nb.Table && nb.Prefix.Bits() > na.Prefix.Bits() && na.Prefix.Contains(nb.Prefix.Addr())
	}
	for a := range u.Nodes {
		u.Nodes[a].Desc, u.Nodes[a].Between, u.Nodes[a].DescMask = nil, nil, 0
		for b := range u.Nodes {
			if !under(a, b) {
				continue
			}
			var between uint64
			for c := range u.Nodes {
				if under(a, c) && under(c, b) {
					between |= 1 << uint(c)
				}
			}
			u.Nodes[a].Desc = append(u.Nodes[a].Desc, b)
			u.Nodes[a].Between = append(u.Nodes[a].Between, between)
			u.Nodes[a].DescMask |= 1 << uint(b)
		}
	}
	for d := range u.Dsts {
		dst := &u.Dsts[d]
		dst.Path, dst.Mask = dst.Path[:0], 0
		for bits := 128; bits >= 0; bits-- {
			for n, ni := range u.Nodes {
				if ni.Table == dst.Table && ni.Prefix.Bits() == bits && ni.Prefix.Contains(dst.Addr) {
					dst.Path = append(dst.Path, n)
					dst.Mask |= 1 << uint(n)
				}
			}
		}
	}
}
