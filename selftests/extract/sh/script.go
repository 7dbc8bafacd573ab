// Package sh reads the syntax of the small sh subset the kernel's net
// selftests are written in: a script split into its functions and
// top-level assignments (Parse), a function's lines parsed into
// statements, and-or lists and if/elif/else (ParseBody), and a
// statement split into raw words and operators (SplitRaw). What it does
// not read (loops, case, subshells, brace groups) is an error naming the
// line. Evaluating the statements is selftests/extract's symbolic
// interpreter.
package sh

import (
	"fmt"
	"regexp"
	"strings"
)

// Script is a shell script split into its functions and its top-level
// assignments.
type Script struct {
	Name  string
	Funcs map[string]*Function
	// Globals are the top-level assignments, in order (the main part
	// of the script is not run).
	Globals []Line
}

// Function is a shell function: its logical lines, unparsed until it is
// called.
type Function struct {
	Name  string
	Line  int // the line of `name()`
	Lines []Line
	Body  []Stmt // parsed on first call
}

// Line is one logical line: continuation lines joined, comments gone.
type Line struct {
	No   int
	Text string
}

var (
	reFuncHead = regexp.MustCompile(`^([A-Za-z_][A-Za-z0-9_]*)\(\)\s*(\{)?\s*$`)
	reGlobal   = regexp.MustCompile(`^(?:readonly\s+)?[A-Za-z_][A-Za-z0-9_]*=`)
)

// Parse splits text into functions and top-level assignments.
func Parse(name, text string) (*Script, error) {
	sc := &Script{Name: name, Funcs: map[string]*Function{}}
	raw := strings.Split(text, "\n")
	for i := 0; i < len(raw); i++ {
		m := reFuncHead.FindStringSubmatch(raw[i])
		if m == nil {
			if reGlobal.MatchString(raw[i]) {
				l, next := logical(raw, i)
				sc.Globals = append(sc.Globals, l)
				i = next - 1
			}
			continue
		}
		f := &Function{Name: m[1], Line: i + 1}
		i++
		if m[2] == "" {
			if i >= len(raw) || strings.TrimSpace(raw[i]) != "{" {
				return nil, fmt.Errorf("%s:%d: function %s: want `{` on the next line", name, i+1, f.Name)
			}
			i++
		}
		end := i
		// the body ends at the first line that is `}` alone (some scripts
		// indent it)
		for end < len(raw) && strings.TrimSpace(raw[end]) != "}" {
			end++
		}
		if end >= len(raw) {
			return nil, fmt.Errorf("%s:%d: function %s has no line `}` closing it", name, f.Line, f.Name)
		}
		for j := i; j < end; {
			l, next := logical(raw[:end], j)
			if strings.TrimSpace(l.Text) != "" {
				f.Lines = append(f.Lines, l)
			}
			j = next
		}
		if _, dup := sc.Funcs[f.Name]; dup {
			return nil, fmt.Errorf("%s:%d: function %s defined twice", name, f.Line, f.Name)
		}
		sc.Funcs[f.Name] = f
		i = end
	}
	return sc, nil
}

// logical joins the physical lines from raw[i] into one logical line:
// backslash continuations, and lines inside an open quote or an open
// parenthesis (array assignments, command substitutions). Comments are
// removed. It returns the line and the index after it.
func logical(raw []string, i int) (Line, int) {
	l := Line{No: i + 1}
	var b strings.Builder
	quote, depth := byte(0), 0
	for ; i < len(raw); i++ {
		line := raw[i]
		cont := false
		for k := 0; k < len(line); k++ {
			c := line[k]
			switch {
			case quote == '\'':
				if c == '\'' {
					quote = 0
				}
			case quote == '"':
				if c == '\\' && k+1 < len(line) {
					b.WriteByte(c)
					k++
					c = line[k]
				} else if c == '"' {
					quote = 0
				}
			case c == '\\' && k == len(line)-1:
				cont = true
				continue
			case c == '\\' && k+1 < len(line):
				b.WriteByte(c)
				k++
				c = line[k]
			case c == '\'' || c == '"':
				quote = c
			case c == '(':
				depth++
			case c == ')':
				if depth > 0 {
					depth--
				}
			case c == '#' && (k == 0 || line[k-1] == ' ' || line[k-1] == '\t'):
				k = len(line) // a comment to the end of the line
				continue
			}
			b.WriteByte(c)
		}
		if cont || quote != 0 || depth > 0 {
			b.WriteByte(' ')
			continue
		}
		break
	}
	l.Text = strings.TrimSpace(b.String())
	return l, i + 1
}

// Stmt is a parsed statement.
type Stmt interface{ LineNo() int }

// Simple is one and-or list of pipelines, unexpanded.
type Simple struct {
	No   int
	Text string
}

// If is if/elif/else/fi: Conds[i] guards Bodies[i]; a final body
// without a cond is the else.
type If struct {
	No     int
	Conds  []string
	Bodies [][]Stmt
}

