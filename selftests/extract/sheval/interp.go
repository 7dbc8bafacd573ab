// Package sheval evaluates the kernel selftests' shell symbolically,
// for selftests/extract: nothing is executed. A variable holds static
// text or what only a run can tell (a command's output, an exit status:
// Value); a status is static or a chain of checks on recorded steps
// (Status, Check). Conditions on the script's own values are evaluated
// as bash would; commands, the scripts' assertion helpers, if statements
// and function calls go to the extractor's Hooks. What it does not
// understand is an error naming the script line.
package sheval

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	"raceroute/selftests/cases"
	"raceroute/selftests/extract/sh"
)

// StepRef names a recorded step: the case it belongs to (Epoch) and its
// index among the case's steps.
type StepRef struct {
	Epoch, Idx int
	Env        bool // a step of the environment being recorded
}

// Check is a run-time condition on a step: its status is 0 when the
// step's result meets Pred.
type Check struct {
	Ref  StepRef
	Pred cases.Want
	// Exit is set when the check is a command's exit status, so that
	// `log_test $? N` can ask for exactly N.
	Exit bool
}

// Status is an exit status: static, or the status of a chain of checks
// (the first failing one's, 0 when all pass).
type Status struct {
	Static bool
	Code   int
	Chain  []Check
	// src says where a static status came from, for vacuous cases.
	Src string
}

// StaticStatus is a status known without a run (src: where it came from).
func StaticStatus(code int, src string) Status { return Status{Static: true, Code: code, Src: src} }

// Negate returns the check that holds when c does not.
func Negate(c Check) (Check, error) {
	switch c.Pred.Kind {
	case cases.WantExit:
		if c.Pred.Exit == 0 {
			c.Pred = cases.Want{Kind: cases.WantFail}
			return c, nil
		}
	case cases.WantFail:
		c.Pred = cases.Want{Kind: cases.WantExit}
		return c, nil
	case cases.WantEmpty:
		c.Pred = cases.Want{Kind: cases.WantNonEmpty}
		return c, nil
	case cases.WantNonEmpty:
		c.Pred = cases.Want{Kind: cases.WantEmpty}
		return c, nil
	}
	return c, fmt.Errorf("cannot negate the check %s", c.Pred)
}

// Ctl is how a statement ended.
type Ctl uint8

// How a statement ended: on to the next, or by return.
const (
	CtlNext Ctl = iota
	CtlReturn
)

// Frame is a function call: its local variables and arguments.
type Frame struct {
	Fn     string
	Locals map[string]Value
	Args   []string
}

// Hooks are what the extractor does where the shell alone has no answer:
// recording a command as a step, the scripts' own helpers it reads
// itself, if statements (where the assertions are) and function calls
// (set-up functions, the functions that name cases).
type Hooks interface {
	// Record records a command (its words expanded) as a step and
	// returns the check of its exit status.
	Record(no int, words []string) (Status, error)
	// Builtin handles a command by its raw words before they are
	// expanded (log_test, check_expected); ok false if it is not one.
	Builtin(no int, name string, raw []string) (ok bool, err error)
	// Command handles an expanded command before functions and
	// recording; ok false to go on.
	Command(no int, name string, args []string) (ok bool, err error)
	// If evaluates an if statement.
	If(s *sh.If) (Ctl, error)
	// Call runs a call of f: run runs its body in a new frame.
	Call(no int, f *sh.Function, args []string, run func(args []string) error) error
}

// Interp evaluates a script's statements symbolically: conditions on
// the script's own values as bash would, commands through Hooks.
type Interp struct {
	Script  *sh.Script
	Hooks   Hooks
	Globals map[string]Value
	Frames  []*Frame
	// St is the status of the last command.
	St Status
	// SetE: under `set -e`.
	SetE bool
	// LastEcho is the text of the last echo.
	LastEcho string
	// External are the commands with a `_` in their name that are not
	// the script's own functions.
	External []string
	// evaluated counts statements, against maxStatements.
	evaluated int
}

// New is an interpreter of sc with no variables set.
func New(sc *sh.Script, h Hooks) *Interp {
	return &Interp{Script: sc, Hooks: h, Globals: map[string]Value{}, St: StaticStatus(0, "the start")}
}

// Errorf is an error naming the script line no.
func (in *Interp) Errorf(no int, format string, args ...any) error {
	return fmt.Errorf("%s:%d: %s", in.Script.Name, no, fmt.Sprintf(format, args...))
}

// --- the expander interface

