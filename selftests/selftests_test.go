package selftests

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"raceroute/model/fib6"
	"raceroute/profile"
	"raceroute/selftests/cases"
)

func lookup(t *testing.T, name string) profile.Profile {
	t.Helper()
	p, err := profile.Lookup(name)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// TestLibraryOnEveryProfile runs every committed case on every profile
// that ships its script version: no case disagrees with the script,
// the expressible ones are those the research counted, and each version
// runs on the profiles whose kernel line it covers.
func TestLibraryOnEveryProfile(t *testing.T) {
	files, err := cases.Library()
	if err != nil {
		t.Fatal(err)
	}
	rep, err := RunSuites(files, nil, profile.All())
	if err != nil {
		t.Fatal(err)
	}
	type want struct {
		profiles                       string
		agree, notExpressible, vacuous int
	}
	wants := map[string]want{
		"fib_tests v4.16":                      {"", 0, 0, 0},
		"fib_tests v4.17":                      {"", 0, 0, 0},
		"fib_tests v4.18":                      {"linux-4.19 rhel-8.1 rhel-8.3 debian-10[ipv6-replace=ecmp-quirk] debian-10[ipv6-replace=fixed]", 19, 36, 0},
		"fib_tests v4.20":                      {"", 0, 0, 0},
		"fib_tests v5.2":                       {"linux-5.4.0 linux-5.4.286 ubuntu-20.04", 19, 43, 0},
		"fib_tests v5.6":                       {"linux-5.6 linux-5.10 debian-11", 66, 1, 1},
		"fib_tests 5.10.262":                   {"linux-5.15 rhel-9 ubuntu-22.04", 66, 1, 0},
		"fib_tests 6.1.192":                    {"linux-6.1 linux-6.6 ubuntu-24.04 debian-12", 67, 1, 0},
		"fib_tests 6.12.117":                   {"linux-6.12", 67, 1, 0},
		"fib_tests 7.2.13":                     {"", 0, 0, 0},
		"arp_ndisc_untracked_subnets 6.1.192":  {"linux-6.1 linux-6.6 ubuntu-24.04 debian-12", 4, 4, 0},
		"arp_ndisc_untracked_subnets 6.12.117": {"linux-6.12", 4, 4, 0},
		"ndisc_unsolicited_na_test 6.1.192":    {"linux-6.1 linux-6.6 debian-12", 0, 0, 8},
		"ndisc_unsolicited_na_test 6.12.117":   {"linux-6.12 ubuntu-24.04", 0, 0, 8},
		"arp_ndisc_evict_nocarrier 6.1.192":    {"linux-6.1 linux-6.6 debian-12", 0, 6, 0},
		"arp_ndisc_evict_nocarrier 6.12.117":   {"linux-6.12 ubuntu-24.04", 0, 6, 0},
	}
	// Address and link events and lookups follow addrconf.c and
	// fib6_ifdown() as read at 5.10 and 6.12: on 5.6 they are not
	// expressible.
	before510 := map[string][2]int{"fib_tests v5.6 on linux-5.6": {20, 47}}
	for _, s := range rep {
		for _, v := range s.Versions {
			key := s.Name + " " + v.File.Version
			w, ok := wants[key]
			if !ok {
				t.Errorf("%s: not expected", key)
				continue
			}
			var ids []string
			for _, r := range v.Runs {
				ids = append(ids, r.Profile.ID())
				ta := r.Tally()
				w := w
				if o, ok := before510[key+" on "+r.Profile.ID()]; ok {
					w.agree, w.notExpressible = o[0], o[1]
				}
				if ta.Disagree != 0 || ta.Agree != w.agree || ta.NotExpressible != w.notExpressible || ta.Vacuous != w.vacuous {
					t.Errorf("%s on %s: %d agree, %d disagree, %d not expressible, %d vacuous; want %d, 0, %d, %d",
						key, r.Profile.ID(), ta.Agree, ta.Disagree, ta.NotExpressible, ta.Vacuous, w.agree, w.notExpressible, w.vacuous)
				}
			}
			if got := strings.Join(ids, " "); got != w.profiles {
				t.Errorf("%s runs on %q, want %q", key, got, w.profiles)
			}
		}
	}
	if n := Disagreements(rep); n != 0 {
		t.Errorf("%d cases disagree", n)
	}
}

func TestLineOf(t *testing.T) {
	for name, want := range map[string]string{"rhel-8.1": "4.18", "rhel-9": "5.14", "debian-12": "6.1", "ubuntu-24.04": "6.8", "linux-4.14.336": "4.14"} {
		l, err := LineOf(lookup(t, name))
		if err != nil || l.String() != want {
			t.Errorf("%s: line %s, %v; want %s", name, l, err, want)
		}
	}
}

// fibFile is a fib_tests file written for these tests: one environment
// with two links, then cases that the model must judge.
const fibFile = `suite fib_tests
script t.sh
version 1
source test
exact no
covers 6.1

env route_setup 1
  2 netns ns1
  3 setup ns1: ip li add veth1 type veth peer name veth2
  4 setup ns1: ip li add veth3 type veth peer name veth4
  5 setup ns1: ip li set veth1 up
  6 setup ns1: ip li set veth3 up
  7 setup ns1: ip -6 addr add 2001:db8:101::1/64 dev veth1 nodad
  8 setup ns1: ip -6 addr add 2001:db8:103::1/64 dev veth3 nodad

case t#1 g 10 "a duplicate the script wrongly expects to pass"
  9 env route_setup
  10 setup ns1: ip -6 ro add 2001:db8:104::/64 via 2001:db8:101::2 => 0
  11 test ns1: ip -6 ro add 2001:db8:104::/64 via 2001:db8:103::2 => 0

case t#2 g 20 "a listing the script gets wrong"
  20 test ns1: ip -6 ro ls match 2001:db8:104::/64 | sed -e 's/ pref medium//' => = "2001:db8:104::/64 via 2001:db8:103::2 dev veth3 metric 1024"

case t#3 g 30 "an append makes siblings"
  30 test ns1: ip -6 ro append 2001:db8:104::/64 via 2001:db8:103::2 => 0

case t#4 g 40 "a listing of what the append left"
  40 test ns1: ip -6 ro ls match 2001:db8:104::/64 => = "x"

case t#5 g 50 "a flush starts afresh"
  50 setup ns1: ip -6 ro flush 2001:db8:104::/64 => 0
  51 setup ns1: ip -6 ro add 2001:db8:104::/64 via 2001:db8:101::2 => 0
  52 do ns1: ip -6 ro replace 2001:db8:104::/64 dev veth3
  53 test ns1: ip -6 ro ls match 2001:db8:104::/64 | sed -e 's/ pref medium//' => = "2001:db8:104::/64 dev veth3 metric 1024"

case t#6 g 60 "a gateway off every link"
  60 test ns1: ip -6 ro replace 2001:db8:104::/64 via 2001:db8:999::2 => fail

case t#7 g 70 "metrics"
  70 test ns1: ip -6 ro add 2001:db8:111::/64 via 2001:db8:101::2 mtu 1400 => 0

case t#8 g 80 "a multipath route, listed as one"
  80 setup ns1: ip -6 ro flush 2001:db8:104::/64 => 0
  81 setup ns1: ip -6 ro add 2001:db8:104::/64 nexthop via 2001:db8:101::2 nexthop via 2001:db8:103::2 => 0
  82 test ns1: ip -6 ro ls match 2001:db8:104::/64 | sed -e 's/ pref medium//' => = "2001:db8:104::/64 metric 1024 nexthop via 2001:db8:101::2 dev veth1 weight 1 nexthop via 2001:db8:103::2 dev veth3 weight 1"

case t#9 g 90 "an invalid second leg changes nothing"
  90 do ns1: ip -6 ro replace 2001:db8:104::/64 nexthop via 2001:db8:101::3 nexthop via 2001:db8:113::3
  91 test ns1: ip -6 ro ls match 2001:db8:104::/64 | sed -e 's/ pref medium//' => = "2001:db8:104::/64 metric 1024 nexthop via 2001:db8:101::2 dev veth1 weight 1 nexthop via 2001:db8:103::2 dev veth3 weight 1"

case t#10 g 100 "a dev-only leg, a repeated leg, a local gateway"
  100 test ns1: ip -6 ro replace 2001:db8:104::/64 nexthop dev veth1 nexthop via 2001:db8:103::2 => 2
  101 test ns1: ip -6 ro replace 2001:db8:104::/64 nexthop via 2001:db8:103::5 nexthop via 2001:db8:103::5 => 2
  102 test ns1: ip -6 ro add 2001:db8:105::/64 via 2001:db8:101::1 => 2
  103 test ns1: ip -6 ro ls match 2001:db8:104::/64 | sed -e 's/ pref medium//' => = "2001:db8:104::/64 metric 1024 nexthop via 2001:db8:101::2 dev veth1 weight 1 nexthop via 2001:db8:103::2 dev veth3 weight 1"

case t#11 g 110 "replace of a multipath route by one leg"
  110 do ns1: ip -6 ro replace 2001:db8:104::/64 nexthop via 2001:db8:103::7
  111 test ns1: ip -6 ro ls match 2001:db8:104::/64 | sed -e 's/ pref medium//' => = "2001:db8:104::/64 via 2001:db8:103::7 dev veth3 metric 1024"

case t#12 g 120 "dsfield"
  120 test ns1: ip -6 route add 2001:db8:102::/64 dsfield 0x04 via 2001:db8:101::2 => 2

case t#13 g 130 "an address's prefix route: metric, change, delete"
  130 setup ns1: ip link add dummy1 type dummy
  131 setup ns1: ip link set dummy1 up
  132 test ns1: ip -6 addr add dev dummy1 2001:db8:120::1/64 metric 300 => 0
  133 test ns1: ip -6 addr add dev dummy1 2001:db8:120::1/64 => 2
  134 test ns1: ip -6 ro ls match 2001:db8:120::/64 => = "2001:db8:120::/64 dev dummy1 proto kernel metric 300"
  135 test ns1: ip -6 addr change dev dummy1 2001:db8:120::1/64 metric 301 => 0
  136 test ns1: ip -6 ro ls match 2001:db8:120::/64 => = "2001:db8:120::/64 dev dummy1 proto kernel metric 301"
  137 test ns1: ip -6 route get fibmatch 2001:db8:120::5 => 0
  138 test ns1: ip -6 addr del dev dummy1 2001:db8:120::1/64 => 0
  139 test ns1: ip -6 route get fibmatch 2001:db8:120::5 => 2

case t#14 g 140 "keep_addr_on_down: down drops the prefix route, up restores it"
  140 setup ns1: ip -6 addr add dev dummy1 2001:db8:121::1/64 metric 400 => 0
  141 do ns1: sysctl -qw net.ipv6.conf.all.keep_addr_on_down=1
  142 test ns1: ip link set dev dummy1 down => 0
  143 test ns1: ip -6 ro ls match 2001:db8:121::/64 => empty
  144 test ns1: ip link set dev dummy1 up => 0
  145 test ns1: ip -6 ro ls match 2001:db8:121::/64 => = "2001:db8:121::/64 dev dummy1 proto kernel metric 400"

case t#15 g 150 "without keep_addr_on_down the address goes with the link"
  150 do ns1: sysctl -qw net.ipv6.conf.all.keep_addr_on_down=0
  151 test ns1: ip link set dev dummy1 down => 0
  152 test ns1: ip link set dev dummy1 up => 0
  153 test ns1: ip -6 ro ls match 2001:db8:121::/64 => empty

case t#16 g 160 "unregister takes the routes through the device"
  160 test ns1: ip -6 ro add 2001:db8:130::/64 via 2001:db8:101::2 => 0
  161 test ns1: ip -6 route get fibmatch 2001:db8:130::1 => 0
  162 test ns1: ip link del dev veth1 => 0
  163 test ns1: ip -6 route get fibmatch 2001:db8:130::1 => 2
  164 test ns1: ip -6 ro ls match 2001:db8:101::/64 => empty

case t#17 g 170 "carrier off: linkdown on the routes through the device"
  170 setup ns1: ip -6 addr add dev dummy1 2001:db8:150::1/64 => 0
  171 setup ns1: ip link set dev dummy1 carrier off => 0
  172 test ns1: ip -6 route get fibmatch 2001:db8:150::2 | grep -q linkdown => 0
  173 test ns1: ip -6 ro ls match 2001:db8:150::/64 => = "2001:db8:150::/64 dev dummy1 proto kernel metric 256 linkdown"
  174 setup ns1: ip link set dev dummy1 carrier on => 0
  175 test ns1: ip -6 route get fibmatch 2001:db8:150::2 | grep -q linkdown => 1

case t#18 g 180 "a case not run that takes a link down"
  180 setup ns1: ip link set dev dummy1 down => 0
  181 test ns1: ip -6 ro add 2001:db8:140::/64 via 2001:db8:103::2 hoplimit 5 => 0

case t#19 g 190 "reads what that case changed"
  190 test ns1: ip -6 route get fibmatch 2001:db8:150::2 => 2

case t#20 g 200 "a local address matches its local route, never linkdown"
  200 env route_setup
  201 test ns1: ip -6 route get fibmatch 2001:db8:101::1 | grep -q local => 0
  202 setup ns1: ip link add dummy2 type dummy
  203 setup ns1: ip link set dummy2 up
  204 setup ns1: ip -6 addr add dev dummy2 2001:db8:160::1/64 => 0
  205 setup ns1: ip link set dev dummy2 carrier off => 0
  206 test ns1: ip -6 route get fibmatch 2001:db8:160::1 | grep -q linkdown => 1
  207 test ns1: ip -6 route get fibmatch 2001:db8:160::2 | grep -q linkdown => 0

case t#21 g 210 "a veth's address is in DAD"
  210 setup ns1: ip -6 addr add dev veth3 2001:db8:170::1/64 => 0
  211 test ns1: ip -6 route get fibmatch 2001:db8:170::1 => 0

case t#22 g 220 "a multipath leg on a device taken down is dead; all legs down: the route goes"
  220 env route_setup
  221 setup ns1: ip link add dummy3 type dummy
  222 setup ns1: ip link set dummy3 up
  223 setup ns1: ip -6 addr add dev dummy3 2001:db8:180::1/64 => 0
  224 setup ns1: ip -6 ro add 2001:db8:190::/64 nexthop via 2001:db8:101::2 nexthop via 2001:db8:180::2 => 0
  225 setup ns1: ip link set dev dummy3 down => 0
  226 test ns1: ip -6 route get fibmatch 2001:db8:190::1 oif dummy3 => 2
  227 test ns1: ip -6 route get fibmatch 2001:db8:190::1 oif veth1 => 0
  228 test ns1: ip -6 route get fibmatch 2001:db8:190::1 | grep dummy3 | grep -q 'dead linkdown' => 0
  229 setup ns1: ip link set dev dummy3 up => 0
  230 test ns1: ip -6 route get fibmatch 2001:db8:190::1 | grep dummy3 | grep -q 'dead linkdown' => 1
  231 setup ns1: ip link set dev veth1 down => 0
  232 setup ns1: ip link set dev dummy3 down => 0
  233 test ns1: ip -6 route get fibmatch 2001:db8:190::1 => 2
  234 test ns1: ip -6 ro ls match 2001:db8:190::/64 => empty

case t#23 g 240 "an mtu metric, dropped by a replace without one; an unknown congctl"
  240 env route_setup
  241 test ns1: ip -6 ro add 2001:db8:200::/64 via 2001:db8:101::2 mtu 1400 => 0
  242 test ns1: ip -6 ro ls match 2001:db8:200::/64 => = "2001:db8:200::/64 via 2001:db8:101::2 dev veth1 metric 1024 mtu 1400"
  243 test ns1: ip -6 ro replace 2001:db8:200::/64 via 2001:db8:101::2 => 0
  244 test ns1: ip -6 ro ls match 2001:db8:200::/64 => = "2001:db8:200::/64 via 2001:db8:101::2 dev veth1 metric 1024"
  245 test ns1: ip -6 ro add 2001:db8:201::/64 via 2001:db8:101::2 congctl lock foo => 2
`

// TestFib6Verdicts checks the runner's verdicts on cases with known
// answers: a wrong expectation disagrees (naming the line and both
// results); an append makes ECMP siblings, listed as one multipath
// route; a replace follows the profile (the 5.6 fix against the 4.2-5.5
// quirk); an RTA_MULTIPATH request makes every leg before it inserts
// any (an invalid leg changes nothing), refuses dev-only and repeated
// legs; a gateway that is a local address is refused; dsfield is
// refused from 6.1 and not expressible before.
func TestFib6Verdicts(t *testing.T) {
	f, err := cases.Parse("fib.txt", []byte(fibFile))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		profile string
		want    []string
	}{
		{"linux-6.1", []string{
			"t#1 DISAGREES: the assertion at line 11 (ip -6 ro add 2001:db8:104::/64 via 2001:db8:103::2): the script wants 0, the model gives exit 2",
			"t#2 DISAGREES: the assertion at line 20 (ip -6 ro ls match 2001:db8:104::/64 | sed -e 's/ pref medium//'): the script wants = \"2001:db8:104::/64 via 2001:db8:103::2 dev veth3 metric 1024\", the model gives \"2001:db8:104::/64 via 2001:db8:101::2 dev veth1 metric 1024\"",
			"t#3 agrees",
			"t#4 DISAGREES: the assertion at line 40 (ip -6 ro ls match 2001:db8:104::/64): the script wants = \"x\", the model gives \"2001:db8:104::/64 metric 1024 nexthop via 2001:db8:101::2 dev veth1 weight 1 nexthop via 2001:db8:103::2 dev veth3 weight 1\"",
			"t#5 agrees",
			"t#6 agrees",
			"t#7 agrees",
			"t#8 agrees",
			"t#9 agrees",
			"t#10 agrees",
			"t#11 agrees",
			"t#12 agrees",
			"t#13 agrees",
			"t#14 agrees",
			"t#15 agrees",
			"t#16 agrees",
			"t#17 agrees",
			"t#18 not expressible: RTAX metrics",
			"t#19 not expressible: the state of an earlier case it cannot run",
			"t#20 agrees",
			"t#21 not expressible: route lookups (ip route get) of a local address during DAD or on a device that is down",
			"t#22 agrees",
			"t#23 agrees",
		}},
		{"linux-4.12", []string{
			"t#1 DISAGREES: the assertion at line 11 (ip -6 ro add 2001:db8:104::/64 via 2001:db8:103::2): the script wants 0, the model gives exit 2",
			"t#2 DISAGREES: the assertion at line 20 (ip -6 ro ls match 2001:db8:104::/64 | sed -e 's/ pref medium//'): the script wants = \"2001:db8:104::/64 via 2001:db8:103::2 dev veth3 metric 1024\", the model gives \"2001:db8:104::/64 via 2001:db8:101::2 dev veth1 metric 1024\"",
			"t#3 agrees",
			"t#4 DISAGREES: the assertion at line 40 (ip -6 ro ls match 2001:db8:104::/64): the script wants = \"x\", the model gives \"2001:db8:104::/64 metric 1024 nexthop via 2001:db8:101::2 dev veth1 weight 1 nexthop via 2001:db8:103::2 dev veth3 weight 1\"",
			// 4.2-5.5: the dev-only route is added beside the gateway route
			"t#5 DISAGREES: the assertion at line 53 (ip -6 ro ls match 2001:db8:104::/64 | sed -e 's/ pref medium//'): the script wants = \"2001:db8:104::/64 dev veth3 metric 1024\", the model gives \"2001:db8:104::/64 via 2001:db8:101::2 dev veth1 metric 1024 2001:db8:104::/64 dev veth3 metric 1024\"",
			"t#6 agrees",
			"t#7 not expressible: RTAX metrics (not read before 5.10)",
			"t#8 agrees",
			"t#9 agrees",
			"t#10 agrees",
			"t#11 agrees",
			"t#12 not expressible: attribute validation (RTA_DSFIELD) (before 6.1)",
			// addrconf, fib6_ifdown() and lookups were read at 5.10 and 6.12
			"t#13 not expressible: address events (addrconf prefix routes) (not read before 5.10) + route lookups (ip route get) (not read before 5.10)",
			"t#14 not expressible: address events (addrconf prefix routes) (not read before 5.10) + sysctls (not read before 5.10) + link events (admin down) (not read before 5.10) + the state of an earlier case it cannot run",
			"t#15 not expressible: sysctls (not read before 5.10) + link events (admin down) (not read before 5.10) + the state of an earlier case it cannot run",
			"t#16 not expressible: route lookups (ip route get) (not read before 5.10) + link events (unregister) (not read before 5.10) + the state of an earlier case it cannot run",
			"t#17 not expressible: address events (addrconf prefix routes) (not read before 5.10) + link events (carrier) (not read before 5.10) + route lookups (ip route get) (not read before 5.10) + the state of an earlier case it cannot run",
			"t#18 not expressible: link events (admin down) (not read before 5.10) + RTAX metrics + the state of an earlier case it cannot run",
			"t#19 not expressible: route lookups (ip route get) (not read before 5.10) + the state of an earlier case it cannot run",
			"t#20 not expressible: route lookups (ip route get) (not read before 5.10) + address events (addrconf prefix routes) (not read before 5.10) + link events (carrier) (not read before 5.10)",
			"t#21 not expressible: address events (addrconf prefix routes) (not read before 5.10) + route lookups (ip route get) (not read before 5.10) + the state of an earlier case it cannot run",
			"t#22 not expressible: address events (addrconf prefix routes) (not read before 5.10) + link events (admin down) (not read before 5.10) + route lookups (ip route get) (not read before 5.10)",
			"t#23 not expressible: RTAX metrics (not read before 5.10)",
		}},
	}
	for _, tc := range tests {
		t.Run(tc.profile, func(t *testing.T) {
			res, err := runFib6(f, lookup(t, tc.profile))
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, r := range res {
				got = append(got, verdictText(r))
			}
			if !slices.Equal(got, tc.want) {
				t.Errorf("verdicts\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(tc.want, "\n"))
			}
		})
	}
}

func verdictText(r Result) string {
	s := r.Case.ID() + " " + r.Verdict.String()
	switch r.Verdict {
	case NotExpressible:
		s += ": " + strings.Join(r.Missing, " + ")
	case Disagree:
		s += ": " + r.Why
	}
	return s
}

const arpCase = `suite arp_ndisc_untracked_subnets
script t.sh
version 1
source test
exact no
covers 6.1

case arp#1 arp 10 "accept=%d, sender %s"
  1 netns R
  1 netns H
  2 setup R: ip link add name vr type veth peer name vh
  3 setup R: ip link set dev vh netns H
  4 setup R: ip addr add 10.0.10.1/24 dev vr
  5 setup H: ip addr add %s/24 dev vh
  6 setup R: sysctl -w net.ipv4.conf.vr.arp_accept=%d
  7 do H: arping -A -I vh -U %s -c1
  8 test R: ip neigh get %s dev vr => %s
`

// TestNeighVerdicts runs a gratuitous ARP reply into arp_accept 0, 1, 2
// with a sender on and off the subnet: what model/neigh says on 6.1
// (arp_accept=2 checks the subnet) and on 5.15 (any non-zero value
// accepts), against what a script would assert.
func TestNeighVerdicts(t *testing.T) {
	tests := []struct {
		profile string
		accept  int
		sender  string
		want    string // the script's assertion
		verdict Verdict
	}{
		{"linux-6.1", 0, "10.0.10.2", "empty", Agree},
		{"linux-6.1", 1, "10.0.10.2", "nonempty", Agree},
		{"linux-6.1", 1, "10.0.10.2", "empty", Disagree},
		{"linux-6.1", 2, "10.0.11.3", "empty", Agree},
		{"linux-6.1", 2, "10.0.10.3", "nonempty", Agree},
		{"linux-5.15", 2, "10.0.11.3", "nonempty", Agree},
	}
	for _, tc := range tests {
		name := fmt.Sprintf("%s accept=%d %s %s", tc.profile, tc.accept, tc.sender, tc.want)
		t.Run(name, func(t *testing.T) {
			text := fmt.Sprintf(arpCase, tc.accept, tc.sender, tc.sender, tc.accept, tc.sender, tc.sender, tc.want)
			f, err := cases.Parse("arp.txt", []byte(text))
			if err != nil {
				t.Fatal(err)
			}
			res, err := runNeigh(f, lookup(t, tc.profile))
			if err != nil {
				t.Fatal(err)
			}
			if res[0].Verdict != tc.verdict {
				t.Errorf("verdict %s (%s %v), want %s", res[0].Verdict, res[0].Why, res[0].Missing, tc.verdict)
			}
		})
	}
}

// TestDumpOrder checks the walk order listings use: inner prefixes
// before the prefix holding them, disjoint ones by address, list order
// at one prefix.
func TestDumpOrder(t *testing.T) {
	lines := []string{
		"default via 2001:db8:1::1 dev eth0",
		"2001:db8:2::/64 dev eth1",
		"2001:db8:1::/64 dev eth0 proto kernel metric 256",
		"2001:db8:1:0:5::/80 via 2001:db8:1::9 dev eth0",
		"2001:db8:2::/64 via 2001:db8:2::8 dev eth1",
		"2001:db8:2:0:5::/80 via 2001:db8:2::9 dev eth1",
	}
	var rs []fib6.Route
	for _, l := range lines {
		r, err := fib6.ParseRoute(l)
		if err != nil {
			t.Fatal(err)
		}
		rs = append(rs, r)
	}
	dumpOrder(rs)
	var got []string
	for _, r := range rs {
		got = append(got, r.String())
	}
	want := []string{
		"2001:db8:1:0:5::/80 via 2001:db8:1::9 dev eth0 metric 1024",
		"2001:db8:1::/64 dev eth0 proto kernel metric 256",
		"2001:db8:2:0:5::/80 via 2001:db8:2::9 dev eth1 metric 1024",
		"2001:db8:2::/64 dev eth1 metric 1024",
		"2001:db8:2::/64 via 2001:db8:2::8 dev eth1 metric 1024",
		"default via 2001:db8:1::1 dev eth0 metric 1024",
	}
	if !slices.Equal(got, want) {
		t.Errorf("order\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

// FuzzParseRouteArgs feeds ip route lines, multipath ones among them,
// and ip address lines to the runner's parsers: an error or a result,
// never a panic.
func FuzzParseRouteArgs(f *testing.F) {
	for _, s := range []string{
		"2001:db8:104::/64 nexthop via 2001:db8:101::2 nexthop via 2001:db8:103::2",
		"2001:db8:104::/64 nexthop via inet6 2001:db8:101::2 dev veth1 weight 2",
		"2001:db8:102::/64 dsfield 0x04 via 2001:db8:101::2",
		"unreachable 2001:db8:104::/64 metric 512 table 100",
		"default nexthop",
		"dev dummy2 2001:db8:104::1 peer 2001:db8:104::2 metric 260",
		"dev dummy1 2001:db8:104::1/64 metric 257 nodad",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, line string) {
		ra, err := parseRouteArgs(strings.Fields(line))
		if err == nil && ra.family != 4 && ra.family != 6 {
			t.Errorf("%q: family %d", line, ra.family)
		}
		c, fam, miss, err := parseAddrCmd("change", strings.Fields(line))
		if err == nil && miss == "" && fam == 6 && (!c.addr.pfx.IsValid() || c.dev == "") {
			t.Errorf("%q: address %v on %q", line, c.addr.pfx, c.dev)
		}
	})
}