func (s *Simple) LineNo() int { return s.No }
func (s *If) LineNo() int     { return s.No }

// segment is one `;`-separated part of a logical line.
type segment struct {
	No   int
	Text string
}

// segments splits lines at `;` outside quotes and parentheses (`;;` is
// kept whole: it only ends case items, which are not supported).
func segments(lines []Line) []segment {
	var out []segment
	for _, l := range lines {
		quote, depth, from := byte(0), 0, 0
		t := l.Text
		for k := 0; k < len(t); k++ {
			c := t[k]
			switch {
			case quote != 0:
				if c == '\\' && quote == '"' {
					k++
				} else if c == quote {
					quote = 0
				}
			case c == '\\':
				k++
			case c == '\'' || c == '"':
				quote = c
			case c == '(':
				depth++
			case c == ')':
				depth--
			case c == ';' && depth == 0:
				if s := strings.TrimSpace(t[from:k]); s != "" {
					out = append(out, segment{l.No, s})
				}
				from = k + 1
			}
		}
		if s := strings.TrimSpace(t[from:]); s != "" {
			out = append(out, segment{l.No, s})
		}
	}
	return out
}

// ParseBody parses a function's lines into statements (file names the
// script in errors).
func ParseBody(file string, lines []Line) ([]Stmt, error) {
	p := &bodyParser{file: file, segs: segments(lines)}
	out, end, err := p.block()
	if err != nil {
		return nil, err
	}
	if end != "" {
		return nil, fmt.Errorf("%s:%d: `%s` without its `if`", file, p.segs[p.i-1].No, end)
	}
	return out, nil
}

type bodyParser struct {
	file string
	segs []segment
	i    int
}

var unsupported = map[string]string{
	"for": "for loops", "while": "while loops", "until": "until loops", "case": "case statements",
	"select": "select", "function": "`function` definitions", "{": "brace groups", "(": "subshells",
}

// block parses statements up to an `elif`, `else` or `fi` (returned as
// end) or the end of the body.
func (p *bodyParser) block() ([]Stmt, string, error) {
	var out []Stmt
	for p.i < len(p.segs) {
		s := p.segs[p.i]
		first, rest := FirstWord(s.Text)
		switch first {
		case "elif", "else", "fi":
			p.i++
			if first == "else" && rest != "" {
				// `else stmt` on one line
				p.segs[p.i-1] = segment{s.No, rest}
				p.i--
				return out, "else", nil
			}
			return out, first, nil
		case "then", "do", "done", "esac":
			return nil, "", fmt.Errorf("%s:%d: unexpected `%s`", p.file, s.No, first)
		case "if":
			st, err := p.ifStmt(s.No, rest)
			if err != nil {
				return nil, "", err
			}
			out = append(out, st)
			continue
		}
		if what, bad := unsupported[first]; bad {
			return nil, "", fmt.Errorf("%s:%d: %s are not supported by the extractor: %q", p.file, s.No, what, s.Text)
		}
		out = append(out, &Simple{No: s.No, Text: s.Text})
		p.i++
	}
	return out, "", nil
}

// ifStmt parses from `if COND` (the if segment is at p.i).
func (p *bodyParser) ifStmt(no int, cond string) (Stmt, error) {
	st := &If{No: no}
	p.i++
	for {
		if err := p.then(no); err != nil {
			return nil, err
		}
		body, end, err := p.block()
		if err != nil {
			return nil, err
		}
		st.Conds = append(st.Conds, cond)
		st.Bodies = append(st.Bodies, body)
		switch end {
		case "fi":
			return st, nil
		case "elif":
			_, cond = FirstWord(p.segs[p.i-1].Text)
			continue
		case "else":
			body, end, err := p.block()
			if err != nil {
				return nil, err
			}
			if end != "fi" {
				return nil, fmt.Errorf("%s:%d: if without fi", p.file, no)
			}
			st.Bodies = append(st.Bodies, body)
			return st, nil
		default:
			return nil, fmt.Errorf("%s:%d: if without fi", p.file, no)
		}
	}
}

// then consumes the `then` after a condition (alone, or `then stmt`).
func (p *bodyParser) then(no int) error {
	if p.i >= len(p.segs) {
		return fmt.Errorf("%s:%d: if without then", p.file, no)
	}
	first, rest := FirstWord(p.segs[p.i].Text)
	if first != "then" {
		return fmt.Errorf("%s:%d: want `then` after the condition, got %q", p.file, p.segs[p.i].No, p.segs[p.i].Text)
	}
	if rest != "" {
		p.segs[p.i] = segment{p.segs[p.i].No, rest}
	} else {
		p.i++
	}
	return nil
}

// FirstWord splits s into its first word and the rest, both trimmed.
func FirstWord(s string) (string, string) {
	s = strings.TrimSpace(s)
	i := strings.IndexAny(s, " \t")
	if i < 0 {
		return s, ""
	}
	return s[:i], strings.TrimSpace(s[i+1:])
}
