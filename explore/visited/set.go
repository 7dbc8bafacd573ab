package visited

import (
	"runtime"
	"sync/atomic"
)

// Set stores 64-bit fingerprints by open addressing, each with the sleep
// set the state was explored with when Config.Sleep asks for it
// (Godefroid's sleep sets with state caching): a slot is 8 bytes without
// sleep sets and 16 with them, key and sleep set side by side so that a
// probe touches one cache line.
//
// The table never doubles as a whole. It is split into segments
// (extendible hashing: a directory indexed by the fingerprint's top bits);
// a segment doubles until it fills a 2 MiB huge page, then splits in two, so
// that growing costs at most two segments' worth of memory beyond the
// table (peak memory stays within a few MiB of the table's size) and each
// growth step rehashes one segment, not every state. Segments are
// anonymous mappings of their own, advised to use transparent huge pages
// where the kernel allows, and unmapped as soon as they are replaced:
// call Free when done (a cleanup frees them if a Set is dropped without).
//
// A Set made with Config.Concurrent also takes InsertConcurrent and
// Finish from many goroutines at once; it then grows only in Grow, which
// the caller runs while no goroutine inserts.
type Set struct {
	dir   []*segment
	depth uint // len(dir) == 1<<depth
	shift uint // 0: keys only; 1: key and sleep set per slot
	conc  bool
	mem   *regions
	// pending is set when a segment is over its load in a concurrent set;
	// epoch counts the Grows (Slots of an earlier epoch are stale); job is
	// the Grow under way, which HelpGrow takes segments of.
	pending atomic.Bool
	epoch   uint64
	job     atomic.Pointer[growJob]
}

// growJob is the segments one Grow doubles or splits: any goroutine that
// helps takes the next (next), rehashes it into into[i], and counts it
// done.
type growJob struct {
	old        []*segment
	into       [][2]*segment
	next, done atomic.Int64
}

type segment struct {
	w     []uint64
	mask  uint64
	local uint // the directory bits this segment is the only one for
	// n, the entries, is written by every insert of a new key: apart from
	// w and mask, which every probe reads (in a concurrent set another
	// worker's insert would otherwise take the line from under them), and
	// from the next segment's.
	_ [64]byte
	n atomic.Int64
	_ [64]byte
}

// Segment sizes: a segment starts at minSlots slots and doubles up to
// maxBytes, one transparent huge page, before it splits.
const (
	minSlots = 1 << 12
	maxBytes = hugePage
)

// maxSlots is the number of slots of a full-sized segment.
func (v *Set) maxSlots() uint64 { return maxBytes / 8 >> v.shift }

// Config says what a Set stores.
type Config struct {
	// Sleep keeps a sleep set beside each fingerprint (16-byte slots);
	// without it a slot is the 8-byte fingerprint alone.
	Sleep bool
	// Expect, when > 0, pre-sizes the table for that many states, so that
	// it need not grow on the way.
	Expect int64
	// Concurrent makes InsertConcurrent usable.
	Concurrent bool
}

// New returns an empty set with sleep sets, grown on demand.
func New() *Set { return NewSet(Config{Sleep: true}) }

// NewSet returns an empty set as cfg says.
func NewSet(cfg Config) *Set {
	v := &Set{conc: cfg.Concurrent, mem: &regions{m: map[*byte]int{}}}
	if cfg.Sleep {
		v.shift = 1
	}
	runtime.AddCleanup(v, func(r *regions) { r.freeAll() }, v.mem)
	slots := uint64(minSlots)
	for cfg.Expect > 0 && slots*3 < uint64(cfg.Expect)*4 {
		slots *= 2
	}
	for slots > v.maxSlots() {
		v.depth++
		slots /= 2
	}
	v.dir = make([]*segment, 1<<v.depth)
	for i := range v.dir {
		v.dir[i] = v.newSegment(slots, v.depth)
	}
	return v
}

func (v *Set) newSegment(slots uint64, local uint) *segment {
	return &segment{w: v.mem.alloc(int(slots << v.shift)), mask: slots - 1, local: local}
}

func (v *Set) segmentOf(fp uint64) *segment {
	return v.dir[fp>>(64-v.depth)] // a shift by 64 is 0 in Go
}

