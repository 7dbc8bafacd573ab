package visited

import (
	"encoding/binary"
	"os"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
)

func TestSetStoresAndIntersectsSleepSets(t *testing.T) {
	s := New()
	const n = 100000 // grows the table several times
	for i := uint64(1); i <= n; i++ {
		if _, found := s.LookupOrInsert(i*0x9e3779b97f4a7c15, i); found {
			t.Fatalf("key %d found before insertion", i)
		}
	}
	if s.Len() != n || s.Bytes() < n*16 {
		t.Fatalf("len %d bytes %d", s.Len(), s.Bytes())
	}
	for i := uint64(1); i <= n; i++ {
		stored, found := s.LookupOrInsert(i*0x9e3779b97f4a7c15, 0b1010)
		if !found || stored != i {
			t.Fatalf("key %d: stored %d found %v", i, stored, found)
		}
	}
	// The stored sleep set is now the intersection.
	k := uint64(5)
	if stored, _ := s.LookupOrInsert(k*0x9e3779b97f4a7c15, 0); stored != 5&0b1010 {
		t.Fatalf("intersection: %b", stored)
	}
	// Key 0 marks an empty slot; it is stored as 1, so 0 and 1 collide on
	// purpose (a 2^-64 event for real fingerprints).
	if _, found := s.LookupOrInsert(0, 0); found {
		t.Fatal("key 0 found")
	}
	if _, found := s.LookupOrInsert(1, 0); !found {
		t.Fatal("key 1 is key 0's slot")
	}
}

func TestExactAgrees(t *testing.T) {
	e, s := NewExact(), New()
	for i := 0; i < 5000; i++ {
		b := binary.LittleEndian.AppendUint32(nil, uint32(i%3000))
		_, f1 := e.LookupOrInsert(b, 1)
		_, f2 := s.LookupOrInsert(Fingerprint(b), 1)
		if f1 != f2 {
			t.Fatalf("encoding %d: exact %v, fingerprints %v", i%3000, f1, f2)
		}
	}
	if e.Bytes() <= 0 {
		t.Fatal("exact set reports no memory")
	}
}

// Fingerprints are the same in every process and on every run, so that a
// search is reproducible; these values pin the function.
func TestFingerprintIsStable(t *testing.T) {
	for _, tt := range []struct {
		in   string
		want uint64
	}{
		{"", 0xb2fa45d8b5414b42},
		{"a", 0x78ad034913f84b0a},
		{"0123456789abcdef0123", 0x40a2ae0597d3babe},
	} {
		if got := Fingerprint([]byte(tt.in)); got != tt.want {
			t.Fatalf("Fingerprint(%q) = %#x, want %#x", tt.in, got, tt.want)
		}
	}
	seen := map[uint64]string{}
	for _, s := range []string{"", "a", "b", "ab", "ba", "0123456789abcdef", "0123456789abcdeg", "0123456789abcdef0"} {
		fp := Fingerprint([]byte(s))
		if o, dup := seen[fp]; dup {
			t.Fatalf("%q and %q share fingerprint %#x", o, s, fp)
		}
		seen[fp] = s
	}
}

func TestContainsStoresNothing(t *testing.T) {
	v := NewSet(Config{})
	e := NewExact()
	for i := uint64(0); i < 5000; i++ {
		if v.Contains(i*0x9e3779b97f4a7c15) || e.Contains([]byte{byte(i), byte(i >> 8)}) {
			t.Fatalf("%d: found before it was stored", i)
		}
		v.LookupOrInsert(i*0x9e3779b97f4a7c15, 0)
		e.LookupOrInsert([]byte{byte(i), byte(i >> 8)}, 0)
		if !v.Contains(i*0x9e3779b97f4a7c15) || !e.Contains([]byte{byte(i), byte(i >> 8)}) {
			t.Fatalf("%d: not found once stored", i)
		}
	}
	if v.Len() != 5000 {
		t.Errorf("Len %d, want 5000", v.Len())
	}
}

// key is the i-th test fingerprint: spread over all 64 bits.
func key(i uint64) uint64 { return i * 0x9e3779b97f4a7c15 }

