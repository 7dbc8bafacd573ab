package fib6host

import (
	"raceroute/model/fib6"
	"raceroute/scenario/fib6file"
)

// Capabilities of the model the lab does not play live yet, each with
// the reason a refusal gives (LabGaps lists them, for the tests that run
// the whole library live).
const (
	gapNexthops  = "nexthop objects: the lab writes routes with their own next hops, not RTM_NEWNEXTHOP objects"
	gapMultipath = "multipath routes: the lab's route dump decodes one next hop of an RTA_MULTIPATH route, so it can not judge a table of ECMP siblings"
)

// LabGaps are the reasons the lab refuses a fib6 scenario for a
// capability of the model it does not play live.
func LabGaps() []string { return []string{gapNexthops, gapMultipath} }

// unhosted lists the model capabilities c uses that the lab does not
// play.
func unhosted(c *fib6file.Compiled) []string {
	var why []string
	cfg := c.Config
	nh, mp := len(cfg.Nexthops) > 0, false
	for i, r := range cfg.Routes {
		nh = nh || r.NHID != 0
		mp = mp || cfg.InitialKind(i) == fib6.OpAppend
	}
	for _, a := range cfg.Actors {
		for _, op := range a.Ops {
			nh = nh || op.Route.NHID != 0 || op.Kind == fib6.OpNexthopAdd || op.Kind == fib6.OpNexthopReplace || op.Kind == fib6.OpNexthopDel
			mp = mp || (op.Kind == fib6.OpAppend && op.Route.Gateway.IsValid())
		}
	}
	if nh {
		why = append(why, gapNexthops)
	}
	if mp {
		why = append(why, gapMultipath)
	}
	return why
}
