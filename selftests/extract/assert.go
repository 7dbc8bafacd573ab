package extract

import (
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"raceroute/selftests/cases"
)

// ifStmt evaluates if/elif/else: conditions on the script's parameters
// choose a branch; a condition only a run can tell is one of the
// idioms runtimeIf knows.
func (in *interp) ifStmt(s *ifStmt) (ctl, error) {
	for i, cond := range s.conds {
		st, err := in.condition(s.no, cond)
		if err != nil {
			return 0, err
		}
		if st.static {
			if st.code == 0 {
				return in.block(s.bodies[i])
			}
			continue
		}
		if i+1 < len(s.conds) {
			return 0, in.errorf(s.no, "elif after a run-time condition is not supported")
		}
		var els []stmt
		if len(s.bodies) > len(s.conds) {
			els = s.bodies[len(s.bodies)-1]
		}
		return in.runtimeIf(s.no, st, s.bodies[i], els)
	}
	if len(s.bodies) > len(s.conds) {
		return in.block(s.bodies[len(s.bodies)-1])
	}
	in.st = staticStatus(0, fmt.Sprintf("the if at line %d (no branch taken)", s.no))
	return ctlNext, nil
}

// condition evaluates an if's condition and returns its status.
func (in *interp) condition(no int, text string) (status, error) {
	raw, err := splitRaw(text)
	if err != nil {
		return status{}, in.errorf(no, "%v", err)
	}
	parts, ops := splitAndOr(raw)
	var st status
	for i, p := range parts {
		if i > 0 {
			if !st.static {
				return status{}, in.errorf(no, "a condition joining run-time checks with %s is not supported", ops[i-1])
			}
			if (ops[i-1] == "&&") != (st.code == 0) {
				continue
			}
		}
		c, err := in.pipeline(no, p)
		if err != nil {
			return status{}, err
		}
		if c != ctlNext {
			return status{}, in.errorf(no, "return inside a condition")
		}
		st = in.st
		if i > 0 && !st.static {
			return status{}, in.errorf(no, "a condition joining run-time checks with %s is not supported", ops[i-1])
		}
	}
	return st, nil
}

// branch is what an if branch does, as far as the idioms go.
type branch struct {
	abort   bool   // ends in exit N or return N (N > 0)
	ok      bool   // reports success: [ OK ], echo "ok"
	fail    bool   // reports failure: [FAIL], echo "failed", log_test 0 1
	logFail bool   // log_test 0 1: the failure report of the else's log_test
	desc    string // printf's description word, raw
}

var reAbort = regexp.MustCompile(`^(exit|return)\s+[1-9][0-9]*$`)

func classify(body []stmt) branch {
	var b branch
	for i, s := range body {
		sm, ok := s.(*simple)
		if !ok {
			continue
		}
		t := strings.TrimSpace(sm.text)
		if i == len(body)-1 && reAbort.MatchString(t) {
			b.abort = true
		}
		raw, err := splitRaw(t)
		if err != nil || len(raw) == 0 {
			continue
		}
		switch raw[0] {
		case "log_test":
			if len(raw) >= 3 && raw[1] == "0" && raw[2] == "1" {
				b.fail, b.logFail = true, true
			}
		case "printf":
			if len(raw) >= 2 {
				switch {
				case strings.Contains(raw[1], "[ OK ]"):
					b.ok = true
				case strings.Contains(raw[1], "[FAIL]"):
					b.fail = true
				}
				if len(raw) >= 3 {
					b.desc = raw[2]
				}
			}
		case "echo":
			switch strings.Join(raw[1:], " ") {
			case `"ok"`, "ok":
				b.ok = true
			case `"failed"`, "failed":
				b.fail = true
			}
		}
	}
	return b
}

