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
// The runners are packages of their own: selftests/fib6run (fib_tests
// on model/fib6, in the namespace selftests/fib6ns keeps: devices,
// addresses and the address and link behaviour around the table) and
// selftests/neighrun (the neighbour suites on model/neigh), both reading
// ip command lines through selftests/ipcmd; a case's verdict is
// selftests/verdict. This package picks the runner and the script
// version per profile (RunModel, FileFor, Covered), counts (Run.Tally)
// and writes the report (RunSuites, WriteReport).
//
// The packages are pure: no I/O, no kernel. The live side of the same
// cases is live/kselftest.
package selftests

import (
	"fmt"

	"raceroute/model/fib6"
	"raceroute/model/neigh"
	"raceroute/profile"
	"raceroute/selftests/cases"
	"raceroute/selftests/fib6run"
	"raceroute/selftests/neighrun"
	"raceroute/selftests/verdict"
)

// Covered returns the profiles of ps whose kernel line f covers: the
// kernels that shipped this version of the script.
func Covered(f *cases.File, ps []profile.Profile) []profile.Profile {
	var out []profile.Profile
	for _, p := range ps {
		if l, err := cases.LineOf(p); err == nil && f.CoversLine(l) {
			out = append(out, p)
		}
	}
	return out
}

// FileFor returns the file of suite whose script p's kernel shipped.
func FileFor(files []*cases.File, suite string, p profile.Profile) (*cases.File, bool) {
	l, err := cases.LineOf(p)
	if err != nil {
		return nil, false
	}
	for _, f := range files {
		if f.Suite == suite && f.CoversLine(l) {
			return f, true
		}
	}
	return nil, false
}

// switches are the profile switches a suite's model reads.
func switches(suite string) []string {
	if suite == "fib_tests" {
		return fib6.Switches()
	}
	return neigh.Switches()
}

// RunModel runs f's cases on the model of its suite under p; a profile
// with unknown settings the model reads gives one run per candidate
// setting (profile.Resolve).
func RunModel(f *cases.File, p profile.Profile) ([]Run, error) {
	var out []Run
	for _, q := range p.Resolve(switches(f.Suite)) {
		var res []verdict.Result
		var err error
		switch f.Suite {
		case "fib_tests":
			res, err = fib6run.Run(f, q)
		default:
			res, err = neighrun.Run(f, q)
		}
		if err != nil {
			return nil, fmt.Errorf("%s %s on %s: %w", f.Suite, f.Version, q.ID(), err)
		}
		out = append(out, Run{File: f, Profile: q, Results: res})
	}
	return out, nil
}
