package selftests

import (
	"fmt"

	"raceroute/model/fib6"
	"raceroute/model/neigh"
	"raceroute/profile"
	"raceroute/selftests/cases"
)

// LineOf is the mainline release line of a profile's kernel: the x.y of
// its release string (a distribution kernel's base: RHEL 8's 4.18, Debian
// 12's 6.1).
func LineOf(p profile.Profile) (cases.Line, error) {
	r, err := profile.ParseRelease(p.Release)
	if err != nil {
		return cases.Line{}, fmt.Errorf("profile %s: %w", p.Name, err)
	}
	return cases.Line{Major: r.Major, Minor: r.Minor}, nil
}

// Covered returns the profiles of ps whose kernel line f covers: the
// kernels that shipped this version of the script.
func Covered(f *cases.File, ps []profile.Profile) []profile.Profile {
	var out []profile.Profile
	for _, p := range ps {
		if l, err := LineOf(p); err == nil && f.CoversLine(l) {
			out = append(out, p)
		}
	}
	return out
}

// FileFor returns the file of suite whose script p's kernel shipped.
func FileFor(files []*cases.File, suite string, p profile.Profile) (*cases.File, bool) {
	l, err := LineOf(p)
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
		var res []Result
		var err error
		switch f.Suite {
		case "fib_tests":
			res, err = runFib6(f, q)
		default:
			res, err = runNeigh(f, q)
		}
		if err != nil {
			return nil, fmt.Errorf("%s %s on %s: %w", f.Suite, f.Version, q.ID(), err)
		}
		out = append(out, Run{File: f, Profile: q, Results: res})
	}
	return out, nil
}