// runtimeIf handles an if whose condition st only a run can tell:
//
//   - `if COND; then ...; exit 1; fi`: a precondition, COND must not hold;
//   - `if [ $? -eq 0 ]; then log_test 0 1 D; else ...; log_test $? 0 D; fi`:
//     the command must fail, then the else branch is the case;
//   - branches reporting [ OK ]/[FAIL] or echoing ok/failed: the case's
//     assertion, COND true where the OK branch is;
//   - `if [ $rc -eq 0 ]; then ...; fi`: a chain, the body runs only if
//     COND holds, and its assertions include COND.
func (in *interp) runtimeIf(no int, st status, then, els []stmt) (ctl, error) {
	bt, be := classify(then), classify(els)
	switch {
	case bt.abort && els == nil:
		if len(st.chain) != 1 {
			return 0, in.errorf(no, "an abort on a chain of checks is not supported")
		}
		c, err := negate(st.chain[0])
		if err != nil {
			return 0, in.errorf(no, "%v", err)
		}
		if err := in.mark(no, c, true); err != nil {
			return 0, err
		}
		in.st = staticStatus(0, fmt.Sprintf("the if at line %d", no))
		return ctlNext, nil
	case bt.logFail:
		if len(st.chain) != 1 {
			return 0, in.errorf(no, "a failure report on a chain of checks is not supported")
		}
		c, err := negate(st.chain[0])
		if err != nil {
			return 0, in.errorf(no, "%v", err)
		}
		if err := in.mark(no, c, false); err != nil {
			return 0, err
		}
		return in.block(els)
	case (bt.ok || bt.fail) && (be.ok || be.fail):
		want := 0
		desc := bt.desc
		if !bt.ok {
			want, desc = 1, be.desc
		}
		if bt.ok == be.ok {
			return 0, in.errorf(no, "both branches report the same verdict")
		}
		if err := in.assert(no, st, want, false); err != nil {
			return 0, err
		}
		text := in.lastEcho
		if desc != "" {
			w, err := in.expandOne(no, desc)
			if err != nil {
				return 0, err
			}
			text = w.s
		}
		in.st = staticStatus(0, fmt.Sprintf("the report at line %d", no))
		return ctlNext, in.close(no, strings.Join(strings.Fields(text), " "), "")
	case els == nil && !bt.ok && !bt.fail && !bt.abort:
		return in.guarded(no, st, then)
	}
	return 0, in.errorf(no, "a run-time if of a form the extractor does not know")
}

// guarded runs the body of `if [ S -eq 0 ]; then BODY; fi`: assertions
// inside include S, and a status variable (rc) set inside becomes the
// chain of S and its new value, as `rc` after the fi is S when S failed.
func (in *interp) guarded(no int, st status, body []stmt) (ctl, error) {
	before := in.statusVars()
	in.guards = append(in.guards, st.chain)
	c, err := in.block(body)
	in.guards = in.guards[:len(in.guards)-1]
	if err != nil {
		return c, err
	}
	for name, v := range in.statusVars() {
		old, had := before[name]
		if had && old == v {
			continue
		}
		chain := append(slices.Clone(st.chain), v.chain...)
		in.set(name, value{st: &status{chain: chain}}, false)
	}
	if !in.st.static {
		in.st = status{chain: append(slices.Clone(st.chain), in.st.chain...)}
	}
	return c, nil
}

// statusVars returns the variables in scope holding a run-time status.
func (in *interp) statusVars() map[string]*status {
	out := map[string]*status{}
	for k, v := range in.globals {
		if v.st != nil && !v.st.static {
			out[k] = v.st
		}
	}
	for _, f := range in.frames {
		for k, v := range f.locals {
			if v.st != nil && !v.st.static {
				out[k] = v.st
			} else {
				delete(out, k)
			}
		}
	}
	return out
}

