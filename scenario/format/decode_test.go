package format

import (
	"reflect"
	"testing"
)

// A document type the decoder cannot fill is a programming error, and
// says so instead of panicking.
func TestDecodeUnsupportedType(t *testing.T) {
	var v struct {
		X float64 `yaml:"x"`
	}
	data := "x: 1.5\n"
	root, err := readDocument("u.yaml", []byte(data))
	if err != nil {
		t.Fatal(err)
	}
	err = newDecoder("u.yaml").decode(root, PosOf(root), reflect.ValueOf(&v).Elem())
	if err == nil || err.Error() != "u.yaml:1:4: internal: cannot decode into float64" {
		t.Fatalf("error %v", err)
	}
}
