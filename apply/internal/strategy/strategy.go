// Package strategy chooses how the route writer (package apply) writes
// each change on a kernel profile: the simplest strategy the library's
// evidence (scenario/library/apply-*.yaml, checked with the model) shows
// safe under every candidate setting of the profile, with the reason and
// the scenarios that show it. evidence_test.go fails when a choice and
// its evidence disagree.
package strategy

import (
	"fmt"
	"slices"
	"strings"

	"raceroute/apply/route"
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

// Class is a class of change: what the kernel's behaviour depends on.
type Class uint8

const (
	ClassNew         Class = iota + 1 // a key no route holds
	ClassSameKind                     // same key; the new route's ECMP kind is the old one's, or the new route qualifies
	ClassToNonECMP                    // same key; the old route qualifies for ECMP, the new one does not (IPv6)
	ClassMetric                       // the route's metric changes: its key changes
	ClassDelete                       // a route of ours goes
	ClassNexthopMove                  // only the next hops of a nexthop object change
)

// Choice is a strategy with its reason and the library scenarios that
// show it is the safe one.
type Choice struct {
	Strategy Strategy
	// Heal: heal the IPv6 route cache under the prefix after the change.
	Heal     bool
	Why      string
	Evidence []string
}

// evidenceFor names the library scenario variants that show a strategy is
// the right one on a profile, by change class: the chosen strategy holds
// on every candidate setting of the profile, and the simpler strategy it
// replaces is violated on some (evidence_test.go checks both).
var evidenceFor = map[Class]map[Strategy]string{
	ClassSameKind:  {Replace: "apply-clone-race/replace"},
	ClassToNonECMP: {Replace: "apply-retract/replace", ReplaceDeleteOld: "apply-retract/replace-delete-old"},
	ClassMetric:    {AddDelete: "apply-metric-change/add-delete"},
	// 5.3 and later: the scenario is refused where there are no objects.
	ClassNexthopMove: {NexthopReplace: "apply-nexthop-move/nexthop-replace"},
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

// Choose picks the strategy for a change of class c of an IPv4 or IPv6
// route on kernel profile p: the simplest one the library's evidence shows
// safe under every candidate setting of p.
func Choose(p profile.Profile, fam int, c Class) Choice {
	var ch Choice
	switch c {
	case ClassNew:
		ch = Choice{Strategy: Add, Why: "a new key: add, refused (EEXIST) rather than overwriting a route another agent put there"}
	case ClassDelete:
		ch = Choice{Strategy: Delete, Why: "not desired and ours (--prune): deleted by protocol, table, metric and next hops"}
	case ClassNexthopMove:
		ch = Choice{Strategy: NexthopReplace, Evidence: []string{evidenceFor[ClassNexthopMove][NexthopReplace]},
			Why: "only its next hops change: its nexthop object is replaced, which moves every route using it in one message (replace_nexthop(): no instant without the next hop, where deleting and re-adding the object would delete its routes)"}
	case ClassMetric:
		ch = Choice{Strategy: AddDelete, Evidence: []string{evidenceFor[ClassMetric][AddDelete]},
			Why: "its metric changes, and the replace key includes the metric (a replace at the new metric would add a second route): the new route is added first, then the old one deleted"}
	case ClassSameKind:
		ch = Choice{Strategy: Replace, Why: "same key: one replace, atomic"}
		if fam == 6 {
			ch.Evidence = []string{evidenceFor[ClassSameKind][Replace]}
		} else {
			ch.Why += " (fib_table_insert() replaces the alias in place on every kernel)"
		}
	case ClassToNonECMP:
		ch = Choice{Strategy: Replace, Evidence: []string{evidenceFor[ClassToNonECMP][Replace]},
			Why: "same key: one replace, atomic"}
		if quirk, setting := maybe(p, "ipv6-replace", "ecmp-quirk"); quirk {
			ch = Choice{Strategy: ReplaceDeleteOld, Evidence: []string{evidenceFor[ClassToNonECMP][ReplaceDeleteOld]},
				Why: fmt.Sprintf("make before break: %s, where fib6_add_rt2node() replaces only a route of the new one's ECMP kind, and the new route does not qualify for ECMP (no gateway, or a nexthop object) while the old one does, so replace adds it beside the old route; the old route is then deleted by its next hop", setting)}
		} else {
			ch.Why = fmt.Sprintf("same key: one replace, atomic (%s: the new route replaces the old one although their ECMP kinds differ)", setting)
		}
	}
	if fam == 6 && c != ClassNexthopMove {
		if clones, setting := maybe(p, "ipv6-cache", "clone-on-lookup"); clones {
			ch.Heal = true
			// The clone race is shown for a replace: with the heal, the
			// evidence is the healed variant.
			ch.Evidence = slices.DeleteFunc(ch.Evidence, func(e string) bool { return e == noHealEvidence })
			ch.Evidence = append(ch.Evidence, healEvidence)
			ch.Why += fmt.Sprintf("; then the route cache under the prefix is healed (%s: a lookup that matched the old route before the change can insert its clone after it, so contradicting clones are deleted once in-flight lookups are done)", setting)
		}
	}
	return ch
}

// Classify tells the class of a change from route `from` (nil: none) to
// `to` (nil: deleted). fromNH and toNH say whether each uses a nexthop
// object.
func Classify(from, to *route.Route, fromNH, toNH bool) Class {
	switch {
	case from == nil:
		return ClassNew
	case to == nil:
		return ClassDelete
	case from.Metric != to.Metric:
		return ClassMetric
	case to.Family() == 6 && from.QualifiesECMP(fromNH) && !to.QualifiesECMP(toNH):
		return ClassToNonECMP
	}
	return ClassSameKind
}