// logTest is fib_tests.sh's log_test RC EXPECTED "DESCRIPTION": the
// case's assertion, rc == expected.
func (in *interp) logTest(no int, raw []string) error {
	if len(raw) != 4 {
		return in.errorf(no, "log_test wants 3 arguments, got %d", len(raw)-1)
	}
	rc, err := in.expandOne(no, raw[1])
	if err != nil {
		return err
	}
	wantw, err := in.expandOne(no, raw[2])
	if err != nil {
		return err
	}
	want, err := strconv.Atoi(wantw.s)
	if wantw.dyn != nil || err != nil {
		return in.errorf(no, "log_test: the expected status %s is not a number", raw[2])
	}
	descw, err := in.expandOne(no, raw[3])
	if err != nil || descw.dyn != nil {
		return in.errorf(no, "log_test: the description %s is not text", raw[3])
	}
	desc := strings.Join(strings.Fields(descw.s), " ")
	var st status
	switch {
	case rc.dyn != nil && rc.dyn.st != nil:
		st = *rc.dyn.st
	case rc.dyn == nil:
		n, err := strconv.Atoi(rc.s)
		if err != nil {
			return in.errorf(no, "log_test: the status %s is not a number", raw[1])
		}
		st = staticStatus(n, "the literal "+rc.s)
	default:
		return in.errorf(no, "log_test: %s is a command's output, not a status", raw[1])
	}
	defer func() { in.st = staticStatus(0, fmt.Sprintf("log_test (line %d)", no)) }()
	if st.static {
		verdict := "always passes"
		if st.code != want {
			verdict = "always fails"
		}
		return in.close(no, desc, fmt.Sprintf("%s: the status it tests is that of %s, %d whatever the kernel does", verdict, st.src, st.code))
	}
	for _, g := range in.guards {
		if err := in.assert(no, status{chain: g}, 0, false); err != nil {
			return err
		}
	}
	if err := in.assert(no, st, want, false); err != nil {
		return err
	}
	return in.close(no, desc, "")
}

// checkExpected is check_expected "${out}" "EXPECTED": the output of the
// step behind out, compared as the function does (equal, or equal once
// blanks are collapsed).
func (in *interp) checkExpected(no int, raw []string) error {
	if len(raw) != 3 {
		return in.errorf(no, "check_expected wants 2 arguments")
	}
	out, err := in.expandOne(no, raw[1])
	if err != nil {
		return err
	}
	exp, err := in.expandOne(no, raw[2])
	if err != nil {
		return err
	}
	if out.dyn == nil || out.dyn.out == nil || exp.dyn != nil {
		return in.errorf(no, "check_expected: want a command's output and a text")
	}
	in.st = status{chain: []check{{ref: *out.dyn.out, pred: cases.Want{Kind: cases.WantEqual, Text: exp.s}}}}
	return nil
}

// route6Rule is how the script's check_route6 picks the prefix it lists.
type route6Rule struct {
	fixed string // the prefix, when the function fixes it
	first bool   // the first word of the expectation
	list  string // the listing command, unexpanded, with ${pfx}
}

// checkRoute6 is check_route6 "EXPECTED": list the prefix as the script's
// own check_route6 does and compare as check_expected.
func (in *interp) checkRoute6(no int, args []string) error {
	f, ok := in.sc.funcs["check_route6"]
	if !ok {
		return in.errorf(no, "check_route6 is called but not defined")
	}
	rule, err := readRoute6Rule(in.sc.name, f)
	if err != nil {
		return err
	}
	if len(args) != 1 {
		return in.errorf(no, "check_route6 wants one argument")
	}
	pfx := rule.fixed
	if rule.first {
		pfx, _ = firstWord(args[0])
	}
	list := strings.ReplaceAll(rule.list, "${pfx}", pfx)
	raw, err := splitRaw(list)
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
	in.st = status{chain: []check{{ref: st.chain[0].ref, pred: cases.Want{Kind: cases.WantEqual, Text: args[0]}}}}
	return nil
}

var reOutList = regexp.MustCompile(`^out=\$\((.*)\)$`)

// readRoute6Rule reads the script's check_route6: the prefix (fixed,
// or the first word of the expectation), the listing command, and that
// the comparison is check_expected's.
func readRoute6Rule(file string, f *function) (route6Rule, error) {
	var r route6Rule
	var hasSet, hasPfx, compares bool
	for _, l := range f.lines {
		t := l.text
		switch {
		case strings.HasPrefix(t, `local pfx="`) && strings.HasSuffix(t, `"`):
			r.fixed = strings.TrimSuffix(strings.TrimPrefix(t, `local pfx="`), `"`)
		case t == "set -- $expected":
			hasSet = true
		case t == "pfx=$1":
			hasPfx = true
		case reOutList.MatchString(t) && r.list == "":
			r.list = reOutList.FindStringSubmatch(t)[1]
		case t == `check_expected "${out}" "${expected}"`, t == `[ "${out}" = "${expected}" ] && return 0`:
			compares = true
		}
	}
	r.first = hasSet && hasPfx
	switch {
	case r.first == (r.fixed != ""):
		return r, fmt.Errorf("%s:%d: check_route6 picks its prefix in a way the extractor does not know", file, f.line)
	case r.list != "$IP -6 ro ls match ${pfx} | sed -e 's/ pref medium//'":
		return r, fmt.Errorf("%s:%d: check_route6 lists routes with %q, which the extractor does not know", file, f.line, r.list)
	case !compares:
		return r, fmt.Errorf("%s:%d: check_route6 compares in a way the extractor does not know", file, f.line)
	}
	return r, nil
}

