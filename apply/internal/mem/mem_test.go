package mem

import (
	"slices"
	"sync"
	"testing"
)

// Chunks covers [0, n) once, in chunks of at least least elements (one
// chunk below 2*least), and Touch leaves a new slice as it was.
func TestChunksAndTouch(t *testing.T) {
	for _, c := range []struct{ n, least int }{{0, 16}, {1, 16}, {31, 16}, {32, 16}, {1000, 16}, {100_000, 16384}, {5, 0}} {
		var mu sync.Mutex
		seen := make([]int, c.n)
		var chunks [][2]int
		Chunks(c.n, c.least, func(lo, hi int) {
			mu.Lock()
			defer mu.Unlock()
			chunks = append(chunks, [2]int{lo, hi})
			for i := lo; i < hi; i++ {
				seen[i]++
			}
		})
		if i := slices.IndexFunc(seen, func(k int) bool { return k != 1 }); i >= 0 {
			t.Errorf("n %d: element %d seen %d times", c.n, i, seen[i])
		}
		for _, ch := range chunks {
			if len(chunks) > 1 && ch[1]-ch[0] < c.least {
				t.Errorf("n %d: chunk %v below %d", c.n, ch, c.least)
			}
		}
		if c.n < 2*c.least && len(chunks) != 1 {
			t.Errorf("n %d: %d chunks, want one below %d", c.n, len(chunks), 2*c.least)
		}
	}
	// An element of 120 bytes: about 34 a page.
	type wide struct {
		P *int
		S string
		B [96]byte
	}
	for _, n := range []int{0, 1, 33, 34, 35, 10_000} {
		s := make([]wide, n)
		Touch(s, 0, n)
		Touch(s, n/3, n/2)
		for i := range s {
			if s[i] != (wide{}) {
				t.Fatalf("n %d: element %d changed", n, i)
			}
		}
	}
}
