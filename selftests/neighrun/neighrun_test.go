package neighrun

import (
	"fmt"
	"testing"

	"raceroute/profile"
	"raceroute/selftests/cases"
	"raceroute/selftests/verdict"
)

func lookup(t *testing.T, name string) profile.Profile {
	t.Helper()
	p, err := profile.Lookup(name)
	if err != nil {
		t.Fatal(err)
	}
	return p
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
		verdict verdict.Verdict
	}{
		{"linux-6.1", 0, "10.0.10.2", "empty", verdict.Agree},
		{"linux-6.1", 1, "10.0.10.2", "nonempty", verdict.Agree},
		{"linux-6.1", 1, "10.0.10.2", "empty", verdict.Disagree},
		{"linux-6.1", 2, "10.0.11.3", "empty", verdict.Agree},
		{"linux-6.1", 2, "10.0.10.3", "nonempty", verdict.Agree},
		{"linux-5.15", 2, "10.0.11.3", "nonempty", verdict.Agree},
	}
	for _, tc := range tests {
		name := fmt.Sprintf("%s accept=%d %s %s", tc.profile, tc.accept, tc.sender, tc.want)
		t.Run(name, func(t *testing.T) {
			text := fmt.Sprintf(arpCase, tc.accept, tc.sender, tc.sender, tc.accept, tc.sender, tc.sender, tc.want)
			f, err := cases.Parse("arp.txt", []byte(text))
			if err != nil {
				t.Fatal(err)
			}
			res, err := Run(f, lookup(t, tc.profile))
			if err != nil {
				t.Fatal(err)
			}
			if res[0].Verdict != tc.verdict {
				t.Errorf("verdict %s (%s %v), want %s", res[0].Verdict, res[0].Why, res[0].Missing, tc.verdict)
			}
		})
	}
}

const ndiscCase = `suite arp_ndisc_untracked_subnets
script t.sh
version 1
source test
exact no
covers 6.1

case ndisc#1 ndisc 10 "accept_untracked_na=%d"
  1 netns R
  1 netns H
  2 setup R: ip link add name vr type veth peer name vh netns H
  3 setup H: sysctl -qw net.ipv6.conf.vh.ndisc_notify=%d
  4 setup R: sysctl -w net.ipv6.conf.vr.forwarding=%d
  5 setup R: sysctl -w net.ipv6.conf.vr.drop_unsolicited_na=%d
  6 setup R: sysctl -w net.ipv6.conf.vr.accept_untracked_na=%d
  7 setup R: ip addr add 2001:db8:12::1/64 dev vr nodad
  8 setup H: ip addr add %s/64 dev vh%s
  9 test R: ip -6 neigh show to %s dev vr nud stale => %s
`

// TestNDiscVerdicts runs the host's unsolicited NA at the end of DAD
// (ndisc_notify) into a router's forwarding, drop_unsolicited_na and
// accept_untracked_na: what model/neigh says against what a script
// would assert, on 6.1 (accept_untracked_na 0, 1, 2) and on 5.15 (no
// such sysctl: an NA never creates an entry).
func TestNDiscVerdicts(t *testing.T) {
	tests := []struct {
		profile                   string
		notify, fwd, drop, accept int
		host, nodad               string
		want                      string
		verdict                   verdict.Verdict
	}{
		{"linux-6.1", 1, 1, 0, 0, "2001:db8:12::2", "", "empty", verdict.Agree},
		{"linux-6.1", 1, 1, 0, 1, "2001:db8:12::2", "", "nonempty", verdict.Agree},
		{"linux-6.1", 1, 1, 0, 1, "2001:db8:12::2", "", "empty", verdict.Disagree},
		{"linux-6.1", 1, 1, 0, 2, "2001:db8:13::4", "", "empty", verdict.Agree},
		{"linux-6.1", 1, 1, 0, 2, "2001:db8:12::3", "", "nonempty", verdict.Agree},
		// not forwarding: accept_untracked_na is not read
		{"linux-6.1", 1, 0, 0, 1, "2001:db8:12::2", "", "empty", verdict.Agree},
		// drop_unsolicited_na drops it before
		{"linux-6.1", 1, 1, 1, 1, "2001:db8:12::2", "", "empty", verdict.Agree},
		// no NA: ndisc_notify off, or an address added with nodad
		{"linux-6.1", 0, 1, 0, 1, "2001:db8:12::2", "", "empty", verdict.Agree},
		{"linux-6.1", 1, 1, 0, 1, "2001:db8:12::2", " nodad", "empty", verdict.Agree},
		{"linux-5.15", 1, 1, 0, 1, "2001:db8:12::2", "", "empty", verdict.Agree},
	}
	for _, tc := range tests {
		name := fmt.Sprintf("%s notify=%d fwd=%d drop=%d accept=%d %s%s %s", tc.profile, tc.notify, tc.fwd, tc.drop, tc.accept, tc.host, tc.nodad, tc.want)
		t.Run(name, func(t *testing.T) {
			text := fmt.Sprintf(ndiscCase, tc.accept, tc.notify, tc.fwd, tc.drop, tc.accept, tc.host, tc.nodad, tc.host, tc.want)
			f, err := cases.Parse("ndisc.txt", []byte(text))
			if err != nil {
				t.Fatal(err)
			}
			res, err := Run(f, lookup(t, tc.profile))
			if err != nil {
				t.Fatal(err)
			}
			if res[0].Verdict != tc.verdict {
				t.Errorf("verdict %s (%s %v), want %s", res[0].Verdict, res[0].Why, res[0].Missing, tc.verdict)
			}
		})
	}
}
