package extract

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
)

// value is a shell variable's value as the extractor knows it: static
// text (or an array), or something only a run can tell: a command's
// output or an exit status.
type value struct {
	s   string
	arr []string
	// isArr marks an array (`name=(...)`).
	isArr bool
	// out is set for `v=$(CMD)`: the output of the step recorded for CMD.
	out *stepRef
	// st is set for `rc=$?` after a command: its exit status.
	st *status
}

func (v value) dynamic() bool { return v.out != nil || v.st != nil }

// word is one expanded shell word: static text, or exactly one dynamic
// value.
type word struct {
	s   string
	dyn *value
}

// expander expands the words of a statement.
type expander interface {
	lookup(name string) (value, bool)
	positional(i int) (string, bool)
	lastStatus() status
	substitute(cmd string, no int) (word, error)
	// setVar sets a variable (arithmetic's NAME++).
	setVar(name, v string)
}

// splitRaw splits a segment into raw words (quotes kept), separating
// the shell's operators `|`, `&&`, `||`, and redirections.
func splitRaw(s string) ([]string, error) {
	var out []string
	var cur strings.Builder
	quote, depth, started := byte(0), 0, false
	flush := func() {
		if started {
			out = append(out, cur.String())
			cur.Reset()
			started = false
		}
	}
	for k := 0; k < len(s); k++ {
		c := s[k]
		switch {
		case quote != 0:
			cur.WriteByte(c)
			if c == '\\' && quote == '"' && k+1 < len(s) {
				k++
				cur.WriteByte(s[k])
			} else if c == quote {
				quote = 0
			}
		case depth > 0:
			cur.WriteByte(c)
			switch c {
			case '(':
				depth++
			case ')':
				depth--
			case '\'', '"':
				// quotes inside $( ... ): copy through to the closing one
				q := c
				for k++; k < len(s) && s[k] != q; k++ {
					cur.WriteByte(s[k])
				}
				if k < len(s) {
					cur.WriteByte(s[k])
				}
			}
		case c == '\'' || c == '"':
			quote, started = c, true
			cur.WriteByte(c)
		case c == '(' && started && strings.HasSuffix(cur.String(), "="):
			// an array assignment: name=( ... ) is one word
			depth = 1
			cur.WriteByte(c)
		case c == '$' && k+1 < len(s) && s[k+1] == '(':
			depth, started = 1, true
			cur.WriteString("$(")
			k++
		case c == '`':
			end := strings.IndexByte(s[k+1:], '`')
			if end < 0 {
				return nil, fmt.Errorf("unterminated backquote in %q", s)
			}
			cur.WriteString(s[k : k+end+2])
			started = true
			k += end + 1
		case c == '\\' && k+1 < len(s):
			cur.WriteByte(c)
			k++
			cur.WriteByte(s[k])
			started = true
		case c == ' ' || c == '\t':
			flush()
		case c == '|' || c == '&':
			flush()
			if k+1 < len(s) && s[k+1] == c {
				out = append(out, string([]byte{c, c}))
				k++
			} else if c == '&' && k+1 < len(s) && s[k+1] == '>' {
				out = append(out, "&>")
				k++
			} else {
				out = append(out, string(c))
			}
		case c == '>' || c == '<':
			// a redirection operator: keep a leading fd number with it
			if started && isDigits(cur.String()) {
				op := cur.String()
				cur.Reset()
				started = false
				out = append(out, op+string(c))
			} else {
				flush()
				out = append(out, string(c))
			}
			if k+1 < len(s) && (s[k+1] == '>' || s[k+1] == '&') {
				out[len(out)-1] += string(s[k+1])
				k++
				if s[k] == '&' {
					// >&2, 2>&1: the target fd is part of it
					for k+1 < len(s) && s[k+1] >= '0' && s[k+1] <= '9' {
						out[len(out)-1] += string(s[k+1])
						k++
					}
				}
			}
		default:
			cur.WriteByte(c)
			started = true
		}
	}
	if quote != 0 {
		return nil, fmt.Errorf("unterminated %c quote in %q", quote, s)
	}
	if depth != 0 {
		return nil, fmt.Errorf("unterminated $( in %q", s)
	}
	flush()
	return out, nil
}

