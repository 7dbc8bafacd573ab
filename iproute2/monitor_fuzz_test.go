package iproute2

import (
	"bytes"
	"strings"
	"testing"
)

// FuzzParseMonitor checks that the parser never panics, that every line
// error names a line of the input, and that what it reads renders to a
// line that reads back to the same rendering (FormatMonitor and
// ParseMonitor agree on everything the parser can produce).
func FuzzParseMonitor(f *testing.F) {
	for _, s := range []string{
		"(1) [22:30:00.447894] [RTCAH]- 2001:67c:1254:e:10::1 via fe80::a8b6:97ff:fe99:8ca8 dev re6stnet8 src 2001:67c:1254:e:63::1 metric 0 \\ cache users 2 used 1048 age 0sec",
		"(4) [22:32:32.532758] [RTCAH]+ unreachable 2001:67c:1254:e:10::1 dev lo metric 0 \\ cache error -101 users 1",
		"(2) [22:32:32.532755] [ROUTE]- 2001:67c:1254:e:10::/80 via fe80::f485:c1ff:feb4:f32a dev re6stnet-tcp proto babel src 2001:67c:1254:e:63::1 metric 1024",
		"[2016-06-11T22:30:00.447894] [ROUTE]Deleted 2001:db8::/64 dev eth0 proto kernel metric 256 pref medium",
		"Timestamp: Sat Jun 11 22:30:00 2016 447894 usec\n10.0.0.1 dev eth0 lladdr 52:54:00:12:34:56 REACHABLE",
		"2001:db8:1::/48 proto bird metric 1024\n\tnexthop via fe80::1 dev eth0 weight 1\n\tnexthop via fe80::2 dev eth1 weight 1",
		"3: veth0@if2: <BROADCAST,MULTICAST,UP,LOWER_UP> mtu 1500 qdisc noqueue state UP\n    link/ether 52:54:00:12:34:56 brd ff:ff:ff:ff:ff:ff",
		"2: eth0    inet 10.0.0.1/24 brd 10.0.0.255 scope global eth0\n       valid_lft forever preferred_lft forever",
		"[nsid 1][NEIGH]Deleted fe80::1 dev eth0 lladdr 52:54:00:12:34:56 router used 1/2/3 probes 1 STALE",
		"[ARP]reply 203.0.113.5 lladdr fa:16:3e:aa:bb:cc target 203.0.113.5 lladdr fa:16:3e:aa:bb:cc dev qg-1 ether fa:16:3e:aa:bb:cc > ff:ff:ff:ff:ff:ff gratuitous",
		"[NA]advert 2001:db8::5 lladdr fa:16:3e:aa:bb:cc dev eth0 override",
		"[OVERFLOW]receive buffer overflow (ENOBUFS): 1234 events lost\n[RESYNC]tables dumped again: 5 differences",
		"default via inet6 fe80::1 dev eth0\nblackhole default\nunreachable default dev lo metric 1024 error -101 pref medium",
		"[23:59:59.9] [ROUTE]= 10.0.0.0/8 dev eth0\n[00:00:00.1] 10.0.0.0/8 dev eth0 table 7",
		"netlink receive error No buffer space available (105)\nnetlink receive error Bad address (14)",
		`{"kind":"route","time":"2026-11-21T20:00:00.123456789Z","action":"del","text":"[nsid n1][ROUTE]Deleted 2001:db8::/64 via fe80::1 dev eth0 metric 1024"}`,
		`{"finding":{"detector":"x"}}` + "\n" + `{"text":"[LINK]2: \u001b: <UP>"}` + "\nfinding: x\n    evidence: y\nheal: z",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		recs, lineErrs, err := ParseMonitor(bytes.NewReader(data), MonitorOptions{Name: "fuzz"})
		if err != nil {
			return // a line over 1 MiB: not reachable with small inputs
		}
		lines := bytes.Count(data, []byte("\n")) + 1
		for _, le := range lineErrs {
			if le.Line < 1 || le.Line > lines {
				t.Fatalf("line error on line %d of %d: %v", le.Line, lines, le)
			}
			_ = le.Error()
		}
		for _, r := range recs {
			if r.Line < 1 || r.Line > lines {
				t.Fatalf("record on line %d of %d", r.Line, lines)
			}
			first := FormatMonitor(r, true)
			if strings.ContainsAny(first, "\n\r") {
				t.Fatalf("rendered record spans lines: %q", first)
			}
			again, errs, err := ParseMonitor(strings.NewReader(first), MonitorOptions{})
			if err != nil || len(errs) != 0 || len(again) != 1 {
				t.Fatalf("rendering %q of %+v reads back as %+v, %v, %v", first, r, again, errs, err)
			}
			if second := FormatMonitor(again[0], true); second != first {
				t.Fatalf("rendering is not stable:\n%q\n%q", first, second)
			}
		}
	})
}
