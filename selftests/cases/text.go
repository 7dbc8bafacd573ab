package cases

import (
	"bytes"
	"fmt"
	"strconv"
	"strings"
)

// Error is a problem in a case file, with its line.
type Error struct {
	File string
	Line int
	Msg  string
}

func (e *Error) Error() string {
	if e.Line > 0 {
		return fmt.Sprintf("%s:%d: %s", e.File, e.Line, e.Msg)
	}
	return fmt.Sprintf("%s: %s", e.File, e.Msg)
}

// Header is the comment every generated file starts with.
const Header = `# raceroute conformance cases, read mechanically from a kernel selftest by
# selftests/extract (regenerate: go run ./selftests/cmd/extract; do not
# edit by hand). The script itself (GPL-2.0) is not in this repository:
# the numbers are its line numbers. Format: docs/selftests.md.
`

// Format renders f in the case format; Parse reads it back.
func (f *File) Format() []byte {
	var b bytes.Buffer
	b.WriteString(Header)
	fmt.Fprintf(&b, "suite %s\n", f.Suite)
	fmt.Fprintf(&b, "script %s\n", f.Script)
	fmt.Fprintf(&b, "version %s\n", f.Version)
	fmt.Fprintf(&b, "source %s\n", f.Source)
	fmt.Fprintf(&b, "exact %s\n", map[bool]string{true: "yes", false: "no"}[f.Exact])
	var rs []string
	for _, r := range f.Covers {
		rs = append(rs, r.String())
	}
	fmt.Fprintf(&b, "covers %s\n", strings.Join(rs, " "))
	for _, n := range f.Notes {
		fmt.Fprintf(&b, "note %s\n", n)
	}
	for _, e := range f.Envs {
		fmt.Fprintf(&b, "\nenv %s %d\n", e.Name, e.Line)
		for _, s := range e.Steps {
			b.WriteString(s.text())
		}
	}
	for _, c := range f.Cases {
		fmt.Fprintf(&b, "\ncase %s %s %d %s", c.ID(), c.Group, c.Line, quote(c.Desc))
		if c.Vacuous != "" {
			fmt.Fprintf(&b, " vacuous %s", quote(c.Vacuous))
		}
		b.WriteByte('\n')
		for _, s := range c.Steps {
			b.WriteString(s.text())
		}
	}
	return b.Bytes()
}

func (s *Step) text() string {
	var b strings.Builder
	fmt.Fprintf(&b, "  %d %s", s.Line, s.Role)
	switch s.Role {
	case RoleEnv:
		b.WriteString(" " + s.Env)
	case RoleNetns:
		b.WriteString(" " + s.NS)
	default:
		if s.NS != "" {
			b.WriteString(" " + s.NS + ":")
		}
		b.WriteString(" " + s.Cmd)
		if s.Want.Kind != WantNone {
			b.WriteString(" => " + s.Want.String())
		}
		if fl := Flags(s.Cmd); fl != "" {
			b.WriteString("  # " + fl)
		}
	}
	b.WriteByte('\n')
	return b.String()
}

// Parse reads a case file; name is used in errors.
func Parse(name string, data []byte) (*File, error) {
	f := &File{Name: name}
	p := parser{f: f}
	seen := map[string]bool{}
	for i, raw := range strings.Split(string(data), "\n") {
		p.line = i + 1
		line := strings.TrimRight(raw, " \t\r")
		if strings.TrimSpace(line) == "" || strings.HasPrefix(strings.TrimSpace(line), "#") {
			continue
		}
		if strings.HasPrefix(line, " ") || strings.HasPrefix(line, "\t") {
			if err := p.step(strings.TrimSpace(line)); err != nil {
				return nil, err
			}
			continue
		}
		key, rest, _ := strings.Cut(line, " ")
		rest = strings.TrimSpace(rest)
		if key != "note" && key != "env" && key != "case" {
			if seen[key] {
				return nil, p.errorf("%s given twice", key)
			}
			seen[key] = true
		}
		if err := p.header(key, rest); err != nil {
			return nil, err
		}
	}
	for _, k := range []string{"suite", "script", "version", "source", "exact", "covers"} {
		if !seen[k] {
			return nil, &Error{File: name, Msg: fmt.Sprintf("no `%s` line", k)}
		}
	}
	if err := f.check(); err != nil {
		return nil, err
	}
	return f, nil
}

type parser struct {
	f    *File
	line int
	// steps is where the next indented line goes: the last env or case.
	steps *[]Step
}

func (p *parser) errorf(format string, args ...any) error {
	return &Error{File: p.f.Name, Line: p.line, Msg: fmt.Sprintf(format, args...)}
}