// The table grows a segment at a time: at no moment does it hold much
// more than its final size (a table that doubles as a whole peaks at 1.5
// times it), and it splits segments once they are full-sized.
func TestGrowthPeaksNearTheTable(t *testing.T) {
	for _, sleep := range []bool{false, true} {
		s := NewSet(Config{Sleep: sleep})
		const n = 1_500_000 // several splits of full-sized segments
		for i := uint64(1); i <= n; i++ {
			if _, found := s.LookupOrInsert(key(i), i); found {
				t.Fatalf("sleep=%v: key %d found before insertion", sleep, i)
			}
		}
		slot := int64(8)
		if sleep {
			slot = 16
		}
		if s.Len() != n {
			t.Fatalf("sleep=%v: len %d, want %d", sleep, s.Len(), n)
		}
		if s.Bytes() < n*slot || s.Bytes() > n*slot*3 {
			t.Fatalf("sleep=%v: %d bytes for %d states of %d-byte slots", sleep, s.Bytes(), n, slot)
		}
		if slack := s.PeakBytes() - s.Bytes(); slack > 2*maxBytes {
			t.Fatalf("sleep=%v: peak %d bytes, table %d: growth held %d bytes more", sleep, s.PeakBytes(), s.Bytes(), slack)
		}
		for i := uint64(1); i <= n; i += 997 {
			stored, found := s.LookupOrInsert(key(i), 0b1010)
			want := uint64(0)
			if sleep {
				want = i
			}
			if !found || stored != want {
				t.Fatalf("sleep=%v: key %d: stored %d found %v after growth", sleep, i, stored, found)
			}
		}
		if thp, err := os.ReadFile("/sys/kernel/mm/transparent_hugepage/enabled"); err == nil {
			// "always [madvise] never": advice is taken unless THP is off.
			if want := !strings.Contains(string(thp), "[never]"); s.HugePages() != want {
				t.Errorf("sleep=%v: huge pages %v with THP %q", sleep, s.HugePages(), strings.TrimSpace(string(thp)))
			}
		}
		s.Free()
		if s.Bytes() != 0 {
			t.Fatalf("freed set holds %d bytes", s.Bytes())
		}
	}
}

func TestExpectPresizes(t *testing.T) {
	const n = 300_000
	s := NewSet(Config{Expect: n})
	defer s.Free()
	before := s.Bytes()
	for i := uint64(1); i <= n; i++ {
		s.LookupOrInsert(key(i), 0)
	}
	if s.Bytes() != before || s.PeakBytes() != before {
		t.Fatalf("pre-sized for %d states, grew from %d to %d bytes (peak %d)", n, before, s.Bytes(), s.PeakBytes())
	}
	if before > n*8*3 {
		t.Fatalf("pre-sized table of %d bytes for %d states", before, n)
	}
}

// Workers inserting overlapping keys at once: each key is new to exactly
// one of them, a key reads Unfinished until an exploration of it
// finishes, finished sleep sets of growing orders are intersected, and
// growth at safe points keeps every key.
func TestConcurrentInsert(t *testing.T) {
	t.Run("waits for growth", func(t *testing.T) { testConcurrentInsert(t, false) })
	t.Run("helps growth", func(t *testing.T) { testConcurrentInsert(t, true) })
}

// testConcurrentInsert is TestConcurrentInsert with workers that wait at
// a safe point for the one that grows the table (help false), or rehash
// segments beside it (HelpGrow), as the parallel search's do.
func testConcurrentInsert(t *testing.T, help bool) {
	s := NewSet(Config{Sleep: true, Concurrent: true})
	defer s.Free()
	const workers, n = 4, 400_000
	var world sync.RWMutex
	fresh := make([]int64, workers)
	var wg sync.WaitGroup
	var helped atomic.Int64
	safePoint := func() {
		world.RUnlock()
		if !help {
			world.Lock()
			if s.GrowPending() {
				s.Grow()
			}
			world.Unlock()
		}
		for help && s.GrowPending() {
			if world.TryLock() {
				if s.GrowPending() {
					s.Grow()
				}
				world.Unlock()
				break
			}
			helped.Add(int64(s.HelpGrow()))
			runtime.Gosched()
		}
		world.RLock()
	}
	// Workers 0 and 2 finish every key (their orders are permutations of
	// them), all of one order.
	order := func(int) int64 { return 2 }
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			world.RLock()
			defer world.RUnlock()
			for j := uint64(0); j < n; j++ {
				i := (j*uint64(w+1)*7919)%n + 1 // each worker its own order
				for {
					at, stored, found, ok := s.InsertConcurrent(key(i))
					if !ok {
						safePoint()
						continue
					}
					if !found {
						fresh[w]++
					}
					if sleep, _, ok := Finished(stored); found && ok && sleep&(1<<8) == 0 {
						t.Errorf("key %d: stored %#x lacks the bit every finish keeps", i, stored)
					}
					if j%2 == 0 {
						at = Slot{} // also the look-up without a slot
					}
					s.Finish(at, key(i), 1<<uint(w)|1<<8, order(w))
					break
				}
				if j%256 == 0 && s.GrowPending() {
					safePoint()
				}
			}
		}()
	}
	wg.Wait()
	total := int64(0)
	for _, f := range fresh {
		total += f
	}
	if total != n || s.Len() != n {
		t.Fatalf("%d keys new to some worker, %d stored; want %d", total, s.Len(), n)
	}
	if help {
		t.Logf("workers waiting for growth rehashed %d segments", helped.Load())
	}
	if m := s.HelpGrow(); m != 0 {
		t.Fatalf("HelpGrow with no growth under way rehashed %d segments", m)
	}
	for i := uint64(1); i <= n; i++ {
		_, stored, found, ok := s.InsertConcurrent(key(i))
		sleep, order, fin := Finished(stored)
		if !ok || !found || !fin || sleep != 1<<8 || order != 2 {
			t.Fatalf("key %d: stored %#x found %v, want the intersection %#x and the least order 2", i, stored, found, 1<<8)
		}
	}
	if _, stored, found, _ := s.InsertConcurrent(key(n + 1)); found || stored != Unfinished {
		t.Fatalf("a new key: stored %#x found %v, want Unfinished", stored, found)
	}
	if _, stored, _, _ := s.InsertConcurrent(key(n + 1)); stored != Unfinished {
		t.Fatalf("a key not finished reads %#x, want Unfinished", stored)
	}
	if _, _, ok := Finished(Unfinished); ok {
		t.Fatal("Finished(Unfinished) reports a finished exploration")
	}
	s.Finish(Slot{}, key(n+1), 0, 0)
	if _, stored, _, _ := s.InsertConcurrent(key(n + 1)); stored != 0 {
		t.Fatalf("finished with sleep set 0 and order 0: reads %#x, want 0", stored)
	}
}

