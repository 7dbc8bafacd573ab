package explore

import "slices"

// persistMemo remembers the persistent sets of recent states by their
// FutureKeyer key and enabled actors, which determine the closure that
// persistent computes (the enabled steps' footprints and every actor's
// future). A direct-mapped table of memoSlots entries, each keyed by the
// whole key, compared word for word: a hit is the set the computation
// would give, never a guess.
type persistMemo struct {
	key   []uint64 // the key being looked up (scratch)
	words []uint64 // the entries' keys, stride per
	hash  []uint64 // each entry's hash (0: empty)
	best  []uint64
	per   int // every entry's key length in words (0: none kept yet)
	// hits and misses count lookups, for tests.
	hits, misses int64
}

// memoSlots is the memo's size: a power of two.
const memoSlots = 1 << 13

// memoSlot is where a lookup's key belongs, and its set on a hit.
type memoSlot struct {
	i    int
	h    uint64
	ok   bool
	best uint64
}

func newPersistMemo() *persistMemo {
	return &persistMemo{hash: make([]uint64, memoSlots), best: make([]uint64, memoSlots)}
}

// lookup finds the entry of k: a state's enabled actors, then its
// FutureKey.
func (p *persistMemo) lookup(k []uint64) memoSlot {
	p.key = k
	h := memoHash(k)
	i := int(h>>32) & (memoSlots - 1)
	s := memoSlot{i: i, h: h}
	if p.hash[i] == h && len(k) == p.per && slices.Equal(p.words[i*p.per:(i+1)*p.per], k) {
		s.ok, s.best = true, p.best[i]
		p.hits++
		return s
	}
	p.misses++
	return s
}

// keep stores best as the set of the key last looked up, at s.
func (p *persistMemo) keep(s memoSlot, best uint64) {
	if p.per == 0 {
		// the first key sets the stride: a model's keys have one length
		p.per = len(p.key)
		p.words = make([]uint64, memoSlots*p.per)
	}
	if len(p.key) != p.per {
		return
	}
	copy(p.words[s.i*p.per:], p.key)
	p.hash[s.i], p.best[s.i] = s.h, best
}

// memoHash hashes a memo key: pairs of words multiplied after a
// position's constant (NH, as in UMAC), summed, so that the products do
// not wait for each other, then mixed. Never 0 (0 marks an empty entry).
// Collisions cost a miss, never a wrong set: keys are compared whole.
func memoHash(k []uint64) uint64 {
	h := uint64(len(k))
	i := 0
	for ; i+1 < len(k); i += 2 {
		h += (k[i] + 0x9e3779b97f4a7c15*uint64(i+1)) * (k[i+1] + 0xc2b2ae3d27d4eb4f*uint64(i+2))
	}
	if i < len(k) {
		h += (k[i] + 0x9e3779b97f4a7c15*uint64(i+1)) * 0x165667b19e3779f9
	}
	h = (h ^ h>>30) * 0xbf58476d1ce4e5b9
	h = (h ^ h>>27) * 0x94d049bb133111eb
	return (h ^ h>>31) | 1
}
