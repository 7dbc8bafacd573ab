// Package arpcase is lab/fuzz's arp category: ARP frames and traffic over
// a veth on the live kernel, against model/neigh at checkpoints.
package arpcase

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net/netip"
	"slices"
	"strings"

	"raceroute/kernel"
	"raceroute/lab/fuzz/fuzzcase"
	"raceroute/model/neigh"
	"raceroute/profile"
)

// The arp category: one receiving host (recv, eth0) on a veth, and a
// peer namespace that sends hand-built ARP frames from two MACs (the old
// and the new owner of an address) for three addresses (two in recv's
// subnet, one outside it), broadcast or unicast, requests or replies,
// gratuitous (target MAC = sender MAC) or not, while recv sends UDP
// packets to them (traffic that creates entries and moves them through
// DELAY and PROBE; nobody answers the probes). recv's locktime,
// base_reachable_time, delay_first_probe_time, retrans_time, probe
// counts and arp_accept (0, 1 or 2) vary per case. At each checkpoint
// the state class and MAC of recv's entry for each address are compared.
//
// Timing: the kernel's timers fire late by up to the timer wheel's
// granularity, user space sends late by scheduling noise, and
// reachable_time is drawn at random in [base/2, 3*base/2). A draft case
// is kept only if the model's observations stay the same when any one
// event moves by the margin (150 ms) either way, under both ends of the
// reachable_time draw, and with every timer as late as the wheel allows;
// and under every draw across the range, in steps of a third of the
// margin (the outcome is not monotonic in the draw: from 6.3 an entry
// whose REACHABLE timer fires within delay_first_probe_time of its
// confirmation goes DELAY, PROBE and FAILED, one that fires later goes
// STALE, so both ends can agree while a draw between them does not).
// Every gap is then at least the margin away from every threshold, and
// the comparison does not depend on the draw. A live run that falls
// behind its schedule by more than a third of the margin is repeated.

// margin is how far every gap stays from every threshold, in ms.
const margin = 150

// arpLateness is the most a live event may fall behind its schedule.
const arpLateness = margin / 3

// The segment: recv, and the two MACs the peer sends from.
var (
	recvMAC  = kernel.MustParseMAC("02:00:00:00:00:01")
	arpMACs  = []kernel.MAC{kernel.MustParseMAC("02:00:00:00:00:0a"), kernel.MustParseMAC("02:00:00:00:00:0b")}
	macNames = []string{"old", "new"}
	recvAddr = netip.MustParsePrefix("10.77.0.1/24")
	// arpHostAddrs are the addresses the scenario format gives the old
	// and new hosts' interfaces (it needs one each); no frame or packet
	// uses them.
	arpHostAddrs = []netip.Prefix{netip.MustParsePrefix("10.77.0.2/24"), netip.MustParsePrefix("10.77.0.3/24")}
	// arpIPs are the addresses announced and sent to: two in recv's
	// subnet, one outside it (arp_accept = 2 creates entries only for
	// the first two).
	arpIPs = []netip.Addr{netip.MustParseAddr("10.77.0.10"), netip.MustParseAddr("10.77.0.11"), netip.MustParseAddr("10.78.0.10")}
)

// Event kinds.
const (
	evFrame  uint8 = iota + 1 // the peer sends an ARP frame
	evPacket                  // recv sends a UDP packet to an address
	evCheck                   // checkpoint: recv's entries are compared
)

// arpEvent is one step of an ARP case, at a time from the start.
type arpEvent struct {
	at   int32
	kind uint8
	ip   int // index in arpIPs (frames and packets)
	// Frames: the source (index in arpMACs), operation, unicast to recv
	// or broadcast, and a reply's target hardware address.
	mac     int
	op      uint8
	unicast bool
	tha     neigh.THA
}

func (e arpEvent) String() string {
	t := fmt.Sprintf("t=%s", secs(e.at))
	switch e.kind {
	case evPacket:
		return fmt.Sprintf("%s recv sends a packet to %s", t, arpIPs[e.ip])
	case evCheck:
		return t + " checkpoint"
	}
	op, to := "request", "broadcast"
	if e.op == neigh.OpReply {
		op = "reply (tha " + thaNames[e.tha] + ")"
	}
	if e.unicast {
		to = "unicast to recv"
	}
	return fmt.Sprintf("%s %s sends a gratuitous-form ARP %s for %s, %s", t, macNames[e.mac], op, arpIPs[e.ip], to)
}

var thaNames = map[neigh.THA]string{neigh.THASelf: "self", neigh.THABroadcast: "broadcast", neigh.THAZero: "zero"}

func secs(ms int32) string { return fmt.Sprintf("%d.%03d s", ms/1000, ms%1000) }

// arpCase is one case: recv's settings and the events in time order.
type arpCase struct {
	sys     neigh.Sysctl
	events  []arpEvent
	horizon int32
	last    []string // the kernel's observations in the last run
	prof    *profile.Profile
}

func (c *arpCase) Len() int { return len(c.events) }

