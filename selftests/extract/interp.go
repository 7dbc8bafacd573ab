package extract

import (
	"fmt"
	"slices"
	"strings"

	"raceroute/selftests/cases"
	"raceroute/selftests/extract/sh"
	"raceroute/selftests/extract/sheval"
)

// The interpreter (sheval evaluates, this package records) runs a
// script's test functions symbolically: commands are not executed but
// recorded as steps; an exit status or a command's
// output that only a run can tell is a check on a recorded step; the
// script's assertions (log_test, [ OK ]/[FAIL] reports, ok/failed echoes)
// turn checks into the steps' wants and close a case. Conditions on the
// script's own parameters are evaluated, as bash would. Anything else it
// does not understand is an error naming the line: the extractor never
// guesses.

// pstep is a recorded step of the case being read.
type pstep struct {
	s cases.Step
	// asserted: the case's assertion; pre: a precondition (the script
	// aborts unless it holds); setE: recorded under `set -e`; dropped: a
	// probe of an IPv4 assertion, kept so that references keep their
	// indices, never written.
	asserted, pre, setE, dropped bool
}

// interp reads one script: the shell's evaluation (sheval.Interp) with
// the steps, checks and cases it records.
type interp struct {
	*sheval.Interp
	spec    *Suite
	file    *cases.File
	pending []pstep
	epoch   int
	// guards are the checks of the enclosing `if [ $? -eq 0 ]` bodies.
	guards   [][]sheval.Check
	caseFunc string
	// group is the TESTS name of the group being read; callee is set when
	// its cases are named by the functions its entry calls.
	group  string
	callee bool
	counts map[string]int
	// env is the environment being recorded, if any.
	env *cases.Env
}

// --- steps

// record adds a step for a command (words already expanded) and
// returns the check of its exit status.
func (in *interp) Record(no int, words []string) (sheval.Status, error) {
	w, err := stripRedirects(words)
	if err != nil {
		return sheval.Status{}, in.Errorf(no, "%v", err)
	}
	if len(w) == 0 {
		return sheval.StaticStatus(0, "an empty command"), nil
	}
	s, err := normalise(w)
	if err != nil {
		return sheval.Status{}, in.Errorf(no, "%v", err)
	}
	s.Line = no
	if strings.Contains(s.Cmd, " => ") || strings.Contains(s.Cmd, "  # ") {
		return sheval.Status{}, in.Errorf(no, "command %q cannot be written in the case format", s.Cmd)
	}
	ref := in.add(s)
	return sheval.Status{Chain: []sheval.Check{{Ref: ref, Pred: cases.Want{Kind: cases.WantExit}, Exit: true}}}, nil
}

// add appends a step to the environment being recorded or to the case.
func (in *interp) add(s cases.Step) sheval.StepRef {
	if in.env != nil {
		if s.Role == 0 {
			s.Role = cases.RoleDo
			if in.SetE {
				s.Role = cases.RoleSetup
			}
		}
		in.env.Steps = append(in.env.Steps, s)
		return sheval.StepRef{Epoch: in.epoch, Idx: len(in.env.Steps) - 1, Env: true}
	}
	in.pending = append(in.pending, pstep{s: s, setE: in.SetE})
	return sheval.StepRef{Epoch: in.epoch, Idx: len(in.pending) - 1}
}

// mark sets a check's predicate as its step's want: an assertion of the
// case, or a precondition.
func (in *interp) mark(no int, c sheval.Check, pre bool) error {
	if c.Ref.Epoch != in.epoch {
		return in.Errorf(no, "an assertion about a step of an earlier case")
	}
	if c.Ref.Env {
		if !pre {
			return in.Errorf(no, "an assertion inside a set-up function")
		}
		st := &in.env.Steps[c.Ref.Idx]
		st.Want, st.Role = c.Pred, cases.RoleSetup
		return nil
	}
	p := &in.pending[c.Ref.Idx]
	if p.asserted || p.pre {
		if p.s.Want == c.Pred {
			return nil
		}
		return in.Errorf(no, "the step at line %d is asserted twice (%s and %s)", p.s.Line, p.s.Want, c.Pred)
	}
	p.s.Want = c.Pred
	if pre {
		p.pre = true
	} else {
		p.asserted = true
	}
	return nil
}

// assert records `status == want` as the case's assertion (pre: as a
// precondition).
func (in *interp) assert(no int, st sheval.Status, want int, pre bool) error {
	if st.Static {
		return in.Errorf(no, "internal: assert of a static status")
	}
	if want == 0 {
		for _, c := range st.Chain {
			if err := in.mark(no, c, pre); err != nil {
				return err
			}
		}
		return nil
	}
	if len(st.Chain) != 1 {
		return in.Errorf(no, "the script asks status %d of a chain of %d commands: not supported", want, len(st.Chain))
	}
	c := st.Chain[0]
	switch {
	case c.Exit:
		c.Pred = cases.Want{Kind: cases.WantExit, Exit: want}
	case want == 1:
		var err error
		if c, err = sheval.Negate(c); err != nil {
			return in.Errorf(no, "%v", err)
		}
	default:
		return in.Errorf(no, "the script asks status %d of a test: not supported", want)
	}
	return in.mark(no, c, pre)
}

