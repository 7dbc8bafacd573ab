package extract

import (
	"fmt"
	"regexp"
	"strings"
)

// script is a shell script split into its functions and its top-level
// assignments.
type script struct {
	name  string
	funcs map[string]*function
	// globals are the top-level assignments, in order (the main part
	// of the script is not run).
	globals []srcLine
}

// function is a shell function: its logical lines, unparsed until it is
// called.
type function struct {
	name  string
	line  int // the line of `name()`
	lines []srcLine
	body  []stmt // parsed on first call
}

// srcLine is one logical line: continuation lines joined, comments gone.
type srcLine struct {
	no   int
	text string
}

var (
	reFuncHead = regexp.MustCompile(`^([A-Za-z_][A-Za-z0-9_]*)\(\)\s*(\{)?\s*$`)
	reGlobal   = regexp.MustCompile(`^(?:readonly\s+)?[A-Za-z_][A-Za-z0-9_]*=`)
)

// parseScript splits text into functions and top-level assignments.
func parseScript(name, text string) (*script, error) {
	sc := &script{name: name, funcs: map[string]*function{}}
	raw := strings.Split(text, "\n")
	for i := 0; i < len(raw); i++ {
		m := reFuncHead.FindStringSubmatch(raw[i])
		if m == nil {
			if reGlobal.MatchString(raw[i]) {
				l, next := logical(raw, i)
				sc.globals = append(sc.globals, l)
				i = next - 1
			}
			continue
		}
		f := &function{name: m[1], line: i + 1}
		i++
		if m[2] == "" {
			if i >= len(raw) || strings.TrimSpace(raw[i]) != "{" {
				return nil, fmt.Errorf("%s:%d: function %s: want `{` on the next line", name, i+1, f.name)
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
			return nil, fmt.Errorf("%s:%d: function %s has no line `}` closing it", name, f.line, f.name)
		}
		for j := i; j < end; {
			l, next := logical(raw[:end], j)
			if strings.TrimSpace(l.text) != "" {
				f.lines = append(f.lines, l)
			}
			j = next
		}
		if _, dup := sc.funcs[f.name]; dup {
			return nil, fmt.Errorf("%s:%d: function %s defined twice", name, f.line, f.name)
		}
		sc.funcs[f.name] = f
		i = end
	}
	return sc, nil
}

// logical joins the physical lines from raw[i] into one logical line:
// backslash continuations, and lines inside an open quote or an open
// parenthesis (array assignments, command substitutions). Comments are
// removed. It returns the line and the index after it.
func logical(raw []string, i int) (srcLine, int) {
	l := srcLine{no: i + 1}
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
	l.text = strings.TrimSpace(b.String())
	return l, i + 1
}

// stmt is a parsed statement.
type stmt interface{ lineNo() int }

// simple is one and-or list of pipelines, unexpanded.
type simple struct {
	no   int
	text string
}

// ifStmt is if/elif/else/fi: conds[i] guards bodies[i]; a final body
// without a cond is the else.
type ifStmt struct {
	no     int
	conds  []string
	bodies [][]stmt
}

func (s *simple) lineNo() int { return s.no }
func (s *ifStmt) lineNo() int { return s.no }

// segment is one `;`-separated part of a logical line.
type segment struct {
	no   int
	text string
}

// segments splits lines at `;` outside quotes and parentheses (`;;` is
// kept whole: it only ends case items, which are not supported).
func segments(lines []srcLine) []segment {
	var out []segment
	for _, l := range lines {
		quote, depth, from := byte(0), 0, 0
		t := l.text
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
					out = append(out, segment{l.no, s})
				}
				from = k + 1
			}
		}
		if s := strings.TrimSpace(t[from:]); s != "" {
			out = append(out, segment{l.no, s})
		}
	}
	return out
}

// parseBody parses a function's segments into statements.
func parseBody(file string, segs []segment) ([]stmt, error) {
	p := &bodyParser{file: file, segs: segs}
	out, end, err := p.block()
	if err != nil {
		return nil, err
	}
	if end != "" {
		return nil, fmt.Errorf("%s:%d: `%s` without its `if`", file, p.segs[p.i-1].no, end)
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
func (p *bodyParser) block() ([]stmt, string, error) {
	var out []stmt
	for p.i < len(p.segs) {
		s := p.segs[p.i]
		first, rest := firstWord(s.text)
		switch first {
		case "elif", "else", "fi":
			p.i++
			if first == "else" && rest != "" {
				// `else stmt` on one line
				p.segs[p.i-1] = segment{s.no, rest}
				p.i--
				return out, "else", nil
			}
			return out, first, nil
		case "then", "do", "done", "esac":
			return nil, "", fmt.Errorf("%s:%d: unexpected `%s`", p.file, s.no, first)
		case "if":
			st, err := p.ifStmt(s.no, rest)
			if err != nil {
				return nil, "", err
			}
			out = append(out, st)
			continue
		}
		if what, bad := unsupported[first]; bad {
			return nil, "", fmt.Errorf("%s:%d: %s are not supported by the extractor: %q", p.file, s.no, what, s.text)
		}
		out = append(out, &simple{no: s.no, text: s.text})
		p.i++
	}
	return out, "", nil
}

// ifStmt parses from `if COND` (the if segment is at p.i).
func (p *bodyParser) ifStmt(no int, cond string) (stmt, error) {
	st := &ifStmt{no: no}
	p.i++
	for {
		if err := p.then(no); err != nil {
			return nil, err
		}
		body, end, err := p.block()
		if err != nil {
			return nil, err
		}
		st.conds = append(st.conds, cond)
		st.bodies = append(st.bodies, body)
		switch end {
		case "fi":
			return st, nil
		case "elif":
			_, cond = firstWord(p.segs[p.i-1].text)
			continue
		case "else":
			body, end, err := p.block()
			if err != nil {
				return nil, err
			}
			if end != "fi" {
				return nil, fmt.Errorf("%s:%d: if without fi", p.file, no)
			}
			st.bodies = append(st.bodies, body)
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
	first, rest := firstWord(p.segs[p.i].text)
	if first != "then" {
		return fmt.Errorf("%s:%d: want `then` after the condition, got %q", p.file, p.segs[p.i].no, p.segs[p.i].text)
	}
	if rest != "" {
		p.segs[p.i] = segment{p.segs[p.i].no, rest}
	} else {
		p.i++
	}
	return nil
}

func firstWord(s string) (string, string) {
	s = strings.TrimSpace(s)
	i := strings.IndexAny(s, " \t")
	if i < 0 {
		return s, ""
	}
	return s[:i], strings.TrimSpace(s[i+1:])
}
