package visited

import (
	"encoding/binary"
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
	v := New()
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
