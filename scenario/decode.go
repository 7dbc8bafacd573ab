package scenario

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math"
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"go.yaml.in/yaml/v3"

	"raceroute/explore"
)

// This file reads a scenario file into the document types of scenario.go,
// fib6.go and neigh.go. yaml.v3 parses the text into nodes; the decoder
// below walks the nodes itself, strictly, so that every mistake is told in
// the file's terms (`unknown field "colour" (known: ...)`, `want an
// integer, got "1.5"`) at its line and column, never in Go's.
//
// A document type's keys are its fields with a `yaml:"key"` tag (",inline"
// merges a struct's keys into its parent's); untagged fields are not keys.
// A field of type Pos receives the position of the mapping it belongs to,
// and a Line field the file omits receives that position too, so that an
// error about a missing value still names a line.

// Pos is a line and column (both from 1) in a scenario file.
type Pos struct{ Line, Col int }

func posOf(n *yaml.Node) Pos { return Pos{n.Line, n.Column} }

// maxValues bounds the values one file may decode to, aliases expanded
// (a "billion laughs" file is refused instead of exhausting memory).
const maxValues = 100000

// decoder decodes nodes into document types.
type decoder struct {
	file   string
	key    string              // the key whose value is being decoded, for messages
	left   int                 // values still allowed (maxValues)
	active map[*yaml.Node]bool // aliases being expanded, to refuse cycles
}

func newDecoder(file string) *decoder {
	return &decoder{file: file, left: maxValues, active: map[*yaml.Node]bool{}}
}

// nodeDecoder is a type that reads its own node (a scalar or a list of
// lines, a mapping kept in order).
type nodeDecoder interface {
	decodeNode(d *decoder, n *yaml.Node, at Pos) error
}

func (d *decoder) errf(p Pos, format string, args ...any) error {
	return &Error{File: d.file, Line: p.Line, Col: p.Col, Msg: fmt.Sprintf(format, args...)}
}

var (
	posType      = reflect.TypeFor[Pos]()
	lineType     = reflect.TypeFor[Line]()
	durationType = reflect.TypeFor[Duration]()
	pairsType    = reflect.TypeFor[Pairs]()
	decoderType  = reflect.TypeFor[nodeDecoder]()
)

// field is one key of a document type.
type field struct {
	key   string
	index []int
	typ   reflect.Type
}

// fieldsOf lists the keys of struct type t in declaration order, inline
// structs' keys in place.
func fieldsOf(t reflect.Type) []field {
	var out []field
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		tag, ok := f.Tag.Lookup("yaml")
		if !ok || tag == "-" {
			continue
		}
		key, opts, _ := strings.Cut(tag, ",")
		if opts == "inline" {
			for _, in := range fieldsOf(f.Type) {
				in.index = append([]int{i}, in.index...)
				out = append(out, in)
			}
			continue
		}
		out = append(out, field{key: key, index: []int{i}, typ: f.Type})
	}
	return out
}

// keysOf is the list of t's keys for an error message.
func keysOf(t reflect.Type) string {
	var keys []string
	for _, f := range fieldsOf(t) {
		keys = append(keys, f.key)
	}
	return strings.Join(keys, ", ")
}

// deref follows an alias, refusing cycles and too many values.
func (d *decoder) deref(n *yaml.Node) (*yaml.Node, func(), error) {
	d.left--
	if d.left < 0 {
		return nil, nil, d.errf(posOf(n), "the file expands to more than %d values (aliases of aliases?)", maxValues)
	}
	if n.Kind != yaml.AliasNode {
		return n, func() {}, nil
	}
	if d.active[n] || n.Alias == nil {
		return nil, nil, d.errf(posOf(n), "alias *%s refers to the value that contains it", n.Value)
	}
	d.active[n] = true
	a, done, err := d.deref(n.Alias)
	if err != nil {
		delete(d.active, n)
		return nil, nil, err
	}
	return a, func() { done(); delete(d.active, n) }, nil
}

func isNull(n *yaml.Node) bool {
	return n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null"
}

// got describes what the file gave, for "want X, got Y".
func got(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.ScalarNode:
		if isNull(n) {
			return "nothing"
		}
		return strconv.Quote(n.Value)
	}
	return "an alias" // deref resolves them first
}

