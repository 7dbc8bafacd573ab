package selftests

import (
	"strings"
	"testing"

	"raceroute/profile"
	"raceroute/selftests/cases"
)

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
		"arp_ndisc_untracked_subnets 6.1.192":  {"linux-6.1 linux-6.6 ubuntu-24.04 debian-12", 8, 0, 0},
		"arp_ndisc_untracked_subnets 6.12.117": {"linux-6.12", 8, 0, 0},
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