// LookupOrInsert returns the stored sleep set of fp and true, or stores
// sleep for fp and returns false. A stored sleep set is replaced by its
// intersection with sleep. Without sleep sets, the stored set is 0.
func (v *Set) LookupOrInsert(fp, sleep uint64) (stored uint64, found bool) {
	if fp == 0 {
		fp = 1 // 0 marks an empty slot
	}
	sg := v.segmentOf(fp)
	w, sh := sg.w, v.shift
	i := fp & sg.mask
	for {
		k := w[i<<sh]
		if k == fp {
			if sh == 1 {
				stored = w[i<<1+1]
				w[i<<1+1] = stored & sleep
			}
			return stored, true
		}
		if k == 0 {
			w[i<<sh] = fp
			if sh == 1 {
				w[i<<1+1] = sleep
			}
			if n := sg.n.Add(1); uint64(n)*4 > (sg.mask+1)*3 {
				v.grow(sg)
			}
			return 0, false
		}
		i = (i + 1) & sg.mask
	}
}

// Pos is where Probe found a fingerprint, or where it would go: valid for
// Place until the set next changes.
type Pos struct {
	sg *segment
	i  uint64
}

// Probe looks fp up, storing nothing: found reports whether it is stored,
// at where it is or the empty slot it would take. Probe then Place costs
// one walk of the table where Contains then LookupOrInsert cost two (not
// safe beside InsertConcurrent).
func (v *Set) Probe(fp uint64) (at Pos, found bool) {
	if fp == 0 {
		fp = 1
	}
	sg := v.segmentOf(fp)
	w, sh := sg.w, v.shift
	for i := fp & sg.mask; ; i = (i + 1) & sg.mask {
		switch w[i<<sh] {
		case fp:
			return Pos{sg, i}, true
		case 0:
			return Pos{sg, i}, false
		}
	}
}

// Prefetch starts loading the slot where fp's walk of the table begins,
// and returns at once: a Probe or LookupOrInsert of fp soon after finds it
// in the cache instead of waiting for memory (a search computes its next
// states' fingerprints, prefetches them, and probes them one by one). It
// changes nothing (not safe beside Grow).
func (v *Set) Prefetch(fp uint64) {
	if fp == 0 {
		fp = 1
	}
	sg := v.segmentOf(fp)
	prefetch(&sg.w[(fp&sg.mask)<<v.shift])
}

// Place does what LookupOrInsert(fp, sleep) does, at the slot a Probe of
// fp returned with nothing stored since.
func (v *Set) Place(at Pos, fp, sleep uint64) (stored uint64, found bool) {
	if fp == 0 {
		fp = 1
	}
	sg, i, w, sh := at.sg, at.i, at.sg.w, v.shift
	if w[i<<sh] == fp {
		if sh == 1 {
			stored = w[i<<1+1]
			w[i<<1+1] = stored & sleep
		}
		return stored, true
	}
	w[i<<sh] = fp
	if sh == 1 {
		w[i<<1+1] = sleep
	}
	if n := sg.n.Add(1); uint64(n)*4 > (sg.mask+1)*3 {
		v.grow(sg)
	}
	return 0, false
}

// Contains reports whether fp is stored, storing nothing. It is safe
// beside InsertConcurrent in a Set made with Config.Concurrent (not
// beside Grow): a key another goroutine is storing at the same moment may
// or may not be seen.
func (v *Set) Contains(fp uint64) bool {
	if fp == 0 {
		fp = 1
	}
	sg := v.segmentOf(fp)
	w, sh := sg.w, v.shift
	for i := fp & sg.mask; ; i = (i + 1) & sg.mask {
		switch atomic.LoadUint64(&w[i<<sh]) {
		case fp:
			return true
		case 0:
			return false
		}
	}
}

// Unfinished is the word InsertConcurrent reports for a state no
// exploration has finished yet. A concurrent set keeps the complement of
// that word in the slot, so that a fresh (zeroed) segment reads
// Unfinished everywhere without being written first: filling each new
// segment took a tenth of a 2-worker search's CPU, most of it while the
// other worker waited for the table to grow.
const Unfinished = ^uint64(0)

// A concurrent set's second word of a slot holds, once an exploration of
// the state has finished, an order (the bits from OrderShift up, at most
// MaxOrder: the caller's rank of an exploration, which a later one
// compares with its own to tell whether it may rely on them) and the
// intersection of the sleep sets of finished explorations (bits below
// OrderShift, so at most SleepBits actors), every one of an order up to
// it (Finish says which).
const (
	OrderShift = 40
	SleepBits  = OrderShift
	MaxOrder   = 1<<(64-OrderShift) - 2
	sleepMask  = 1<<OrderShift - 1
)

// Finished splits the word InsertConcurrent reported: the intersection of
// the sleep sets of finished explorations, an order none of them exceeds,
// and whether one has finished.
func Finished(stored uint64) (sleep uint64, order int64, ok bool) {
	if stored == Unfinished {
		return 0, 0, false
	}
	return stored & sleepMask, int64(stored >> OrderShift), true
}