// want describes a value of type t in the file's terms.
func want(t reflect.Type) string {
	switch t {
	case lineType:
		return "a single value"
	case durationType:
		return "a duration such as 1s or 200ms"
	}
	switch t.Kind() {
	case reflect.Struct, reflect.Map:
		return "a mapping"
	case reflect.Slice:
		return "a list"
	case reflect.String:
		return "a string"
	case reflect.Bool:
		return "true or false"
	case reflect.Int, reflect.Int64:
		return "an integer"
	case reflect.Pointer:
		return want(t.Elem())
	}
	return t.String()
}

func (d *decoder) mismatch(n *yaml.Node, t reflect.Type) error {
	return d.errf(posOf(n), "%swant %s, got %s", d.label(), want(t), got(n))
}

// label prefixes a message about a value with its key.
func (d *decoder) label() string {
	if d.key == "" {
		return ""
	}
	return d.key + ": "
}

// decodeKey decodes the value of key.
func (d *decoder) decodeKey(key string, n *yaml.Node, at Pos, v reflect.Value) error {
	outer := d.key
	d.key = key
	defer func() { d.key = outer }()
	return d.decode(n, at, v)
}

// decode decodes n into v; at is where the value is introduced (its key,
// or the node itself for list items and the document).
func (d *decoder) decode(n *yaml.Node, at Pos, v reflect.Value) error {
	n, done, err := d.deref(n)
	if err != nil {
		return err
	}
	defer done()
	if v.CanAddr() && v.Addr().Type().Implements(decoderType) {
		return v.Addr().Interface().(nodeDecoder).decodeNode(d, n, at)
	}
	switch v.Kind() {
	case reflect.Pointer:
		if isNull(n) {
			return nil
		}
		p := reflect.New(v.Type().Elem())
		if err := d.decode(n, at, p.Elem()); err != nil {
			return err
		}
		v.Set(p)
		return nil
	case reflect.Struct:
		return d.decodeStruct(n, at, v)
	case reflect.Slice:
		if isNull(n) {
			return nil
		}
		if n.Kind != yaml.SequenceNode {
			return d.mismatch(n, v.Type())
		}
		s := reflect.MakeSlice(v.Type(), len(n.Content), len(n.Content))
		for i, c := range n.Content {
			if err := d.decode(c, posOf(c), s.Index(i)); err != nil {
				return err
			}
		}
		v.Set(s)
		return nil
	case reflect.String:
		if isNull(n) {
			return nil
		}
		if n.Kind != yaml.ScalarNode {
			return d.mismatch(n, v.Type())
		}
		v.SetString(n.Value)
		return nil
	case reflect.Int, reflect.Int64:
		if isNull(n) {
			return nil
		}
		i, err := d.integer(n, v.Type())
		if err != nil {
			return err
		}
		if v.OverflowInt(i) {
			return d.errf(posOf(n), "%swant an integer from %d to %d, got %s", d.label(), minInt(v.Type()), maxInt(v.Type()), got(n))
		}
		v.SetInt(i)
		return nil
	}
	return d.errf(posOf(n), "internal: cannot decode into %s", v.Type())
}

func minInt(t reflect.Type) int64 { return -1 << (t.Bits() - 1) }
func maxInt(t reflect.Type) int64 { return 1<<(t.Bits()-1) - 1 }

// integer reads an integer scalar as YAML resolves one (decimal, 0x, 0o,
// 0b, underscores); a larger value than int64 is out of range.
func (d *decoder) integer(n *yaml.Node, t reflect.Type) (int64, error) {
	if n.Kind != yaml.ScalarNode || n.ShortTag() != "!!int" {
		return 0, d.mismatch(n, t)
	}
	i, err := strconv.ParseInt(n.Value, 0, 64)
	if err != nil {
		return 0, d.errf(posOf(n), "%swant an integer from %d to %d, got %s", d.label(), int64(math.MinInt64), int64(math.MaxInt64), got(n))
	}
	return i, nil
}

// pair is one key and value of a mapping.
type pair struct{ key, val *yaml.Node }

// pairs lists the keys of mapping n in order, merge keys (<<: *anchor)
// expanded: a key given in n wins over a merged one, an earlier merged
// mapping over a later one. Two equal keys in n are an error.
func (d *decoder) pairs(n *yaml.Node) ([]pair, error) {
	var own, merged []pair
	seen := map[string]*yaml.Node{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if k.Kind != yaml.ScalarNode {
			return nil, d.errf(posOf(k), "want a key (a name), got %s", got(k))
		}
		if k.ShortTag() == "!!merge" {
			m, err := d.mergeList(v)
			if err != nil {
				return nil, err
			}
			merged = append(merged, m...)
			continue
		}
		if first, dup := seen[k.Value]; dup {
			return nil, d.errf(posOf(k), "%q given twice (first at line %d)", k.Value, first.Line)
		}
		seen[k.Value] = k
		own = append(own, pair{k, v})
	}
	for _, p := range merged {
		if _, dup := seen[p.key.Value]; !dup {
			seen[p.key.Value] = p.key
			own = append(own, p)
		}
	}
	return own, nil
}

