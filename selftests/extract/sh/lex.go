package sh

import (
	"fmt"
	"strings"
)

// SplitRaw splits a segment into raw words (quotes kept), separating
// the shell's operators `|`, `&&`, `||`, and redirections.
func SplitRaw(s string) ([]string, error) {
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

// IsOperator reports whether a raw word is a shell operator.
func IsOperator(w string) bool {
	switch w {
	case "|", "||", "&&", "&":
		return true
	}
	return IsRedirect(w)
}

// IsRedirect reports whether w is a redirection operator (>, 2>, &>,
// >>, 2>&1 ...); those with a target fd (2>&1) take no file word.
func IsRedirect(w string) bool {
	w = strings.TrimLeft(w, "0123456789")
	return w == ">" || w == "<" || w == ">>" || w == "&>" || w == ">&" || strings.HasPrefix(w, ">&")
}

// RedirectTakesFile reports whether the redirection w is followed by a
// file word (> FILE, not 2>&1).
func RedirectTakesFile(w string) bool {
	w = strings.TrimLeft(w, "0123456789")
	return w == ">" || w == "<" || w == ">>" || w == "&>"
}

// ValidName reports whether s is a shell variable name.
func ValidName(s string) bool {
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
