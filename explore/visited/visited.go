// Package visited holds the explorer's sets of visited states: 64-bit
// fingerprints by open addressing (hash compaction, as Spin's), each with
// the sleep set the state was explored with, and an exact set of whole
// encodings for small scenarios.
package visited

import (
	"encoding/binary"
	"math/bits"
)

// Fingerprint is a fast, deterministic 64-bit hash of a canonical state
// encoding (a wyhash-style multiply-fold). Deterministic so that runs
// are reproducible across processes.
func Fingerprint(b []byte) uint64 {
	const p0, p1, p2 = 0xa0761d6478bd642f, 0xe7037ed1a0b428db, 0x8ebc6af09c88c6e3
	h := uint64(len(b)) ^ p0
	for len(b) >= 16 {
		a := binary.LittleEndian.Uint64(b) ^ p1
		c := binary.LittleEndian.Uint64(b[8:]) ^ h
		h = mix(a, c)
		b = b[16:]
	}
	if len(b) >= 8 {
		h = mix(binary.LittleEndian.Uint64(b)^p1, h^p2)
		b = b[8:]
	}
	var tail uint64
	for i, c := range b {
		tail |= uint64(c) << (8 * i)
	}
	h = mix(tail^p2, h^p1)
	return mix(h^p0, uint64(len(b))^p2)
}

func mix(a, b uint64) uint64 {
	hi, lo := bits.Mul64(a, b)
	return hi ^ lo
}

// Set stores 64-bit fingerprints by open addressing, each with the
// sleep set the state was explored with (Godefroid's sleep sets with
// state caching). A slot is 16 bytes, key and sleep set side by side so
// that a probe touches one cache line; the table grows at 3/4 full.
type Set struct {
	slots []vslot
	n     int
	mask  uint64
}

type vslot struct {
	key, sleep uint64
}

// New returns an empty set.
func New() *Set {
	const initial = 1 << 12
	return &Set{slots: make([]vslot, initial), mask: initial - 1}
}

// LookupOrInsert returns the stored sleep set of fp and true, or stores
// sleep for fp and returns false. A stored sleep set is replaced by its
// intersection with sleep.
func (v *Set) LookupOrInsert(fp, sleep uint64) (stored uint64, found bool) {
	if fp == 0 {
		fp = 1 // 0 marks an empty slot
	}
	i := fp & v.mask
	for {
		sl := &v.slots[i]
		if sl.key == fp {
			stored = sl.sleep
			sl.sleep = stored & sleep
			return stored, true
		}
		if sl.key == 0 {
			sl.key, sl.sleep = fp, sleep
			v.n++
			if uint64(v.n)*4 > uint64(len(v.slots))*3 {
				v.grow()
			}
			return 0, false
		}
		i = (i + 1) & v.mask
	}
}

// Contains reports whether fp is stored, storing nothing.
func (v *Set) Contains(fp uint64) bool {
	if fp == 0 {
		fp = 1
	}
	for i := fp & v.mask; ; i = (i + 1) & v.mask {
		switch v.slots[i].key {
		case fp:
			return true
		case 0:
			return false
		}
	}
}

func (v *Set) grow() {
	old := v.slots
	v.slots = make([]vslot, len(old)*2)
	v.mask = uint64(len(v.slots) - 1)
	for _, sl := range old {
		if sl.key == 0 {
			continue
		}
		i := sl.key & v.mask
		for v.slots[i].key != 0 {
			i = (i + 1) & v.mask
		}
		v.slots[i] = sl
	}
}

// Bytes is the memory the table holds.
func (v *Set) Bytes() int { return len(v.slots) * 16 }

// Len is the number of states stored.
func (v *Set) Len() int { return v.n }

// Exact is the exact counterpart of Set, keyed by whole encodings.
type Exact struct {
	m     map[string]uint64
	bytes int
}

// NewExact returns an empty exact set.
func NewExact() *Exact { return &Exact{m: make(map[string]uint64)} }

// Bytes estimates the memory the set holds.
func (e *Exact) Bytes() int { return e.bytes }

// Contains reports whether enc is stored, storing nothing.
func (e *Exact) Contains(enc []byte) bool {
	_, ok := e.m[string(enc)]
	return ok
}

// LookupOrInsert is Set.LookupOrInsert for a whole encoding.
func (e *Exact) LookupOrInsert(enc []byte, sleep uint64) (uint64, bool) {
	if s, ok := e.m[string(enc)]; ok {
		e.m[string(enc)] = s & sleep
		return s, true
	}
	e.m[string(enc)] = sleep
	e.bytes += len(enc) + 8 + 48 // key, value, map overhead estimate
	return 0, false
}