// close ends the case being read with the script's description.
func (in *interp) close(no int, desc, vacuous string) error {
	if in.env != nil {
		return in.Errorf(no, "an assertion inside a set-up function")
	}
	if in.spec.DropIPv4 && strings.HasPrefix(desc, "IPv4") {
		// An IPv4 assertion: its probes go, its commands stay for the
		// next IPv6 case (they change the state that one sees).
		var keep []pstep
		for _, p := range in.pending {
			if p.asserted {
				if readOnly(p.s.Cmd) {
					keep = append(keep, pstep{dropped: true})
					continue
				}
				p.asserted, p.s.Want = false, cases.Want{}
			}
			keep = append(keep, p)
		}
		in.pending = keep
		return nil
	}
	c := cases.Case{Func: in.caseFunc, Group: in.group, Desc: desc, Line: no, Vacuous: vacuous}
	// Steps before the case's last env step are moot: an env starts
	// from fresh namespaces (they are a previous test's clean-up).
	from := 0
	for i, p := range in.pending {
		if p.s.Role == cases.RoleEnv {
			from = i
		}
	}
	for _, p := range in.pending[from:] {
		if p.dropped {
			continue
		}
		s := p.s
		switch {
		case s.Role == cases.RoleEnv || s.Role == cases.RoleNetns:
		case p.asserted:
			s.Role = cases.RoleTest
		case p.pre || p.setE:
			s.Role = cases.RoleSetup
		default:
			s.Role = cases.RoleDo
		}
		c.Steps = append(c.Steps, s)
	}
	if c.Func == "" {
		return in.Errorf(no, "an assertion outside any test function")
	}
	in.counts[c.Func]++
	c.N = in.counts[c.Func]
	in.file.Cases = append(in.file.Cases, c)
	in.pending = nil
	in.epoch++
	return nil
}

// readOnly reports whether a command only reads kernel state: an
// `ip ... get|list|show`, as pipelines begin.
func readOnly(cmd string) bool {
	w, err := cases.SplitWords(cmd)
	if err != nil || len(w) == 0 || w[0] != "ip" {
		return false
	}
	_, verb, ok := ipVerb(w)
	return ok && (verb == "get" || verb == "list" || verb == "show")
}

func ipVerb(w []string) (string, string, bool) {
	i := 1
	for i < len(w) && strings.HasPrefix(w[i], "-") {
		i++
	}
	if i+1 >= len(w) {
		return "", "", false
	}
	obj, ok := cases.Abbrev(w[i], "route", "address", "link", "neighbour", "rule", "netns")
	if !ok {
		return "", "", false
	}
	verb, ok := cases.Abbrev(w[i+1], "add", "append", "prepend", "replace", "change", "delete", "flush", "get", "list", "show", "set", "help")
	return obj, verb, ok
}

// --- the hooks of the evaluation (sheval.Hooks)

// Builtin reads the scripts' assertion helpers, log_test and
// check_expected, from their raw words.
func (in *interp) Builtin(no int, name string, raw []string) (bool, error) {
	switch name {
	case "log_test":
		return true, in.logTest(no, raw)
	case "check_expected":
		return true, in.checkExpected(no, raw)
	}
	return false, nil
}

// Command handles the suite's clean-up and ignored functions, setup_ns
// (a netns step per namespace) and check_route6.
func (in *interp) Command(no int, name string, args []string) (bool, error) {
	switch {
	case slices.Contains(in.spec.Teardown, name), slices.Contains(in.spec.Ignore, name), name == "cleanup_ns":
		in.St = sheval.StaticStatus(0, fmt.Sprintf("`%s` (line %d)", name, no))
		return true, nil
	case name == "setup_ns":
		for _, a := range args {
			in.Set(a, sheval.Value{S: a}, false)
			in.add(cases.Step{Line: no, Role: cases.RoleNetns, NS: a})
		}
		in.St = sheval.StaticStatus(0, fmt.Sprintf("`setup_ns` (line %d)", no))
		return true, nil
	case name == "check_route6":
		return true, in.checkRoute6(no, args)
	}
	return false, nil
}

// Call runs a call of f: a set-up function's is recorded as an
// environment (callEnv); in a group whose cases are named by the
// functions its entry calls, a call from the entry's own frame names the
// cases inside it.
func (in *interp) Call(no int, f *sh.Function, args []string, run func([]string) error) error {
	if slices.Contains(in.spec.Envs, f.Name) && in.env == nil {
		return in.callEnv(no, f, args, run)
	}
	savedFunc := in.caseFunc
	if in.callee && len(in.Frames) == 1 {
		in.caseFunc = f.Name
	}
	err := run(args)
	in.caseFunc = savedFunc
	return err
}

// callEnv records a call of a set-up function: an env step in the case,
// and the function's steps as the environment (the first time; later
// calls must give the same steps).
func (in *interp) callEnv(no int, f *sh.Function, args []string, run func([]string) error) error {
	if len(args) > 0 {
		return in.Errorf(no, "set-up function %s called with arguments", f.Name)
	}
	in.add(cases.Step{Line: no, Role: cases.RoleEnv, Env: f.Name})
	env := &cases.Env{Name: f.Name, Line: f.Line}
	in.env = env
	err := run(nil)
	in.env = nil
	if err != nil {
		return err
	}
	if old, ok := in.file.Env(f.Name); ok {
		if !slices.Equal(old.Steps, env.Steps) {
			return in.Errorf(no, "set-up function %s ran different steps this time", f.Name)
		}
	} else {
		in.file.Envs = append(in.file.Envs, *env)
	}
	in.St = sheval.StaticStatus(0, fmt.Sprintf("`%s` (line %d)", f.Name, no))
	return nil
}