func (p *parser) header(key, rest string) error {
	f := p.f
	if rest == "" {
		return p.errorf("%s wants a value", key)
	}
	switch key {
	case "suite":
		f.Suite = rest
	case "script":
		f.Script = rest
	case "version":
		f.Version = rest
	case "source":
		f.Source = rest
	case "exact":
		switch rest {
		case "yes":
			f.Exact = true
		case "no":
		default:
			return p.errorf("exact: want yes or no, got %q", rest)
		}
	case "covers":
		for _, w := range strings.Fields(rest) {
			r, err := ParseRange(w)
			if err != nil {
				return p.errorf("covers: %v", err)
			}
			f.Covers = append(f.Covers, r)
		}
	case "note":
		f.Notes = append(f.Notes, rest)
	case "env":
		w := strings.Fields(rest)
		if len(w) != 2 {
			return p.errorf("env: want `env NAME LINE`, got %q", rest)
		}
		n, err := lineNumber(w[1])
		if err != nil {
			return p.errorf("env %s: %v", w[0], err)
		}
		if _, dup := f.Env(w[0]); dup {
			return p.errorf("env %s given twice", w[0])
		}
		f.Envs = append(f.Envs, Env{Name: w[0], Line: n})
		p.steps = &f.Envs[len(f.Envs)-1].Steps
	case "case":
		c, err := p.caseHeader(rest)
		if err != nil {
			return err
		}
		f.Cases = append(f.Cases, c)
		p.steps = &f.Cases[len(f.Cases)-1].Steps
	default:
		return p.errorf("unknown line %q (want suite, script, version, source, exact, covers, note, env or case)", key)
	}
	return nil
}

// caseHeader reads `FUNC#N GROUP LINE "DESC"`.
func (p *parser) caseHeader(rest string) (Case, error) {
	var c Case
	w := strings.SplitN(rest, " ", 4)
	if len(w) != 4 {
		return c, p.errorf("case: want `case FUNC#N GROUP LINE \"DESCRIPTION\"`, got %q", rest)
	}
	fn, num, ok := strings.Cut(w[0], "#")
	n, err := strconv.Atoi(num)
	if !ok || fn == "" || err != nil || n < 1 {
		return c, p.errorf("case: %q is not FUNC#N with N from 1", w[0])
	}
	line, err := lineNumber(w[2])
	if err != nil {
		return c, p.errorf("case %s: %v", w[0], err)
	}
	q, err := strconv.QuotedPrefix(w[3])
	if err != nil {
		return c, p.errorf("case %s: the description %s is not a double-quoted string", w[0], w[3])
	}
	desc, _ := strconv.Unquote(q)
	c = Case{Func: fn, N: n, Group: w[1], Line: line, Desc: desc}
	if tail := strings.TrimSpace(w[3][len(q):]); tail != "" {
		reason, ok := strings.CutPrefix(tail, "vacuous ")
		r, err := strconv.Unquote(strings.TrimSpace(reason))
		if !ok || err != nil || r == "" {
			return c, p.errorf("case %s: after the description, want nothing or vacuous \"REASON\", got %q", w[0], tail)
		}
		c.Vacuous = r
	}
	for _, o := range p.f.Cases {
		if o.ID() == c.ID() {
			return c, p.errorf("case %s given twice", c.ID())
		}
	}
	return c, nil
}

// step reads `LINE ROLE ...`.
func (p *parser) step(line string) error {
	if p.steps == nil {
		return p.errorf("a step before any env or case line")
	}
	num, rest, _ := strings.Cut(line, " ")
	n, err := lineNumber(num)
	if err != nil {
		return p.errorf("step: %v", err)
	}
	role, rest, _ := strings.Cut(strings.TrimSpace(rest), " ")
	rest = strings.TrimSpace(rest)
	s := Step{Line: n}
	for r, name := range roleNames {
		if name != "" && name == role {
			s.Role = Role(r)
		}
	}
	switch s.Role {
	case 0:
		return p.errorf("step role %q: want env, netns, setup, do or test", role)
	case RoleEnv, RoleNetns:
		if rest == "" || strings.ContainsAny(rest, " \t") {
			return p.errorf("%s: want one name, got %q", role, rest)
		}
		if s.Role == RoleEnv {
			s.Env = rest
		} else {
			s.NS = rest
		}
	default:
		if err := p.command(&s, rest); err != nil {
			return err
		}
	}
	*p.steps = append(*p.steps, s)
	return nil
}