// stripRedirects removes redirections (`&> /dev/null`, `2>&1`, `> FILE`)
// and their file words.
func stripRedirects(words []string) ([]string, error) {
	var out []string
	for i := 0; i < len(words); i++ {
		w := words[i]
		if !isRedirect(w) {
			out = append(out, w)
			continue
		}
		if redirectTakesFile(w) {
			if i+1 >= len(words) {
				return nil, fmt.Errorf("redirection %s without a file", w)
			}
			i++
		}
	}
	return out, nil
}

// normalise turns a command's words into a step: `ip -netns NS ...`,
// `ip -n NS ...` and `ip netns exec NS CMD` name the namespace the
// command runs in; `ip netns add NS` creates one.
func normalise(words []string) (cases.Step, error) {
	var segs [][]string
	cur := []string{}
	for _, w := range words {
		if w == "|" {
			segs = append(segs, cur)
			cur = []string{}
			continue
		}
		cur = append(cur, w)
	}
	segs = append(segs, cur)
	s := cases.Step{}
	var parts []string
	for i, seg := range segs {
		ns, rest, err := inNamespace(seg)
		if err != nil {
			return s, err
		}
		if len(rest) == 0 {
			return s, fmt.Errorf("empty command in %q", strings.Join(words, " "))
		}
		if i == 0 {
			s.NS = ns
		} else if ns != "" {
			return s, fmt.Errorf("a pipeline whose commands run in different namespaces: %q", strings.Join(words, " "))
		}
		if len(rest) == 4 && rest[0] == "ip" && rest[1] == "netns" && rest[2] == "add" && len(segs) == 1 && ns == "" {
			return cases.Step{Role: cases.RoleNetns, NS: rest[3]}, nil
		}
		parts = append(parts, cases.JoinWords(rest))
	}
	s.Cmd = strings.Join(parts, " | ")
	return s, nil
}

// inNamespace strips the namespace options of an ip command (and of tc's
// -n NS, which is the same).
func inNamespace(w []string) (string, []string, error) {
	if len(w) >= 3 && w[0] == "tc" && (w[1] == "-n" || w[1] == "-netns") {
		return w[2], append([]string{"tc"}, w[3:]...), nil
	}
	if len(w) == 0 || w[0] != "ip" {
		return "", w, nil
	}
	ns := ""
	out := []string{"ip"}
	i := 1
	for ; i < len(w) && strings.HasPrefix(w[i], "-"); i++ {
		if w[i] == "-netns" || w[i] == "-n" {
			if i+1 >= len(w) {
				return "", nil, fmt.Errorf("%s without a namespace", w[i])
			}
			if ns != "" {
				return "", nil, fmt.Errorf("two namespaces in %q", strings.Join(w, " "))
			}
			ns = w[i+1]
			i++
			continue
		}
		out = append(out, w[i])
	}
	rest := w[i:]
	if len(rest) >= 3 && rest[0] == "netns" && rest[1] == "exec" {
		if ns != "" || len(out) > 1 {
			return "", nil, fmt.Errorf("options before netns exec in %q", strings.Join(w, " "))
		}
		inner, cmd, err := inNamespace(rest[3:])
		if err != nil {
			return "", nil, err
		}
		if inner != "" {
			return "", nil, fmt.Errorf("two namespaces in %q", strings.Join(w, " "))
		}
		return rest[2], cmd, nil
	}
	return ns, append(out, rest...), nil
}
