package exception

import (
	"testing"
	"time"

	"raceroute/profile"
)

func prof(t *testing.T, name string) profile.Profile {
	t.Helper()
	p, err := profile.Lookup(name)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// The rules per kernel, as read (docs/kernel-notes-fib6.md, section 6).
func TestRulesPerKernel(t *testing.T) {
	for _, c := range []struct {
		prof                            string
		home                            Home
		legacy, strict, cloned          bool
		delMark, replaceFlush, replMark bool
	}{
		{"linux-3.10", InTree, true, true, true, false, false, false},
		{"linux-4.14.0", InTree, true, true, true, false, false, false},
		{"linux-4.15", InExceptionTable, false, false, false, true, false, false},
		{"linux-4.19", InExceptionTable, false, false, false, true, false, false},
		{"linux-5.4.0", InExceptionTable, true, false, true, false, false, false},
		{"linux-5.4.286", InExceptionTable, true, false, true, false, true, false},
		{"linux-6.12", InExceptionTable, true, false, true, false, true, false},
	} {
		p := prof(t, c.prof)
		if got := Where(p); got != c.home {
			t.Errorf("%s: home %d, want %d", c.prof, got, c.home)
		}
		for _, d := range []struct {
			kind Dump
			want bool
		}{{Legacy, c.legacy}, {Strict, c.strict}, {Cloned, c.cloned}} {
			if got, why := InDump(p, d.kind); got != d.want || why == "" {
				t.Errorf("%s: %s lists the entries: %v (%q), want %v", c.prof, d.kind, got, why, d.want)
			}
		}
		if c.home != InExceptionTable {
			continue
		}
		if f := OnDelete(p); !f.Flush || f.Mark != c.delMark {
			t.Errorf("%s: delete %+v, want a flush, mark %v", c.prof, f, c.delMark)
		}
		if f := OnReplace(p); f.Flush != c.replaceFlush || f.Mark != c.replMark {
			t.Errorf("%s: replace %+v, want flush %v, mark %v", c.prof, f, c.replaceFlush, c.replMark)
		}
	}
}

// The GC's boundaries: time_after for expiry, time_after_eq for idleness.
func TestAged(t *testing.T) {
	s := DefaultSysctls()
	for _, c := range []struct {
		expires bool
		after   time.Duration
		want    bool
	}{
		{true, 600 * time.Second, false}, {true, 600*time.Second + time.Millisecond, true},
		{false, 30*time.Second - time.Millisecond, false}, {false, 30 * time.Second, true},
	} {
		if got := Aged(s, c.expires, c.after); got != c.want || AgedWhy(s, c.expires, c.after) == "" {
			t.Errorf("expires %v after %s: aged %v, want %v", c.expires, c.after, got, c.want)
		}
	}
}
