package extract

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	"raceroute/selftests/cases"
)

// The interpreter runs a script's test functions symbolically: commands
// are not executed but recorded as steps; an exit status or a command's
// output that only a run can tell is a check on a recorded step; the
// script's assertions (log_test, [ OK ]/[FAIL] reports, ok/failed echoes)
// turn checks into the steps' wants and close a case. Conditions on the
// script's own parameters are evaluated, as bash would. Anything else it
// does not understand is an error naming the line: the extractor never
// guesses.

// stepRef names a recorded step: the case it belongs to (epoch) and its
// index among the case's steps.
type stepRef struct {
	epoch, idx int
	env        bool // a step of the environment being recorded
}

// check is a run-time condition on a step: its status is 0 when the
// step's result meets pred.
type check struct {
	ref  stepRef
	pred cases.Want
	// exit is set when the check is a command's exit status, so that
	// `log_test $? N` can ask for exactly N.
	exit bool
}

// status is an exit status: static, or the status of a chain of checks
// (the first failing one's, 0 when all pass).
type status struct {
	static bool
	code   int
	chain  []check
	// src says where a static status came from, for vacuous cases.
	src string
}

func staticStatus(code int, src string) status { return status{static: true, code: code, src: src} }

// negate returns the check that holds when c does not.
func negate(c check) (check, error) {
	switch c.pred.Kind {
	case cases.WantExit:
		if c.pred.Exit == 0 {
			c.pred = cases.Want{Kind: cases.WantFail}
			return c, nil
		}
	case cases.WantFail:
		c.pred = cases.Want{Kind: cases.WantExit}
		return c, nil
	case cases.WantEmpty:
		c.pred = cases.Want{Kind: cases.WantNonEmpty}
		return c, nil
	case cases.WantNonEmpty:
		c.pred = cases.Want{Kind: cases.WantEmpty}
		return c, nil
	}
	return c, fmt.Errorf("cannot negate the check %s", c.pred)
}

// ctl is how a statement ended.
type ctl uint8

const (
	ctlNext ctl = iota
	ctlReturn
)

type frame struct {
	fn     string
	locals map[string]value
	args   []string
}

// pstep is a recorded step of the case being read.
type pstep struct {
	s cases.Step
	// asserted: the case's assertion; pre: a precondition (the script
	// aborts unless it holds); setE: recorded under `set -e`; dropped: a
	// probe of an IPv4 assertion, kept so that references keep their
	// indices, never written.
	asserted, pre, setE, dropped bool
}

type interp struct {
	sc      *script
	spec    *Suite
	file    *cases.File
	globals map[string]value
	frames  []*frame
	st      status
	setE    bool
	pending []pstep
	epoch   int
	// guards are the checks of the enclosing `if [ $? -eq 0 ]` bodies.
	guards   [][]check
	lastEcho string
	caseFunc string
	// group is the TESTS name of the group being read; callee is set when
	// its cases are named by the functions its entry calls.
	group  string
	callee bool
	counts map[string]int
	// env is the environment being recorded, if any.
	env *cases.Env
	// evaluated counts statements, against maxStatements.
	evaluated int
}

func (in *interp) errorf(no int, format string, args ...any) error {
	return fmt.Errorf("%s:%d: %s", in.sc.name, no, fmt.Sprintf(format, args...))
}

// --- the expander interface

func (in *interp) lookup(name string) (value, bool) {
	for i := len(in.frames) - 1; i >= 0; i-- {
		if v, ok := in.frames[i].locals[name]; ok {
			return v, true
		}
	}
	v, ok := in.globals[name]
	return v, ok
}

func (in *interp) positional(i int) (string, bool) {
	if len(in.frames) == 0 {
		return "", false
	}
	args := in.frames[len(in.frames)-1].args
	if i-1 < len(args) {
		return args[i-1], true
	}
	return "", false
}

func (in *interp) lastStatus() status { return in.st }

