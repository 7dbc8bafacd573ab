package livewatch

import (
	"encoding/json"
	"testing"
)

// appendJSONString's output decodes to s, each byte of invalid UTF-8
// read as U+FFFD (as converting s to runes does).
func FuzzAppendJSONString(f *testing.F) {
	for _, s := range []string{"", "10.64.0.1 via 10.9.0.2 dev va", "e\"t\\h\x01\xff", "\x1f\x7f\u2028é\xe2\x82", "\\\\\"\"", "a\xffb\xc3"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		for _, b := range [][]byte{appendJSONString(nil, s), appendJSONString([]byte("x"), []byte(s))[1:]} {
			var got string
			if err := json.Unmarshal(b, &got); err != nil {
				t.Fatalf("%q: invalid JSON %q: %v", s, b, err)
			}
			if want := string([]rune(s)); got != want {
				t.Fatalf("%q: %s decodes to %q, want %q", s, b, got, want)
			}
		}
	})
}
