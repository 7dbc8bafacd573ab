package lab

import (
	"slices"
	"strings"
	"testing"

	"raceroute/profile"
	"raceroute/scenario"
)

// neighBase is a small neigh scenario the lab can host; the refusal
// cases break it.
const neighBase = `name: base
model: neigh
check: {strategy: random, horizon: 3s, runs: 50}
hosts:
  - name: client
    interfaces:
      - name: eth0
        mac: 02:00:00:00:00:01
        addrs: [10.0.0.1/24]
        sysctl: {locktime: 1s, arp_accept: 0}
    neigh:
      - 10.0.0.2 dev eth0 lladdr 02:00:00:00:00:02 STALE age 10s
  - name: old
    interfaces:
      - name: eth0
        mac: 02:00:00:00:00:02
        addrs: [10.0.0.3/24, 10.0.0.2/24]
  - name: new
    interfaces:
      - name: eth0
        mac: 02:00:00:00:00:03
        addrs: [10.0.0.4/24]
moves:
  - {ip: 10.0.0.2, from: old, to: new, at: 100ms}
arp:
  - name: garp
    from: new
    ip: 10.0.0.2
    start: 200ms
    preset: arping-A
    count: 1
flows:
  - {name: ping, from: client, to: 10.0.0.2, proto: icmp, every: 500ms}
properties:
  - converges: {host: client, ip: 10.0.0.2, within: 2s}
expect: {"*": holds}
`

// fib6Base is a small fib6 scenario the lab can host.
const fib6Base = `name: base6
model: fib6
host:
  devices: [lo, eth0, eth1]
  routes: |
    unreachable 2001:db8::/48 dev lo metric 1024
    2001:db8:0:10::/64 via fe80::1 dev eth0 metric 1024
actors:
  - name: agent
    ops: [replace 2001:db8:0:10::/64 via fe80::2 dev eth1 metric 1024]
  - name: flow
    flow: {dst: "2001:db8:0:10::1", packets: 2}
properties:
  - clones-agree
expect: {"*": holds}
`

// fib6Tail is the end of fib6Base from its agent's ops on, which
// nexthopTail replaces with a nexthop op (and the refusal of kernels
// without nexthop objects the library requires then).
const fib6Tail = "    ops: [replace 2001:db8:0:10::/64 via fe80::2 dev eth1 metric 1024]\n  - name: flow\n    flow: {dst: \"2001:db8:0:10::1\", packets: 2}\nproperties:\n  - clones-agree\nexpect: {\"*\": holds}\n"

func nexthopTail(op string) string {
	return strings.Replace(strings.Replace(fib6Tail, "replace 2001:db8:0:10::/64 via fe80::2 dev eth1 metric 1024", op, 1), `{"*": holds}`, `{"nexthop-objects=no": refused, "*": holds}`, 1)
}

// testHost is a host with the given profile, iputils arping, and every
// sysctl but those in missing.
func testHost(t *testing.T, prof string, missing ...string) Host {
	t.Helper()
	p, err := profile.Lookup(prof)
	if err != nil {
		t.Fatal(err)
	}
	return Host{Release: "test", Profile: p, Arping: "/usr/sbin/arping", Keepalived: "/usr/sbin/keepalived", HasSysctl: func(path string) bool {
		for _, m := range missing {
			if strings.HasSuffix(path, m) {
				return false
			}
		}
		return true
	}}
}

