package format

import (
	"fmt"
	"math"
	"reflect"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
)

// This file reads a scenario file into the document types of Header and
// of the models (Model.NewDoc). yaml.v3 parses the text into nodes; the
// decoder below walks the nodes itself, strictly, so that every mistake is
// told in the file's terms (`unknown field "colour" (known: ...)`, `want
// an integer, got "1.5"`) at its line and column, never in Go's.
//
// A document type's keys are its exported fields with a `yaml:"key"` tag
// (",inline" merges a struct's keys into its parent's); untagged fields
// are not keys. A field of type Pos receives the position of the mapping
// it belongs to, and a Line field the file omits receives that position
// too, so that an error about a missing value still names a line. A type
// that reads its own node implements NodeDecoder.

// Pos is a line and column (both from 1) in a scenario file.
type Pos struct{ Line, Col int }

// PosOf is the position of node n.
func PosOf(n *yaml.Node) Pos { return Pos{n.Line, n.Column} }

// maxValues bounds the values one file may decode to, aliases expanded
// (a "billion laughs" file is refused instead of exhausting memory).
const maxValues = 100000

// Decoder decodes nodes into document types; a NodeDecoder gets it to
// decode what it holds and to make its errors.
type Decoder struct {
	file   string
	key    string              // the key whose value is being decoded, for messages
	left   int                 // values still allowed (maxValues)
	active map[*yaml.Node]bool // aliases being expanded, to refuse cycles
}

func newDecoder(file string) *Decoder {
	return &Decoder{file: file, left: maxValues, active: map[*yaml.Node]bool{}}
}

// NodeDecoder is a type that reads its own node (a scalar or a list of
// lines, a mapping kept in order, a value of several forms); at is where
// the value is introduced (its key, or the node itself for list items).
// An error it returns is an *Error (Decoder.Errorf).
type NodeDecoder interface {
	DecodeNode(d *Decoder, n *yaml.Node, at Pos) error
}

// Errorf makes an Error at p in the file being decoded.
func (d *Decoder) Errorf(p Pos, format string, args ...any) error {
	return &Error{File: d.file, Line: p.Line, Col: p.Col, Msg: fmt.Sprintf(format, args...)}
}