// Drop removes event i; the last checkpoint stays.
func (c *arpCase) Drop(i int) fuzzcase.Case {
	if i == len(c.events)-1 || len(c.events) <= 2 {
		return nil
	}
	d := &arpCase{sys: c.sys, horizon: c.horizon, prof: c.prof, events: slices.Delete(slices.Clone(c.events), i, i+1)}
	if !d.robust(nil) {
		return nil // without it, a gap comes too close to a threshold
	}
	return d
}

// Generate draws robust ARP cases until one is kept.
func Generate(rng *rand.Rand, p *profile.Profile) (fuzzcase.Case, int, error) {
	for drafts := 0; drafts < 200; drafts++ {
		c := draftARP(rng)
		if c.robust(p) {
			return c, drafts, nil
		}
	}
	return nil, 200, fmt.Errorf("arp: 200 drafts in a row were too close to a threshold")
}

// draftARP draws settings and 3 to 10 events on a 50 ms grid, at least
// 200 ms apart, from at most four (MAC, address, unicast) sources (the
// model's ARP senders) and at most four packets.
func draftARP(rng *rand.Rand) *arpCase {
	c := &arpCase{sys: neigh.DefaultSysctl()}
	s := &c.sys
	s.Locktime = fuzzcase.Pick(rng, int32(300), 600, 1000, 1500)
	s.BaseReachable = fuzzcase.Pick(rng, int32(400), 800, 1600, 30000)
	s.DelayFirstProbe = fuzzcase.Pick(rng, int32(300), 600, 1000)
	s.Retrans = fuzzcase.Pick(rng, int32(300), 500)
	s.UcastSolicit = fuzzcase.Pick(rng, uint8(1), 2, 3)
	s.McastSolicit = fuzzcase.Pick(rng, uint8(1), 2, 3)
	s.ArpAccept = fuzzcase.Pick(rng, uint8(0), 1, 2)
	type source struct {
		mac, ip int
		unicast bool
	}
	var sources []source
	nsrc := 1 + rng.IntN(4)
	for len(sources) < nsrc {
		sources = append(sources, source{mac: rng.IntN(2), ip: fuzzcase.Pick(rng, 0, 0, 1, 2), unicast: rng.IntN(3) == 0})
	}
	t := int32(50 * (2 + rng.IntN(10)))
	packets := 0
	for n := 3 + rng.IntN(8); len(c.events) < n; {
		e := arpEvent{at: t}
		switch r := rng.IntN(20); {
		case r < 12:
			src := sources[rng.IntN(len(sources))]
			e.kind, e.mac, e.ip, e.unicast = evFrame, src.mac, src.ip, src.unicast
			e.op = fuzzcase.Pick(rng, neigh.OpRequest, neigh.OpReply)
			if e.op == neigh.OpReply {
				e.tha = fuzzcase.Pick(rng, neigh.THASelf, neigh.THASelf, neigh.THABroadcast, neigh.THAZero)
			}
		case r < 17 && packets < 4:
			// Only to the subnet: recv has no route to the third address,
			// so a packet to it never reaches the neighbour table.
			e.kind, e.ip = evPacket, fuzzcase.Pick(rng, 0, 0, 1)
			packets++
		default:
			e.kind = evCheck
		}
		c.events = append(c.events, e)
		t += int32(50 * (4 + rng.IntN(27)))
	}
	end := c.events[len(c.events)-1].at + int32(50*(4+rng.IntN(20)))
	c.events = append(c.events, arpEvent{at: end, kind: evCheck})
	c.horizon = end + 1
	return c
}

// perturbation changes a case's times for the robustness check.
type perturbation struct {
	event int     // the event moved, -1 none
	by    int32   // how far
	reach float64 // where reachable_time is drawn in [base/2, 3*base/2), 0 to 1
	late  bool    // every timer as late as the timer wheel allows
}

// robust reports whether the model observes the same under every
// perturbation as without one (p nil: the profile of the first run).
func (c *arpCase) robust(p *profile.Profile) bool {
	if p == nil {
		p = c.prof
	}
	if p == nil {
		return false
	}
	c.prof = p
	base, err := c.model(p, perturbation{event: -1})
	if err != nil {
		return false
	}
	for _, reach := range []float64{0, 1} {
		for _, late := range []bool{false, true} {
			for ev := -1; ev < len(c.events); ev++ {
				for _, by := range []int32{-margin, margin} {
					if ev < 0 && by > 0 {
						continue
					}
					pt := perturbation{event: ev, by: by, reach: reach, late: late}
					if ev < 0 {
						pt.by = 0
					}
					got, err := c.model(p, pt)
					if err != nil || !slices.Equal(got, base) {
						return false
					}
				}
			}
		}
	}
	steps := int(c.sys.BaseReachable/(margin/3)) + 1
	for i := 1; i < steps; i++ {
		for _, late := range []bool{false, true} {
			got, err := c.model(p, perturbation{event: -1, reach: float64(i) / float64(steps), late: late})
			if err != nil || !slices.Equal(got, base) {
				return false
			}
		}
	}
	return true
}

