package extract

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"raceroute/selftests/cases"
)

// The scripts below are written for these tests in the idioms of the
// kernel's selftests; they are not the kernel's text.

var testSuite = &Suite{
	Name:   "t",
	Script: "tools/testing/selftests/net/t.sh",
	Groups: []Group{
		{Name: "rt", Pre: []string{"route_setup"}, Funcs: []string{"rt_test", "rt_more"}},
		{Name: "nb", Funcs: []string{"nb_combinations"}, Callee: true},
	},
	Envs:     []string{"setup", "route_setup"},
	Teardown: []string{"cleanup"},
	DropIPv4: true,
	Defaults: map[string]string{"VERBOSE": "0"},
}

var testMeta = Meta{Version: "1.0", Source: "test", Covers: []cases.Range{{From: cases.Line{Major: 6, Minor: 1}, To: cases.Line{Major: 6, Minor: 1}}}}

const idioms = `#!/bin/bash
IP="ip -netns ns1"
ROUTER=veth0

log_test()
{
	echo "$3"
}

setup()
{
	set -e
	ip netns add ns1
	$IP link add dummy0 type dummy
	$IP -6 address add 2001:db8:1::1/64 dev dummy0
	set +e
}

cleanup()
{
	ip netns del ns1
}

route_setup()
{
	setup
	set -e
	$IP li add veth1 type veth peer name veth2
	$IP -6 addr add 2001:db8:101::1/64 dev veth1 nodad
	set +e
}

add_route6()
{
	local pfx="$1"
	local nh="$2"

	run_cmd "$IP -6 ro flush ${pfx}"
	[ $? -ne 0 ] && exit 1

	out=$($IP -6 ro ls match ${pfx})
	if [ -n "$out" ]; then
		echo "Failed to flush"
		exit 1
	fi
	run_cmd "$IP -6 ro add ${pfx} ${nh}"
	if [ $? -ne 0 ]; then
		exit 1
	fi
}

check_route6()
{
	local pfx
	local expected="$1"
	local out

	set -- $expected
	pfx=$1

	out=$($IP -6 ro ls match ${pfx} | sed -e 's/ pref medium//')
	check_expected "${out}" "${expected}"
}

rt_test()
{
	local rc

	add_route6 "2001:db8:104::/64" "via 2001:db8:101::2"
	run_cmd "$IP -6 ro add 2001:db8:104::/64 dev veth1"
	log_test $? 2 "duplicate"

	run_cmd "$IP -6 ro add 2001:db8:104::/64 via 2001:db8:101::3 metric 512"
	rc=$?
	if [ $rc -eq 0 ]; then
		check_route6 "2001:db8:104::/64 via 2001:db8:101::2 dev veth1 metric 1024 2001:db8:104::/64 via 2001:db8:101::3 dev veth1 metric 512"
		rc=$?
	fi
	log_test $rc 0 "chain"

	run_cmd "$IP -6 ro replace 2001:db8:104::/64 via 2001:db8:104::2"
	if [ $? -eq 0 ]; then
		log_test 0 1 "must fail"
	else
		check_route6 "2001:db8:104::/64 via 2001:db8:101::2 dev veth1 metric 1024"
		log_test $? 0 "must fail"
	fi
}

rt_more()
{
	$IP route get fibmatch 198.51.100.2 &> /dev/null
	log_test $? 0 "IPv4 fibmatch"
	$IP -6 route get fibmatch 2001:db8:1::2 | grep dummy0 | grep -q "dead linkdown"
	log_test $? 1 "IPv6 flags"
	log_test $? 0 "again"
}

nb_one()
{
	local accept=$1
	setup_ns HOST ROUTER_NS
	ip netns exec ${ROUTER_NS} sysctl -w net.ipv4.conf.${ROUTER}.arp_accept=${accept} >/dev/null 2>&1
	neigh=$(ip netns exec ${ROUTER_NS} ip neigh get 10.0.0.2 dev ${ROUTER} 2>/dev/null)
	if [ ${accept} -eq 1 ]; then
		[[ ${neigh} ]]
	else
		[[ -z "${neigh}" ]]
	fi
}

nb_test()
{
	msg=("nb:" "accept=$1")
	if nb_one $1; then
		printf "    TEST: %-60s  [ OK ]\n" "${msg[*]}"
	else
		printf "    TEST: %-60s  [FAIL]\n" "${msg[*]}"
	fi
	cleanup
}

nb_combinations()
{
	nb_test 0
	nb_test 1
}
`

