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
