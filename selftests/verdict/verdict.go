// Package verdict holds what became of a kernel selftest case run on a
// model (package selftests): its Verdict, the Outcome of each step that
// asserts something, and the capabilities a model lacks, named as the
// report prints them. The runners (selftests/fib6run, selftests/neighrun)
// make Results; package selftests gathers them per profile and reports.
package verdict

import (
	"fmt"

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

// Capabilities the models lack, named as the report prints them.
const (
	CapLookup      = "route lookups (ip route get)"
	CapLinkEvents  = "link events"
	CapAddrconf    = "address events (addrconf prefix routes)"
	CapMetrics     = "RTAX metrics"
	CapDatapath    = "a datapath (ping)"
	CapGatewayVal  = "gateway validation (ip6_validate_gw)"
	CapDsfield     = "attribute validation (RTA_DSFIELD)"
	CapND          = "IPv6 neighbour discovery"
	CapSysctl      = "sysctls"
	CapEarlierCase = "the state of an earlier case it cannot run"
)