const want = `suite t
script tools/testing/selftests/net/t.sh
version 1.0
source test
exact no
covers 6.1

env route_setup 24
  13 netns ns1
  14 setup ns1: ip link add dummy0 type dummy
  15 setup ns1: ip -6 address add 2001:db8:1::1/64 dev dummy0  # RTM_NEWADDR NLM_F_CREATE|NLM_F_EXCL
  28 setup ns1: ip li add veth1 type veth peer name veth2
  29 setup ns1: ip -6 addr add 2001:db8:101::1/64 dev veth1 nodad  # RTM_NEWADDR NLM_F_CREATE|NLM_F_EXCL

case rt_test#1 rt 71 "duplicate"
  24 env route_setup
  38 setup ns1: ip -6 ro flush 2001:db8:104::/64 => 0  # RTM_GETROUTE dump, then RTM_DELROUTE each
  41 setup ns1: ip -6 ro ls match 2001:db8:104::/64 => empty
  46 setup ns1: ip -6 ro add 2001:db8:104::/64 via 2001:db8:101::2 => 0  # RTM_NEWROUTE NLM_F_CREATE|NLM_F_EXCL
  70 test ns1: ip -6 ro add 2001:db8:104::/64 dev veth1 => 2  # RTM_NEWROUTE NLM_F_CREATE|NLM_F_EXCL

case rt_test#2 rt 79 "chain"
  73 test ns1: ip -6 ro add 2001:db8:104::/64 via 2001:db8:101::3 metric 512 => 0  # RTM_NEWROUTE NLM_F_CREATE|NLM_F_EXCL
  76 test ns1: ip -6 ro ls match 2001:db8:104::/64 | sed -e 's/ pref medium//' => = "2001:db8:104::/64 via 2001:db8:101::2 dev veth1 metric 1024 2001:db8:104::/64 via 2001:db8:101::3 dev veth1 metric 512"

case rt_test#3 rt 86 "must fail"
  81 test ns1: ip -6 ro replace 2001:db8:104::/64 via 2001:db8:104::2 => fail  # RTM_NEWROUTE NLM_F_CREATE|NLM_F_REPLACE
  85 test ns1: ip -6 ro ls match 2001:db8:104::/64 | sed -e 's/ pref medium//' => = "2001:db8:104::/64 via 2001:db8:101::2 dev veth1 metric 1024"

case rt_more#1 rt 95 "IPv6 flags"
  94 test ns1: ip -6 route get fibmatch 2001:db8:1::2 | grep dummy0 | grep -q 'dead linkdown' => 1

case rt_more#2 rt 96 "again" vacuous "always passes: the status it tests is that of log_test (line 95), 0 whatever the kernel does"

case nb_test#1 nb 115 "nb: accept=0"
  102 netns HOST
  102 netns ROUTER_NS
  103 do ROUTER_NS: sysctl -w net.ipv4.conf.veth0.arp_accept=0
  104 test ROUTER_NS: ip neigh get 10.0.0.2 dev veth0 => empty

case nb_test#2 nb 115 "nb: accept=1"
  102 netns HOST
  102 netns ROUTER_NS
  103 do ROUTER_NS: sysctl -w net.ipv4.conf.veth0.arp_accept=1
  104 test ROUTER_NS: ip neigh get 10.0.0.2 dev veth0 => nonempty
`

// TestExtractIdioms reads a script in the selftests' idioms: set-up
// functions as environments, a helper's aborts as preconditions, rc
// chains, must-fail branches, IPv4 assertions dropped, a vacuous
// log_test, [ OK ]/[FAIL] reports on parameterised functions.
func TestExtractIdioms(t *testing.T) {
	f, err := Extract(testSuite, "t.sh", []byte(idioms), testMeta)
	if err != nil {
		t.Fatal(err)
	}
	got := strings.TrimPrefix(string(f.Format()), cases.Header)
	if got != want {
		t.Errorf("extraction differs:\n%s", diff(got, want))
	}
}

func diff(got, want string) string {
	g, w := strings.Split(got, "\n"), strings.Split(want, "\n")
	var b strings.Builder
	for i := 0; i < len(g) || i < len(w); i++ {
		var x, y string
		if i < len(g) {
			x = g[i]
		}
		if i < len(w) {
			y = w[i]
		}
		if x != y {
			b.WriteString("got:  " + x + "\nwant: " + y + "\n")
		}
	}
	return b.String()
}