func (in *Interp) lookup(name string) (Value, bool) {
	for i := len(in.Frames) - 1; i >= 0; i-- {
		if v, ok := in.Frames[i].Locals[name]; ok {
			return v, true
		}
	}
	v, ok := in.Globals[name]
	return v, ok
}

func (in *Interp) positional(i int) (string, bool) {
	if len(in.Frames) == 0 {
		return "", false
	}
	args := in.Frames[len(in.Frames)-1].Args
	if i-1 < len(args) {
		return args[i-1], true
	}
	return "", false
}

func (in *Interp) lastStatus() Status { return in.St }

func (in *Interp) setVar(name, v string) { in.Set(name, Value{S: v}, false) }

// substitute handles $(CMD) outside an assignment: only commands whose
// output the extractor knows (which, mktemp).
func (in *Interp) substitute(cmd string, no int) (Word, error) {
	w := strings.Fields(cmd)
	switch {
	case len(w) == 2 && w[0] == "which":
		return Word{S: w[1]}, nil
	case len(w) >= 1 && w[0] == "mktemp":
		// a fresh name: the template's, or a file's
		if t := w[len(w)-1]; strings.HasSuffix(t, "XXX") {
			return Word{S: t}, nil
		}
		return Word{S: "/tmp/extract.tmp"}, nil
	}
	return Word{}, in.Errorf(no, "command substitution $(%s) outside an assignment is not supported", cmd)
}

// --- variables

// Set sets a variable: a local of the innermost frame, else the frame
// that has it, else a global.
func (in *Interp) Set(name string, v Value, local bool) {
	if local && len(in.Frames) > 0 {
		in.Frames[len(in.Frames)-1].Locals[name] = v
		return
	}
	for i := len(in.Frames) - 1; i >= 0; i-- {
		if _, ok := in.Frames[i].Locals[name]; ok {
			in.Frames[i].Locals[name] = v
			return
		}
	}
	in.Globals[name] = v
}

// --- evaluation

// maxStatements bounds a reading: a script whose functions call each
// other without end (or exponentially) is refused, not run for ever.
const maxStatements = 200000

// Block evaluates statements in order, until one returns.
func (in *Interp) Block(stmts []sh.Stmt) (Ctl, error) {
	for _, s := range stmts {
		if in.evaluated++; in.evaluated > maxStatements {
			return 0, in.Errorf(s.LineNo(), "more than %d statements evaluated: the functions call each other without end?", maxStatements)
		}
		var c Ctl
		var err error
		switch s := s.(type) {
		case *sh.Simple:
			c, err = in.Simple(s.No, s.Text)
		case *sh.If:
			c, err = in.Hooks.If(s)
		}
		if err != nil || c != CtlNext {
			return c, err
		}
	}
	return CtlNext, nil
}

// Simple evaluates an and-or list: `a && b || c`.
func (in *Interp) Simple(no int, text string) (Ctl, error) {
	raw, err := sh.SplitRaw(text)
	if err != nil {
		return 0, in.Errorf(no, "%v", err)
	}
	parts, ops := SplitAndOr(raw)
	if len(parts) == 1 {
		return in.Pipeline(no, parts[0])
	}
	// `a && b`, `a || b`: like `if a; then b; fi`, `if ! a; then b; fi`.
	if len(parts) == 2 {
		cond := strings.Join(parts[0], " ")
		if ops[0] == "||" {
			cond = "! " + cond
		}
		body := []sh.Stmt{&sh.Simple{No: no, Text: strings.Join(parts[1], " ")}}
		return in.Hooks.If(&sh.If{No: no, Conds: []string{cond}, Bodies: [][]sh.Stmt{body}})
	}
	// longer lists: only static ones
	c, err := in.Pipeline(no, parts[0])
	if err != nil || c != CtlNext {
		return c, err
	}
	for i, op := range ops {
		if !in.St.Static {
			return 0, in.Errorf(no, "an and-or list of more than two run-time commands is not supported")
		}
		if (op == "&&") == (in.St.Code == 0) {
			if c, err = in.Pipeline(no, parts[i+1]); err != nil || c != CtlNext {
				return c, err
			}
		}
	}
	return CtlNext, nil
}