// Run runs the case live and in the model.
func (c *arpCase) Run(ctx context.Context, name string, p *profile.Profile) ([]string, error) {
	mod, err := c.model(p, perturbation{event: -1})
	if err != nil {
		return nil, err
	}
	live, err := c.live(ctx, name)
	if err != nil {
		return nil, err
	}
	c.last = live
	var diffs []string
	for i := range mod {
		if live[i] != mod[i] {
			diffs = append(diffs, fmt.Sprintf("kernel %s; model %s", live[i], mod[i]))
		}
	}
	return diffs, nil
}

// stateClass names what the comparison distinguishes: the NUD states a
// live entry can be seen in, with FAILED and no entry as one class (the
// kernel's garbage collector removes FAILED entries once the host's
// ARP table holds gc_thresh1 entries, in any namespace).
func stateClass(st kernel.NUD, mac kernel.MAC) string {
	switch st {
	case kernel.NUDReachable, kernel.NUDStale, kernel.NUDDelay, kernel.NUDProbe:
		return st.String() + " " + mac.String()
	case kernel.NUDIncomplete:
		return st.String()
	}
	return "none"
}

// observation renders one entry at one checkpoint.
func observation(at int32, ip int, class string) string {
	return fmt.Sprintf("at %s recv's entry for %s is %s", secs(at), arpIPs[ip], class)
}

// Reproducer renders the case as a neigh scenario. The format has no
// property for an entry's state and MAC at a time, so the checkpoints
// and what each side saw are comments; the property is a placeholder
// that makes the file checkable (recv never learns old's own address,
// as nothing announces it). `raceroute check FILE --kernel auto` runs
// the same model run; its story shows the entries at each checkpoint.
func (c *arpCase) Reproducer(p *profile.Profile, diffs []string) string {
	var b strings.Builder
	b.WriteString("# raceroute lab --fuzz: an ARP case on which the kernel and the model disagree\n")
	for _, d := range diffs {
		fmt.Fprintf(&b, "#   %s\n", d)
	}
	b.WriteString("# The events (times from the start):\n")
	for _, e := range c.events {
		fmt.Fprintf(&b, "#   %s\n", e)
	}
	if len(c.last) > 0 {
		b.WriteString("# What the kernel showed at each checkpoint:\n")
		for _, o := range c.last {
			fmt.Fprintf(&b, "#   %s\n", o)
		}
	}
	b.WriteString("# The format has no property for an entry's state at a time: the property\n# below is a placeholder that lets `raceroute check` run this file.\n")
	fmt.Fprintf(&b, "name: fuzz-arp\nmodel: neigh\ndescription: an ARP case found by raceroute lab --fuzz (model profile %s)\n", p.Name)
	fmt.Fprintf(&b, "check:\n  strategy: dfs\n  horizon: %dms\nreachable-draws: 2\nhosts:\n", c.horizon)
	s := c.sys
	fmt.Fprintf(&b, "  - name: recv\n    interfaces:\n      - name: eth0\n        mac: %s\n        addrs: [%s]\n", recvMAC, recvAddr)
	fmt.Fprintf(&b, "        sysctl: {locktime: %dms, base_reachable_time: %dms, delay_first_probe_time: %dms, retrans_time: %dms, ucast_solicit: %d, mcast_solicit: %d, arp_accept: %d}\n",
		s.Locktime, s.BaseReachable, s.DelayFirstProbe, s.Retrans, s.UcastSolicit, s.McastSolicit, s.ArpAccept)
	for i, m := range arpMACs {
		fmt.Fprintf(&b, "  - name: %s\n    interfaces:\n      - name: eth0\n        mac: %s\n        addrs: [%s]\n", macNames[i], m, arpHostAddrs[i])
	}
	senders, flows := c.actors(perturbation{event: -1})
	if len(senders) > 0 {
		b.WriteString("arp:\n")
	}
	for i, sd := range senders {
		fmt.Fprintf(&b, "  - name: s%d\n    from: %s\n    ip: %s\n", i+1, macNames[sd.mac], arpIPs[sd.ip])
		if sd.unicast {
			b.WriteString("    to: recv\n")
		}
		b.WriteString("    packets:\n")
		for _, pk := range sd.packets {
			op := "request"
			if pk.Op == neigh.OpReply {
				op = "reply"
			}
			fmt.Fprintf(&b, "      - {op: %s, after: %dms", op, pk.After.Min)
			if pk.Op == neigh.OpReply {
				fmt.Fprintf(&b, ", tha: %s", thaNames[pk.THA])
			}
			b.WriteString("}\n")
		}
	}
	if len(flows) > 0 {
		b.WriteString("flows:\n")
	}
	for i, f := range flows {
		fmt.Fprintf(&b, "  - {name: p%d, from: recv, to: %s, start: %dms, count: 1}\n", i+1, arpIPs[f.ip], f.at)
	}
	fmt.Fprintf(&b, "properties:\n  - converges: {host: recv, ip: %s, within: %dms}\nexpect: {\"*\": violated}\n", arpHostAddrs[0].Addr(), c.horizon-1)
	return b.String()
}
