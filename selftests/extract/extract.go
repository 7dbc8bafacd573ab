// Package extract reads the cases of the kernel's net selftests from the
// scripts' text: a symbolic interpreter of the shell the scripts are
// written in runs their test functions without executing anything,
// records each command as a step, and turns the scripts' assertions
// (log_test, [ OK ]/[FAIL] reports, ok/failed echoes) into the steps'
// wants. The translation is mechanical: what the interpreter does not
// understand is an error naming the script line, never a guess. The
// suites (Suites) say only where to start: which functions are the
// tests, which are set-up and clean-up.
package extract

import (
	"fmt"
	"slices"
	"sort"
	"strings"

	"raceroute/selftests/cases"
)

// Suite says how to read one script.
type Suite struct {
	// Name is the script's name without .sh; Script its path in the
	// kernel tree.
	Name, Script string
	// Groups are the tests read, in the order the script runs them.
	Groups []Group
	// Envs are the set-up functions recorded as environments (called
	// without arguments, they always run the same steps).
	Envs []string
	// Teardown are the clean-up functions: not read (every env and
	// case starts from fresh namespaces).
	Teardown []string
	// Ignore are functions not read, each for a reason given in Why.
	Ignore []string
	Why    string
	// DropIPv4 drops assertions whose description starts with "IPv4"
	// (their commands stay, for the IPv6 case after them).
	DropIPv4 bool
	// Defaults are variables the script sets outside the functions read.
	Defaults map[string]string
	// External are the commands the script may run besides binaries
	// (lib.sh functions such as slowwait_for_counter); any other name
	// with an underscore that the script does not define is an error (a
	// function an excerpt lacks), never a command.
	External []string
}

// Group is one test of a script (a TESTS word).
type Group struct {
	Name string
	// Pre are functions called before the first of Funcs (a set-up
	// the script's test driver runs).
	Pre []string
	// Funcs are the test functions, in order; those a version lacks
	// are skipped, and the group with them when none is there.
	Funcs []string
	// Callee names the cases by the functions each of Funcs calls (the
	// function running the test for one set of parameters) instead of
	// by Funcs.
	Callee bool
}

// Meta is what a case file says of its script beyond the cases.
type Meta struct {
	Version string
	Source  string
	Exact   bool
	Covers  []cases.Range
	Notes   []string
	// Globals are variables to set before reading (an excerpt may lack
	// the script's own top, e.g. IP="ip -netns testns").
	Globals map[string]string
	// Helpers is another version of the script (HelpersName names it)
	// holding the functions HelperFuncs that an excerpt lacks.
	Helpers     []byte
	HelpersName string
	HelperFuncs []string
}

// Extract reads the cases of script text (file names it in errors).
func Extract(s *Suite, file string, text []byte, meta Meta) (*cases.File, error) {
	sc, err := parseScript(file, string(text))
	if err != nil {
		return nil, err
	}
	if len(meta.HelperFuncs) > 0 {
		hs, err := parseScript(meta.HelpersName, string(meta.Helpers))
		if err != nil {
			return nil, err
		}
		for _, name := range meta.HelperFuncs {
			switch {
			case sc.funcs[name] != nil:
				return nil, fmt.Errorf("%s: has %s itself: drop it from the helpers", file, name)
			case hs.funcs[name] == nil:
				return nil, fmt.Errorf("%s: has no function %s", meta.HelpersName, name)
			}
			sc.funcs[name] = hs.funcs[name]
		}
	}
	out := &cases.File{
		Suite: s.Name, Script: s.Script, Version: meta.Version, Source: meta.Source,
		Exact: meta.Exact, Covers: meta.Covers, Notes: slices.Clone(meta.Notes),
	}
	if len(meta.HelperFuncs) > 0 {
		out.Notes = append(out.Notes, fmt.Sprintf("%s are not in the text read: taken from %s (their steps' line numbers are that file's)",
			strings.Join(meta.HelperFuncs, ", "), meta.HelpersName))
	}
	in := &interp{sc: sc, spec: s, file: out, globals: map[string]value{}, counts: map[string]int{}, st: staticStatus(0, "the start")}
	for k, v := range s.Defaults {
		in.globals[k] = value{s: v}
	}
	// The top-level assignments, in order; one the extractor cannot
	// evaluate (it uses what only the main part sets) leaves its
	// variable unset, so that a function using it fails by name.
	for _, g := range sc.globals {
		_, _ = in.simple(g.no, g.text)
	}
	for _, k := range sortedKeys(meta.Globals) {
		in.globals[k] = value{s: meta.Globals[k]}
	}
	for _, g := range s.Groups {
		present := slices.ContainsFunc(g.Funcs, func(f string) bool { return sc.funcs[f] != nil })
		if !present {
			continue
		}
		in.group, in.callee = g.Name, g.Callee
		for _, name := range append(slices.Clone(g.Pre), g.Funcs...) {
			f := sc.funcs[name]
			if f == nil {
				if slices.Contains(g.Pre, name) {
					return nil, fmt.Errorf("%s: group %s: the script has no function %s", file, g.Name, name)
				}
				continue
			}
			in.caseFunc = ""
			if !g.Callee && !slices.Contains(g.Pre, name) {
				in.caseFunc = name
			}
			if err := in.call(f.line, f, nil); err != nil {
				return nil, err
			}
		}
	}
	for _, p := range in.pending {
		if p.asserted {
			return nil, fmt.Errorf("%s:%d: an assertion that closes no case", file, p.s.Line)
		}
	}
	// The file must read back as written.
	back, err := cases.Parse(file, out.Format())
	if err != nil {
		return nil, fmt.Errorf("extracted cases do not read back: %w", err)
	}
	back.Name = ""
	return back, nil
}

func sortedKeys(m map[string]string) []string {
	var k []string
	for x := range m {
		k = append(k, x)
	}
	sort.Strings(k)
	return k
}