// command reads `[NS:] CMD [=> WANT] [# COMMENT]`.
func (p *parser) command(s *Step, rest string) error {
	if first, after, ok := strings.Cut(rest, " "); ok && strings.HasSuffix(first, ":") && len(first) > 1 {
		s.NS, rest = strings.TrimSuffix(first, ":"), strings.TrimSpace(after)
	}
	cmd, want, hasWant := strings.Cut(rest, " => ")
	if !hasWant {
		cmd, _, _ = strings.Cut(rest, "  # ")
	}
	s.Cmd = strings.TrimSpace(cmd)
	if s.Cmd == "" {
		return p.errorf("%s step without a command", s.Role)
	}
	if _, err := s.Words(); err != nil {
		return p.errorf("%v", err)
	}
	if hasWant {
		w, err := parseWant(strings.TrimSpace(want))
		if err != nil {
			return p.errorf("%v", err)
		}
		s.Want = w
	}
	if s.Role == RoleTest && s.Want.Kind == WantNone {
		return p.errorf("a test step needs `=> WANT` (what the script asserts)")
	}
	if s.Role == RoleDo && s.Want.Kind != WantNone {
		return p.errorf("a do step asserts nothing: drop `=> %s` or make it a test", s.Want)
	}
	return nil
}

// parseWant reads N, fail, empty, nonempty or = "TEXT", then an optional
// comment.
func parseWant(s string) (Want, error) {
	if t, ok := strings.CutPrefix(s, "= "); ok {
		q, err := strconv.QuotedPrefix(t)
		if err != nil {
			return Want{}, fmt.Errorf("want = %s: not a double-quoted string", t)
		}
		text, _ := strconv.Unquote(q)
		if tail := strings.TrimSpace(t[len(q):]); tail != "" && !strings.HasPrefix(tail, "#") {
			return Want{}, fmt.Errorf("want: unexpected %q after the string", tail)
		}
		return Want{Kind: WantEqual, Text: text}, nil
	}
	word, tail, _ := strings.Cut(s, " ")
	if tail = strings.TrimSpace(tail); tail != "" && !strings.HasPrefix(tail, "#") {
		return Want{}, fmt.Errorf("want: unexpected %q after %q", tail, word)
	}
	switch word {
	case "fail":
		return Want{Kind: WantFail}, nil
	case "empty":
		return Want{Kind: WantEmpty}, nil
	case "nonempty":
		return Want{Kind: WantNonEmpty}, nil
	}
	n, err := strconv.Atoi(word)
	if err != nil || n < 0 || n > 255 {
		return Want{}, fmt.Errorf("want %q: an exit status 0-255, fail, empty, nonempty or = \"TEXT\"", word)
	}
	return Want{Kind: WantExit, Exit: n}, nil
}

func lineNumber(s string) (int, error) {
	n, err := strconv.Atoi(s)
	if err != nil || n < 1 {
		return 0, fmt.Errorf("%q is not a line number", s)
	}
	return n, nil
}

// ParseRange reads a release line (6.1) or a range of them (4.18-4.19).
func ParseRange(s string) (Range, error) {
	a, b, isRange := strings.Cut(s, "-")
	from, err := ParseLine(a)
	if err != nil {
		return Range{}, err
	}
	to := from
	if isRange {
		if to, err = ParseLine(b); err != nil {
			return Range{}, err
		}
	}
	if to.Less(from) {
		return Range{}, fmt.Errorf("range %s ends before it starts", s)
	}
	return Range{From: from, To: to}, nil
}

// ParseLine reads a release line, major.minor.
func ParseLine(s string) (Line, error) {
	a, b, ok := strings.Cut(s, ".")
	maj, err1 := strconv.Atoi(a)
	min, err2 := strconv.Atoi(b)
	if !ok || err1 != nil || err2 != nil || maj < 2 || min < 0 || maj > 99 || min > 99 {
		return Line{}, fmt.Errorf("%q is not a kernel release line such as 6.1", s)
	}
	return Line{maj, min}, nil
}

// check validates what the lines alone cannot: environments referred to
// exist, and numbering is consecutive per function.
func (f *File) check() error {
	bad := func(format string, args ...any) error {
		return &Error{File: f.Name, Msg: fmt.Sprintf(format, args...)}
	}
	if len(f.Covers) == 0 {
		return bad("covers: want at least one release line")
	}
	for _, e := range f.Envs {
		for _, s := range e.Steps {
			if s.Role == RoleEnv || s.Role == RoleTest {
				return bad("env %s, script line %d: an environment holds netns, setup and do steps only", e.Name, s.Line)
			}
		}
	}
	next := map[string]int{}
	for _, c := range f.Cases {
		if c.N != next[c.Func]+1 {
			return bad("case %s: want %s#%d next", c.ID(), c.Func, next[c.Func]+1)
		}
		next[c.Func] = c.N
		tests := 0
		for _, s := range c.Steps {
			if s.Role == RoleEnv {
				if _, ok := f.Env(s.Env); !ok {
					return bad("case %s, script line %d: no env %q in this file", c.ID(), s.Line, s.Env)
				}
			}
			if s.Role == RoleTest {
				tests++
			}
		}
		if tests == 0 && c.Vacuous == "" {
			return bad("case %s asserts nothing: it needs a test step (or a vacuous reason)", c.ID())
		}
		if tests > 0 && c.Vacuous != "" {
			return bad("case %s is vacuous but has test steps", c.ID())
		}
	}
	return nil
}
