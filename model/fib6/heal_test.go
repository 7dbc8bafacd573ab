package fib6

import (
	"net/netip"
	"strings"
	"testing"

	"raceroute/explore"
)

// healModel: the seed's /48 and /80, an agent that replaces the /80's
// gateway and heals under it, and a flow to a host under the /80.
func healModel(t *testing.T, profName string) *Model {
	t.Helper()
	m, err := New(Config{
		Profile: prof(t, profName),
		Routes: []Route{mustRoute(t, "unreachable 2001:db8::/48 dev lo metric 1024"),
			mustRoute(t, "2001:db8:0:10::/80 via fe80::1 dev eth0 metric 1024")},
		Actors: []Actor{
			{Name: "agent", Ops: []Op{{Kind: OpReplace, Route: mustRoute(t, "2001:db8:0:10::/80 via fe80::2 dev eth1 metric 1024")},
				{Kind: OpHeal, Route: Route{Prefix: netip.MustParsePrefix("2001:db8:0:10::/80"), Table: MainTable}}}},
			{Name: "flow", Dst: netip.MustParseAddr("2001:db8:0:10::1"), Packets: 1},
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func pendingActors(m *Model, s *State) []int {
	var out []int
	for _, p := range m.Pending(s, nil) {
		out = append(out, p.Actor)
	}
	return out
}

// The heal waits while the flow is between match and insert, and then
// deletes the stale clone that lookup inserted.
func TestHealWaitsForInFlightLookup(t *testing.T) {
	m := healModel(t, "linux-3.16")
	// match (flow), replace (agent): the agent's heal is next, but the
	// flow holds the old route outside the lock.
	s, _ := runSeq(t, m, []int{1, 0})
	if got := pendingActors(m, &s); len(got) != 1 || got[0] != 1 {
		t.Fatalf("pending %v with a lookup in flight: want only the flow", got)
	}
	s, story := runSeq(t, m, []int{1, 0, 1, 1, 0}) // alloc, insert the stale clone, then heal
	if tab := strings.Join(m.table(&s), "\n"); strings.Contains(tab, "cache") {
		t.Fatalf("a clone survived the heal:\n%s", tab)
	}
	last := story[len(story)-1]
	if !strings.Contains(last.Reason, "healed: it contradicts the table") || !strings.Contains(last.Text, "via fe80::1") {
		t.Fatalf("the heal's story line: %+v", last)
	}
	if !m.ClonesAgree().Holds(&s) {
		t.Fatal("clones disagree after the heal")
	}
}

// A clone that agrees with its route is left alone.
func TestHealKeepsAgreeingClones(t *testing.T) {
	m := healModel(t, "linux-3.16")
	s, story := runSeq(t, m, []int{0, 1, 1, 1, 0}) // replace, a whole lookup (clones the new route), heal
	if tab := strings.Join(m.table(&s), "\n"); !strings.Contains(tab, "2001:db8:0:10::1 via fe80::2 dev eth1 metric 0 cache") {
		t.Fatalf("the good clone went:\n%s", tab)
	}
	if last := story[len(story)-1]; !strings.Contains(last.Reason, "no route-cache entry under it contradicts") {
		t.Fatalf("last story line %+v", last)
	}
}

// no-gap is violated exactly while the prefix holds no route.
func TestNoGap(t *testing.T) {
	m, err := New(Config{
		Profile: prof(t, "linux-6.1"),
		Routes: []Route{mustRoute(t, "unreachable 2001:db8::/48 dev lo metric 1024"),
			mustRoute(t, "2001:db8:0:10::/80 via fe80::1 dev eth0 metric 1024")},
		Actors: []Actor{{Name: "agent", Ops: []Op{{Kind: OpDel, Route: mustRoute(t, "2001:db8:0:10::/80 via fe80::1 dev eth0 metric 1024")},
			{Kind: OpAdd, Route: mustRoute(t, "2001:db8:0:10::/80 via fe80::2 dev eth1 metric 1024")}}}},
	})
	if err != nil {
		t.Fatal(err)
	}
	p, err := m.NoGap(MainTable, netip.MustParsePrefix("2001:db8:0:10::/80"))
	if err != nil {
		t.Fatal(err)
	}
	if p.Kind != explore.Invariant {
		t.Fatalf("kind %v", p.Kind)
	}
	s := m.Init()
	if !p.Holds(&s) {
		t.Fatal("violated at the start")
	}
	s, _ = runSeq(t, m, []int{0})
	if p.Holds(&s) {
		t.Fatal("holds after the delete")
	}
	if got := p.Explain(&s); !strings.Contains(got, "falls to `unreachable 2001:db8::/48 dev lo metric 1024`") {
		t.Fatalf("explanation %q", got)
	}
	s, _ = runSeq(t, m, []int{0, 0})
	if !p.Holds(&s) {
		t.Fatal("violated after the add")
	}
	if _, err := m.NoGap(MainTable, netip.MustParsePrefix("2001:db8:99::/64")); err == nil {
		t.Fatal("a prefix the scenario never has was accepted")
	}
}
