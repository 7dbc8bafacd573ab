package format

import (
	"fmt"

	"go.yaml.in/yaml/v3"
)

// Error is a problem in a scenario file, with its position.
type Error struct {
	File      string
	Line, Col int
	Msg       string
}

func (e *Error) Error() string {
	switch {
	case e.Line > 0 && e.Col > 0:
		return fmt.Sprintf("%s:%d:%d: %s", e.File, e.Line, e.Col, e.Msg)
	case e.Line > 0:
		return fmt.Sprintf("%s:%d: %s", e.File, e.Line, e.Msg)
	}
	return fmt.Sprintf("%s: %s", e.File, e.Msg)
}

// Errorf makes an Error at p in sc's file.
func (sc *Scenario) Errorf(p Pos, format string, args ...any) error {
	return &Error{File: sc.Source, Line: p.Line, Col: p.Col, Msg: fmt.Sprintf(format, args...)}
}

// ErrorAt makes an Error at l's position.
func (sc *Scenario) ErrorAt(l Line, format string, args ...any) error {
	return sc.Errorf(l.Pos(), format, args...)
}

// At is the position of the value at path (keys of nested mappings from
// the top of the file), or of the deepest key of path the file has; with
// no path, the top of the file.
func (sc *Scenario) At(path ...string) Pos {
	n, p := sc.root, PosOf(sc.root)
	for _, key := range path {
		var next *yaml.Node
		for i := 0; n.Kind == yaml.MappingNode && i+1 < len(n.Content); i += 2 {
			if k := n.Content[i]; k.Kind == yaml.ScalarNode && k.Value == key {
				next, p = n.Content[i+1], PosOf(k)
			}
		}
		if next == nil {
			return p
		}
		for next.Kind == yaml.AliasNode && next.Alias != nil {
			next = next.Alias
		}
		n = next
	}
	if n.Kind == yaml.ScalarNode {
		return PosOf(n)
	}
	return p
}
