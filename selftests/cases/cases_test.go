package cases

import (
	"bytes"
	"slices"
	"strings"
	"testing"
)

// TestLibraryReadsBack checks every committed case file parses and
// formats back to the same bytes, and holds the cases the extraction
// gave (the counts of the research for fib_tests' IPv6 route groups).
func TestLibraryReadsBack(t *testing.T) {
	files, err := Library()
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]int{
		"fib_tests v4.16": 29, "fib_tests v4.17": 29, "fib_tests v4.18": 55, "fib_tests v4.20": 62,
		"fib_tests v5.2": 62, "fib_tests v5.6": 68, "fib_tests 5.10.262": 67, "fib_tests 6.1.192": 68,
		"fib_tests 6.12.117": 68, "fib_tests 7.2.13": 68,
		"arp_ndisc_untracked_subnets 6.1.192": 8, "arp_ndisc_untracked_subnets 6.12.117": 8,
		"ndisc_unsolicited_na_test 6.1.192": 8, "ndisc_unsolicited_na_test 6.12.117": 8,
		"arp_ndisc_evict_nocarrier 6.1.192": 6, "arp_ndisc_evict_nocarrier 6.12.117": 6,
	}
	seen := map[string]bool{}
	for _, f := range files {
		key := f.Suite + " " + f.Version
		seen[key] = true
		if n, ok := want[key]; !ok || n != len(f.Cases) {
			t.Errorf("%s: %d cases, want %d", key, len(f.Cases), n)
		}
		data, err := library.ReadFile(f.Suite + "/" + f.Version + ".txt")
		if err != nil {
			t.Fatal(err)
		}
		if got := f.Format(); !bytes.Equal(got, data) {
			t.Errorf("%s does not format back to its own bytes", key)
		}
	}
	for k := range want {
		if !seen[k] {
			t.Errorf("%s is not in the library", k)
		}
	}
	suites, err := Suites()
	if err != nil {
		t.Fatal(err)
	}
	if suites[0] != "fib_tests" || len(suites) != 4 {
		t.Errorf("suites %v", suites)
	}
}

const good = `suite s
script tools/testing/selftests/net/s.sh
version 6.1.192
source test
exact yes
covers 6.0-6.9 7.2
note a note

env setup 10
  11 netns ns1
  12 setup ns1: ip link add dummy0 type dummy

case f#1 g 20 "first"
  19 env setup
  20 test ns1: ip -6 ro add 2001:db8::/64 dev dummy0 => 0
case f#2 g 25 "second" vacuous "always passes"
  24 do ns1: ip -6 ro ls match 2001:db8::/64 | sed -e 's/ pref medium//'
`

func TestParse(t *testing.T) {
	f, err := Parse("t.txt", []byte(good))
	if err != nil {
		t.Fatal(err)
	}
	if f.Suite != "s" || !f.Exact || len(f.Covers) != 2 || !f.CoversLine(Line{6, 5}) || f.CoversLine(Line{7, 1}) || !f.CoversLine(Line{7, 2}) {
		t.Errorf("header %+v", f)
	}
	if len(f.Cases) != 2 || f.Cases[1].Vacuous != "always passes" || f.Cases[0].Steps[1].Want != (Want{Kind: WantExit}) {
		t.Errorf("cases %+v", f.Cases)
	}
	back, err := Parse("back", f.Format())
	if err != nil {
		t.Fatal(err)
	}
	back.Name = f.Name
	if string(back.Format()) != string(f.Format()) {
		t.Error("a second round trip changed the file")
	}
}