// Finish intersects the sleep sets of explorations of growing orders, and
// starts again from one of a lower order.
func TestFinishOrders(t *testing.T) {
	s := NewSet(Config{Sleep: true, Concurrent: true})
	defer s.Free()
	at, _, _, _ := s.InsertConcurrent(key(1))
	for _, tt := range []struct {
		sleep  uint64
		order  int64
		wSleep uint64
		wOrder int64
	}{
		{0b0111, 5, 0b0111, 5},
		{0b1110, 5, 0b0110, 5}, // same order: intersected
		{0b1100, 9, 0b0100, 9}, // higher: intersected, its order
		{0b1001, 2, 0b1001, 2}, // lower: replaces
		{1<<SleepBits - 1, MaxOrder, 0b1001, MaxOrder},
		{1<<SleepBits - 1, 0, 1<<SleepBits - 1, 0},
	} {
		s.Finish(at, key(1), tt.sleep, tt.order)
		_, stored, _, _ := s.InsertConcurrent(key(1))
		if sleep, order, ok := Finished(stored); !ok || sleep != tt.wSleep || order != tt.wOrder {
			t.Fatalf("after Finish(%#b, %d): %#b of order %d (finished %v), want %#b of order %d", tt.sleep, tt.order, sleep, order, ok, tt.wSleep, tt.wOrder)
		}
	}
}

// Probe then Place behaves as LookupOrInsert, across growth of the table.
func TestProbePlaceAgreesWithLookupOrInsert(t *testing.T) {
	for _, sleep := range []bool{false, true} {
		a, b := NewSet(Config{Sleep: sleep}), NewSet(Config{Sleep: sleep})
		for i := uint64(0); i < 60000; i++ {
			fp := (i % 40000) * 0x9e3779b97f4a7c15
			set := i * 7
			at, found := b.Probe(fp)
			s2, f2 := b.Place(at, fp, set)
			s1, f1 := a.LookupOrInsert(fp, set)
			if f1 != f2 || s1 != s2 || found != f2 {
				t.Fatalf("sleep %v, key %d: LookupOrInsert (%d, %v), Probe %v then Place (%d, %v)", sleep, i%40000, s1, f1, found, s2, f2)
			}
		}
		if a.Len() != b.Len() || a.Len() != 40000 {
			t.Fatalf("sleep %v: lengths %d and %d, want 40000", sleep, a.Len(), b.Len())
		}
		a.Free()
		b.Free()
	}
}

// Prefetch is a hint: it stores nothing and moves nothing, before and
// after the table grows.
func TestPrefetchChangesNothing(t *testing.T) {
	for _, sleep := range []bool{false, true} {
		v := NewSet(Config{Sleep: sleep})
		for i := uint64(0); i < 20000; i++ {
			fp := i * 0x9e3779b97f4a7c15
			v.Prefetch(fp)
			v.Prefetch(fp + 1)
			if _, found := v.LookupOrInsert(fp, i); found {
				t.Fatalf("%#x found before it was stored", fp)
			}
		}
		if v.Len() != 20000 {
			t.Fatalf("Len %d, want 20000", v.Len())
		}
		for i := uint64(0); i < 20000; i++ {
			fp := i * 0x9e3779b97f4a7c15
			v.Prefetch(fp)
			if !v.Contains(fp) {
				t.Fatalf("%#x lost", fp)
			}
		}
		v.Free()
	}
}