var (
	posType      = reflect.TypeFor[Pos]()
	lineType     = reflect.TypeFor[Line]()
	durationType = reflect.TypeFor[Duration]()
	pairsType    = reflect.TypeFor[Pairs]()
	decoderType  = reflect.TypeFor[NodeDecoder]()
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

// Keys lists every key a model's document accepts, the header's
// included, each once, in the order first met (docs/scenarios.md must
// name each: a test of package scenario checks).
func Keys(doc Doc) []string {
	var out []string
	seen := map[string]bool{}
	var walk func(t reflect.Type)
	walk = func(t reflect.Type) {
		switch t.Kind() {
		case reflect.Pointer, reflect.Slice:
			walk(t.Elem())
		case reflect.Struct:
			for _, f := range fieldsOf(t) {
				if !seen[f.key] {
					seen[f.key] = true
					out = append(out, f.key)
				}
				walk(f.typ)
			}
		}
	}
	walk(reflect.TypeOf(doc))
	return out
}

// deref follows an alias, refusing cycles and too many values.
func (d *Decoder) deref(n *yaml.Node) (*yaml.Node, func(), error) {
	d.left--
	if d.left < 0 {
		return nil, nil, d.Errorf(PosOf(n), "the file expands to more than %d values (aliases of aliases?)", maxValues)
	}
	if n.Kind != yaml.AliasNode {
		return n, func() {}, nil
	}
	if d.active[n] || n.Alias == nil {
		return nil, nil, d.Errorf(PosOf(n), "alias *%s refers to the value that contains it", n.Value)
	}
	d.active[n] = true
	a, done, err := d.deref(n.Alias)
	if err != nil {
		delete(d.active, n)
		return nil, nil, err
	}
	return a, func() { done(); delete(d.active, n) }, nil
}

// IsNull reports whether n is YAML's null (nothing, ~ or null).
func IsNull(n *yaml.Node) bool {
	return n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null"
}

// Got describes what the file gave, for "want X, got Y".
func Got(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.ScalarNode:
		if IsNull(n) {
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

func (d *Decoder) mismatch(n *yaml.Node, t reflect.Type) error {
	return d.Errorf(PosOf(n), "%swant %s, got %s", d.label(), want(t), Got(n))
}

// label prefixes a message about a value with its key.
func (d *Decoder) label() string {
	if d.key == "" {
		return ""
	}
	return d.key + ": "
}

// decodeKey decodes the value of key.
func (d *Decoder) decodeKey(key string, n *yaml.Node, at Pos, v reflect.Value) error {
	outer := d.key
	d.key = key
	defer func() { d.key = outer }()
	return d.decode(n, at, v)
}

// decode decodes n into v; at is where the value is introduced (its key,
// or the node itself for list items and the document).
func (d *Decoder) decode(n *yaml.Node, at Pos, v reflect.Value) error {
	n, done, err := d.deref(n)
	if err != nil {
		return err
	}
	defer done()
	if v.CanAddr() && v.Addr().Type().Implements(decoderType) {
		return v.Addr().Interface().(NodeDecoder).DecodeNode(d, n, at)
	}
	switch v.Kind() {
	case reflect.Pointer:
		if IsNull(n) {
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
		if IsNull(n) {
			return nil
		}
		if n.Kind != yaml.SequenceNode {
			return d.mismatch(n, v.Type())
		}
		s := reflect.MakeSlice(v.Type(), len(n.Content), len(n.Content))
		for i, c := range n.Content {
			if err := d.decode(c, PosOf(c), s.Index(i)); err != nil {
				return err
			}
		}
		v.Set(s)
		return nil
	case reflect.String:
		if IsNull(n) {
			return nil
		}
		if n.Kind != yaml.ScalarNode {
			return d.mismatch(n, v.Type())
		}
		v.SetString(n.Value)
		return nil
	case reflect.Int, reflect.Int64:
		if IsNull(n) {
			return nil
		}
		i, err := d.integer(n, v.Type())
		if err != nil {
			return err
		}
		if v.OverflowInt(i) {
			return d.Errorf(PosOf(n), "%swant an integer from %d to %d, got %s", d.label(), minInt(v.Type()), maxInt(v.Type()), Got(n))
		}
		v.SetInt(i)
		return nil
	}
	return d.Errorf(PosOf(n), "internal: cannot decode into %s", v.Type())
}

func minInt(t reflect.Type) int64 { return -1 << (t.Bits() - 1) }
func maxInt(t reflect.Type) int64 { return 1<<(t.Bits()-1) - 1 }

// integer reads an integer scalar as YAML resolves one (decimal, 0x, 0o,
// 0b, underscores); a larger value than int64 is out of range.
func (d *Decoder) integer(n *yaml.Node, t reflect.Type) (int64, error) {
	if n.Kind != yaml.ScalarNode || n.ShortTag() != "!!int" {
		return 0, d.mismatch(n, t)
	}
	i, err := strconv.ParseInt(n.Value, 0, 64)
	if err != nil {
		return 0, d.Errorf(PosOf(n), "%swant an integer from %d to %d, got %s", d.label(), int64(math.MinInt64), int64(math.MaxInt64), Got(n))
	}
	return i, nil
}

// pair is one key and value of a mapping.
type pair struct{ key, val *yaml.Node }

// pairs lists the keys of mapping n in order, merge keys (<<: *anchor)
// expanded: a key given in n wins over a merged one, an earlier merged
// mapping over a later one. Two equal keys in n are an error.
func (d *Decoder) pairs(n *yaml.Node) ([]pair, error) {
	var own, merged []pair
	seen := map[string]*yaml.Node{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if k.Kind != yaml.ScalarNode {
			return nil, d.Errorf(PosOf(k), "want a key (a name), got %s", Got(k))
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
			return nil, d.Errorf(PosOf(k), "%q given twice (first at line %d)", k.Value, first.Line)
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
func (d *Decoder) mergeList(v *yaml.Node) ([]pair, error) {
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
	return nil, d.Errorf(PosOf(v), "<<: want a mapping (or a list of them) to merge, got %s", Got(v))
}

// DecodeFields decodes mapping n (or null) into the struct ptr points
// to, as the decoder does any struct: unknown keys are refused, omitted
// values get position at.
func (d *Decoder) DecodeFields(n *yaml.Node, at Pos, ptr any) error {
	return d.decodeStruct(n, at, reflect.ValueOf(ptr).Elem())
}

func (d *Decoder) decodeStruct(n *yaml.Node, at Pos, v reflect.Value) error {
	fs := fieldsOf(v.Type())
	given := map[string]bool{}
	if !IsNull(n) {
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
				return d.Errorf(PosOf(p.key), "%sunknown field %q (known: %s)", d.label(), p.key.Value, keysOf(v.Type()))
			}
			given[f.key] = true
			if err := d.decodeKey(f.key, p.val, PosOf(p.key), v.FieldByIndex(f.index)); err != nil {
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