func TestParseErrors(t *testing.T) {
	tests := []struct {
		name, text, want string
	}{
		{"unknown key", "suit s\n", "t.txt:1: unknown line"},
		{"missing header", "suite s\n", "no `script` line"},
		{"twice", strings.Replace(good, "exact yes", "exact yes\nexact no", 1), "exact given twice"},
		{"bad exact", strings.Replace(good, "exact yes", "exact maybe", 1), "want yes or no"},
		{"bad covers", strings.Replace(good, "covers 6.0-6.9 7.2", "covers 6.9-6.0", 1), "ends before it starts"},
		{"bad line", strings.Replace(good, "covers 6.0-6.9 7.2", "covers six", 1), "not a kernel release line"},
		{"step first", "  1 do ls\n", "a step before any env or case line"},
		{"bad role", strings.Replace(good, "20 test ns1", "20 check ns1", 1), `step role "check"`},
		{"test without want", strings.Replace(good, " => 0", "", 1), "needs `=> WANT`"},
		{"do with want", strings.Replace(good, "24 do ns1: ip -6 ro ls match 2001:db8::/64 | sed -e 's/ pref medium//'", "24 do ns1: ls => 0", 1), "asserts nothing"},
		{"bad want", strings.Replace(good, "=> 0", "=> maybe", 1), "an exit status 0-255"},
		{"bad quote", strings.Replace(good, `"first"`, `first`, 1), "not a double-quoted string"},
		{"numbering", strings.Replace(good, "case f#2", "case f#3", 1), "want f#2 next"},
		{"env missing", strings.Replace(good, "19 env setup", "19 env route_setup", 1), `no env "route_setup"`},
		{"test in env", strings.Replace(good, "12 setup ns1", "12 test ns1", 1), "needs `=> WANT`"},
		{"asserts nothing", strings.Replace(good, ` vacuous "always passes"`, "", 1), "asserts nothing"},
		{"unterminated", strings.Replace(good, "'s/ pref medium//'", "'s/ pref", 1), "unterminated"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse("t.txt", []byte(tc.text))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %v, want one with %q", err, tc.want)
			}
		})
	}
}

func TestWantMet(t *testing.T) {
	tests := []struct {
		want Want
		exit int
		out  string
		ok   bool
	}{
		{Want{Kind: WantExit, Exit: 2}, 2, "", true},
		{Want{Kind: WantExit, Exit: 2}, 1, "", false},
		{Want{Kind: WantFail}, 2, "", true},
		{Want{Kind: WantFail}, 0, "", false},
		{Want{Kind: WantEqual, Text: "a b c"}, 0, "a  b\nc", true},
		{Want{Kind: WantEqual, Text: "a b"}, 0, "a b c", false},
		{Want{Kind: WantEqual, Text: ""}, 0, "", true},
		{Want{Kind: WantEqual, Text: ""}, 0, "x", false},
		{Want{Kind: WantEmpty}, 2, "", true},
		{Want{Kind: WantNonEmpty}, 0, "x", true},
		{Want{Kind: WantNonEmpty}, 0, "", false},
	}
	for _, tc := range tests {
		if got := tc.want.Met(tc.exit, tc.out); got != tc.ok {
			t.Errorf("%s met by exit %d, %q: %v, want %v", tc.want, tc.exit, tc.out, got, tc.ok)
		}
	}
}

func TestFlags(t *testing.T) {
	tests := map[string]string{
		"ip -6 ro add 2001:db8::/64 dev x":     "RTM_NEWROUTE NLM_F_CREATE|NLM_F_EXCL",
		"ip -6 ro append 2001:db8::/64 dev x":  "RTM_NEWROUTE NLM_F_CREATE|NLM_F_APPEND",
		"ip -6 route prepend 2001:db8::/64":    "RTM_NEWROUTE NLM_F_CREATE",
		"ip -6 r replace 2001:db8::/64 dev x":  "RTM_NEWROUTE NLM_F_CREATE|NLM_F_REPLACE",
		"ip -6 ro change 2001:db8::/64 dev x":  "RTM_NEWROUTE NLM_F_REPLACE",
		"ip -6 ro del 2001:db8::/64":           "RTM_DELROUTE",
		"ip -6 route get fibmatch 2001:db8::1": "",
		"ip li set dev x up":                   "RTM_NEWLINK",
		"sysctl -qw net.ipv6.conf.all.x=1":     "",
		"ip -6 addr add dev x 2001:db8::1/64":  "RTM_NEWADDR NLM_F_CREATE|NLM_F_EXCL",
	}
	for cmd, want := range tests {
		if got := Flags(cmd); got != want {
			t.Errorf("Flags(%q) = %q, want %q", cmd, got, want)
		}
	}
}

