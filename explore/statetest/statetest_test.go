package statetest

import (
	"strings"
	"testing"
)

type inner struct{ A, B uint8 }

type state struct {
	Now  int32
	Ents [3]inner
	Flag bool
}

// recorder is a testing.TB that keeps the errors it is given.
type recorder struct {
	testing.TB
	errs []string
}

func (r *recorder) Helper()                      {}
func (r *recorder) Errorf(f string, args ...any) { r.errs = append(r.errs, f) }
func (r *recorder) Fatalf(f string, args ...any) { r.errs = append(r.errs, f) }
func (r *recorder) Error(args ...any)            { r.errs = append(r.errs, "error") }

func TestEveryFieldEncodedCatchesAMissingField(t *testing.T) {
	full := func(s *state) []byte {
		b := []byte{byte(s.Now), byte(s.Now >> 8), byte(s.Now >> 16), byte(s.Now >> 24)}
		for _, e := range s.Ents[:2] {
			b = append(b, e.A, e.B)
		}
		if s.Flag {
			b = append(b, 1)
		}
		return b
	}
	forgetB := func(s *state) []byte {
		b := []byte{byte(s.Now)}
		for _, e := range s.Ents[:2] {
			b = append(b, e.A)
		}
		if s.Flag {
			b = append(b, 1)
		}
		return b
	}
	used := func(l Leaf) bool { return l.Field != "Ents" || l.Index < 2 }
	var ok recorder
	if n := EveryFieldEncoded(&ok, state{}, full, used); n != 1+4+1 || len(ok.errs) != 0 {
		t.Fatalf("full encoding: %d leaves, errors %v", n, ok.errs)
	}
	var bad recorder
	EveryFieldEncoded(&bad, state{}, forgetB, used)
	if len(bad.errs) != 2 || !strings.Contains(bad.errs[0], "missing from Encode") {
		t.Fatalf("an encoding that forgets Ents[i].B: errors %v, want one per used element", bad.errs)
	}
	if got := len(Leaves(state{})); got != 1+6+1 {
		t.Fatalf("%d leaves", got)
	}
}