func (in *interp) setVar(name, v string) { in.set(name, value{s: v}, false) }

// substitute handles $(CMD) outside an assignment: only commands whose
// output the extractor knows (which, mktemp).
func (in *interp) substitute(cmd string, no int) (word, error) {
	w := strings.Fields(cmd)
	switch {
	case len(w) == 2 && w[0] == "which":
		return word{s: w[1]}, nil
	case len(w) >= 1 && w[0] == "mktemp":
		// a fresh name: the template's, or a file's
		if t := w[len(w)-1]; strings.HasSuffix(t, "XXX") {
			return word{s: t}, nil
		}
		return word{s: "/tmp/extract.tmp"}, nil
	}
	return word{}, in.errorf(no, "command substitution $(%s) outside an assignment is not supported", cmd)
}

// --- variables

func (in *interp) set(name string, v value, local bool) {
	if local && len(in.frames) > 0 {
		in.frames[len(in.frames)-1].locals[name] = v
		return
	}
	for i := len(in.frames) - 1; i >= 0; i-- {
		if _, ok := in.frames[i].locals[name]; ok {
			in.frames[i].locals[name] = v
			return
		}
	}
	in.globals[name] = v
}

// --- steps

// record adds a step for a command (words already expanded) and
// returns the check of its exit status.
func (in *interp) record(no int, words []string) (status, error) {
	w, err := stripRedirects(words)
	if err != nil {
		return status{}, in.errorf(no, "%v", err)
	}
	if len(w) == 0 {
		return staticStatus(0, "an empty command"), nil
	}
	s, err := normalise(w)
	if err != nil {
		return status{}, in.errorf(no, "%v", err)
	}
	s.Line = no
	if strings.Contains(s.Cmd, " => ") || strings.Contains(s.Cmd, "  # ") {
		return status{}, in.errorf(no, "command %q cannot be written in the case format", s.Cmd)
	}
	ref := in.add(s)
	return status{chain: []check{{ref: ref, pred: cases.Want{Kind: cases.WantExit}, exit: true}}}, nil
}

// add appends a step to the environment being recorded or to the case.
func (in *interp) add(s cases.Step) stepRef {
	if in.env != nil {
		if s.Role == 0 {
			s.Role = cases.RoleDo
			if in.setE {
				s.Role = cases.RoleSetup
			}
		}
		in.env.Steps = append(in.env.Steps, s)
		return stepRef{epoch: in.epoch, idx: len(in.env.Steps) - 1, env: true}
	}
	in.pending = append(in.pending, pstep{s: s, setE: in.setE})
	return stepRef{epoch: in.epoch, idx: len(in.pending) - 1}
}

// mark sets a check's predicate as its step's want: an assertion of the
// case, or a precondition.
func (in *interp) mark(no int, c check, pre bool) error {
	if c.ref.epoch != in.epoch {
		return in.errorf(no, "an assertion about a step of an earlier case")
	}
	if c.ref.env {
		if !pre {
			return in.errorf(no, "an assertion inside a set-up function")
		}
		st := &in.env.Steps[c.ref.idx]
		st.Want, st.Role = c.pred, cases.RoleSetup
		return nil
	}
	p := &in.pending[c.ref.idx]
	if p.asserted || p.pre {
		if p.s.Want == c.pred {
			return nil
		}
		return in.errorf(no, "the step at line %d is asserted twice (%s and %s)", p.s.Line, p.s.Want, c.pred)
	}
	p.s.Want = c.pred
	if pre {
		p.pre = true
	} else {
		p.asserted = true
	}
	return nil
}

