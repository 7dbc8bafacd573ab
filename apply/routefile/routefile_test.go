package routefile

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"raceroute/apply/route"
)

var tables = map[string]uint32{"isp2": 102}

func read(t *testing.T, in string) ([]Entry, error) {
	t.Helper()
	return Read(strings.NewReader(in), Options{Name: "r.txt", Tables: tables})
}

func TestReadLines(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"10.0.0.0/24 via 10.9.0.2 dev eth0", "10.0.0.0/24 via 10.9.0.2 dev eth0"},
		{"route replace 10.0.0.0/24 via 10.9.0.2 dev eth0 metric 10", "10.0.0.0/24 via 10.9.0.2 dev eth0 metric 10"},
		{"-6 route add default via fe80::1 dev eth0", "default via fe80::1 dev eth0"},
		{"default via fe80::1 dev eth0", "default via fe80::1 dev eth0"},
		{"to unreachable 2001:db8::/48 metric 1024", "unreachable 2001:db8::/48 metric 1024"},
		{"blackhole 192.0.2.0/24 table isp2", "blackhole 192.0.2.0/24 table 102"},
		{"type prohibit 192.0.2.0/25 table 7", "prohibit 192.0.2.0/25 table 7"},
		{"10.1.2.3 dev eth0 src 10.1.0.1", "10.1.2.3 dev eth0 src 10.1.0.1"},
		{"local 10.1.0.9 dev eth0 table local", "local 10.1.0.9 dev eth0 table local"},
		{"10.2.0.0/16 nexthop via 10.9.0.2 dev eth0 weight 2 nexthop via 10.9.1.2 dev eth1", "10.2.0.0/16 nexthop via 10.9.0.2 dev eth0 weight 2 nexthop via 10.9.1.2 dev eth1"},
		{"10.3.0.0/16 via inet6 fe80::2 dev eth0", "10.3.0.0/16 via inet6 fe80::2 dev eth0"},
		{"10.4.0.0/16 via 10.9.0.2 dev eth0 onlink proto 250 priority 5", "10.4.0.0/16 via 10.9.0.2 dev eth0 onlink metric 5"},
	} {
		es, err := read(t, "# a comment\n\n"+tc.in+"\n")
		if err != nil {
			t.Errorf("%q: %v", tc.in, err)
			continue
		}
		if len(es) != 1 || es[0].Line != 3 {
			t.Errorf("%q: %d entries (line %v)", tc.in, len(es), es)
			continue
		}
		if got := es[0].Route.String(); got != tc.want {
			t.Errorf("%q: read as %q, want %q", tc.in, got, tc.want)
		}
	}
}

// Every malformed line is reported, with its number and what was wanted;
// nothing is returned.
func TestReadLinesErrors(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"10.0.0.0/33 dev eth0", `r.txt:1: destination "10.0.0.0/33": want a prefix`},
		{"10.0.0.1/24 dev eth0", "r.txt:1: destination 10.0.0.1/24 has host bits set: write 10.0.0.0/24"},
		{"10.0.0.0/24 via nowhere dev eth0", `r.txt:1: via "nowhere": want a gateway address`},
		{"10.0.0.0/24 via 10.9.0.2 dev", `r.txt:1: dev: want a value after "dev"`},
		{"10.0.0.0/24 dev eth0 table isp9", `r.txt:1: table "isp9": no such table`},
		{"10.0.0.0/24 dev eth0 table 0", "r.txt:1: table 0 is no table"},
		{"10.0.0.0/24 dev eth0 mtu 1400", "r.txt:1: mtu is not supported"},
		{"10.0.0.0/24 dev eth0 nhid 4", "r.txt:1: nhid is not supported: the writer manages nexthop objects itself"},
		{"route del 10.0.0.0/24", "r.txt:1: want `route replace` or `route add` before a route"},
		{"2001:db8::/64 via 10.9.0.2", "r.txt:1: gateway 10.9.0.2 is IPv4 in an IPv6 route"},
		{"10.0.0.0/24 dev eth0 metric x", `r.txt:1: metric "x": want a whole number`},
		{"10.0.0.0/24 dev eth0 colour red", `r.txt:1: unknown keyword "colour"`},
		{"10.0.0.0/24 weight 3 dev eth0", "r.txt:1: weight outside a nexthop"},
		{"10.0.0.0/24 dev eth0 metric 1 metric 2", "r.txt:1: metric given twice"},
		{"via 10.9.0.2", "r.txt:1: no destination"},
	} {
		_, err := read(t, tc.in+"\n")
		var es Errors
		if !errors.As(err, &es) || len(es) != 1 || !strings.Contains(es[0].Error(), tc.want) {
			t.Errorf("%q: error %v, want one with %q", tc.in, err, tc.want)
		}
	}
	_, err := read(t, "10.0.0.0/24 dev eth0\n10.0.0.0/99 dev eth0\n\n10.0.1.0/24 via x\n")
	var es Errors
	if !errors.As(err, &es) || len(es) != 2 || es[0].Line != 2 || es[1].Line != 4 {
		t.Fatalf("error %v: want lines 2 and 4", err)
	}
}

