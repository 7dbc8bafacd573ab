package sheval

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"

	"raceroute/selftests/extract/sh"
)

// Value is a shell variable's value as the extractor knows it: static
// text (or an array), or something only a run can tell: a command's
// output or an exit status.
type Value struct {
	S   string
	Arr []string
	// isArr marks an array (`name=(...)`).
	IsArr bool
	// out is set for `v=$(CMD)`: the output of the step recorded for CMD.
	Out *StepRef
	// st is set for `rc=$?` after a command: its exit status.
	St *Status
}

func (v Value) dynamic() bool { return v.Out != nil || v.St != nil }

// Word is one expanded shell word: static text, or exactly one dynamic
// value.
type Word struct {
	S   string
	Dyn *Value
}

// expander expands the words of a statement.
type expander interface {
	lookup(name string) (Value, bool)
	positional(i int) (string, bool)
	lastStatus() Status
	substitute(cmd string, no int) (Word, error)
	// setVar sets a variable (arithmetic's NAME++).
	setVar(name, v string)
}

// expandWord expands one raw word: quotes removed, variables and
// substitutions replaced. Unquoted expansions are split at blanks, so a
// raw word can give several words (or none).
func expandWord(e expander, raw string, no int) ([]Word, error) {
	var out []Word
	var cur strings.Builder
	started := false // cur holds a word (perhaps an empty quoted one)
	var dyn *Value
	emit := func() {
		if dyn != nil {
			out = append(out, Word{Dyn: dyn})
		} else if started {
			out = append(out, Word{S: cur.String()})
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
	addValue := func(v Value, quoted bool) error {
		if v.dynamic() {
			if cur.Len() > 0 || dyn != nil {
				return fmt.Errorf("line %d: %q joins a run-time value with text", no, raw)
			}
			vv := v
			dyn = &vv
			return nil
		}
		s := v.S
		if v.IsArr {
			s = strings.Join(v.Arr, " ")
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

func addWordValue(w Word, quoted bool, add func(Value, bool) error) error {
	if w.Dyn != nil {
		return add(*w.Dyn, quoted)
	}
	return add(Value{S: w.S}, quoted)
}

// expandDollar expands the $-expression at the start of s; it returns
// how many bytes it used.
func expandDollar(e expander, s string, no int) (int, Value, error) {
	if len(s) < 2 {
		return 1, Value{S: "$"}, nil
	}
	switch c := s[1]; {
	case c == '?':
		st := e.lastStatus()
		return 2, Value{St: &st}, nil
	case c >= '1' && c <= '9':
		v, _ := e.positional(int(c - '0'))
		return 2, Value{S: v}, nil
	case c == '(':
		if strings.HasPrefix(s, "$((") {
			end := strings.Index(s, "))")
			if end < 0 {
				return 0, Value{}, fmt.Errorf("line %d: unterminated $((", no)
			}
			n, err := arith(e, strings.TrimSpace(s[3:end]))
			if err != nil {
				return 0, Value{}, fmt.Errorf("line %d: %w", no, err)
			}
			return end + 2, Value{S: strconv.Itoa(n)}, nil
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
			return 0, Value{}, err
		}
		if w.Dyn != nil {
			return k, *w.Dyn, nil
		}
		return k, Value{S: w.S}, nil
	case c == '{':
		end := strings.IndexByte(s, '}')
		if end < 0 {
			return 0, Value{}, fmt.Errorf("line %d: unterminated ${", no)
		}
		name := s[2:end]
		if base, ok := strings.CutSuffix(name, "[*]"); ok {
			v, _ := e.lookup(base)
			if !v.IsArr {
				return 0, Value{}, fmt.Errorf("line %d: ${%s} of a variable that is not an array", no, name)
			}
			return end + 1, Value{S: strings.Join(v.Arr, " ")}, nil
		}
		if !sh.ValidName(name) {
			if len(name) == 1 && name[0] >= '1' && name[0] <= '9' {
				v, _ := e.positional(int(name[0] - '0'))
				return end + 1, Value{S: v}, nil
			}
			return 0, Value{}, fmt.Errorf("line %d: ${%s} is not supported", no, name)
		}
		v, ok := e.lookup(name)
		if !ok {
			return 0, Value{}, fmt.Errorf("line %d: variable %s is not set", no, name)
		}
		return end + 1, v, nil
	case c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z':
		k := 1
		for k < len(s) && (s[k] == '_' || s[k] >= 'a' && s[k] <= 'z' || s[k] >= 'A' && s[k] <= 'Z' || s[k] >= '0' && s[k] <= '9') {
			k++
		}
		v, ok := e.lookup(s[1:k])
		if !ok {
			return 0, Value{}, fmt.Errorf("line %d: variable %s is not set", no, s[1:k])
		}
		return k, v, nil
	}
	return 1, Value{S: "$"}, nil
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
		n, err := strconv.Atoi(v.S)
		if err != nil {
			return 0, fmt.Errorf("$((%s)): %s is %q, not a number", x, name, v.S)
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
