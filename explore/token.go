package explore

import (
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"strings"
)

// Token identifies one schedule of one scenario on one kernel profile: a
// run is a pure function of it, so `raceroute replay TOKEN` re-creates
// the story byte for byte.
type Token struct {
	Scenario string // library name, or the scenario file's absolute path
	// Digest identifies the content of a scenario file (empty for the
	// library), so that a token of a file that has changed since is
	// refused instead of replaying something else.
	Digest  string
	Variant string
	Profile string
	// Property is the property whose violation the schedule shows (empty:
	// the first violated).
	Property string
	Choices  []Choice
}

// Token formats: rr1 (scenario, variant, profile, choices) is still read;
// rr2 adds the file digest and the property.
const (
	tokenPrefix   = "rr2-"
	tokenPrefixV1 = "rr1-"
)

// String encodes t as "rr2-" followed by unpadded base64url of varints.
func (t Token) String() string {
	var b []byte
	for _, s := range []string{t.Scenario, t.Digest, t.Variant, t.Profile, t.Property} {
		b = binary.AppendUvarint(b, uint64(len(s)))
		b = append(b, s...)
	}
	b = binary.AppendUvarint(b, uint64(len(t.Choices)))
	prev := Time(0)
	for _, c := range t.Choices {
		b = binary.AppendUvarint(b, uint64(c.Actor))
		b = binary.AppendVarint(b, c.At-prev)
		b = binary.AppendUvarint(b, uint64(c.Outcome))
		prev = c.At
	}
	return tokenPrefix + base64.RawURLEncoding.EncodeToString(b)
}

// ParseToken decodes a token made by Token.String.
func ParseToken(s string) (Token, error) {
	var t Token
	v1 := strings.HasPrefix(s, tokenPrefixV1)
	if !v1 && !strings.HasPrefix(s, tokenPrefix) {
		return t, fmt.Errorf("replay token %q: want a token starting with %q, as check prints it", abbreviate(s), tokenPrefix)
	}
	b, err := base64.RawURLEncoding.DecodeString(s[len(tokenPrefix):])
	if err != nil {
		return t, fmt.Errorf("replay token %q: %w", abbreviate(s), err)
	}
	r := tokenReader{b: b}
	if v1 {
		t.Scenario, t.Variant, t.Profile = r.str(), r.str(), r.str()
	} else {
		t.Scenario, t.Digest, t.Variant, t.Profile, t.Property = r.str(), r.str(), r.str(), r.str(), r.str()
	}
	n := r.uvarint()
	if r.err == nil && n > uint64(len(r.b)) {
		r.err = errors.New("choice count larger than the token")
	}
	prev := Time(0)
	for i := uint64(0); i < n && r.err == nil; i++ {
		actor := r.uvarint()
		at := prev + r.varint()
		outcome := r.uvarint()
		if actor > 1<<16 || outcome > 1<<16 {
			r.err = errors.New("choice out of range")
			break
		}
		t.Choices = append(t.Choices, Choice{Actor: int(actor), At: at, Outcome: int(outcome)})
		prev = at
	}
	if r.err == nil && len(r.b) != 0 {
		r.err = errors.New("trailing bytes")
	}
	if r.err != nil {
		return Token{}, fmt.Errorf("replay token %q: malformed: %w", abbreviate(s), r.err)
	}
	return t, nil
}

func abbreviate(s string) string {
	if len(s) > 40 {
		return s[:37] + "..."
	}
	return s
}

type tokenReader struct {
	b   []byte
	err error
}

func (r *tokenReader) uvarint() uint64 {
	if r.err != nil {
		return 0
	}
	v, n := binary.Uvarint(r.b)
	if n <= 0 {
		r.err = errors.New("truncated")
		return 0
	}
	r.b = r.b[n:]
	return v
}

func (r *tokenReader) varint() int64 {
	if r.err != nil {
		return 0
	}
	v, n := binary.Varint(r.b)
	if n <= 0 {
		r.err = errors.New("truncated")
		return 0
	}
	r.b = r.b[n:]
	return v
}

func (r *tokenReader) str() string {
	n := r.uvarint()
	if r.err != nil {
		return ""
	}
	if n > uint64(len(r.b)) {
		r.err = errors.New("truncated string")
		return ""
	}
	s := string(r.b[:n])
	r.b = r.b[n:]
	return s
}