// InsertConcurrent stores fp if it is new, safe from many goroutines of a
// Set made with Config.Concurrent. Unlike LookupOrInsert it stores no
// sleep set: a state's entry holds what the explorations of it that have
// finished recorded (Finish; read it with Finished), Unfinished until one
// has, so that a worker never relies on another's exploration still under
// way (two such could each rely on the other, and lose states).
//
// It does not grow the table: ok is false, and nothing is stored, when
// fp is new and its segment too full; the caller then runs Grow with
// every inserter stopped, and tries again. GrowPending tells when to grow
// before that happens. A new key reports Unfinished.
func (v *Set) InsertConcurrent(fp uint64) (at Slot, stored uint64, found, ok bool) {
	if fp == 0 {
		fp = 1
	}
	sg := v.segmentOf(fp)
	slots := sg.mask + 1
	w, sh := sg.w, v.shift
	i := fp & sg.mask
	for {
		p := &w[i<<sh]
		k := atomic.LoadUint64(p)
		if k == 0 {
			// A new key: the segment's count is read only here, so
			// that a key found leaves it alone. Each inserter checks
			// before it takes a slot, so the count passes 7/8 by at
			// most one per inserter and a walk always ends at an empty
			// slot.
			if uint64(sg.n.Load())*8 > slots*7 {
				v.pending.Store(true)
				return Slot{}, 0, false, false
			}
			if atomic.CompareAndSwapUint64(p, 0, fp) {
				if n := sg.n.Add(1); uint64(n)*4 > slots*3 {
					v.pending.Store(true)
				}
				return Slot{sg, i, v.epoch}, Unfinished, false, true
			}
			k = atomic.LoadUint64(p) // another worker took the slot first
		}
		if k == fp {
			if sh == 1 {
				stored = ^atomic.LoadUint64(&w[i<<1+1])
			}
			return Slot{sg, i, v.epoch}, stored, true, true
		}
		i = (i + 1) & sg.mask
	}
}

// Slot is where InsertConcurrent found or stored a fingerprint, so that
// Finish need not look for it again while the table has not grown.
type Slot struct {
	sg    *segment
	i     uint64
	epoch uint64
}

// Finish records that an exploration of fp with sleep set sleep (below
// SleepBits) and order order (0 to MaxOrder) has finished. Of an order at
// least the stored one, the stored sleep set becomes the intersection and
// the order the exploration's (so that, when orders only grow, the entry
// is the intersection of all, as LookupOrInsert's); of a lower order, its
// sleep set and order replace the stored ones (so that an exploration of
// that order may rely on the entry from now on). fp must have been
// inserted (at, when not zero, is where InsertConcurrent said it was); in
// a Set without sleep sets Finish does nothing.
func (v *Set) Finish(at Slot, fp, sleep uint64, order int64) {
	if v.shift == 0 {
		return
	}
	var p *uint64
	if at.sg != nil && at.epoch == v.epoch {
		p = &at.sg.w[at.i<<1+1]
	} else {
		if fp == 0 {
			fp = 1
		}
		sg := v.segmentOf(fp)
		for i := fp & sg.mask; p == nil; i = (i + 1) & sg.mask {
			switch atomic.LoadUint64(&sg.w[i<<1]) {
			case fp:
				p = &sg.w[i<<1+1]
			case 0:
				return
			}
		}
	}
	sleep &= sleepMask
	for {
		old := ^atomic.LoadUint64(p) // the slot keeps the complement (Unfinished)
		nw := sleep | uint64(order)<<OrderShift
		if s, o, ok := Finished(old); ok && o <= order {
			nw = s&sleep | uint64(order)<<OrderShift
		}
		if nw == old || atomic.CompareAndSwapUint64(p, ^old, ^nw) {
			return
		}
	}
}

// GrowPending reports whether a segment of a concurrent set is over its
// load, so that Grow should run soon. It stays true until Grow returns.
func (v *Set) GrowPending() bool { return v.pending.Load() }

// Grow grows every segment over 5/8 of its slots (with uniform hashing
// they fill together: growing them in one stop, each freed as soon as it
// is rehashed, makes the stops of a concurrent search few, and its extra
// memory one segment per goroutine that rehashes). In a concurrent set it
// must run while no goroutine inserts; goroutines waiting for it may
// rehash segments beside it (HelpGrow), so that a stop of N workers costs
// one worker's share of the rehashing, not all of it.
func (v *Set) Grow() {
	for {
		var old []*segment
		for i, sg := range v.dir {
			if (i == 0 || sg != v.dir[i-1]) && uint64(sg.n.Load())*8 > (sg.mask+1)*5 {
				old = append(old, sg) // a segment's directory entries are adjacent
			}
		}
		if len(old) == 0 {
			break
		}
		j := &growJob{old: old, into: make([][2]*segment, len(old))}
		v.job.Store(j)
		v.rehashJob(j)
		for j.done.Load() < int64(len(old)) {
			runtime.Gosched() // a helper is finishing its segment
		}
		v.job.Store(nil)
		for i, sg := range old {
			v.install(sg, j.into[i])
		}
	}
	v.epoch++
	v.pending.Store(false)
}

