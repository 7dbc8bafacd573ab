// Package statetest checks that a model's canonical state encoding covers
// every field of its state, so that a field added later and left out of
// Encode fails a test instead of making distinct states hash alike (the
// explorer would then report holds without any error).
package statetest

import (
	"bytes"
	"fmt"
	"reflect"
	"testing"
)

// Leaf is one scalar of a state value.
type Leaf struct {
	// Path names it as Go would: "Entries[2].Updated".
	Path string
	// Field is the top-level field it sits in, and Index its index when
	// that field is an array (-1 otherwise): what a model's "used part"
	// is decided by.
	Field string
	Index int
}

// Leaves lists every scalar leaf of v (a struct value), depth first.
func Leaves(v any) []Leaf {
	var out []Leaf
	walk(reflect.ValueOf(v), "", "", -1, &out)
	return out
}

func walk(v reflect.Value, path, field string, index int, out *[]Leaf) {
	switch v.Kind() {
	case reflect.Struct:
		for i := 0; i < v.NumField(); i++ {
			f := v.Type().Field(i)
			p, top := f.Name, field
			if path != "" {
				p = path + "." + f.Name
			} else {
				top = f.Name
			}
			walk(v.Field(i), p, top, index, out)
		}
	case reflect.Array:
		for i := 0; i < v.Len(); i++ {
			idx := index
			if index < 0 {
				idx = i
			}
			walk(v.Index(i), fmt.Sprintf("%s[%d]", path, i), field, idx, out)
		}
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Bool:
		*out = append(*out, Leaf{Path: path, Field: field, Index: index})
	default:
		// Pointers, slices, maps and strings have no place in a flat state.
		*out = append(*out, Leaf{Path: path + " (" + v.Kind().String() + ": not a flat value)", Field: field, Index: index})
	}
}

// EveryFieldEncoded changes each leaf of s that used says is in the state's
// used part, one at a time, and fails t for every one whose change leaves
// the encoding as it was. It also fails on any field that is not a flat
// scalar (a pointer, slice, map or string). It returns the number of
// leaves checked.
func EveryFieldEncoded[S any](t testing.TB, s S, encode func(*S) []byte, used func(Leaf) bool) int {
	t.Helper()
	base := append([]byte(nil), encode(&s)...)
	n := 0
	for _, l := range Leaves(s) {
		if !used(l) {
			continue
		}
		c := s
		f, ok := leafValue(reflect.ValueOf(&c).Elem(), l.Path)
		if !ok {
			t.Errorf("%s", l.Path)
			continue
		}
		bump(f)
		if bytes.Equal(encode(&c), base) {
			t.Errorf("changing %s leaves the state encoding unchanged: the field is missing from Encode", l.Path)
		}
		n++
	}
	return n
}

// leafValue finds the settable value at path ("A[1].B").
func leafValue(v reflect.Value, path string) (reflect.Value, bool) {
	for path != "" {
		switch {
		case path[0] == '.':
			path = path[1:]
		case path[0] == '[':
			var i int
			var rest string
			end := bytes.IndexByte([]byte(path), ']')
			if end < 0 {
				return v, false
			}
			if _, err := fmt.Sscanf(path[1:end], "%d", &i); err != nil {
				return v, false
			}
			rest = path[end+1:]
			v, path = v.Index(i), rest
		default:
			end := len(path)
			for j, c := range path {
				if c == '.' || c == '[' || c == ' ' {
					end = j
					break
				}
			}
			if path[end:] != "" && path[end] == ' ' {
				return v, false // a non-flat field
			}
			v, path = v.FieldByName(path[:end]), path[end:]
		}
	}
	return v, v.CanSet()
}

// bump changes a scalar to another value.
func bump(v reflect.Value) {
	switch v.Kind() {
	case reflect.Bool:
		v.SetBool(!v.Bool())
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		v.SetInt(v.Int() ^ 1)
	default:
		v.SetUint(v.Uint() ^ 1)
	}
}
