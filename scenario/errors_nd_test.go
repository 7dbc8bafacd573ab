package scenario

import "testing"

// goodNeigh6 is an IPv6 segment: an NA sender, a udp flow with
// MSG_CONFIRM, and every property kind.
const goodNeigh6 = `name: n6
model: neigh
check: {horizon: 20s}
hosts:
  - name: client
    interfaces:
      - name: eth0
        mac: 02:00:00:00:00:01
        addrs: [2001:db8::1/64]
        sysctl: {retrans_time_ms: 1s, drop_unsolicited_na: 0}
    neigh:
      - 2001:db8::2 dev eth0 lladdr 02:00:00:00:00:02 STALE
  - name: old
    interfaces:
      - name: eth0
        mac: 02:00:00:00:00:02
        addrs: [2001:db8::3/64, 2001:db8::2/64]
  - name: new
    interfaces:
      - name: eth0
        mac: 02:00:00:00:00:03
        addrs: [2001:db8::4/64]
moves:
  - {ip: 2001:db8::2, from: old, to: new, at: 1s}
ndisc:
  - name: na
    from: new
    ip: 2001:db8::2
    override: true
    count: 2
    interval: 1s
    start: 1s
flows:
  - name: dns
    from: client
    to: 2001:db8::2
    proto: udp
    confirm: true
    rtt: 1ms
properties:
  - converges: {host: client, ip: 2001:db8::2, within: 5s}
  - announcement-taken: {host: client, ip: 2001:db8::2}
expect: {"*": holds}
`

func TestErrorsNeigh6(t *testing.T) {
	n := goodNeigh6
	runErrCases(t, []errCase{
		{name: "two families on one interface", base: n, from: "[2001:db8::3/64, 2001:db8::2/64]", to: "[2001:db8::3/64, 10.0.0.2/24]", at: "10.0.0.2/24",
			msg: "addrs: 10.0.0.2/24 is not of the family of 2001:db8::3/64: the model keeps one family per interface"},
		{name: "an IPv4 setting on an IPv6 interface", base: n, from: "drop_unsolicited_na: 0}", to: "arp_accept: 1}", at: "arp_accept",
			msg: "sysctl arp_accept is an IPv4 interface's setting; this interface is IPv6"},
		{name: "a sysctl the model does not implement", base: n, from: "drop_unsolicited_na: 0}", to: "ndisc_notify: 1}", at: "ndisc_notify",
			msg: `unknown sysctl "ndisc_notify": the model implements only`},
		{name: "drop_unsolicited_na 2", base: n, from: "drop_unsolicited_na: 0}", to: "drop_unsolicited_na: 2}", at: "2}",
			msg: `drop_unsolicited_na: want a whole number from 0 to 1, got "2"`},
		{name: "accept_untracked_na 3", base: n, from: "drop_unsolicited_na: 0}", to: "accept_untracked_na: 3}", at: "3}",
			msg: `accept_untracked_na: want a whole number from 0 to 2, got "3"`},
		{name: "an ARP sender on an IPv6 interface", base: n, from: "ndisc:\n", to: "arp:\n", at: "new\n    ip",
			msg: "from: new is an IPv6 interface, which announces with unsolicited NAs (use `ndisc:`)"},
		{name: "an ARP preset on an ndisc sender", base: n, from: "    override: true\n    count: 2\n    interval: 1s\n", to: "    preset: arping-A\n", at: "arping-A",
			msg: "preset arping-A announces with ARP; an ndisc sender takes preset keepalived"},
		{name: "op on an ndisc sender", base: n, from: "    override: true\n", to: "    op: reply\n", at: "reply",
			msg: "op: an ndisc sender's frames are NAs"},
		{name: "override not a flag", base: n, from: "override: true", to: "override: maybe", at: "maybe",
			msg: `override: want true or false, got "maybe"`},
		{name: "confirm on a tcp flow", base: n, from: "proto: udp", to: "proto: tcp", at: "true\n    rtt",
			msg: "confirm: MSG_CONFIRM is a udp flow's (proto: udp)"},
		{name: "rtt on a udp flow without confirm", base: n, from: "    confirm: true\n", to: "", at: "1ms",
			msg: "rtt: a udp flow without confirm: true waits for no answer"},
		{name: "a flow to the other family", base: n, from: "to: 2001:db8::2\n    proto", to: "to: 10.0.0.9\n    proto", at: "10.0.0.9",
			msg: "to: 10.0.0.9 is not of the sending interface's family"},
		{name: "announcement-taken of the other family", base: n, from: "announcement-taken: {host: client, ip: 2001:db8::2}", to: "announcement-taken: {host: client, ip: 10.0.0.9}", at: "10.0.0.9",
			msg: "announcement-taken: 10.0.0.9 is not of client's family"},
	})
}