// SplitAndOr splits raw words at && and ||: the parts and the operators
// between them.
func SplitAndOr(raw []string) ([][]string, []string) {
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

// Pipeline evaluates one pipeline of raw words.
func (in *Interp) Pipeline(no int, raw []string) (Ctl, error) {
	if len(raw) == 0 {
		return 0, in.Errorf(no, "empty command")
	}
	if raw[0] == "!" {
		c, err := in.Pipeline(no, raw[1:])
		if err != nil || c != CtlNext {
			return c, err
		}
		return CtlNext, in.invert(no)
	}
	if raw[0] == "[" || raw[0] == "[[" {
		st, err := in.test(no, raw)
		in.St = st
		return CtlNext, err
	}
	if ok, err := in.assignment(no, raw); ok || err != nil {
		return CtlNext, err
	}
	if slices.Contains(raw, "|") {
		words, err := in.ExpandStatic(no, raw)
		if err != nil {
			return 0, err
		}
		in.St, err = in.Hooks.Record(no, words)
		return CtlNext, err
	}
	name := raw[0]
	if ok, err := in.Hooks.Builtin(no, name, raw); ok || err != nil {
		return CtlNext, err
	}
	switch name {
	case "echo", "printf":
		words, err := in.ExpandStatic(no, raw)
		if err != nil {
			return 0, err
		}
		if name == "echo" {
			in.LastEcho = strings.Join(words[1:], " ")
		}
		in.St = StaticStatus(0, fmt.Sprintf("`%s` (line %d)", name, no))
		return CtlNext, nil
	case "set":
		return CtlNext, in.setBuiltin(no, raw)
	case "local", "readonly", "export":
		return CtlNext, in.declare(no, raw)
	case "return":
		code := 0
		if len(raw) > 1 {
			n, err := strconv.Atoi(raw[1])
			if err != nil {
				return 0, in.Errorf(no, "return %s: want a number", raw[1])
			}
			code = n
		}
		if len(raw) > 1 || !in.St.Static {
			if len(raw) > 1 {
				in.St = StaticStatus(code, fmt.Sprintf("`return %d` (line %d)", code, no))
			}
		}
		return CtlReturn, nil
	case "exit":
		return 0, in.Errorf(no, "the script exits here (%s): not on a path a case can take", strings.Join(raw, " "))
	case "true", ":":
		in.St = StaticStatus(0, fmt.Sprintf("`%s` (line %d)", name, no))
		return CtlNext, nil
	}
	words, err := in.ExpandStatic(no, raw)
	if err != nil {
		return 0, err
	}
	return in.command(no, words)
}

// invert applies `!` to the last status.
func (in *Interp) invert(no int) error {
	if in.St.Static {
		in.St.Code = map[bool]int{true: 1, false: 0}[in.St.Code == 0]
		return nil
	}
	if len(in.St.Chain) != 1 {
		return in.Errorf(no, "`!` of a chain of run-time checks is not supported")
	}
	c, err := Negate(in.St.Chain[0])
	if err != nil {
		return in.Errorf(no, "%v", err)
	}
	c.Exit = false
	in.St = Status{Chain: []Check{c}}
	return nil
}

// command runs a function, a builtin or records a command.
func (in *Interp) command(no int, w []string) (Ctl, error) {
	if len(w) == 0 {
		in.St = StaticStatus(0, "an empty command")
		return CtlNext, nil
	}
	name, args := w[0], w[1:]
	if ok, err := in.Hooks.Command(no, name, args); ok || err != nil {
		return CtlNext, err
	}
	switch {
	case name == "run_cmd":
		if len(args) != 1 {
			return 0, in.Errorf(no, "run_cmd wants one argument")
		}
		return in.evalString(no, args[0])
	case name == "sleep":
		var err error
		in.St, err = in.Hooks.Record(no, w)
		return CtlNext, err
	}
	if f, ok := in.Script.Funcs[name]; ok {
		return CtlNext, in.CallFunction(no, f, args)
	}
	if strings.Contains(name, "_") && !slices.Contains(in.External, name) {
		return 0, in.Errorf(no, "%s is called but not defined here (a function of the script that this text lacks?)", name)
	}
	var err error
	in.St, err = in.Hooks.Record(no, w)
	return CtlNext, err
}

// evalString evaluates a command given as a string (run_cmd's eval).
func (in *Interp) evalString(no int, s string) (Ctl, error) {
	raw, err := sh.SplitRaw(s)
	if err != nil {
		return 0, in.Errorf(no, "%v", err)
	}
	if slices.Contains(raw, "&&") || slices.Contains(raw, "||") || slices.Contains(raw, ";") {
		return 0, in.Errorf(no, "run_cmd of a list of commands is not supported: %q", s)
	}
	words, err := in.ExpandStatic(no, raw)
	if err != nil {
		return 0, err
	}
	in.St, err = in.Hooks.Record(no, words)
	return CtlNext, err
}

// CallFunction runs a script function with args, through Hooks.Call.
func (in *Interp) CallFunction(no int, f *sh.Function, args []string) error {
	if len(in.Frames) > 50 {
		return in.Errorf(no, "calls nested too deep")
	}
	if f.Body == nil {
		body, err := sh.ParseBody(in.Script.Name, f.Lines)
		if err != nil {
			return err
		}
		if body == nil {
			body = []sh.Stmt{}
		}
		f.Body = body
	}
	return in.Hooks.Call(no, f, args, func(args []string) error {
		in.Frames = append(in.Frames, &Frame{Fn: f.Name, Locals: map[string]Value{}, Args: args})
		_, err := in.Block(f.Body)
		in.Frames = in.Frames[:len(in.Frames)-1]
		return err
	})
}

// ExpandStatic expands raw words; run-time values are not allowed.
func (in *Interp) ExpandStatic(no int, raw []string) ([]string, error) {
	var out []string
	for _, r := range raw {
		if sh.IsOperator(r) {
			out = append(out, r)
			continue
		}
		ws, err := expandWord(in, r, no)
		if err != nil {
			return nil, in.Errorf(no, "%v", err)
		}
		for _, w := range ws {
			if w.Dyn != nil {
				return nil, in.Errorf(no, "%q: a run-time value in a command", r)
			}
			out = append(out, w.S)
		}
	}
	return out, nil
}

// ExpandOne expands a raw word to exactly one word (static or not).
func (in *Interp) ExpandOne(no int, raw string) (Word, error) {
	ws, err := expandWord(in, raw, no)
	if err != nil {
		return Word{}, in.Errorf(no, "%v", err)
	}
	switch len(ws) {
	case 0:
		return Word{}, nil
	case 1:
		return ws[0], nil
	}
	return Word{}, in.Errorf(no, "%q expands to %d words", raw, len(ws))
}

// assignment handles NAME=VALUE and NAME=(...) statements.
func (in *Interp) assignment(no int, raw []string) (bool, error) {
	eq := strings.IndexByte(raw[0], '=')
	if eq <= 0 || !sh.ValidName(raw[0][:eq]) {
		return false, nil
	}
	if len(raw) > 1 {
		return true, in.Errorf(no, "an assignment before a command (%q) is not supported", strings.Join(raw, " "))
	}
	return true, in.assign(no, raw[0], false)
}

// assign performs one NAME=VALUE word.
func (in *Interp) assign(no int, a string, local bool) error {
	eq := strings.IndexByte(a, '=')
	name, rhs := a[:eq], a[eq+1:]
	// An assignment's status is 0, or its command substitution's: set
	// after the right-hand side is read (rc=$? reads the status before).
	substituted := false
	defer func() {
		if !substituted {
			in.St = StaticStatus(0, fmt.Sprintf("the assignment to %s (line %d)", name, no))
		}
	}()
	if strings.HasPrefix(rhs, "(") && strings.HasSuffix(rhs, ")") {
		raw, err := sh.SplitRaw(rhs[1 : len(rhs)-1])
		if err != nil {
			return in.Errorf(no, "%v", err)
		}
		words, err := in.ExpandStatic(no, raw)
		if err != nil {
			return err
		}
		in.Set(name, Value{Arr: words, IsArr: true}, local)
		return nil
	}
	if strings.HasPrefix(rhs, "$(") && strings.HasSuffix(rhs, ")") && !strings.HasPrefix(rhs, "$((") {
		inner := rhs[2 : len(rhs)-1]
		if w := strings.Fields(inner); len(w) == 2 && w[0] == "which" || len(w) >= 1 && w[0] == "mktemp" {
			v, err := in.substitute(inner, no)
			if err != nil {
				return err
			}
			in.Set(name, Value{S: v.S}, local)
			return nil
		}
		// v=$(CMD): record CMD; v is its output
		raw, err := sh.SplitRaw(inner)
		if err != nil {
			return in.Errorf(no, "%v", err)
		}
		words, err := in.ExpandStatic(no, raw)
		if err != nil {
			return err
		}
		st, err := in.Hooks.Record(no, words)
		if err != nil {
			return err
		}
		if st.Static {
			return in.Errorf(no, "$(%s) records nothing", inner)
		}
		ref := st.Chain[0].Ref
		in.Set(name, Value{Out: &ref}, local)
		in.St, substituted = st, true
		return nil
	}
	w, err := in.ExpandOne(no, rhs)
	if err != nil {
		return err
	}
	if w.Dyn != nil {
		in.Set(name, *w.Dyn, local)
	} else {
		in.Set(name, Value{S: w.S}, local)
	}
	return nil
}

// declare handles local/readonly/export.
func (in *Interp) declare(no int, raw []string) error {
	local := raw[0] == "local"
	for _, a := range raw[1:] {
		if strings.HasPrefix(a, "-") {
			continue
		}
		if !strings.Contains(a, "=") {
			if local {
				in.Set(a, Value{}, true)
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
func (in *Interp) setBuiltin(no int, raw []string) error {
	in.St = StaticStatus(0, fmt.Sprintf("`set` (line %d)", no))
	if len(raw) >= 2 && raw[1] == "--" {
		words, err := in.ExpandStatic(no, raw[2:])
		if err != nil {
			return err
		}
		if len(in.Frames) == 0 {
			return in.Errorf(no, "set -- outside a function")
		}
		in.Frames[len(in.Frames)-1].Args = words
		return nil
	}
	for _, o := range raw[1:] {
		switch {
		case strings.HasPrefix(o, "-") && strings.Contains(o, "e"):
			in.SetE = true
		case strings.HasPrefix(o, "+") && strings.Contains(o, "e"):
			in.SetE = false
		}
	}
	return nil
}

// test evaluates [ ... ] and [[ ... ]].
func (in *Interp) test(no int, raw []string) (Status, error) {
	closer := map[string]string{"[": "]", "[[": "]]"}[raw[0]]
	if raw[len(raw)-1] != closer {
		return Status{}, in.Errorf(no, "%s without %s", raw[0], closer)
	}
	args := raw[1 : len(raw)-1]
	neg := false
	if len(args) > 0 && args[0] == "!" {
		neg, args = true, args[1:]
	}
	src := fmt.Sprintf("the test %s (line %d)", strings.Join(raw, " "), no)
	words := make([]Word, len(args))
	for i, a := range args {
		w, err := in.ExpandOne(no, a)
		if err != nil {
			return Status{}, err
		}
		words[i] = w
	}
	var st Status
	switch {
	case len(words) == 1 || len(words) == 2 && (args[0] == "-n" || args[0] == "-z"):
		w := words[len(words)-1]
		empty := len(words) == 2 && args[0] == "-z"
		if w.Dyn != nil {
			if w.Dyn.Out == nil {
				return Status{}, in.Errorf(no, "a test of an exit status as text")
			}
			kind := cases.WantNonEmpty
			if empty {
				kind = cases.WantEmpty
			}
			st = Status{Chain: []Check{{Ref: *w.Dyn.Out, Pred: cases.Want{Kind: kind}}}}
		} else {
			st = StaticStatus(boolCode((w.S == "") == empty), src)
		}
	case len(words) == 3:
		op := args[1]
		a, b := words[0], words[2]
		if a.Dyn != nil || b.Dyn != nil {
			d, other := a, b
			if d.Dyn == nil {
				d, other = b, a
			}
			if d.Dyn.St == nil || other.Dyn != nil || other.S != "0" || op != "-eq" && op != "-ne" {
				return Status{}, in.Errorf(no, "the run-time test %s is not supported (want [ $? -eq 0 ] or -ne 0)", strings.Join(raw, " "))
			}
			st = *d.Dyn.St
			if st.Static {
				st = StaticStatus(boolCode((st.Code == 0) == (op == "-eq")), src)
				break
			}
			if op == "-ne" {
				if len(st.Chain) != 1 {
					return Status{}, in.Errorf(no, "-ne 0 of a chain of checks is not supported")
				}
				c, err := Negate(st.Chain[0])
				if err != nil {
					return Status{}, in.Errorf(no, "%v", err)
				}
				st = Status{Chain: []Check{c}}
			}
			// the test's own status: not an exit status any more
			for i := range st.Chain {
				st.Chain[i].Exit = false
			}
			st.Chain = slices.Clone(st.Chain)
			break
		}
		ok, err := compare(a.S, op, b.S)
		if err != nil {
			return Status{}, in.Errorf(no, "%v", err)
		}
		st = StaticStatus(boolCode(ok), src)
	default:
		return Status{}, in.Errorf(no, "the test %s is not supported", strings.Join(raw, " "))
	}
	if neg {
		if st.Static {
			st.Code = boolCode(st.Code != 0)
		} else {
			if len(st.Chain) != 1 {
				return Status{}, in.Errorf(no, "! of a chain of checks is not supported")
			}
			c, err := Negate(st.Chain[0])
			if err != nil {
				return Status{}, in.Errorf(no, "%v", err)
			}
			st = Status{Chain: []Check{c}}
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
