// Package visited holds the explorer's sets of visited states: 64-bit
// fingerprints by open addressing (hash compaction, as Spin's), each with
// the sleep set the state was explored with where the search keeps one,
// and an exact set of whole encodings for small scenarios.
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
