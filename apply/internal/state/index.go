package state

import (
	"cmp"
	"encoding/binary"
	"iter"
	"slices"
)

// Index holds the routes of ours by key, as a slice sorted by key
// (compareKeys) rather than a map: a dump files its routes in that order
// already, so filing one is an append, and looking up the keys of a file
// in the same order walks the slice (Cursor) where a map of 200,000
// routes misses the cache on every insert and every lookup. Routes put
// out of order are sorted when the index is sealed; of a key put twice
// the route put last is kept, as a map would. An Index is filled by one
// goroutine (Put), sealed (Seal), then read by any number.
type Index struct {
	ents []indexEntry
	// sorted: every key put so far is above the one before it.
	sorted bool
	// resorted: a seal had to sort (tests check that a dump needs none).
	resorted bool
}

type indexEntry struct {
	k  Key
	in *Installed
}

// NewIndex returns an empty index for about n routes.
func NewIndex(n int) *Index { return &Index{ents: make([]indexEntry, 0, n), sorted: true} }

// compareKeys orders packed keys as a dump files them: the IPv4 tables
// before the IPv6 ones, table by table (inet_dump_fib(),
// inet6_dump_fib(): the tables' hash buckets in order, a bucket a table
// id below 256). An IPv4 table is dumped leaf by leaf, in the order of
// their addresses, and a leaf's routes longest prefix first, then by
// metric (fn_trie_dump_leaf(), fib_find_alias(), net/ipv4/fib_trie.c,
// 6.12). An IPv6 table is dumped in post-order, a node's routes after
// those of the nodes under it (fib6_walk_continue(),
// net/ipv6/ip6_fib.c, 6.12): of two prefixes one contains, the longer
// first, else the lower address first; a node's routes by metric
// (fib6_add_rt2node()).
func compareKeys(a, b *Key) int {
	v6 := a.meta & keyV6
	if c := cmp.Compare(v6, b.meta&keyV6); c != 0 {
		return c
	}
	if c := cmp.Compare(a.table, b.table); c != 0 {
		return c
	}
	abits, bbits := a.meta&0xff, b.meta&0xff
	ahi, alo := binary.BigEndian.Uint64(a.addr[:8]), binary.BigEndian.Uint64(a.addr[8:])
	bhi, blo := binary.BigEndian.Uint64(b.addr[:8]), binary.BigEndian.Uint64(b.addr[8:])
	if v6 == 0 || !samePrefix(ahi, alo, bhi, blo, min(abits, bbits)) {
		if c := cmp.Compare(ahi, bhi); c != 0 {
			return c
		}
		if c := cmp.Compare(alo, blo); c != 0 {
			return c
		}
	}
	if c := cmp.Compare(bbits, abits); c != 0 {
		return c
	}
	return cmp.Compare(a.metric, b.metric)
}

// samePrefix reports whether two 128-bit addresses agree in their first
// n bits.
func samePrefix(ahi, alo, bhi, blo uint64, n uint32) bool {
	switch {
	case n == 0:
		return true
	case n <= 64:
		return (ahi^bhi)>>(64-n) == 0
	case ahi != bhi:
		return false
	default:
		return (alo^blo)>>(128-n) == 0
	}
}

// Put files in at key k; the index must be sealed again before it is
// read.
func (ix *Index) Put(k Key, in *Installed) {
	if n := len(ix.ents); n > 0 && ix.sorted && compareKeys(&ix.ents[n-1].k, &k) >= 0 {
		ix.sorted = false
	}
	ix.ents = append(ix.ents, indexEntry{k, in})
}

// Seal makes the index readable: the routes sorted by key, of a key put
// twice only the one put last. It reports whether any was dropped so.
func (ix *Index) Seal() (dropped bool) {
	if ix.sorted {
		return false
	}
	ix.resorted = true
	slices.SortStableFunc(ix.ents, func(a, b indexEntry) int { return compareKeys(&a.k, &b.k) })
	out := ix.ents[:0]
	for i := range ix.ents {
		if i+1 < len(ix.ents) && ix.ents[i+1].k == ix.ents[i].k {
			dropped = true
			continue // the later one stays
		}
		out = append(out, ix.ents[i])
	}
	clear(ix.ents[len(out):])
	ix.ents, ix.sorted = out, true
	return dropped
}

// Len is the number of routes in the index (sealed); 0 for nil.
func (ix *Index) Len() int {
	if ix == nil {
		return 0
	}
	return len(ix.ents)
}

// mustBeSealed panics when the index is read with routes put out of
// order since it was sealed: a lookup would miss them.
func (ix *Index) mustBeSealed() {
	if !ix.sorted {
		panic("state: an Index read before it was sealed (State.Seal)")
	}
}

// Get returns the route at key k, nil for none (sealed).
func (ix *Index) Get(k Key) *Installed {
	i, ok := ix.search(k, 0)
	if !ok {
		return nil
	}
	return ix.ents[i].in
}

// search finds k in ents[from:] (binary search): its index, or where it
// would be.
func (ix *Index) search(k Key, from int) (int, bool) {
	ix.mustBeSealed()
	i, ok := slices.BinarySearchFunc(ix.ents[from:], k, func(e indexEntry, k Key) int { return compareKeys(&e.k, &k) })
	return from + i, ok
}

// All yields the routes of the index in key order (sealed).
func (ix *Index) All() iter.Seq[*Installed] {
	ix.mustBeSealed()
	return func(yield func(*Installed) bool) {
		for i := range ix.ents {
			if !yield(ix.ents[i].in) {
				return
			}
		}
	}
}

// A Cursor looks keys up in a sealed index, fastest when they come in
// the index's order (a file listing its routes as a dump does): each
// lookup tries the entry after the last one found first. A Cursor is for
// one goroutine; any number may read one index.
type Cursor struct {
	ix   *Index
	next int
}

// Cursor returns a cursor at the start of the index.
func (ix *Index) Cursor() Cursor { return Cursor{ix: ix} }

// Get returns the route at key k, nil for none.
func (c *Cursor) Get(k Key) *Installed {
	e := c.ix.ents
	if c.next < len(e) && e[c.next].k == k {
		c.next++
		return e[c.next-1].in
	}
	i, ok := c.ix.search(k, 0)
	c.next = i
	if !ok {
		return nil
	}
	c.next++
	return e[i].in
}