// TestExtractRefuses checks that what the extractor does not understand
// is an error naming the line, never a guess.
func TestExtractRefuses(t *testing.T) {
	tests := []struct {
		name, body, want string
	}{
		{"a loop", "\tfor i in 1 2; do\n\t\techo $i\n\tdone", "t.sh:4: for loops are not supported"},
		{"an undefined helper", "\tadd_route9 \"2001:db8::/64\" \"dev x\"", "t.sh:4: add_route9 is called but not defined"},
		{"an unset variable", "\t$IPX -6 ro add 2001:db8::/64 dev x", "variable IPX is not set"},
		{"a status of a chain", "\trun_cmd \"$IP -6 ro add 2001:db8::/64 dev x\"\n\trc=$?\n\tif [ $rc -eq 0 ]; then\n\t\trun_cmd \"$IP -6 ro del 2001:db8::/64\"\n\t\trc=$?\n\tfi\n\tlog_test $rc 2 \"x\"", "asks status 2 of a chain of 2 commands"},
		{"a run-time elif", "\tip -6 ro add 2001:db8::/64 dev x\n\tif [ $? -eq 0 ]; then\n\t\techo a\n\telif [ $? -eq 1 ]; then\n\t\techo b\n\tfi", "elif after a run-time condition"},
		{"calls without end", "\ttest_fn", "calls nested too deep"},
		{"an assertion closing nothing", "\tip -6 ro add 2001:db8::/64 dev x\n\tif [ $? -eq 0 ]; then\n\t\tlog_test 0 1 \"x\"\n\tfi", "an assertion that closes no case"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			text := "IP=\"ip -netns ns1\"\ntest_fn()\n{\n" + tc.body + "\n}\n"
			s := &Suite{Name: "t", Script: "t.sh", Groups: []Group{{Name: "g", Funcs: []string{"test_fn"}}}}
			_, err := Extract(s, "t.sh", []byte(text), testMeta)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %v, want one with %q", err, tc.want)
			}
		})
	}
}

// TestExtractBoundsWork refuses functions that call each other
// exponentially (each of 24 levels calls the next twice).
func TestExtractBoundsWork(t *testing.T) {
	var b strings.Builder
	b.WriteString("test_fn()\n{\n\tlevel_0\n}\n")
	for i := 0; i < 24; i++ {
		fmt.Fprintf(&b, "level_%d()\n{\n\tlevel_%d\n\tlevel_%d\n}\n", i, i+1, i+1)
	}
	b.WriteString("level_24()\n{\n\ttrue\n}\n")
	s := &Suite{Name: "t", Script: "t.sh", Groups: []Group{{Name: "g", Funcs: []string{"test_fn"}}}}
	_, err := Extract(s, "t.sh", []byte(b.String()), testMeta)
	if err == nil || !strings.Contains(err.Error(), "statements evaluated") {
		t.Errorf("error %v, want the statement bound", err)
	}
}

// TestCommittedCasesAreFresh re-extracts every case file from the
// scripts named in sources.yaml and compares, when the scripts are on
// this machine (RACEROUTE_SELFTEST_SCRIPTS, or the research copies); the
// scripts are not in the repository, so elsewhere there is nothing to
// compare with and the test says so.
func TestCommittedCasesAreFresh(t *testing.T) {
	dir := os.Getenv("RACEROUTE_SELFTEST_SCRIPTS")
	if dir == "" {
		dir = "/work/notes/selftests/raw"
	}
	if _, err := os.Stat(dir); err != nil {
		t.Skipf("the selftest scripts are not here (%v): set RACEROUTE_SELFTEST_SCRIPTS to compare", err)
	}
	srcs, err := ReadSources("../cases/sources.yaml")
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range srcs {
		f, err := s.Extract(dir)
		if err != nil {
			t.Fatal(err)
		}
		old, err := os.ReadFile(filepath.Join("../cases", s.Suite, s.Version+".txt"))
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(old, f.Format()) {
			t.Errorf("%s %s: the committed file differs from a fresh extraction (go run ./selftests/cmd/extract -scripts %s)", s.Suite, s.Version, dir)
		}
	}
}

func FuzzExtract(f *testing.F) {
	f.Add([]byte(idioms))
	f.Add([]byte("f()\n{\n\tif [ $? -eq 0 ]; then\n\t\tlog_test 0 1 x\n\tfi\n}\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		s := &Suite{Name: "t", Script: "t.sh", Groups: []Group{{Name: "g", Funcs: []string{"rt_test", "f"}}, {Name: "n", Funcs: []string{"nb_combinations"}, Callee: true}},
			Envs: []string{"setup", "route_setup"}, Teardown: []string{"cleanup"}, DropIPv4: true}
		out, err := Extract(s, "fuzz.sh", data, testMeta)
		if err != nil {
			return
		}
		if _, err := cases.Parse("fuzz", out.Format()); err != nil {
			t.Fatalf("an extraction does not read back: %v", err)
		}
	})
}
