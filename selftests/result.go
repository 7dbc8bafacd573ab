// Package selftests runs the kernel's own selftest cases (package
// selftests/cases) on raceroute's models, per kernel profile: the IPv6
// route cases of fib_tests.sh on model/fib6, the ARP cases of
// arp_ndisc_untracked_subnets.sh on model/neigh. Each case ends as
// agreeing with what the script asserts, disagreeing (with the step and
// both results), not expressible (with what the model lacks), or vacuous
// (the script's assertion cannot fail). Which script version runs
// against which profile is the version's `covers` lines against the
// profile's kernel line (Covered).
//
// The package is pure: no I/O, no kernel. The live side of the same
// cases is live/kselftest.
package selftests

import (
	"fmt"
	"sort"
	"strings"

	"raceroute/profile"
	"raceroute/selftests/cases"
)

// Verdict is what became of a case.
type Verdict uint8

// Verdicts.
const (
	// Agree: every assertion of the script holds on the model.
	Agree Verdict = iota + 1
	// Disagree: one does not; Result.Why says which and how.
	Disagree
	// NotExpressible: the model lacks Result.Missing.
	NotExpressible
	// Vacuous: the script's assertion cannot fail (Case.Vacuous says why).
	Vacuous
)

func (v Verdict) String() string {
	switch v {
	case Agree:
		return "agrees"
	case Disagree:
		return "DISAGREES"
	case NotExpressible:
		return "not expressible"
	case Vacuous:
		return "vacuous"
	}
	return "?"
}

// Outcome is what one step gave.
type Outcome struct {
	Step *cases.Step
	Exit int
	// Out is the step's output as a command substitution keeps it.
	Out string
}

// Show renders the outcome as the step's want compares it.
func (o Outcome) Show() string {
	switch o.Step.Want.Kind {
	case cases.WantEqual:
		return fmt.Sprintf("%q", cases.Collapse(o.Out))
	case cases.WantEmpty, cases.WantNonEmpty:
		if o.Out == "" {
			return "empty"
		}
		return fmt.Sprintf("%q", cases.Collapse(o.Out))
	}
	return fmt.Sprintf("exit %d", o.Exit)
}

// Result is one case's verdict.
type Result struct {
	Case    *cases.Case
	Verdict Verdict
	// Missing names the capabilities the model lacks: why a case is not
	// expressible (for a vacuous one, what it would need besides).
	Missing []string
	// Why says, for Disagree, which step and what each side had.
	Why string
	// Outcomes are the model's results of the case's steps that have a
	// want, in order (empty unless the case ran).
	Outcomes []Outcome
}

// Run is a case file's results on one profile.
type Run struct {
	File    *cases.File
	Profile profile.Profile
	Results []Result
}

// Tally counts a run's verdicts.
type Tally struct {
	Cases, Agree, Disagree, NotExpressible, Vacuous int
	// Missing counts the not-expressible cases by what they lack (the
	// capabilities joined with " + ").
	Missing map[string]int
}

// Tally counts r's verdicts.
func (r *Run) Tally() Tally {
	t := Tally{Missing: map[string]int{}}
	for _, res := range r.Results {
		t.Cases++
		switch res.Verdict {
		case Agree:
			t.Agree++
		case Disagree:
			t.Disagree++
		case NotExpressible:
			t.NotExpressible++
			t.Missing[strings.Join(res.Missing, " + ")]++
		case Vacuous:
			t.Vacuous++
		}
	}
	return t
}

// MissingText lists t.Missing, most cases first.
func (t Tally) MissingText() string {
	type kv struct {
		k string
		n int
	}
	var l []kv
	for k, n := range t.Missing {
		l = append(l, kv{k, n})
	}
	sort.Slice(l, func(i, j int) bool {
		if l[i].n != l[j].n {
			return l[i].n > l[j].n
		}
		return l[i].k < l[j].k
	})
	parts := make([]string, len(l))
	for i, x := range l {
		parts[i] = fmt.Sprintf("%d %s", x.n, x.k)
	}
	return strings.Join(parts, "; ")
}

// Capabilities the models lack, named as the report prints them.
const (
	capLookup      = "route lookups (ip route get)"
	capLinkEvents  = "link events"
	capAddrconf    = "address events (addrconf prefix routes)"
	capMetrics     = "RTAX metrics"
	capDatapath    = "a datapath (ping)"
	capGatewayVal  = "gateway validation (ip6_validate_gw)"
	capDsfield     = "attribute validation (RTA_DSFIELD)"
	capND          = "IPv6 neighbour discovery"
	capSysctl      = "sysctls"
	capEarlierCase = "the state of an earlier case it cannot run"
)
