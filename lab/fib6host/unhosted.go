package fib6host

import (
	"fmt"

	"raceroute/scenario/fib6file"
)

// gapNexthopOnLo is the reason a refusal gives for a nexthop object
// whose next hop is on lo (LabGaps lists it, for the tests that run the
// whole library live).
const gapNexthopOnLo = "nexthop objects on lo"

// LabGaps are the reasons the lab refuses a fib6 scenario for a
// capability of the model it does not play live.
func LabGaps() []string { return []string{gapNexthopOnLo} }

// unhosted lists the model capabilities c uses that the lab does not
// play: nexthop objects whose next hop is on lo (every route and object
// the lab hosts names a device with a peer, or is a blackhole). Nexthop
// objects, groups and routes on them, and multipath routes (ECMP
// siblings appended one next hop at a time, as the model writes them)
// are played (nexthops.go).
func unhosted(c *fib6file.Compiled) []string {
	var why []string
	for _, n := range nexthopDefs(c.Config) {
		if !n.IsGroup() && !n.Blackhole && n.Dev == "lo" {
			why = append(why, fmt.Sprintf("%s: nexthop %s: a next hop on lo has no peer to answer it", gapNexthopOnLo, n))
		}
	}
	return why
}