// HelpGrow rehashes segments of the Grow under way in another goroutine,
// if there is one, until none is left to take, and returns how many it
// rehashed. The caller must be one that Grow waits for (it inserts
// nothing meanwhile).
func (v *Set) HelpGrow() int {
	if j := v.job.Load(); j != nil {
		return v.rehashJob(j)
	}
	return 0
}

func (v *Set) rehashJob(j *growJob) (n int) {
	for ; ; n++ {
		i := j.next.Add(1) - 1
		if i >= int64(len(j.old)) {
			return n
		}
		j.into[i] = v.rehashed(j.old[i])
		j.done.Add(1)
	}
}

// grow doubles sg, or splits it once it is full-sized.
func (v *Set) grow(sg *segment) { v.install(sg, v.rehashed(sg)) }

// rehashed returns sg's entries in a segment of twice its slots, or,
// once it is full-sized, split in two by the fingerprint bit after its
// local depth; and frees sg's memory. It reads nothing the directory
// holds (Grow runs it on many segments at once).
func (v *Set) rehashed(sg *segment) [2]*segment {
	slots := sg.mask + 1
	var into [2]*segment
	if slots < v.maxSlots() {
		ns := v.newSegment(slots*2, sg.local)
		v.rehash(sg, func(uint64) *segment { return ns })
		into[0] = ns
	} else {
		a, b := v.newSegment(slots, sg.local+1), v.newSegment(slots, sg.local+1)
		bit := 63 - sg.local // the fingerprint bit that now tells a from b
		v.rehash(sg, func(fp uint64) *segment {
			if fp>>bit&1 == 0 {
				return a
			}
			return b
		})
		into = [2]*segment{a, b}
	}
	v.mem.free(sg.w)
	return into
}

// install puts what rehashed made of sg in the directory, in sg's place.
func (v *Set) install(sg *segment, into [2]*segment) {
	if into[1] == nil {
		for i := range v.dir {
			if v.dir[i] == sg {
				v.dir[i] = into[0]
			}
		}
		return
	}
	if sg.local == v.depth {
		dir := make([]*segment, 2*len(v.dir))
		for i := range dir {
			dir[i] = v.dir[i>>1]
		}
		v.dir, v.depth = dir, v.depth+1
	}
	dbit := v.depth - 1 - sg.local
	for i := range v.dir {
		if v.dir[i] == sg {
			v.dir[i] = into[uint(i)>>dbit&1]
		}
	}
}

// rehash moves every entry of old into the segment to gives.
func (v *Set) rehash(old *segment, to func(uint64) *segment) {
	sh := v.shift
	for j := uint64(0); j <= old.mask; j++ {
		fp := old.w[j<<sh]
		if fp == 0 {
			continue
		}
		ns := to(fp)
		i := fp & ns.mask
		for ns.w[i<<sh] != 0 {
			i = (i + 1) & ns.mask
		}
		ns.w[i<<sh] = fp
		if sh == 1 {
			ns.w[i<<1+1] = old.w[j<<1+1]
		}
		ns.n.Add(1)
	}
}

// Bytes is the memory the table holds now.
func (v *Set) Bytes() int64 { return v.mem.bytes }

// PeakBytes is the most memory the table held at once, growth included:
// what a search's bytes per state should be reckoned from.
func (v *Set) PeakBytes() int64 { return v.mem.peak }

// HugePages reports whether the kernel accepted the advice to back the
// table with transparent huge pages (segments of at least 2 MiB).
func (v *Set) HugePages() bool { return v.mem.huge }

// Len is the number of states stored.
func (v *Set) Len() int64 {
	var n int64
	for i, sg := range v.dir {
		if i == 0 || sg != v.dir[i-1] {
			n += sg.n.Load()
		}
	}
	return n
}

// Free returns the table's memory to the kernel; the set is empty and
// unusable afterwards.
func (v *Set) Free() {
	v.mem.freeAll()
	v.dir, v.depth = nil, 0
}

// Each calls f with every fingerprint stored (0 stands for itself and 1,
// see LookupOrInsert), in no particular order.
func (v *Set) Each(f func(fp uint64)) {
	for i, sg := range v.dir {
		if i > 0 && sg == v.dir[i-1] {
			continue
		}
		for j := uint64(0); j <= sg.mask; j++ {
			if fp := sg.w[j<<v.shift]; fp != 0 {
				f(fp)
			}
		}
	}
}
