package format

import (
	"fmt"
	"math"
	"reflect"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"raceroute/explore"
)

// The value types of the format: a scalar and a list of lines with their
// positions, a duration, an ordered mapping of names to values. Each
// reads its own node.

// Line is a scalar with the position it came from, for error messages.
// A Line the file does not give has the position of the mapping that
// lacks it and empty Text.
type Line struct {
	Text      string
	Line, Col int
}

// Pos returns l's position.
func (l Line) Pos() Pos { return Pos{l.Line, l.Col} }

func (l *Line) DecodeNode(d *Decoder, n *yaml.Node, at Pos) error {
	if IsNull(n) {
		*l = Line{Line: at.Line, Col: at.Col}
		return nil
	}
	if n.Kind != yaml.ScalarNode {
		return d.mismatch(n, lineType)
	}
	*l = Line{Text: n.Value, Line: n.Line, Col: n.Column}
	return nil
}

// Lines is a list of one-line items, given either as a YAML list of
// strings or as a block scalar with one item per line (so that `ip -6
// route` output can be pasted as it is). Blank lines and lines starting
// with # are skipped.
type Lines []Line

func (ls *Lines) DecodeNode(d *Decoder, n *yaml.Node, at Pos) error {
	switch {
	case IsNull(n):
		return nil
	case n.Kind == yaml.SequenceNode:
		for _, c := range n.Content {
			var l Line
			if err := d.decode(c, PosOf(c), reflect.ValueOf(&l).Elem()); err != nil {
				return err
			}
			*ls = append(*ls, l)
		}
		return nil
	case n.Kind == yaml.ScalarNode:
		block := n.Style&(yaml.LiteralStyle|yaml.FoldedStyle) != 0
		for i, text := range strings.Split(n.Value, "\n") {
			t := strings.TrimSpace(text)
			if t == "" || strings.HasPrefix(t, "#") {
				continue
			}
			line, col := n.Line, n.Column
			if block {
				// the content starts below the | or > indicator; the
				// parser does not keep a block's content column
				line, col = n.Line+1+i, 0
			}
			*ls = append(*ls, Line{Text: t, Line: line, Col: col})
		}
		return nil
	}
	return d.Errorf(PosOf(n), "%swant a list of lines or a block of lines, got %s", d.label(), Got(n))
}

// Duration is a YAML duration ("1s", "200ms", "1.5s"), or a bare number of
// milliseconds.
type Duration struct {
	D time.Duration
	// At is where the file gives it (or the mapping that lacks it).
	At Pos
}

// Millis returns the duration in the engine's milliseconds.
func (d Duration) Millis() explore.Time { return explore.Time(d.D / time.Millisecond) }

func (du *Duration) DecodeNode(d *Decoder, n *yaml.Node, at Pos) error {
	if IsNull(n) {
		*du = Duration{At: at}
		return nil
	}
	du.At = PosOf(n)
	if n.Kind != yaml.ScalarNode {
		return d.mismatch(n, durationType)
	}
	v, err := parseDuration(n.Value)
	if err != nil {
		return d.Errorf(PosOf(n), "%swant a duration such as 1s or 200ms, got %s", d.label(), Got(n))
	}
	du.D = v
	return nil
}

// parseDuration reads Go's duration syntax or a bare number of
// milliseconds.
func parseDuration(s string) (time.Duration, error) {
	if v, err := time.ParseDuration(s); err == nil {
		return v, nil
	}
	ms, err := strconv.ParseFloat(s, 64)
	if err != nil || math.IsNaN(ms) || math.IsInf(ms, 0) || math.Abs(ms) > float64(math.MaxInt64/int64(time.Millisecond)) {
		return 0, fmt.Errorf("not a duration: %q", s)
	}
	return time.Duration(ms * float64(time.Millisecond)), nil
}

// Pairs is a mapping of names to single values in file order, with the
// position of each key and value (`vars:` and `expect:`).
type Pairs struct {
	At   Pos
	List []Pair
}

// Pair is one name and its value.
type Pair struct{ Key, Value Line }

func (ps *Pairs) DecodeNode(d *Decoder, n *yaml.Node, at Pos) error {
	ps.At = at
	if IsNull(n) {
		return nil
	}
	if n.Kind != yaml.MappingNode {
		return d.Errorf(PosOf(n), "%swant a mapping of names to values, got %s", d.label(), Got(n))
	}
	list, err := d.pairs(n)
	if err != nil {
		return err
	}
	for _, p := range list {
		pr := Pair{Key: Line{Text: p.key.Value, Line: p.key.Line, Col: p.key.Column}}
		if err := d.decodeKey(p.key.Value, p.val, PosOf(p.key), reflect.ValueOf(&pr.Value).Elem()); err != nil {
			return err
		}
		ps.List = append(ps.List, pr)
	}
	return nil
}
