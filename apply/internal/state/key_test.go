package state

import (
	"testing"

	"golang.org/x/sys/unix"

	"raceroute/apply/internal/rtnl"
	"raceroute/apply/route"
)

// A packed key unpacks to the key it packed, tells apart what the route
// keys tell apart (an IPv4 prefix and the IPv4-mapped IPv6 one among
// them), and a dumped route's WireKey is the key of the route decode
// makes of it.
func TestKeys(t *testing.T) {
	wires := []rtnl.Route{
		{Family: unix.AF_INET, Dst: pfx("10.64.1.2/32"), Table: 254},
		{Family: unix.AF_INET, Dst: pfx("10.64.1.0/24"), Table: 254, Priority: 10},
		{Family: unix.AF_INET, Dst: pfx("10.64.1.0/24"), Table: 200, Priority: 10},
		{Family: unix.AF_INET, Dst: pfx("0.0.0.0/0")},
		{Family: unix.AF_INET6, Dst: pfx("::ffff:10.64.1.2/128"), Table: 254, Priority: 1024},
		{Family: unix.AF_INET6, Dst: pfx("fd00::/64"), Table: 254},
		{Family: unix.AF_INET6, Dst: pfx("fd00::/64"), Table: 254, Priority: 1024}, // the same key: metric 0 is 1024
		{Family: unix.AF_INET6, Dst: pfx("fd00::/48"), Table: 254, Priority: 1024},
	}
	st := &State{Names: map[int]string{}}
	seen := map[Key]route.Key{}
	for _, w := range wires {
		in := st.decode(&w)
		rk := in.Key()
		k := WireKey(&w)
		if k != KeyOf(rk) || k.Route() != rk {
			t.Errorf("%v: WireKey %v unpacks to %v, the decoded route's key is %v", w.Dst, k, k.Route(), rk)
		}
		if prev, ok := seen[k]; ok && prev != rk {
			t.Errorf("keys %v and %v pack alike", prev, rk)
		}
		if _, ok := seen[k]; !ok {
			for pk, prev := range seen {
				if prev == rk {
					t.Errorf("key %v packs two ways", rk)
				}
				if pk.Hash() == k.Hash() {
					t.Errorf("keys %v and %v hash alike", prev, rk)
				}
			}
		}
		seen[k] = rk
	}
	if len(seen) != len(wires)-1 {
		t.Errorf("%d keys of %d routes, one of them given twice: want %d", len(seen), len(wires), len(wires)-1)
	}
}

// OursOn counts the routes of ours on each object as the dump files
// them, and again from Ours when a key came twice (the second route
// put over the first, the first dropped when the state is sealed).
func TestOursOn(t *testing.T) {
	for _, twice := range []bool{false, true} {
		st := &State{Foreign: map[Key]string{}, NHRefs: map[uint32]int{}, Names: map[int]string{}, oursOn: map[uint32]int{}}
		tables := map[uint32]bool{254: true}
		r := func(dst string, nhid uint32, proto uint8) *rtnl.Route {
			return &rtnl.Route{Family: unix.AF_INET, Dst: pfx(dst), Table: 254, Protocol: proto, NHID: nhid, Oif: 2}
		}
		for _, x := range []*rtnl.Route{r("10.0.0.1/32", 7, 250), r("10.0.0.2/32", 7, 250), r("10.0.0.3/32", 8, 250), r("10.0.0.4/32", 0, 250), r("10.0.0.5/32", 7, 99)} {
			st.add(x, 250, tables)
		}
		want := map[uint32]int{7: 2, 8: 1}
		if twice {
			st.add(r("10.0.0.2/32", 8, 250), 250, tables) // over the route on 7
			want = map[uint32]int{7: 1, 8: 2}
		}
		st.Seal()
		got := st.OursOn()
		if len(got) != len(want) || got[7] != want[7] || got[8] != want[8] {
			t.Errorf("twice %v: OursOn %v, want %v", twice, got, want)
		}
	}
}