func TestPrepareRefuses(t *testing.T) {
	tests := []struct {
		name      string
		base      string
		from, to  string
		host      Host
		want      string // in the reason
		hostsFine bool   // the unbroken base is hostable on host
	}{
		{name: "arp_accept=2 before 6.1", base: neighBase, from: "arp_accept: 0", to: "arp_accept: 2",
			host: testHost(t, "linux-5.15"), want: "arp_accept=2 (create an entry only for a sender in the interface's subnet) needs Linux 6.1"},
		{name: "a sysctl the kernel lacks, not at its default", base: neighBase, from: "locktime: 1s", to: "locktime: 1s, mcast_resolicit: 1",
			host: testHost(t, "linux-6.12", "mcast_resolicit"), want: "this kernel has no sysctl net.ipv4.neigh.default.mcast_resolicit"},
		{name: "locktime off the USER_HZ grid", base: neighBase, from: "locktime: 1s", to: "locktime: 1005ms",
			host: testHost(t, "linux-6.12"), want: "locktime is 1005 ms, but the kernel's sysctl locktime counts in units of 10 ms"},
		{name: "delay_first_probe_time in seconds", base: neighBase, from: "locktime: 1s", to: "locktime: 1s, delay_first_probe_time: 5500ms",
			host: testHost(t, "linux-6.12"), want: "delay_first_probe_time counts in units of 1000 ms"},
		{name: "interface name too long", base: neighBase, from: "      - name: eth0\n        mac: 02:00:00:00:00:03", to: "      - name: a-very-long-ifname\n        mac: 02:00:00:00:00:03",
			host: testHost(t, "linux-6.12"), want: "new/a-very-long-ifname: the kernel takes names of 1 to 15 characters"},
		{name: "multicast MAC", base: neighBase, from: "mac: 02:00:00:00:00:03", to: "mac: 03:00:00:00:00:03",
			host: testHost(t, "linux-6.12"), want: "MAC 03:00:00:00:00:03 is not a unicast address"},
		{name: "arping preset without iputils arping", base: neighBase,
			host: func() Host {
				h := testHost(t, "linux-6.12")
				h.Arping, h.ArpingProblem = "", "arping is not installed"
				return h
			}(),
			want: "ARP sender garp (preset arping-A) runs iputils arping, as the agents do: arping is not installed"},
		{name: "keepalived preset without keepalived", base: neighBase, from: "preset: arping-A\n    count: 1", to: "preset: keepalived",
			host: func() Host {
				h := testHost(t, "linux-6.12")
				h.Keepalived, h.KeepalivedProblem = "", "keepalived is not installed"
				return h
			}(),
			want: "ARP sender garp (preset keepalived) runs keepalived itself: keepalived is not installed"},
		{name: "a transient initial state", base: neighBase, from: "STALE age 10s", to: "DELAY",
			host: testHost(t, "linux-6.12"), want: "is DELAY: the lab sets entries as an administrator does"},
		{name: "tcp flow with a count", base: neighBase, from: "proto: icmp, every: 500ms", to: "proto: tcp, every: 500ms, count: 3",
			host: testHost(t, "linux-6.12"), want: "a real TCP connection cannot be stopped after 3 transmissions"},
		{name: "a udp flow", base: neighBase, from: "proto: icmp, every: 500ms", to: "proto: udp, every: 500ms",
			host: testHost(t, "linux-6.12"), want: "is UDP: the lab drives icmp and tcp flows only"},
		{name: "gateway that is not link-local", base: fib6Base, from: "via fe80::2 dev eth1", to: "via 2001:db8:ff::2 dev eth1",
			host: testHost(t, "linux-6.12"), want: "the gateway is not link-local"},
		{name: "a nexthop object on lo", base: fib6Base, from: fib6Tail, to: nexthopTail("nexthop add id 1 dev lo"),
			host: testHost(t, "linux-6.12"), want: "nexthop objects on lo: nexthop id 1 dev lo: a next hop on lo has no peer to answer it", hostsFine: true},
		{name: "a nexthop gateway that is not link-local", base: fib6Base, from: fib6Tail, to: nexthopTail("nexthop add id 1 via 2001:db8:ff::2 dev eth1"),
			host: testHost(t, "linux-6.12"), want: "nexthop id 1 via 2001:db8:ff::2 dev eth1: the gateway is not link-local", hostsFine: true},
		{name: "gateway without a device", base: fib6Base, from: "via fe80::2 dev eth1", to: "via fe80::2",
			host: testHost(t, "linux-6.12"), want: "a gateway route needs `dev` in the lab"},
		{name: "more devices than the lab builds", base: fib6Base, from: "devices: [lo, eth0, eth1]",
			to:   "devices: [lo, eth0, eth1, d2, d3, d4, d5, d6, d7, d8, d9, d10, d11, d12, d13, d14, d15]",
			host: testHost(t, "linux-6.12"), want: "16 devices besides lo: the lab gives each a peer namespace, and builds at most 16 namespaces"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			good, err := scenario.Parse("base.yaml", []byte(tc.base))
			if err != nil {
				t.Fatal(err)
			}
			if _, err := Prepare(good, good.Variants[0], tc.host); err != nil && tc.from != "" {
				t.Fatalf("the unbroken scenario is refused: %v", err)
			}
			data := tc.base
			if tc.from != "" {
				if !strings.Contains(data, tc.from) {
					t.Fatalf("base has no %q", tc.from)
				}
				data = strings.Replace(data, tc.from, tc.to, 1)
			}
			sc, err := scenario.Parse("broken.yaml", []byte(data))
			if err != nil {
				t.Fatalf("the broken scenario does not parse: %v", err)
			}
			l, err := Prepare(sc, sc.Variants[0], tc.host)
			if err == nil {
				t.Fatalf("Prepare accepted it (%+v), want a refusal saying %q", l, tc.want)
			}
			if !IsRefused(err) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Prepare: %v\nwant a refusal saying %q", err, tc.want)
			}
		})
	}
}