func TestReadJSON(t *testing.T) {
	in := `[
  {"dst":"10.0.0.0/24","gateway":"10.9.0.2","dev":"eth0","protocol":"250","scope":"global","flags":[]},
  {"type":"unreachable","dst":"2001:db8::/48","metric":1024,"table":"main"},
  {"dst":"10.2.0.0/16","nexthops":[{"gateway":"10.9.0.2","dev":"eth0","weight":2,"flags":[]},{"gateway":"10.9.1.2","dev":"eth1","weight":1}]},
  {"dst":"default","via":{"family":"inet6","host":"fe80::1"},"dev":"eth0","table":102}
]`
	es, err := read(t, in)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"10.0.0.0/24 via 10.9.0.2 dev eth0", "unreachable 2001:db8::/48 metric 1024",
		"10.2.0.0/16 nexthop via 10.9.0.2 dev eth0 weight 2 nexthop via 10.9.1.2 dev eth1", "default via fe80::1 dev eth0 table 102"}
	if len(es) != len(want) {
		t.Fatalf("%d entries", len(es))
	}
	for i := range want {
		if es[i].Route.String() != want[i] || es[i].Line != i+2 {
			t.Errorf("entry %d: %q at line %d, want %q at %d", i, es[i].Route, es[i].Line, want[i], i+2)
		}
	}
	if es[0].Proto != 250 {
		t.Errorf("proto %v", es[0].Proto)
	}
	for _, tc := range []struct{ in, want string }{
		{"[\n{\"dst\":\"10.0.0.0/24\",\"dev\":\"eth0\"},\n{\"dst\":\"10.0.0.0/24\",\"colour\":\"red\"}\n]", `r.txt:3: route 2: unknown key "colour"`},
		{"[\n{\"dev\":\"eth0\"}\n]", `r.txt:2: route 1: want "dst"`},
		{"[\n{\"dst\":\"10.0.0.0/24\",\n\"dev\":eth0}]", "r.txt:3: route 1: JSON: invalid character"},
		{"{\"dst\":\"10.0.0.0/24\",\"dev\":\"eth 0\"}", "r.txt:1: route 1: a value with spaces"},
	} {
		_, err := read(t, tc.in)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%q: error %v, want one with %q", tc.in, err, tc.want)
		}
	}
	// JSON lines
	es, err = read(t, "{\"dst\":\"10.0.0.0/24\",\"dev\":\"eth0\"}\n{\"dst\":\"10.0.1.0/24\",\"dev\":\"eth0\"}\n")
	if err != nil || len(es) != 2 || es[1].Line != 2 {
		t.Fatalf("JSON lines: %v, %v", es, err)
	}
}

func TestParseTables(t *testing.T) {
	out := map[string]uint32{}
	parseTables([]byte("# c\n255 local\n100\tisp1 # x\n0x70 isp2\nbad line\n"), out)
	if out["isp1"] != 100 || out["isp2"] != 0x70 || out["local"] != 255 || len(out) != 3 {
		t.Fatalf("%v", out)
	}
}

func FuzzRead(f *testing.F) {
	for _, s := range []string{
		"10.0.0.0/24 via 10.9.0.2 dev eth0 metric 10\n",
		"route replace 10.2.0.0/16 nexthop via 10.9.0.2 dev eth0 weight 2 nexthop dev eth1\n",
		"[{\"dst\":\"default\",\"gateway\":\"fe80::1\",\"dev\":\"eth0\",\"nexthops\":[{\"dev\":\"x\",\"weight\":3}]}]",
		"to blackhole default table isp2 proto static src 10.0.0.1\n",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		es, err := Read(strings.NewReader(s), Options{Name: "f", Tables: tables})
		if err != nil {
			var le Errors
			if !errors.As(err, &le) {
				t.Fatalf("error %T %v is not a list of line errors", err, err)
			}
			for _, e := range le {
				if e.Line < 1 {
					t.Fatalf("error without a line: %v", e)
				}
			}
			return
		}
		for _, e := range es {
			if !e.Route.Dst.IsValid() || e.Line < 1 {
				t.Fatalf("entry %+v", e)
			}
		}
	})
}

// fields splits as strings.Fields does, into the slice it is given.
func TestFields(t *testing.T) {
	for _, s := range []string{"", "  ", "a", " 10.0.0.0/8  via\t10.9.0.2 dev va ", "a\u00a0b\u2003c", "x\r"} {
		if got, want := fields(nil, s), strings.Fields(s); !slices.Equal(got, want) && !(len(got) == 0 && len(want) == 0) {
			t.Errorf("fields(%q) = %q, want %q", s, got, want)
		}
	}
}