// assert records `status == want` as the case's assertion (pre: as a
// precondition).
func (in *interp) assert(no int, st status, want int, pre bool) error {
	if st.static {
		return in.errorf(no, "internal: assert of a static status")
	}
	if want == 0 {
		for _, c := range st.chain {
			if err := in.mark(no, c, pre); err != nil {
				return err
			}
		}
		return nil
	}
	if len(st.chain) != 1 {
		return in.errorf(no, "the script asks status %d of a chain of %d commands: not supported", want, len(st.chain))
	}
	c := st.chain[0]
	switch {
	case c.exit:
		c.pred = cases.Want{Kind: cases.WantExit, Exit: want}
	case want == 1:
		var err error
		if c, err = negate(c); err != nil {
			return in.errorf(no, "%v", err)
		}
	default:
		return in.errorf(no, "the script asks status %d of a test: not supported", want)
	}
	return in.mark(no, c, pre)
}

// close ends the case being read with the script's description.
func (in *interp) close(no int, desc, vacuous string) error {
	if in.env != nil {
		return in.errorf(no, "an assertion inside a set-up function")
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
		return in.errorf(no, "an assertion outside any test function")
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

// --- evaluation

// maxStatements bounds a reading: a script whose functions call each
// other without end (or exponentially) is refused, not run for ever.
const maxStatements = 200000

func (in *interp) block(stmts []stmt) (ctl, error) {
	for _, s := range stmts {
		if in.evaluated++; in.evaluated > maxStatements {
			return 0, in.errorf(s.lineNo(), "more than %d statements evaluated: the functions call each other without end?", maxStatements)
		}
		var c ctl
		var err error
		switch s := s.(type) {
		case *simple:
			c, err = in.simple(s.no, s.text)
		case *ifStmt:
			c, err = in.ifStmt(s)
		}
		if err != nil || c != ctlNext {
			return c, err
		}
	}
	return ctlNext, nil
}

// simple evaluates an and-or list: `a && b || c`.
func (in *interp) simple(no int, text string) (ctl, error) {
	raw, err := splitRaw(text)
	if err != nil {
		return 0, in.errorf(no, "%v", err)
	}
	parts, ops := splitAndOr(raw)
	if len(parts) == 1 {
		return in.pipeline(no, parts[0])
	}
	// `a && b`, `a || b`: like `if a; then b; fi`, `if ! a; then b; fi`.
	if len(parts) == 2 {
		cond := strings.Join(parts[0], " ")
		if ops[0] == "||" {
			cond = "! " + cond
		}
		body := []stmt{&simple{no: no, text: strings.Join(parts[1], " ")}}
		return in.ifStmt(&ifStmt{no: no, conds: []string{cond}, bodies: [][]stmt{body}})
	}
	// longer lists: only static ones
	c, err := in.pipeline(no, parts[0])
	if err != nil || c != ctlNext {
		return c, err
	}
	for i, op := range ops {
		if !in.st.static {
			return 0, in.errorf(no, "an and-or list of more than two run-time commands is not supported")
		}
		if (op == "&&") == (in.st.code == 0) {
			if c, err = in.pipeline(no, parts[i+1]); err != nil || c != ctlNext {
				return c, err
			}
		}
	}
	return ctlNext, nil
}

func splitAndOr(raw []string) ([][]string, []string) {
	var parts [][]string
	var ops []string
	cur := []string{}
	for _, w := range raw {
		if w == "&&" || w == "||" {
			parts = append(parts, cur)
			ops = append(ops, w)
			cur = []string{}
			continue
		}
		cur = append(cur, w)
	}
	return append(parts, cur), ops
}

// pipeline evaluates one pipeline of raw words.
func (in *interp) pipeline(no int, raw []string) (ctl, error) {
	if len(raw) == 0 {
		return 0, in.errorf(no, "empty command")
	}
	if raw[0] == "!" {
		c, err := in.pipeline(no, raw[1:])
		if err != nil || c != ctlNext {
			return c, err
		}
		return ctlNext, in.invert(no)
	}
	if raw[0] == "[" || raw[0] == "[[" {
		st, err := in.test(no, raw)
		in.st = st
		return ctlNext, err
	}
	if ok, err := in.assignment(no, raw); ok || err != nil {
		return ctlNext, err
	}
	if slices.Contains(raw, "|") {
		words, err := in.expandStatic(no, raw)
		if err != nil {
			return 0, err
		}
		in.st, err = in.record(no, words)
		return ctlNext, err
	}
	name := raw[0]
	switch name {
	case "log_test":
		return ctlNext, in.logTest(no, raw)
	case "check_expected":
		return ctlNext, in.checkExpected(no, raw)
	case "echo", "printf":
		words, err := in.expandStatic(no, raw)
		if err != nil {
			return 0, err
		}
		if name == "echo" {
			in.lastEcho = strings.Join(words[1:], " ")
		}
		in.st = staticStatus(0, fmt.Sprintf("`%s` (line %d)", name, no))
		return ctlNext, nil
	case "set":
		return ctlNext, in.setBuiltin(no, raw)
	case "local", "readonly", "export":
		return ctlNext, in.declare(no, raw)
	case "return":
		code := 0
		if len(raw) > 1 {
			n, err := strconv.Atoi(raw[1])
			if err != nil {
				return 0, in.errorf(no, "return %s: want a number", raw[1])
			}
			code = n
		}
		if len(raw) > 1 || !in.st.static {
			if len(raw) > 1 {
				in.st = staticStatus(code, fmt.Sprintf("`return %d` (line %d)", code, no))
			}
		}
		return ctlReturn, nil
	case "exit":
		return 0, in.errorf(no, "the script exits here (%s): not on a path a case can take", strings.Join(raw, " "))
	case "true", ":":
		in.st = staticStatus(0, fmt.Sprintf("`%s` (line %d)", name, no))
		return ctlNext, nil
	}
	words, err := in.expandStatic(no, raw)
	if err != nil {
		return 0, err
	}
	return in.command(no, words)
}

// invert applies `!` to the last status.
func (in *interp) invert(no int) error {
	if in.st.static {
		in.st.code = map[bool]int{true: 1, false: 0}[in.st.code == 0]
		return nil
	}
	if len(in.st.chain) != 1 {
		return in.errorf(no, "`!` of a chain of run-time checks is not supported")
	}
	c, err := negate(in.st.chain[0])
	if err != nil {
		return in.errorf(no, "%v", err)
	}
	c.exit = false
	in.st = status{chain: []check{c}}
	return nil
}

// command runs a function, a builtin or records a command.
func (in *interp) command(no int, w []string) (ctl, error) {
	if len(w) == 0 {
		in.st = staticStatus(0, "an empty command")
		return ctlNext, nil
	}
	name, args := w[0], w[1:]
	switch {
	case slices.Contains(in.spec.Teardown, name), slices.Contains(in.spec.Ignore, name), name == "cleanup_ns":
		in.st = staticStatus(0, fmt.Sprintf("`%s` (line %d)", name, no))
		return ctlNext, nil
	case name == "setup_ns":
		for _, a := range args {
			in.set(a, value{s: a}, false)
			in.add(cases.Step{Line: no, Role: cases.RoleNetns, NS: a})
		}
		in.st = staticStatus(0, fmt.Sprintf("`setup_ns` (line %d)", no))
		return ctlNext, nil
	case name == "run_cmd":
		if len(args) != 1 {
			return 0, in.errorf(no, "run_cmd wants one argument")
		}
		return in.evalString(no, args[0])
	case name == "check_route6":
		return ctlNext, in.checkRoute6(no, args)
	case name == "sleep":
		var err error
		in.st, err = in.record(no, w)
		return ctlNext, err
	}
	if f, ok := in.sc.funcs[name]; ok {
		return ctlNext, in.call(no, f, args)
	}
	if strings.Contains(name, "_") && !slices.Contains(in.spec.External, name) {
		return 0, in.errorf(no, "%s is called but not defined here (a function of the script that this text lacks?)", name)
	}
	var err error
	in.st, err = in.record(no, w)
	return ctlNext, err
}

// evalString evaluates a command given as a string (run_cmd's eval).
func (in *interp) evalString(no int, s string) (ctl, error) {
	raw, err := splitRaw(s)
	if err != nil {
		return 0, in.errorf(no, "%v", err)
	}
	if slices.Contains(raw, "&&") || slices.Contains(raw, "||") || slices.Contains(raw, ";") {
		return 0, in.errorf(no, "run_cmd of a list of commands is not supported: %q", s)
	}
	words, err := in.expandStatic(no, raw)
	if err != nil {
		return 0, err
	}
	in.st, err = in.record(no, words)
	return ctlNext, err
}

// call runs a script function with args.
func (in *interp) call(no int, f *function, args []string) error {
	if len(in.frames) > 50 {
		return in.errorf(no, "calls nested too deep")
	}
	if f.body == nil {
		body, err := parseBody(in.sc.name, segments(f.lines))
		if err != nil {
			return err
		}
		if body == nil {
			body = []stmt{}
		}
		f.body = body
	}
	if slices.Contains(in.spec.Envs, f.name) && in.env == nil {
		return in.callEnv(no, f, args)
	}
	// In a group whose cases are named by the functions its entry calls,
	// a call from the entry's own frame names the cases inside it.
	savedFunc := in.caseFunc
	if in.callee && len(in.frames) == 1 {
		in.caseFunc = f.name
	}
	in.frames = append(in.frames, &frame{fn: f.name, locals: map[string]value{}, args: args})
	_, err := in.block(f.body)
	in.frames = in.frames[:len(in.frames)-1]
	in.caseFunc = savedFunc
	return err
}

// callEnv records a call of a set-up function: an env step in the case,
// and the function's steps as the environment (the first time; later
// calls must give the same steps).
func (in *interp) callEnv(no int, f *function, args []string) error {
	if len(args) > 0 {
		return in.errorf(no, "set-up function %s called with arguments", f.name)
	}
	in.add(cases.Step{Line: no, Role: cases.RoleEnv, Env: f.name})
	env := &cases.Env{Name: f.name, Line: f.line}
	in.env = env
	in.frames = append(in.frames, &frame{fn: f.name, locals: map[string]value{}})
	_, err := in.block(f.body)
	in.frames = in.frames[:len(in.frames)-1]
	in.env = nil
	if err != nil {
		return err
	}
	if old, ok := in.file.Env(f.name); ok {
		if !slices.Equal(old.Steps, env.Steps) {
			return in.errorf(no, "set-up function %s ran different steps this time", f.name)
		}
	} else {
		in.file.Envs = append(in.file.Envs, *env)
	}
	in.st = staticStatus(0, fmt.Sprintf("`%s` (line %d)", f.name, no))
	return nil
}

// expandStatic expands raw words; run-time values are not allowed.
func (in *interp) expandStatic(no int, raw []string) ([]string, error) {
	var out []string
	for _, r := range raw {
		if isOperator(r) {
			out = append(out, r)
			continue
		}
		ws, err := expandWord(in, r, no)
		if err != nil {
			return nil, in.errorf(no, "%v", err)
		}
		for _, w := range ws {
			if w.dyn != nil {
				return nil, in.errorf(no, "%q: a run-time value in a command", r)
			}
			out = append(out, w.s)
		}
	}
	return out, nil
}

// expandOne expands a raw word to exactly one word (static or not).
func (in *interp) expandOne(no int, raw string) (word, error) {
	ws, err := expandWord(in, raw, no)
	if err != nil {
		return word{}, in.errorf(no, "%v", err)
	}
	switch len(ws) {
	case 0:
		return word{}, nil
	case 1:
		return ws[0], nil
	}
	return word{}, in.errorf(no, "%q expands to %d words", raw, len(ws))
}

// assignment handles NAME=VALUE and NAME=(...) statements.
func (in *interp) assignment(no int, raw []string) (bool, error) {
	eq := strings.IndexByte(raw[0], '=')
	if eq <= 0 || !validName(raw[0][:eq]) {
		return false, nil
	}
	if len(raw) > 1 {
		return true, in.errorf(no, "an assignment before a command (%q) is not supported", strings.Join(raw, " "))
	}
	return true, in.assign(no, raw[0], false)
}

// assign performs one NAME=VALUE word.
func (in *interp) assign(no int, a string, local bool) error {
	eq := strings.IndexByte(a, '=')
	name, rhs := a[:eq], a[eq+1:]
	// An assignment's status is 0, or its command substitution's: set
	// after the right-hand side is read (rc=$? reads the status before).
	substituted := false
	defer func() {
		if !substituted {
			in.st = staticStatus(0, fmt.Sprintf("the assignment to %s (line %d)", name, no))
		}
	}()
	if strings.HasPrefix(rhs, "(") && strings.HasSuffix(rhs, ")") {
		raw, err := splitRaw(rhs[1 : len(rhs)-1])
		if err != nil {
			return in.errorf(no, "%v", err)
		}
		words, err := in.expandStatic(no, raw)
		if err != nil {
			return err
		}
		in.set(name, value{arr: words, isArr: true}, local)
		return nil
	}
	if strings.HasPrefix(rhs, "$(") && strings.HasSuffix(rhs, ")") && !strings.HasPrefix(rhs, "$((") {
		inner := rhs[2 : len(rhs)-1]
		if w := strings.Fields(inner); len(w) == 2 && w[0] == "which" || len(w) >= 1 && w[0] == "mktemp" {
			v, err := in.substitute(inner, no)
			if err != nil {
				return err
			}
			in.set(name, value{s: v.s}, local)
			return nil
		}
		// v=$(CMD): record CMD; v is its output
		raw, err := splitRaw(inner)
		if err != nil {
			return in.errorf(no, "%v", err)
		}
		words, err := in.expandStatic(no, raw)
		if err != nil {
			return err
		}
		st, err := in.record(no, words)
		if err != nil {
			return err
		}
		if st.static {
			return in.errorf(no, "$(%s) records nothing", inner)
		}
		ref := st.chain[0].ref
		in.set(name, value{out: &ref}, local)
		in.st, substituted = st, true
		return nil
	}
	w, err := in.expandOne(no, rhs)
	if err != nil {
		return err
	}
	if w.dyn != nil {
		in.set(name, *w.dyn, local)
	} else {
		in.set(name, value{s: w.s}, local)
	}
	return nil
}

// declare handles local/readonly/export.
func (in *interp) declare(no int, raw []string) error {
	local := raw[0] == "local"
	for _, a := range raw[1:] {
		if strings.HasPrefix(a, "-") {
			continue
		}
		if !strings.Contains(a, "=") {
			if local {
				in.set(a, value{}, true)
			}
			continue
		}
		if err := in.assign(no, a, local); err != nil {
			return err
		}
	}
	return nil
}

// setBuiltin handles set -e, set +e, set -x, set -- ARGS.
func (in *interp) setBuiltin(no int, raw []string) error {
	in.st = staticStatus(0, fmt.Sprintf("`set` (line %d)", no))
	if len(raw) >= 2 && raw[1] == "--" {
		words, err := in.expandStatic(no, raw[2:])
		if err != nil {
			return err
		}
		if len(in.frames) == 0 {
			return in.errorf(no, "set -- outside a function")
		}
		in.frames[len(in.frames)-1].args = words
		return nil
	}
	for _, o := range raw[1:] {
		switch {
		case strings.HasPrefix(o, "-") && strings.Contains(o, "e"):
			in.setE = true
		case strings.HasPrefix(o, "+") && strings.Contains(o, "e"):
			in.setE = false
		}
	}
	return nil
}

// test evaluates [ ... ] and [[ ... ]].
func (in *interp) test(no int, raw []string) (status, error) {
	closer := map[string]string{"[": "]", "[[": "]]"}[raw[0]]
	if raw[len(raw)-1] != closer {
		return status{}, in.errorf(no, "%s without %s", raw[0], closer)
	}
	args := raw[1 : len(raw)-1]
	neg := false
	if len(args) > 0 && args[0] == "!" {
		neg, args = true, args[1:]
	}
	src := fmt.Sprintf("the test %s (line %d)", strings.Join(raw, " "), no)
	words := make([]word, len(args))
	for i, a := range args {
		w, err := in.expandOne(no, a)
		if err != nil {
			return status{}, err
		}
		words[i] = w
	}
	var st status
	switch {
	case len(words) == 1 || len(words) == 2 && (args[0] == "-n" || args[0] == "-z"):
		w := words[len(words)-1]
		empty := len(words) == 2 && args[0] == "-z"
		if w.dyn != nil {
			if w.dyn.out == nil {
				return status{}, in.errorf(no, "a test of an exit status as text")
			}
			kind := cases.WantNonEmpty
			if empty {
				kind = cases.WantEmpty
			}
			st = status{chain: []check{{ref: *w.dyn.out, pred: cases.Want{Kind: kind}}}}
		} else {
			st = staticStatus(boolCode((w.s == "") == empty), src)
		}
	case len(words) == 3:
		op := args[1]
		a, b := words[0], words[2]
		if a.dyn != nil || b.dyn != nil {
			d, other := a, b
			if d.dyn == nil {
				d, other = b, a
			}
			if d.dyn.st == nil || other.dyn != nil || other.s != "0" || op != "-eq" && op != "-ne" {
				return status{}, in.errorf(no, "the run-time test %s is not supported (want [ $? -eq 0 ] or -ne 0)", strings.Join(raw, " "))
			}
			st = *d.dyn.st
			if st.static {
				st = staticStatus(boolCode((st.code == 0) == (op == "-eq")), src)
				break
			}
			if op == "-ne" {
				if len(st.chain) != 1 {
					return status{}, in.errorf(no, "-ne 0 of a chain of checks is not supported")
				}
				c, err := negate(st.chain[0])
				if err != nil {
					return status{}, in.errorf(no, "%v", err)
				}
				st = status{chain: []check{c}}
			}
			// the test's own status: not an exit status any more
			for i := range st.chain {
				st.chain[i].exit = false
			}
			st.chain = slices.Clone(st.chain)
			break
		}
		ok, err := compare(a.s, op, b.s)
		if err != nil {
			return status{}, in.errorf(no, "%v", err)
		}
		st = staticStatus(boolCode(ok), src)
	default:
		return status{}, in.errorf(no, "the test %s is not supported", strings.Join(raw, " "))
	}
	if neg {
		if st.static {
			st.code = boolCode(st.code != 0)
		} else {
			if len(st.chain) != 1 {
				return status{}, in.errorf(no, "! of a chain of checks is not supported")
			}
			c, err := negate(st.chain[0])
			if err != nil {
				return status{}, in.errorf(no, "%v", err)
			}
			st = status{chain: []check{c}}
		}
	}
	return st, nil
}

func boolCode(ok bool) int {
	if ok {
		return 0
	}
	return 1
}

func compare(a, op, b string) (bool, error) {
	switch op {
	case "=", "==":
		return a == b, nil
	case "!=":
		return a != b, nil
	}
	x, err1 := strconv.Atoi(a)
	y, err2 := strconv.Atoi(b)
	if err1 != nil || err2 != nil {
		return false, fmt.Errorf("[ %s %s %s ]: not numbers", a, op, b)
	}
	switch op {
	case "-eq":
		return x == y, nil
	case "-ne":
		return x != y, nil
	case "-lt":
		return x < y, nil
	case "-le":
		return x <= y, nil
	case "-gt":
		return x > y, nil
	case "-ge":
		return x >= y, nil
	}
	return false, fmt.Errorf("test operator %s is not supported", op)
}