// TestPrepareHostsNoGapAndHeal: a no-gap property (judged on the route
// events) and a writer's heal op (played as apply's heal) are hosted.
func TestPrepareHostsNoGapAndHeal(t *testing.T) {
	data := strings.Replace(fib6Base, "  - clones-agree\n", "  - clones-agree\n  - no-gap: 2001:db8:0:10::/64\n", 1)
	data = strings.Replace(data, "metric 1024]\n", "metric 1024, heal 2001:db8:0:10::/64]\n", 1)
	if data == fib6Base {
		t.Fatal("the base scenario changed: no property or op to add to")
	}
	sc, err := scenario.Parse("nogap.yaml", []byte(data))
	if err != nil {
		t.Fatal(err)
	}
	l, err := Prepare(sc, sc.Variants[0], testHost(t, "linux-6.12"))
	if err != nil {
		t.Fatalf("Prepare: %v", err)
	}
	if !slices.Contains(l.Properties, "no-gap") {
		t.Errorf("properties %v, want no-gap among them", l.Properties)
	}
}

func TestPrepareSaysHowLong(t *testing.T) {
	sc, err := scenario.Parse("base.yaml", []byte(neighBase))
	if err != nil {
		t.Fatal(err)
	}
	l, err := Prepare(sc, sc.Variants[0], testHost(t, "linux-6.12"))
	if err != nil {
		t.Fatal(err)
	}
	// 3 s of horizon in real time, after the initial entry is made
	// locktime + 250 ms old.
	if !l.Timed || l.Duration < 3*1e9+1250*1e6 {
		t.Errorf("Timed %v, Duration %s: want a timed run of at least 4.25 s", l.Timed, l.Duration)
	}
	if len(l.Properties) != 1 || !strings.HasPrefix(l.Properties[0], "converges(") {
		t.Errorf("properties %v", l.Properties)
	}
}

// An IPv6 segment is refused with its reason: the lab runs ARP only.
func TestPrepareRefusesIPv6(t *testing.T) {
	sc, err := scenario.Find("ipv6-na-failover")
	if err != nil {
		t.Fatal(err)
	}
	_, err = Prepare(sc, sc.Variants[0], testHost(t, "linux-6.12"))
	if err == nil || !IsRefused(err) || !strings.Contains(err.Error(), "is IPv6: the lab runs ARP segments only") {
		t.Fatalf("Prepare: %v, want the IPv6 refusal", err)
	}
}