// mergeList reads the value of a merge key: a mapping or a list of them.
func (d *decoder) mergeList(v *yaml.Node) ([]pair, error) {
	v, done, err := d.deref(v)
	if err != nil {
		return nil, err
	}
	defer done()
	switch v.Kind {
	case yaml.MappingNode:
		return d.pairs(v)
	case yaml.SequenceNode:
		var out []pair
		for _, c := range v.Content {
			ps, err := d.mergeList(c)
			if err != nil {
				return nil, err
			}
			out = append(out, ps...)
		}
		return out, nil
	}
	return nil, d.errf(posOf(v), "<<: want a mapping (or a list of them) to merge, got %s", got(v))
}

func (d *decoder) decodeStruct(n *yaml.Node, at Pos, v reflect.Value) error {
	fs := fieldsOf(v.Type())
	given := map[string]bool{}
	if !isNull(n) {
		if n.Kind != yaml.MappingNode {
			return d.mismatch(n, v.Type())
		}
		ps, err := d.pairs(n)
		if err != nil {
			return err
		}
		for _, p := range ps {
			f, ok := fieldNamed(fs, p.key.Value)
			if !ok {
				return d.errf(posOf(p.key), "%sunknown field %q (known: %s)", d.label(), p.key.Value, keysOf(v.Type()))
			}
			given[f.key] = true
			if err := d.decodeKey(f.key, p.val, posOf(p.key), v.FieldByIndex(f.index)); err != nil {
				return err
			}
		}
	}
	setPos(v, at)
	for _, f := range fs {
		if !given[f.key] {
			placeAbsent(v.FieldByIndex(f.index), at)
		}
	}
	return nil
}

// placeAbsent gives a value the file omits the position at of the mapping
// that lacks it: a Line, Duration or Pairs, and the Pos fields and such
// values of an omitted mapping.
func placeAbsent(v reflect.Value, at Pos) {
	switch v.Type() {
	case lineType:
		v.Set(reflect.ValueOf(Line{Line: at.Line, Col: at.Col}))
		return
	case durationType:
		v.Set(reflect.ValueOf(Duration{At: at}))
		return
	case pairsType:
		v.Set(reflect.ValueOf(Pairs{At: at}))
		return
	}
	if v.Kind() == reflect.Struct {
		setPos(v, at)
		for _, f := range fieldsOf(v.Type()) {
			placeAbsent(v.FieldByIndex(f.index), at)
		}
	}
}

func fieldNamed(fs []field, key string) (field, bool) {
	for _, f := range fs {
		if f.key == key {
			return f, true
		}
	}
	return field{}, false
}

// setPos sets v's Pos fields (its own and its inline structs') to at.
func setPos(v reflect.Value, at Pos) {
	t := v.Type()
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		switch {
		case f.Type == posType && f.IsExported():
			v.Field(i).Set(reflect.ValueOf(at))
		case f.Tag.Get("yaml") == ",inline":
			setPos(v.Field(i), at)
		}
	}
}

// Line is a scalar with the position it came from, for error messages.
// A Line the file does not give has the position of the mapping that
// lacks it and empty Text.
type Line struct {
	Text      string
	Line, Col int
}

// Pos returns l's position.
func (l Line) Pos() Pos { return Pos{l.Line, l.Col} }

