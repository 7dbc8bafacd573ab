package kselftest

import (
	"context"
	"strings"
	"testing"

	"raceroute/live/netns"
	"raceroute/live/netns/nstest"
	"raceroute/selftests/cases"
)

// A file written for this test: a dummy made as a veth pair, what a
// dummy gives at once (its prefix route, its local route without DAD),
// carrier off through the peer, an expectation the kernel refutes, and
// steps this runner must not run.
const file = `suite fib_tests
script t.sh
version 1
source test
exact no
covers 6.1

env setup 1
  1 netns ns1
  2 setup ns1: ip link add dummy0 type dummy
  3 setup ns1: ip link set dev dummy0 up
  4 setup ns1: ip -6 address add 2001:db8:1::1/64 dev dummy0

case c#1 g 10 "the prefix route"
  9 env setup
  10 test ns1: ip -6 ro ls match 2001:db8:1::/64 | sed -e 's/ pref medium//' => = "2001:db8:1::/64 dev dummy0 proto kernel metric 256"

case c#2 g 20 "the local route, at once (no DAD on a dummy)"
  20 test ns1: ip -6 route get fibmatch 2001:db8:1::1 | grep -q local => 0

case c#3 g 30 "carrier off: the prefix route is linkdown"
  30 setup ns1: ip link set dev dummy0 carrier off => 0
  31 test ns1: ip -6 route get fibmatch 2001:db8:1::2 | grep -q linkdown => 0

case c#4 g 40 "an expectation the kernel refutes"
  40 test ns1: ip -6 ro add 2001:db8:1::/64 dev dummy0 metric 256 => 0

case c#5 g 50 "a command in the script's own namespace"
  50 test ip link show => 0

case c#6 g 60 "continues from a case not run"
  60 test ns1: ip -6 ro ls match 2001:db8:1::/64 => nonempty

case c#7 g 70 "a lib.sh function"
  69 env setup
  70 test ns1: slowwait_for_counter 1 2 => 0

case c#8 g 80 "a namespace named like an iproute2 keyword"
  79 netns peer
  80 test peer: ip link add veth1 type veth peer name veth2 => 0
  81 test peer: ip link show veth2 => 0
`

func TestRun(t *testing.T) {
	nstest.RequireRoot(t)
	nstest.RequireBinary(t, "ip")
	f, err := cases.Parse("t.txt", []byte(file))
	if err != nil {
		t.Fatal(err)
	}
	rep, err := Run(context.Background(), f, Options{Tag: "rrtest-kst"})
	if err != nil {
		t.Fatal(err)
	}
	want := []struct {
		agree         bool
		notRun, broke string
		why           string
	}{
		{agree: true},
		{agree: true},
		{agree: true},
		{why: "wants 0, got exit 2"},
		{notRun: "in its own namespace"},
		{notRun: "continues from a case that was not run"},
		{notRun: "slowwait_for_counter is not a program here"},
		{agree: true},
	}
	if len(rep.Results) != len(want) {
		t.Fatalf("%d results, want %d", len(rep.Results), len(want))
	}
	for i, r := range rep.Results {
		w := want[i]
		ok := r.Agree == w.agree && strings.Contains(r.NotRun, w.notRun) && (w.notRun != "" || r.NotRun == "") &&
			r.Broken == "" && strings.Contains(r.Why, w.why)
		if !ok {
			t.Errorf("%s: agree %v, not run %q, broken %q, why %q; want %+v", r.Case.ID(), r.Agree, r.NotRun, r.Broken, r.Why, w)
		}
	}
	if len(rep.Adapted) != 1 || !strings.Contains(rep.Adapted[0], "1 dummy devices were made as veth pairs") {
		t.Errorf("adapted %q", rep.Adapted)
	}
	names, err := netns.List()
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range names {
		if strings.HasPrefix(n, "rrtest-kst-") {
			t.Errorf("namespace %s left behind", n)
		}
	}
}
