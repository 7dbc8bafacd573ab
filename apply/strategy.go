package apply

import (
	"fmt"
	"slices"
	"strings"

	"raceroute/profile"
)

// Strategy is how a change is written.
type Strategy string

// The writer's strategies. Each Change names the one it uses and why.
const (
	// Add writes a route at a key no route holds: RTM_NEWROUTE with
	// NLM_F_CREATE|NLM_F_EXCL, so that a route another agent put there
	// meanwhile is refused, never overwritten.
	Add Strategy = "add"
	// Replace writes the route over the one at its key in one message:
	// NLM_F_CREATE|NLM_F_REPLACE. The destination is never without a
	// route.
	Replace Strategy = "replace"
	// ReplaceDeleteOld is make before break where IPv6 replace adds
	// instead: replace (which on the kernel concerned inserts the new
	// route beside the old one), then delete the old route by its exact
	// next hop. The destination always has the old route, the new one,
	// or both.
	ReplaceDeleteOld Strategy = "replace-delete-old"
	// AddDelete changes a route's key (its metric): add the route at the
	// new key first, then delete the old one; the kernel's replace cannot
	// do it, as its key includes the metric.
	AddDelete Strategy = "add-delete"
	// NexthopReplace changes no route: the nexthop object the routes use
	// is replaced (RTM_NEWNEXTHOP with NLM_F_REPLACE), which moves every
	// route using it at once (replace_nexthop(), net/ipv4/nexthop.c).
	NexthopReplace Strategy = "nexthop-replace"
	// Delete removes a route of ours (--prune), matched by its protocol,
	// table, metric and next hops so that no other route is hit.
	Delete Strategy = "delete"
)

// change classes: what the kernel's behaviour depends on.
type class uint8

const (
	classNew         class = iota + 1 // a key no route holds
	classSameKind                     // same key; the new route's ECMP kind is the old one's, or the new route qualifies
	classToNonECMP                    // same key; the old route qualifies for ECMP, the new one does not (IPv6)
	classMetric                       // the route's metric changes: its key changes
	classDelete                       // a route of ours goes
	classNexthopMove                  // only the next hops of a nexthop object change
)

// choice is a strategy with its reason and the library scenarios that
// show it is the safe one.
type choice struct {
	strategy Strategy
	heal     bool
	why      string
	evidence []string
}

// Evidence names the library scenario variants that show a strategy is
// the right one on a profile, by change class: the chosen strategy holds
// on every candidate setting of the profile, and the simpler strategy it
// replaces is violated on some (apply/evidence_test.go checks both).
var evidenceFor = map[class]map[Strategy]string{
	classSameKind:  {Replace: "apply-clone-race/replace"},
	classToNonECMP: {Replace: "apply-retract/replace", ReplaceDeleteOld: "apply-retract/replace-delete-old"},
	classMetric:    {AddDelete: "apply-metric-change/add-delete"},
}

// healEvidence shows that the route cache must be healed after a change
// on kernels that clone on lookup, and that healing suffices.
const (
	noHealEvidence = "apply-clone-race/replace"
	healEvidence   = "apply-clone-race/replace-heal"
)

// candidates lists the values switch sw may have on p: its setting, or
// every candidate when the profile could not pin it.
func candidates(p profile.Profile, sw string) []string {
	s, ok := p.Setting(sw)
	if !ok {
		return nil
	}
	if s.Known() {
		return []string{s.Value}
	}
	return slices.Clone(s.Unknown)
}

// maybe reports whether switch sw may be value on p, and describes the
// setting ("ipv6-replace=ecmp-quirk", or "ipv6-replace unknown: ...").
func maybe(p profile.Profile, sw, value string) (bool, string) {
	cs := candidates(p, sw)
	if len(cs) == 1 {
		return cs[0] == value, sw + "=" + cs[0]
	}
	return slices.Contains(cs, value), fmt.Sprintf("%s could not be pinned on %s (candidates: %s)", sw, p.ID(), strings.Join(cs, ", "))
}