func TestSplitWords(t *testing.T) {
	tests := map[string][]string{
		`ip -6 ro ls match 2001:db8::/64 | sed -e 's/ pref medium//'`: {"ip", "-6", "ro", "ls", "match", "2001:db8::/64", "|", "sed", "-e", "s/ pref medium//"},
		`grep -q "dead linkdown"`:                                     {"grep", "-q", "dead linkdown"},
		`a ''`:                                                        {"a", ""},
		`x "a\"b"`:                                                    {"x", `a"b`},
		`a|b`:                                                         {"a", "|", "b"},
	}
	for in, want := range tests {
		got, err := SplitWords(in)
		if err != nil || !slices.Equal(got, want) {
			t.Errorf("SplitWords(%q) = %q, %v; want %q", in, got, err, want)
		}
		back, err := SplitWords(JoinWords(want))
		if err != nil || !slices.Equal(back, want) {
			t.Errorf("JoinWords(%q) = %q does not split back", want, JoinWords(want))
		}
	}
	if _, err := SplitWords(`a "b`); err == nil {
		t.Error("an unterminated quote was accepted")
	}
}

func TestFilters(t *testing.T) {
	out := "2001:db8::/64 dev x metric 1024 pref medium\n2001:db8::/64 dev y linkdown pref medium\n"
	tests := []struct {
		filters  [][]string
		out      string
		exit     int
		badParse bool
	}{
		{[][]string{{"sed", "-e", "s/ pref medium//"}}, "2001:db8::/64 dev x metric 1024\n2001:db8::/64 dev y linkdown\n", 0, false},
		{[][]string{{"grep", "y"}, {"grep", "-q", "linkdown"}}, "", 0, false},
		{[][]string{{"grep", "x"}, {"grep", "-q", "linkdown"}}, "", 1, false},
		{[][]string{{"grep", "-q", "dead linkdown"}}, "", 1, false},
		{[][]string{{"grep", "-E", "a|b"}}, "", 0, true},
		{[][]string{{"sed", "-e", "s/.*//"}}, "", 0, true},
	}
	for _, tc := range tests {
		var fs []Filter
		bad := false
		for _, w := range tc.filters {
			f, err := ParseFilter(w)
			if err != nil {
				bad = true
				break
			}
			fs = append(fs, f)
		}
		if bad != tc.badParse {
			t.Errorf("%v: parse error %v, want %v", tc.filters, bad, tc.badParse)
			continue
		}
		if bad {
			continue
		}
		got, exit := RunPipeline(fs, out, 0)
		if got != tc.out || exit != tc.exit {
			t.Errorf("%v: %q exit %d, want %q exit %d", tc.filters, got, exit, tc.out, tc.exit)
		}
	}
}

func FuzzParse(f *testing.F) {
	f.Add([]byte(good))
	files, _ := Library()
	for _, lf := range files[:2] {
		f.Add(lf.Format())
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := Parse("fuzz", data)
		if err != nil {
			return
		}
		back, err := Parse("fuzz", c.Format())
		if err != nil {
			t.Fatalf("a parsed file does not read back: %v\n%s", err, c.Format())
		}
		if !bytes.Equal(back.Format(), c.Format()) {
			t.Fatalf("formatting is not stable")
		}
	})
}

func FuzzSplitWords(f *testing.F) {
	for _, s := range []string{`a "b c" 'd|e' | f`, `x\`, `"`, `a''b`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		w, err := SplitWords(s)
		if err != nil {
			return
		}
		back, err := SplitWords(JoinWords(w))
		if err != nil || !slices.Equal(back, w) {
			t.Fatalf("%q: %q joins to %q, which splits to %q (%v)", s, w, JoinWords(w), back, err)
		}
	})
}