func isDigits(s string) bool {
	if s == "" {
		return false
	}
	for _, c := range s {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

// isOperator reports whether a raw word is a shell operator.
func isOperator(w string) bool {
	switch w {
	case "|", "||", "&&", "&":
		return true
	}
	return isRedirect(w)
}

// isRedirect reports whether w is a redirection operator (>, 2>, &>,
// >>, 2>&1 ...); those with a target fd (2>&1) take no file word.
func isRedirect(w string) bool {
	w = strings.TrimLeft(w, "0123456789")
	return w == ">" || w == "<" || w == ">>" || w == "&>" || w == ">&" || strings.HasPrefix(w, ">&")
}

func redirectTakesFile(w string) bool {
	w = strings.TrimLeft(w, "0123456789")
	return w == ">" || w == "<" || w == ">>" || w == "&>"
}

// expandWord expands one raw word: quotes removed, variables and
// substitutions replaced. Unquoted expansions are split at blanks, so a
// raw word can give several words (or none).
func expandWord(e expander, raw string, no int) ([]word, error) {
	var out []word
	var cur strings.Builder
	started := false // cur holds a word (perhaps an empty quoted one)
	var dyn *value
	emit := func() {
		if dyn != nil {
			out = append(out, word{dyn: dyn})
		} else if started {
			out = append(out, word{s: cur.String()})
		}
		cur.Reset()
		started, dyn = false, nil
	}
	addStatic := func(s string) error {
		if dyn != nil && s != "" {
			return fmt.Errorf("line %d: %q joins a run-time value with text", no, raw)
		}
		cur.WriteString(s)
		started = true
		return nil
	}
	addValue := func(v value, quoted bool) error {
		if v.dynamic() {
			if cur.Len() > 0 || dyn != nil {
				return fmt.Errorf("line %d: %q joins a run-time value with text", no, raw)
			}
			vv := v
			dyn = &vv
			return nil
		}
		s := v.s
		if v.isArr {
			s = strings.Join(v.arr, " ")
		}
		if quoted {
			return addStatic(s)
		}
		// unquoted: split at blanks
		fields := strings.Fields(s)
		if len(fields) == 0 {
			return nil
		}
		if strings.HasPrefix(s, " ") || strings.HasPrefix(s, "\t") {
			emit()
		}
		for i, f := range fields {
			if i > 0 {
				emit()
			}
			if err := addStatic(f); err != nil {
				return err
			}
		}
		if strings.HasSuffix(s, " ") || strings.HasSuffix(s, "\t") {
			emit()
		}
		return nil
	}
	quote := byte(0)
	for k := 0; k < len(raw); k++ {
		c := raw[k]
		switch {
		case quote == '\'':
			if c == '\'' {
				quote = 0
			} else {
				cur.WriteByte(c)
			}
		case c == '\'' && quote == 0:
			quote, started = '\'', true
		case c == '"':
			if quote == '"' {
				quote = 0
			} else {
				quote, started = '"', true
			}
		case c == '\\' && k+1 < len(raw):
			k++
			if quote == '"' && !strings.ContainsRune("\"\\$`", rune(raw[k])) {
				cur.WriteByte('\\')
			}
			if err := addStatic(string(raw[k])); err != nil {
				return nil, err
			}
		case c == '`':
			end := strings.IndexByte(raw[k+1:], '`')
			w, err := e.substitute(raw[k+1:k+1+end], no)
			if err != nil {
				return nil, err
			}
			k += end + 1
			if err := addWordValue(w, quote == '"', addValue); err != nil {
				return nil, err
			}
		case c == '$':
			n, v, err := expandDollar(e, raw[k:], no)
			if err != nil {
				return nil, err
			}
			k += n - 1
			if err := addValue(v, quote == '"'); err != nil {
				return nil, err
			}
		default:
			if err := addStatic(string(c)); err != nil {
				return nil, err
			}
		}
	}
	emit()
	return out, nil
}

func addWordValue(w word, quoted bool, add func(value, bool) error) error {
	if w.dyn != nil {
		return add(*w.dyn, quoted)
	}
	return add(value{s: w.s}, quoted)
}

// expandDollar expands the $-expression at the start of s; it returns
// how many bytes it used.
func expandDollar(e expander, s string, no int) (int, value, error) {
	if len(s) < 2 {
		return 1, value{s: "$"}, nil
	}
	switch c := s[1]; {
	case c == '?':
		st := e.lastStatus()
		return 2, value{st: &st}, nil
	case c >= '1' && c <= '9':
		v, _ := e.positional(int(c - '0'))
		return 2, value{s: v}, nil
	case c == '(':
		if strings.HasPrefix(s, "$((") {
			end := strings.Index(s, "))")
			if end < 0 {
				return 0, value{}, fmt.Errorf("line %d: unterminated $((", no)
			}
			n, err := arith(e, strings.TrimSpace(s[3:end]))
			if err != nil {
				return 0, value{}, fmt.Errorf("line %d: %w", no, err)
			}
			return end + 2, value{s: strconv.Itoa(n)}, nil
		}
		depth, k := 1, 2
		for ; k < len(s) && depth > 0; k++ {
			switch s[k] {
			case '(':
				depth++
			case ')':
				depth--
			}
		}
		w, err := e.substitute(s[2:k-1], no)
		if err != nil {
			return 0, value{}, err
		}
		if w.dyn != nil {
			return k, *w.dyn, nil
		}
		return k, value{s: w.s}, nil
	case c == '{':
		end := strings.IndexByte(s, '}')
		if end < 0 {
			return 0, value{}, fmt.Errorf("line %d: unterminated ${", no)
		}
		name := s[2:end]
		if base, ok := strings.CutSuffix(name, "[*]"); ok {
			v, _ := e.lookup(base)
			if !v.isArr {
				return 0, value{}, fmt.Errorf("line %d: ${%s} of a variable that is not an array", no, name)
			}
			return end + 1, value{s: strings.Join(v.arr, " ")}, nil
		}
		if !validName(name) {
			if len(name) == 1 && name[0] >= '1' && name[0] <= '9' {
				v, _ := e.positional(int(name[0] - '0'))
				return end + 1, value{s: v}, nil
			}
			return 0, value{}, fmt.Errorf("line %d: ${%s} is not supported", no, name)
		}
		v, ok := e.lookup(name)
		if !ok {
			return 0, value{}, fmt.Errorf("line %d: variable %s is not set", no, name)
		}
		return end + 1, v, nil
	case c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z':
		k := 1
		for k < len(s) && (s[k] == '_' || s[k] >= 'a' && s[k] <= 'z' || s[k] >= 'A' && s[k] <= 'Z' || s[k] >= '0' && s[k] <= '9') {
			k++
		}
		v, ok := e.lookup(s[1:k])
		if !ok {
			return 0, value{}, fmt.Errorf("line %d: variable %s is not set", no, s[1:k])
		}
		return k, v, nil
	}
	return 1, value{s: "$"}, nil
}

func validName(s string) bool {
	if s == "" {
		return false
	}
	for i, c := range s {
		if !(c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || i > 0 && c >= '0' && c <= '9') {
			return false
		}
	}
	return true
}

var (
	reArithIncr = regexp.MustCompile(`^([A-Za-z_][A-Za-z0-9_]*)\+\+$`)
	reArithSum  = regexp.MustCompile(`^\$?([A-Za-z_][A-Za-z0-9_]*)\s*([-+])\s*([0-9]+)$`)
)

// arith evaluates the arithmetic the scripts use: N, NAME++, NAME + N.
func arith(e expander, x string) (int, error) {
	get := func(name string) (int, error) {
		v, ok := e.lookup(name)
		if !ok || v.dynamic() {
			return 0, fmt.Errorf("$((%s)): %s is not a known number", x, name)
		}
		n, err := strconv.Atoi(v.s)
		if err != nil {
			return 0, fmt.Errorf("$((%s)): %s is %q, not a number", x, name, v.s)
		}
		return n, nil
	}
	if n, err := strconv.Atoi(x); err == nil {
		return n, nil
	}
	if m := reArithIncr.FindStringSubmatch(x); m != nil {
		n, err := get(m[1])
		if err != nil {
			return 0, err
		}
		e.setVar(m[1], strconv.Itoa(n+1))
		return n, nil
	}
	if m := reArithSum.FindStringSubmatch(x); m != nil {
		n, err := get(m[1])
		if err != nil {
			return 0, err
		}
		k, _ := strconv.Atoi(m[3])
		if m[2] == "-" {
			k = -k
		}
		return n + k, nil
	}
	return 0, fmt.Errorf("arithmetic $((%s)) is not supported", x)
}