func (l *Line) decodeNode(d *decoder, n *yaml.Node, at Pos) error {
	if isNull(n) {
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

func (ls *Lines) decodeNode(d *decoder, n *yaml.Node, at Pos) error {
	switch {
	case isNull(n):
		return nil
	case n.Kind == yaml.SequenceNode:
		for _, c := range n.Content {
			var l Line
			if err := d.decode(c, posOf(c), reflect.ValueOf(&l).Elem()); err != nil {
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
	return d.errf(posOf(n), "%swant a list of lines or a block of lines, got %s", d.label(), got(n))
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

func (du *Duration) decodeNode(d *decoder, n *yaml.Node, at Pos) error {
	if isNull(n) {
		*du = Duration{At: at}
		return nil
	}
	du.At = posOf(n)
	if n.Kind != yaml.ScalarNode {
		return d.mismatch(n, durationType)
	}
	v, err := parseDuration(n.Value)
	if err != nil {
		return d.errf(posOf(n), "%swant a duration such as 1s or 200ms, got %s", d.label(), got(n))
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

func (ps *Pairs) decodeNode(d *decoder, n *yaml.Node, at Pos) error {
	ps.At = at
	if isNull(n) {
		return nil
	}
	if n.Kind != yaml.MappingNode {
		return d.errf(posOf(n), "%swant a mapping of names to values, got %s", d.label(), got(n))
	}
	list, err := d.pairs(n)
	if err != nil {
		return err
	}
	for _, p := range list {
		pr := Pair{Key: Line{Text: p.key.Value, Line: p.key.Line, Col: p.key.Column}}
		if err := d.decodeKey(p.key.Value, p.val, posOf(p.key), reflect.ValueOf(&pr.Value).Elem()); err != nil {
			return err
		}
		ps.List = append(ps.List, pr)
	}
	return nil
}

// readDocument parses data into the root node of its single YAML
// document, refusing what is not a UTF-8 YAML mapping.
func readDocument(file string, data []byte) (*yaml.Node, error) {
	if err := checkText(file, data); err != nil {
		return nil, err
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, &Error{File: file, Line: 1, Msg: "the file holds no scenario: want a mapping with name:, model:, ..."}
		}
		return nil, syntaxError(file, data, err)
	}
	var next yaml.Node
	switch err := dec.Decode(&next); {
	case err == nil:
		return nil, &Error{File: file, Line: next.Line, Col: next.Column, Msg: "a second YAML document: a scenario file holds one (remove the ---)"}
	case !errors.Is(err, io.EOF):
		return nil, syntaxError(file, data, err)
	}
	root := &doc
	if root.Kind == yaml.DocumentNode && len(root.Content) == 1 {
		root = root.Content[0]
	}
	d := newDecoder(file)
	r, done, err := d.deref(root)
	if err != nil {
		return nil, err
	}
	done()
	if r.Kind != yaml.MappingNode {
		return nil, d.errf(posOf(r), "want a mapping with name:, model:, ... at the top of the file, got %s", got(r))
	}
	return r, nil
}

// checkText refuses bytes the YAML reader would refuse without a line:
// invalid UTF-8 and control characters.
func checkText(file string, data []byte) error {
	line, col := 1, 1
	for i := 0; i < len(data); {
		r, size := utf8.DecodeRune(data[i:])
		bad := ""
		switch {
		case r == utf8.RuneError && size <= 1:
			bad = fmt.Sprintf("byte 0x%02x is not UTF-8 text", data[i])
		case r == '\t' || r == '\n' || r == '\r':
		case r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0 && r != 0x85) || r == 0xfffe || r == 0xffff || (r >= 0xd800 && r <= 0xdfff):
			bad = fmt.Sprintf("control character %U is not allowed in YAML", r)
		case r == 0xfeff && i > 0:
			bad = "a byte-order mark (U+FEFF) inside the file"
		}
		if bad != "" {
			return &Error{File: file, Line: line, Col: col, Msg: bad}
		}
		if r == '\n' {
			line, col = line+1, 1
		} else {
			col++
		}
		i += size
	}
	return nil
}

var (
	yamlLine      = regexp.MustCompile(`^(?:yaml: )?line (\d+): (.*)$`)
	unknownAnchor = regexp.MustCompile(`unknown anchor '(.*)' referenced`)
)

// syntaxError turns a yaml.v3 parse error into an Error with the line.
// The parser leaves the line out when it is the first; an unknown alias
// is placed at its first use.
func syntaxError(file string, data []byte, err error) error {
	msg := strings.TrimPrefix(err.Error(), "yaml: ")
	line := 1
	if m := yamlLine.FindStringSubmatch(msg); m != nil {
		line, _ = strconv.Atoi(m[1])
		msg = m[2]
	} else if m := unknownAnchor.FindStringSubmatch(msg); m != nil {
		if i := bytes.Index(data, []byte("*"+m[1])); i >= 0 {
			line = 1 + bytes.Count(data[:i], []byte("\n"))
		}
		msg = fmt.Sprintf("alias *%s: no anchor &%s before it", m[1], m[1])
	}
	return &Error{File: file, Line: line, Msg: "YAML: " + msg}
}
