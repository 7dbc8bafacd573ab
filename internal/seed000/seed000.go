// Package seed000 writes the seed-000 scaling family as a scenario file:
// four addresses under two /80s under an unreachable /48, NL lookup
// actors of two packets each (actor i to address i mod 4, alternating
// between the /80 babeld changes and the one it never touches), and
// babeld moving the first /80 twice by delete then add. Its property,
// that the first /80 ends on its first gateway, holds in every schedule,
// so a check searches the whole space. bench/seed000 prints it.
package seed000

import (
	"fmt"
	"io"
	"strings"
)

// MaxNL is the most lookup actors: the fib6 model holds 16 actors, and
// babeld is one.
const MaxNL = 15

// The addresses, in the order actors are given them: the changed /80
// and the untouched one, in turn.
var addrs = []string{"2001:67c:1254:e:10::1", "2001:67c:1254:e:20::1", "2001:67c:1254:e:10::2", "2001:67c:1254:e:20::2"}

const (
	routeA = "2001:67c:1254:e:10::/80 via fe80::a8b6:97ff:fe99:8ca8 dev re6stnet8 proto babel metric 1024"
	routeB = "2001:67c:1254:e:10::/80 via fe80::f485:c1ff:feb4:f32a dev re6stnet-tcp proto babel metric 1024"
	other  = "2001:67c:1254:e:20::/80 via fe80::20 dev eth2 proto babel metric 1024"
)

// Write prints the scenario with nl lookup actors (0 to MaxNL).
func Write(w io.Writer, nl int) error {
	if nl < 0 || nl > MaxNL {
		return fmt.Errorf("seed000: %d lookup actors: want 0 to %d (the fib6 model holds 16 actors, babeld is one)", nl, MaxNL)
	}
	var b strings.Builder
	fmt.Fprintf(&b, `name: seed000-nl%d
model: fib6
seed: "the babeld report, 2016: docs/background.md, section 1"
description: |
  The seed-000 scaling family (bench/seed000), NL=%d: %d lookup actors of
  2 packets each to 4 addresses under two /80s under an unreachable /48,
  while babeld moves the first /80 twice by delete then add. The first
  /80 ends on its first gateway in every schedule, so the whole space is
  searched. Actors on the second /80 touch nothing babeld does.
host:
  name: backend
  devices: [lo, re6stnet8, re6stnet-tcp, eth2]
  routes: |
    unreachable 2001:67c:1254::/48 dev lo metric 1024
    %s
    %s
actors:
  - name: babeld
    ops:
      - del %s
      - add %s
      - del %s
      - add %s
`, nl, nl, nl, routeA, other, routeA, routeB, routeB, routeA)
	for i := 0; i < nl; i++ {
		fmt.Fprintf(&b, "  - name: flow-%d\n    flow: {dst: %q, packets: 2}\n", i+1, addrs[i%len(addrs)])
	}
	fmt.Fprintf(&b, `properties:
  - name: converges
    routes-at: 2001:67c:1254:e:10::/80
    metric: 1024
    want: [%s]
expect: {"*": holds}
`, routeA)
	_, err := io.WriteString(w, b.String())
	return err
}
