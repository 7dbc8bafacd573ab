package fib6

import (
	"fmt"
	"net/netip"
	"testing"

	"raceroute/explore"
)

// With no story recorded, no step allocates: a step that formats text on
// the exploration path fails here. On every profile an agent replaces,
// deletes and re-adds the /80 (pruning clones before 4.2) while three
// flows look up under it, in round-robin order.
func TestStepsAllocationFree(t *testing.T) {
	gw1 := "2001:db8:0:10::/80 via fe80::1 dev eth0 proto babel metric 1024"
	gw2 := "2001:db8:0:10::/80 via fe80::2 dev eth1 proto babel metric 1024"
	for _, name := range []string{"linux-3.10", "linux-3.16", "linux-4.2", "linux-5.6", "linux-6.12"} {
		cfg := Config{Profile: prof(t, name), Routes: []Route{mustRoute(t, "unreachable 2001:db8::/48 dev lo metric 1024"), mustRoute(t, gw1)}}
		agent := Actor{Name: "babeld", Ops: []Op{
			{Kind: OpReplace, Route: mustRoute(t, gw2)}, {Kind: OpDel, Route: mustRoute(t, gw2)}, {Kind: OpAdd, Route: mustRoute(t, gw1)}, {Kind: OpAdd, Route: mustRoute(t, gw1)}, {Kind: OpDel, Route: mustRoute(t, gw2)},
		}}
		cfg.Actors = []Actor{agent}
		for i := 1; i <= 3; i++ {
			cfg.Actors = append(cfg.Actors, Actor{Name: fmt.Sprint("flow-", i), Dst: netip.MustParseAddr(fmt.Sprint("2001:db8:0:10::", i)), Packets: 3})
		}
		m, err := New(cfg)
		if err != nil {
			t.Fatal(err)
		}
		var s State
		buf := make([]explore.Step, 0, 8)
		steps := 0
		allocs := testing.AllocsPerRun(10, func() {
			s = m.Init()
			for steps = 0; ; steps++ {
				if buf = m.Pending(&s, buf[:0]); len(buf) == 0 {
					break
				}
				m.Fire(&s, buf[steps%len(buf)], 0, 0, nil)
			}
		})
		if allocs != 0 {
			t.Errorf("%s: %v allocations in a run of %d steps without a story", name, allocs, steps)
		}
		if steps < 14 {
			t.Errorf("%s: only %d steps: the run does not exercise the model", name, steps)
		}
	}
}