// choose picks the strategy for a change of class c of an IPv4 or IPv6
// route on kernel profile p: the simplest one the library's evidence shows
// safe under every candidate setting of p.
func choose(p profile.Profile, fam int, c class) choice {
	var ch choice
	switch c {
	case classNew:
		ch = choice{strategy: Add, why: "a new key: add, refused (EEXIST) rather than overwriting a route another agent put there"}
	case classDelete:
		ch = choice{strategy: Delete, why: "not desired and ours (--prune): deleted by protocol, table, metric and next hops"}
	case classNexthopMove:
		ch = choice{strategy: NexthopReplace, why: "only its next hops change: its nexthop object is replaced, which moves every route using it in one message"}
	case classMetric:
		ch = choice{strategy: AddDelete, evidence: []string{evidenceFor[classMetric][AddDelete]},
			why: "its metric changes, and the replace key includes the metric (a replace at the new metric would add a second route): the new route is added first, then the old one deleted"}
	case classSameKind:
		ch = choice{strategy: Replace, why: "same key: one replace, atomic"}
		if fam == 6 {
			ch.evidence = []string{evidenceFor[classSameKind][Replace]}
		} else {
			ch.why += " (fib_table_insert() replaces the alias in place on every kernel)"
		}
	case classToNonECMP:
		ch = choice{strategy: Replace, evidence: []string{evidenceFor[classToNonECMP][Replace]},
			why: "same key: one replace, atomic"}
		if quirk, setting := maybe(p, "ipv6-replace", "ecmp-quirk"); quirk {
			ch = choice{strategy: ReplaceDeleteOld, evidence: []string{evidenceFor[classToNonECMP][ReplaceDeleteOld]},
				why: fmt.Sprintf("make before break: %s, where fib6_add_rt2node() replaces only a route of the new one's ECMP kind, and the new route does not qualify for ECMP (no gateway, or a nexthop object) while the old one does, so replace adds it beside the old route; the old route is then deleted by its next hop", setting)}
		} else {
			ch.why = fmt.Sprintf("same key: one replace, atomic (%s: the new route replaces the old one although their ECMP kinds differ)", setting)
		}
	}
	if fam == 6 && c != classNexthopMove {
		if clones, setting := maybe(p, "ipv6-cache", "clone-on-lookup"); clones {
			ch.heal = true
			// The clone race is shown for a replace: with the heal, the
			// evidence is the healed variant.
			ch.evidence = slices.DeleteFunc(ch.evidence, func(e string) bool { return e == noHealEvidence })
			ch.evidence = append(ch.evidence, healEvidence)
			ch.why += fmt.Sprintf("; then the route cache under the prefix is healed (%s: a lookup that matched the old route before the change can insert its clone after it, so contradicting clones are deleted once in-flight lookups are done)", setting)
		}
	}
	return ch
}

// classify tells the class of a change from route `from` (nil: none) to
// `to` (nil: deleted). fromNH and toNH say whether each uses a nexthop
// object.
func classify(from, to *Route, fromNH, toNH bool) class {
	switch {
	case from == nil:
		return classNew
	case to == nil:
		return classDelete
	case from.Metric != to.Metric:
		return classMetric
	case to.Family() == 6 && qualifiesECMP(from, fromNH) && !qualifiesECMP(to, toNH):
		return classToNonECMP
	}
	return classSameKind
}

// qualifiesECMP mirrors rt6_qualify_for_ecmp() (include/net/ip6_route.h):
// a gateway route, not from a router advertisement, and (from 5.3) not
// using a nexthop object. The writer's routes are never RA routes.
func qualifiesECMP(r *Route, nexthopObject bool) bool {
	if nexthopObject || len(r.Nexthops) == 0 {
		return false
	}
	for _, h := range r.Nexthops {
		if !h.Gateway.IsValid() {
			return false
		}
	}
	return true
}
