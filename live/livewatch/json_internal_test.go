package livewatch

import (
	"encoding/json"
	"net/netip"
	"slices"
	"testing"
	"time"
	"unicode/utf8"

	"raceroute/iproute2"
	"raceroute/kernel"
	"raceroute/trace"
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

// A timeCache formats as time.RFC3339Nano does, through the seconds it
// caches, zone changes and locations alike.
func TestTimeCache(t *testing.T) {
	ny, err := time.LoadLocation("America/New_York")
	if err != nil {
		ny = time.FixedZone("EST", -5*3600) // no tzdata here
	}
	base := time.Date(2026, 3, 8, 6, 59, 59, 0, time.UTC) // 01:59:59 EST, a second before DST
	var times []time.Time
	for _, loc := range []*time.Location{time.UTC, time.Local, ny, time.FixedZone("", 5*3600+1800), time.FixedZone("X", -1)} {
		for _, d := range []time.Duration{0, 1, 10, 120_000, 999_999_999, time.Second, time.Second + 100, 2*time.Second + 5, time.Hour} {
			times = append(times, base.Add(d).In(loc))
		}
		times = append(times, time.Time{}.In(loc), time.Date(-1, 1, 1, 0, 0, 0, 7, loc), time.Date(10001, 1, 1, 0, 0, 0, 70, loc))
	}
	var c timeCache
	for round := range 2 {
		for _, tm := range times {
			want := tm.Format(time.RFC3339Nano)
			if got := string(c.appendRFC3339Nano([]byte("x"), tm)[1:]); got != want {
				t.Errorf("round %d: %v formats as %q, want %q", round, tm, got, want)
			}
			if got, want := string(c.appendMonitorTime([]byte("x"), tm)[1:]), tm.Format(iproute2.TimeLayout); got != want {
				t.Errorf("round %d: %v formats for a monitor line as %q, want %q", round, tm, got, want)
			}
		}
	}
}

// FuzzTimeCache formats pairs of times through one cache, both ways.
func FuzzTimeCache(f *testing.F) {
	f.Add(int64(1_796_000_000), int64(5), int64(1_796_000_000), int64(6), 0)
	f.Add(int64(-62_135_596_800), int64(0), int64(253_402_300_800), int64(999_999_999), -3600)
	f.Fuzz(func(t *testing.T, s1, n1, s2, n2 int64, off int) {
		loc := time.FixedZone("F", off%(24*3600))
		var c timeCache
		for _, tm := range []time.Time{time.Unix(s1, n1).In(loc), time.Unix(s2, n2).In(loc), time.Unix(s2, n2).UTC(), time.Unix(s1, n1).In(loc)} {
			if got, want := string(c.appendRFC3339Nano(nil, tm)), tm.Format(time.RFC3339Nano); got != want {
				t.Fatalf("%v formats as %q, want %q", tm, got, want)
			}
			if got, want := string(c.appendMonitorTime(nil, tm)), tm.Format(iproute2.TimeLayout); got != want {
				t.Fatalf("%v formats for a monitor line as %q, want %q", tm, got, want)
			}
		}
	})
}

// needsLook flags every word that holds a byte to escape or a non-ASCII
// byte, wherever it is and whatever the other bytes are.
func TestNeedsLook(t *testing.T) {
	for c := range 256 {
		for pos := range 8 {
			for _, fill := range []byte{'a', ' ', '~', 0x21, 0x5b, 0x5d, 0x7f} {
				var w uint64
				for i := range 8 {
					b := uint64(fill)
					if i == pos {
						b = uint64(c)
					}
					w |= b << (8 * i)
				}
				want := c < 0x20 || c == '"' || c == '\\' || c >= 0x80
				if got := needsLook(w); want && !got {
					t.Errorf("byte %#x at %d among %q: not flagged", c, pos, fill)
				}
			}
		}
	}
}

func BenchmarkAppendJSONString(b *testing.B) {
	s := []byte("10.64.12.34 via 10.9.0.2 dev va proto static metric 1024 table main")
	buf := make([]byte, 0, 256)
	b.SetBytes(int64(len(s)))
	for b.Loop() {
		buf = appendJSONString(buf[:0], s)
	}
}

func BenchmarkAppendJSONRoute(b *testing.B) {
	r := trace.Record{Time: time.Now().Round(0), Kind: trace.KindRoute, Action: trace.ActionNew, Netns: "rrtest-bench-1", Route: trace.Route{
		Family: 4, Table: 254, Type: 1, Dst: netip.MustParsePrefix("10.64.12.34/32"), Gateway: netip.MustParseAddr("10.9.0.2"),
		Dev: "va", Ifindex: 2, Metric: 1024, Proto: 4}}
	var c timeCache
	buf := make([]byte, 0, 512)
	for b.Loop() {
		buf = c.appendJSON(buf[:0], &r)
	}
}

// plainJSON says yes exactly when appendJSONString would append s as
// it is, between quotes, and s is ASCII.
func FuzzPlainJSON(f *testing.F) {
	for _, s := range []string{"", "10.64.12.34 via 10.9.0.2 dev va", "dev e\"th0", "dev e\\th", "tab\there", "caf\u00e9 12345678", "\xff", "1234567\x01", "12345678\x7f"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, s []byte) {
		ascii := true
		for _, c := range s {
			ascii = ascii && c < utf8.RuneSelf
		}
		same := string(appendJSONString(nil, s)) == `"`+string(s)+`"`
		if got, want := plainJSON(s), same && ascii; got != want {
			t.Errorf("plainJSON(%q) = %v, want %v", s, got, want)
		}
	})
}

// TestNamesArePlain checks that the names appendJSON writes without
// escaping (kinds, protocols, route types) need none.
func TestNamesArePlain(t *testing.T) {
	names := slices.Clone(kindLabels[:])
	for i := range 256 {
		names = append(names, kernel.Proto(i).String(), kernel.RouteType(i).String())
	}
	for _, n := range names {
		if !plainJSON([]byte(n)) {
			t.Errorf("%q needs escaping in JSON", n)
		}
	}
}
