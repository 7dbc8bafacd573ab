package scenario

import (
	"slices"
	"testing"
)

// goodExc is a fib6 scenario with ICMP actors, a GC run and their
// properties.
const goodExc = `name: t
model: fib6
host:
  devices: [lo, eth0]
  routes: |
    2001:db8:0:10::/80 via fe80::1 dev eth0
  icmp: ["pmtu 2001:db8:0:10::2 mtu 1400"]
actors:
  - name: agent
    ops: [del 2001:db8:0:10::/80 via fe80::1 dev eth0]
  - name: ptb
    pmtu: {dst: "2001:db8:0:10::1", mtu: 1400}
  - name: rd
    redirect: {dst: "2001:db8:0:10::3", target: "fe80::9"}
  - name: gc
    gc: {after: 601s}
properties: [entries-with-route, no-cache-in-dump, {mtu-follows-path: "2001:db8:0:10::1"}, {no-cache-in-dump: strict}]
expect: {"*": holds}
`

// Errors of the ICMP actors, the GC run and their properties.
func TestErrorsExceptions(t *testing.T) {
	if _, err := Parse("good.yaml", []byte(goodExc)); err != nil {
		t.Fatalf("a good scenario: %v", err)
	}
	e := goodExc
	runErrCases(t, []errCase{
		{name: "pmtu without dst", base: e, from: `pmtu: {dst: "2001:db8:0:10::1", mtu: 1400}`, to: `pmtu: {mtu: 1400}`, at: "name: ptb", msg: "pmtu: want `dst:`"},
		{name: "pmtu dst not IPv6", base: e, from: `dst: "2001:db8:0:10::1", mtu`, to: `dst: "10.0.0.1", mtu`, at: `"10.0.0.1"`, msg: `pmtu dst "10.0.0.1" is not an IPv6 address`},
		{name: "pmtu mtu too big", base: e, from: "mtu: 1400}", to: "mtu: 1500}", at: "1500", msg: "pmtu mtu: want a whole number from 1280"},
		{name: "pmtu mtu not a number", base: e, from: "mtu: 1400}", to: "mtu: big}", at: "big", msg: "pmtu mtu: want a whole number from 1280"},
		{name: "pmtu with target", base: e, from: "mtu: 1400}", to: `mtu: 1400, target: "fe80::9"}`, at: `"fe80::9"}`, msg: "pmtu takes no target"},
		{name: "redirect with mtu", base: e, from: `target: "fe80::9"}`, to: `target: "fe80::9", mtu: 1400}`, at: "1400}\n  - name: gc", msg: "redirect takes no mtu"},
		{name: "redirect target global", base: e, from: `target: "fe80::9"`, to: `target: "2001:db8::9"`, at: `"2001:db8::9"`, msg: "want a link-local address"},
		{name: "two kinds", base: e, from: "    gc: {after: 601s}\n", to: "    gc: {after: 601s}\n    flow: {dst: \"2001:db8:0:10::5\"}\n", at: "name: gc", msg: "want exactly one of"},
		{name: "gc without after", base: e, from: "gc: {after: 601s}", to: "gc: {mtu_expires: 60s}", at: "name: gc", msg: "gc: want `after:`"},
		{name: "gc bad duration", base: e, from: "after: 601s", to: "after: soon", at: "soon", msg: `gc: after: want a duration such as 30s or 10m, got "soon"`},
		{name: "gc bad interval", base: e, from: "after: 601s", to: "after: 601s, gc_interval: -1s", at: "-1s", msg: "gc: gc_interval: want a duration"},
		{name: "host icmp malformed", base: e, from: `"pmtu 2001:db8:0:10::2 mtu 1400"`, to: `"pmtu 2001:db8:0:10::2 1400"`, at: `"pmtu 2001`, msg: "want `pmtu DST mtu N` or `redirect DST target ADDR`"},
		{name: "host icmp bad mtu", base: e, from: `"pmtu 2001:db8:0:10::2 mtu 1400"`, to: `"pmtu 2001:db8:0:10::2 mtu 99"`, at: `"pmtu 2001`, msg: "pmtu mtu: want a whole number from 1280"},
		{name: "pmtu and redirect for one destination", base: e, from: `redirect: {dst: "2001:db8:0:10::3"`, to: `redirect: {dst: "2001:db8:0:10::1"`, at: "name: rd", msg: "a Packet Too Big and a Redirect for the same destination"},
		{name: "mtu-follows-path without its address", base: e, from: `{mtu-follows-path: "2001:db8:0:10::1"}`, to: "mtu-follows-path", at: "mtu-follows-path, {no", msg: "mtu-follows-path needs its destination"},
		{name: "mtu-follows-path of no message", base: e, from: `{mtu-follows-path: "2001:db8:0:10::1"}`, to: `{mtu-follows-path: "2001:db8:0:10::9"}`, at: "{mtu-follows-path", msg: "is no destination of a flow or an ICMP message"},
		{name: "no-cache-in-dump bad kind", base: e, from: "{no-cache-in-dump: strict}", to: "{no-cache-in-dump: fast}", at: "fast", msg: `no-cache-in-dump "fast": want legacy`},
		{name: "no-cache-in-dump with more", base: e, from: "{no-cache-in-dump: strict}", to: "{no-cache-in-dump: strict, name: x}", at: "{no-cache-in-dump: strict, name", msg: "want {no-cache-in-dump: VALUE} alone"},
		{name: "pmtu under a host route", base: e, from: "    2001:db8:0:10::/80 via fe80::1 dev eth0\n", to: "    2001:db8:0:10::/80 via fe80::1 dev eth0\n    2001:db8:0:10::1/128 via fe80::1 dev eth0\n", at: "name: ptb", msg: "a /128 of its own"},
	})
}

// A fib6 file depends on the exception switches only when it has ICMP
// messages or a GC run: the others are resolved and checked as before.
func TestExceptionSwitchesOnlyWhereUsed(t *testing.T) {
	for _, c := range []struct {
		name, data string
		want       bool
	}{{"without", goodFIB6, false}, {"with", goodExc, true}} {
		sc, err := Parse("t.yaml", []byte(c.data))
		if err != nil {
			t.Fatal(err)
		}
		if got := slices.Contains(sc.Switches(), "exception-flush-on-replace"); got != c.want {
			t.Errorf("%s ICMP actors: depends on exception-flush-on-replace: %v, want %v (%v)", c.name, got, c.want, sc.Switches())
		}
	}
}