// Lines end in \n or \r\n; a line longer than maxLine is refused with
// its number.
func TestReadLineEnds(t *testing.T) {
	es, err := Read(strings.NewReader("10.1.0.0/16 dev va\r\n\r\n10.2.0.0/16 via 10.9.0.2 dev va"), Options{Tables: map[string]uint32{}})
	if err != nil || len(es) != 2 || es[0].Line != 1 || es[1].Line != 3 || es[1].Route.Nexthops[0].Dev != "va" {
		t.Fatalf("Read: %+v, %v", es, err)
	}
	_, err = Read(strings.NewReader("10.1.0.0/16 dev va\n"+strings.Repeat("x", maxLine+1)+"\n"), Options{Name: "f", Tables: map[string]uint32{}})
	if err == nil || !strings.Contains(err.Error(), "f:2: a line longer than") {
		t.Fatalf("a long line: %v", err)
	}
}

// fields (its ASCII path and the other) splits as strings.Fields does.
func FuzzFields(f *testing.F) {
	for _, s := range []string{"", " a  b\t", "a\u00a0b\u2003c", "x\r\v\fy", "\x85z"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if got, want := fields(nil, s), strings.Fields(s); !slices.Equal(got, want) && !(len(got) == 0 && len(want) == 0) {
			t.Fatalf("fields(%q) = %q, want %q", s, got, want)
		}
	})
}

// A file read from disk (sized by its Stat) reads as from any reader,
// and each entry's next hops are its own: changing or appending to one
// route's leaves the next route's as read.
func TestReadFileSizedAndHopsApart(t *testing.T) {
	text := "10.1.0.0/16 via 10.9.0.2 dev va\n  10.2.0.0/16 nexthop via 10.9.0.3 dev vb nexthop dev vc\n10.3.0.0/16 dev vd\n"
	p := filepath.Join(t.TempDir(), "routes")
	if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	fh, err := os.Open(p)
	if err != nil {
		t.Fatal(err)
	}
	defer fh.Close()
	got, err := Read(fh, Options{Tables: map[string]uint32{}})
	if err != nil {
		t.Fatal(err)
	}
	want, err := Read(strings.NewReader(text), Options{Tables: map[string]uint32{}})
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, want) || len(got) != 3 || len(got[1].Route.Nexthops) != 2 {
		t.Fatalf("from the file: %+v\nfrom a reader: %+v", got, want)
	}
	got[0].Route.Nexthops = append(got[0].Route.Nexthops, route.Nexthop{Dev: "x"})
	got[0].Route.Nexthops[0].Dev = "changed"
	if h := got[1].Route.Nexthops; h[0].Dev != "vb" || h[1].Dev != "vc" || got[2].Route.Nexthops[0].Dev != "vd" {
		t.Fatalf("another route's next hops changed: %+v, %+v", got[1].Route.Nexthops, got[2].Route.Nexthops)
	}
}

// BenchmarkRead reads a file of 200,000 routes, as bench/applybench
// writes them for raceroute apply.
func BenchmarkRead(b *testing.B) {
	var sb strings.Builder
	for i := 0; i < 200_000; i++ {
		fmt.Fprintf(&sb, "10.%d.%d.%d via 10.255.0.2 dev va\n", 64+i>>16, byte(i>>8), byte(i))
	}
	p := filepath.Join(b.TempDir(), "routes")
	if err := os.WriteFile(p, []byte(sb.String()), 0o644); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		fh, err := os.Open(p)
		if err != nil {
			b.Fatal(err)
		}
		es, err := Read(fh, Options{Tables: map[string]uint32{}})
		fh.Close()
		if err != nil || len(es) != 200_000 {
			b.Fatalf("%d entries, %v", len(es), err)
		}
	}
}

// ReadRoutes gives Read's entries apart: the routes, and each one's
// protocol and line; errors and empty files alike.
func TestReadRoutesIsRead(t *testing.T) {
	for _, in := range []string{
		"10.1.0.0/16 via 10.9.0.2 dev va proto static\n\n10.2.0.0/16 dev vb\n",
		`[{"dst":"10.3.0.0/16","dev":"vc","protocol":"boot"},{"dst":"default","gateway":"10.9.0.1"}]`,
		"", "  \n", "10.1.0.0/16 vai 10.9.0.2\n",
	} {
		es, err := Read(strings.NewReader(in), Options{Tables: tables})
		routes, meta, rerr := ReadRoutes(strings.NewReader(in), Options{Tables: tables})
		if fmt.Sprint(err) != fmt.Sprint(rerr) || len(routes) != len(es) || len(meta) != len(es) {
			t.Fatalf("%q: Read %d entries, %v; ReadRoutes %d routes, %d metas, %v", in, len(es), err, len(routes), len(meta), rerr)
		}
		for i, e := range es {
			if !reflect.DeepEqual(e.Route, routes[i]) || e.Line != meta[i].Line || e.Proto != meta[i].Proto {
				t.Fatalf("%q: entry %d: %+v; ReadRoutes %+v %+v", in, i, e, routes[i], meta[i])
			}
		}
	}
}
