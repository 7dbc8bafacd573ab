package state

import (
	"fmt"
	"math/rand/v2"
	"net/netip"
	"testing"

	"raceroute/apply/route"
)

// An Index answers what a map of the same puts would (the route put last
// at each key), whatever the order of the puts and of the lookups, and
// keeps the dump's order as it is: sorted, without a sort.
func TestIndexIsAMap(t *testing.T) {
	keys := []route.Key{}
	for i := 0; i < 300; i++ {
		keys = append(keys, route.Key{Table: 254, Dst: netip.PrefixFrom(netip.AddrFrom4([4]byte{10, 64, byte(i >> 8), byte(i)}), 32)})
	}
	keys = append(keys,
		route.Key{Table: 254, Dst: pfx("10.64.0.0/24")}, // the leaf of 10.64.0.0/32: after it
		route.Key{Table: 254, Dst: pfx("10.64.0.0/24"), Metric: 10},
		route.Key{Table: 100, Dst: pfx("10.64.0.1/32")},
		route.Key{Table: 254, Dst: pfx("0.0.0.0/0")},
		route.Key{Table: 254, Dst: pfx("::ffff:10.64.0.1/128"), Metric: 1024},
		route.Key{Table: 254, Dst: pfx("fd00::/64"), Metric: 1024},
		route.Key{Table: 254, Dst: pfx("fd00::/48"), Metric: 1024},
	)
	absent := []route.Key{{Table: 254, Dst: pfx("10.65.0.0/32")}, {Table: 253, Dst: pfx("10.64.0.1/32")}, {Table: 254, Dst: pfx("fd00::/64")}}
	for _, tc := range []struct {
		name string
		puts func() []int // indices into keys, in put order
	}{
		{"dump order", func() []int { return sortedIdx(keys) }},
		{"shuffled", func() []int {
			x := sortedIdx(keys)
			rand.Shuffle(len(x), func(i, j int) { x[i], x[j] = x[j], x[i] })
			return x
		}},
		{"reversed, some twice", func() []int {
			x := sortedIdx(keys)
			var out []int
			for i := len(x) - 1; i >= 0; i-- {
				out = append(out, x[i])
				if i%7 == 0 {
					out = append(out, x[(i*31)%len(x)])
				}
			}
			return out
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ix := NewIndex(0)
			want := map[Key]*Installed{}
			for _, i := range tc.puts() {
				in := &Installed{Route: route.Route{Dst: keys[i].Dst, Table: keys[i].Table, Metric: keys[i].Metric}}
				k := KeyOf(keys[i])
				ix.Put(k, in)
				want[k] = in
			}
			dropped := ix.Seal()
			if ix.Len() != len(want) {
				t.Fatalf("%d routes in the index, a map has %d", ix.Len(), len(want))
			}
			if twice := tc.name == "reversed, some twice"; dropped != twice {
				t.Errorf("Seal dropped routes: %v, want %v", dropped, twice)
			}
			var prev *Key
			n := 0
			for in := range ix.All() {
				k := KeyOf(in.Key())
				if prev != nil && compareKeys(prev, &k) >= 0 {
					t.Errorf("All: %v after %v", k.Route(), prev.Route())
				}
				if want[k] != in {
					t.Errorf("All yields a route at %v that a map does not hold there", k.Route())
				}
				prev = &k
				n++
			}
			if n != len(want) {
				t.Errorf("All yields %d routes, want %d", n, len(want))
			}
			for _, order := range [][]int{sortedIdx(keys), tc.puts()} {
				c := ix.Cursor()
				for _, i := range order {
					k := KeyOf(keys[i])
					if got := c.Get(k); got != want[k] {
						t.Fatalf("Cursor.Get(%v) = %p, a map holds %p", keys[i], got, want[k])
					}
					if got := ix.Get(k); got != want[k] {
						t.Fatalf("Get(%v) = %p, a map holds %p", keys[i], got, want[k])
					}
				}
				for _, k := range absent {
					if c.Get(KeyOf(k)) != nil || ix.Get(KeyOf(k)) != nil {
						t.Errorf("%v: found, but never put", k)
					}
				}
			}
		})
	}
}

// sortedIdx lists the indices of keys in the index's order.
func sortedIdx(keys []route.Key) []int {
	ix := NewIndex(len(keys))
	pos := map[Key]int{}
	for i, k := range keys {
		pos[KeyOf(k)] = i
		ix.Put(KeyOf(k), &Installed{Route: route.Route{Dst: k.Dst, Table: k.Table, Metric: k.Metric}})
	}
	ix.Seal()
	var out []int
	for in := range ix.All() {
		out = append(out, pos[KeyOf(in.Key())])
	}
	if len(out) != len(keys) {
		panic(fmt.Sprintf("sortedIdx: %d of %d", len(out), len(keys)))
	}
	return out
}

// Reading an index with routes put out of order since it was sealed
// panics rather than miss them.
func TestIndexUnsealedPanics(t *testing.T) {
	ix := NewIndex(0)
	ix.Put(KeyOf(route.Key{Table: 254, Dst: pfx("10.0.0.2/32")}), &Installed{})
	ix.Put(KeyOf(route.Key{Table: 254, Dst: pfx("10.0.0.1/32")}), &Installed{})
	defer func() {
		if recover() == nil {
			t.Error("Get of an unsealed index did not panic")
		}
	}()
	ix.Get(KeyOf(route.Key{Table: 254, Dst: pfx("10.0.0.1/32")}))
}
