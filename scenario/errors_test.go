package scenario

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"raceroute/scenario/fib6file"
)

// goodNeigh is a small valid neigh scenario the error cases break.
const goodNeigh = `name: n
model: neigh
check: {horizon: 20s}
hosts:
  - name: client
    interfaces:
      - name: eth0
        mac: 02:00:00:00:00:01
        addrs: [10.0.0.1/24]
        sysctl: {locktime: 1s}
    neigh:
      - 10.0.0.2 dev eth0 lladdr 02:00:00:00:00:02 STALE
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
  - {ip: 10.0.0.2, from: old, to: new, at: 1s}
arp:
  - name: garp
    from: new
    ip: 10.0.0.2
    op: reply
    count: 2
    interval: 1s
    start: 1s
flows:
  - name: ping
    from: client
    to: 10.0.0.2
    every: 1s
  - name: ssh
    from: client
    to: 10.0.0.3
    proto: tcp
    rtt: 1ms..2ms
properties:
  - converges: {host: client, ip: 10.0.0.2, within: 5s}
  - no-blackhole-longer-than: {flow: ping, limit: 5s}
expect: {"*": holds}
`

// goodVariants is a valid fib6 scenario with variables and variants.
const goodVariants = `name: v
model: fib6
host:
  devices: [lo, eth0, eth1]
  routes: |
    unreachable 2001:db8::/48 dev lo
    2001:db8:0:10::/80 via fe80::1 dev eth0
vars: {old: "via fe80::1 dev eth0"}
actors:
  - name: agent
    modify:
      from: 2001:db8:0:10::/80 $old
      to: 2001:db8:0:10::/80 via fe80::2 dev eth1
      strategy: $strategy
  - name: flow
    flow: {dst: "2001:db8:0:10::1"}
properties: [clones-agree]
variants:
  - name: delete-add
    vars: {strategy: delete-add}
    expect: {"*": holds}
  - name: replace
    vars: {strategy: replace}
    expect: {"*": holds}
`

// errCase breaks a good scenario (base) by replacing the first from with
// to (or is base as it is without from, or to without base), and expects an error at the first character of at in the broken
// file (its line, and its column unless noCol: a block scalar's lines
// have none) whose message contains msg.
type errCase struct {
	name     string
	base     string
	from, to string
	at       string
	noCol    bool
	msg      string
}

// where is the expected "file:line:col:" of c in data.
func (c errCase) where(t *testing.T, data string) string {
	t.Helper()
	i := strings.Index(data, c.at)
	if i < 0 {
		t.Fatalf("test broken: %q not in the broken file", c.at)
	}
	line := 1 + strings.Count(data[:i], "\n")
	col := i - strings.LastIndexByte(data[:i], '\n')
	if c.noCol {
		return fmt.Sprintf("bad.yaml:%d:", line)
	}
	return fmt.Sprintf("bad.yaml:%d:%d: ", line, col)
}

func runErrCases(t *testing.T, cases []errCase) {
	t.Helper()
	for _, base := range []string{goodFIB6, goodNeigh, goodVariants} {
		if _, err := Parse("good.yaml", []byte(base)); err != nil {
			t.Fatalf("a good scenario: %v", err)
		}
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			data := c.to
			switch {
			case c.base != "" && c.from == "":
				data = c.base
			case c.base != "":
				if !strings.Contains(c.base, c.from) {
					t.Fatalf("test broken: %q not in the scenario", c.from)
				}
				data = strings.Replace(c.base, c.from, c.to, 1)
			}
			_, err := Parse("bad.yaml", []byte(data))
			if err == nil {
				t.Fatalf("no error, want %q", c.msg)
			}
			var se *Error
			if !errors.As(err, &se) {
				t.Fatalf("error %T %v is not a *scenario.Error", err, err)
			}
			want := c.where(t, data)
			if !strings.HasPrefix(err.Error(), want) || !strings.Contains(se.Msg, c.msg) {
				t.Fatalf("error\n  %v\nwant one starting %q and containing %q", err, want, c.msg)
			}
		})
	}
}

// Errors of the file as a whole, of the decoder and of the header.
func TestErrorsDocument(t *testing.T) {
	f, n, v := goodFIB6, goodNeigh, goodVariants
	bomb := "&a0 {name: h}"
	for k := 1; k <= 6; k++ {
		bomb = fmt.Sprintf("&a%d {<<: [%s%s]}", k, bomb, strings.Repeat(fmt.Sprintf(", *a%d", k-1), 9))
	}
	runErrCases(t, []errCase{
		{name: "empty file", to: "", at: "", noCol: true, msg: "the file holds no scenario"},
		{name: "only comments", to: "# nothing\n", at: "#", noCol: true, msg: "the file holds no scenario"},
		{name: "a list at the top", to: "- name: t\n", at: "- name", msg: "want a mapping with name:, model:, ... at the top of the file, got a list"},
		{name: "two documents", base: f, from: "name: t\n", to: "name: t\n---\nname: u\n", at: "---", msg: "a second YAML document"},
		{name: "not UTF-8", base: f, from: "name: t", to: "name: t\xff", at: "\xff", msg: "byte 0xff is not UTF-8 text"},
		{name: "control character", base: f, from: "model: fib6", to: "model: fib\x016", at: "\x01", msg: "control character U+0001"},
		{name: "byte-order mark inside", base: f, from: "model: fib6", to: "model: \ufefffib6", at: "\ufeff", msg: "byte-order mark"},
		{name: "yaml syntax", base: f, from: "actors:\n", to: "actors:\n  - [\n", at: "  - [", noCol: true, msg: "YAML: did not find expected node content"},
		{name: "yaml syntax on line 1", to: "name: [t\n", at: "name", noCol: true, msg: "YAML: "},
		{name: "unknown alias", base: f, from: "properties: [clones-agree]", to: "properties: *props", at: "properties", noCol: true, msg: "alias *props: no anchor &props before it"},
		{name: "alias cycle", base: f, from: "host:\n", to: "host: &h\n  <<: *h\n", at: "*h", msg: "alias *h refers to the value that contains it"},
		{name: "alias bomb", base: f, from: "host:\n", to: "host: " + bomb + "\nx:\n", at: "&a6", noCol: true, msg: "more than 100000 values"},
		{name: "unknown top-level field", base: f, from: "properties:", to: "propertees:", at: "propertees", msg: `unknown field "propertees" (known: name, model, description, seed, check, vars, variants, expect, host, actors, properties)`},
		{name: "unknown field in a mapping", base: f, from: "  devices:", to: "  colour: red\n  devices:", at: "colour", msg: `host: unknown field "colour" (known: name, devices, routes, warm, icmp, nexthops)`},
		{name: "unknown neigh field", base: n, from: "    every: 1s", to: "    colour: red", at: "colour", msg: `flows: unknown field "colour" (known: name, from, to, proto, start, every, jitter, backoff, max-every, count, rtt, confirm)`},
		{name: "unknown field in a property", base: f, from: "[clones-agree]", to: "[{clones-kept: '2001:db8::/48', colour: red}]", at: "colour", msg: `unknown field "colour" (known: name, routes-at, clones-kept, no-gap, no-blackhole, metric, want)`},
		{name: "key given twice", base: f, from: "model: fib6\n", to: "model: fib6\nmodel: fib6\n", at: "model: fib6\nhost", msg: `"model" given twice (first at line 2)`},
		{name: "a list as a key", base: f, from: "model: fib6\n", to: "model: fib6\n? [a]\n: b\n", at: "[a]", msg: "want a key (a name), got a list"},
		{name: "merge of a scalar", base: f, from: "  devices:", to: "  <<: 5\n  devices:", at: "5\n", msg: "<<: want a mapping (or a list of them) to merge, got \"5\""},
		{name: "float for an integer", base: f, from: "expect:", to: "check: {runs: 1.5}\nexpect:", at: "1.5", msg: `runs: want an integer, got "1.5"`},
		{name: "list for an integer", base: f, from: "expect:", to: "check: {runs: [1]}\nexpect:", at: "[1]", msg: "runs: want an integer, got a list"},
		{name: "huge integer", base: f, from: "expect:", to: "check: {runs: 18446744073709551615}\nexpect:", at: "1844", msg: "runs: want an integer from -9223372036854775808 to 9223372036854775807"},
		{name: "quoted integer", base: f, from: "expect:", to: "check: {preemption-bound: \"2\"}\nexpect:", at: `"2"`, msg: `preemption-bound: want an integer, got "2"`},
		{name: "mapping for a string", base: f, from: "name: t", to: "name: {a: b}", at: "{a", msg: "name: want a string, got a mapping"},
		{name: "list for a value", base: f, from: "  - name: agent", to: "  - name: [agent]", at: "[agent]", msg: "name: want a single value, got a list"},
		{name: "mapping for a list", base: f, from: "properties: [clones-agree]", to: "properties: {a: b}", at: "{a", msg: "properties: want a list, got a mapping"},
		{name: "list for a mapping", base: f, from: "host:\n", to: "host: [a]\nx:\n", at: "[a]", msg: "host: want a mapping, got a list"},
		{name: "scalar for a struct", base: f, from: "expect:", to: "check: fast\nexpect:", at: "fast", msg: `check: want a mapping, got "fast"`},
		{name: "bad duration", base: f, from: "expect:", to: "check: {budget: soon}\nexpect:", at: "soon", msg: `budget: want a duration such as 1s or 200ms, got "soon"`},
		{name: "list for a duration", base: f, from: "expect:", to: "check: {budget: [1s]}\nexpect:", at: "[1s]", msg: "budget: want a duration such as 1s or 200ms, got a list"},
		{name: "list for vars", base: v, from: `vars: {old: "via fe80::1 dev eth0"}`, to: "vars: [a]", at: "[a]", msg: "vars: want a mapping of names to values, got a list"},
		{name: "mapping for lines", base: f, from: "  routes: |", to: "  routes: {a: b}\n  warm: |", at: "{a", msg: "routes: want a list of lines or a block of lines, got a mapping"},
		{name: "missing model", base: f, from: "model: fib6\n", to: "", at: "name: t", msg: "missing `model:` (want model: fib6 or model: neigh)"},
		{name: "unknown model", base: f, from: "model: fib6", to: "model: bgp", at: "bgp", msg: `unknown model "bgp" (want fib6 or neigh)`},
		{name: "model not a word", base: f, from: "model: fib6", to: "model: [fib6]", at: "[fib6]", msg: "model: want a single value, got a list"},
		{name: "missing name", base: f, from: "name: t\n", to: "", at: "model", msg: "missing `name:`"},
		{name: "name with a slash", base: f, from: "name: t", to: "name: a/b", at: "a/b", msg: `name "a/b": want a name without / or spaces`},
		{name: "unknown strategy", base: f, from: "expect:", to: "check: {strategy: bfs}\nexpect:", at: "bfs", msg: `check: unknown strategy "bfs" (want dfs, pct or random)`},
		{name: "negative budget", base: f, from: "expect:", to: "check: {budget: -1s}\nexpect:", at: "-1s", msg: "check: budget: want a duration of 0 or more, got -1s"},
		{name: "negative horizon", base: n, from: "{horizon: 20s}", to: "{horizon: -20s}", at: "-20s", msg: "check: horizon: want a duration of 0 or more"},
		{name: "negative runs", base: f, from: "expect:", to: "check: {runs: -1}\nexpect:", at: "-1", msg: "check: runs: want 0 (as many as the budget allows) or more, got -1"},
		{name: "negative preemption bound", base: f, from: "expect:", to: "check: {preemption-bound: -1}\nexpect:", at: "-1", msg: "check: preemption-bound: want 0 or more"},
		{name: "expect and variants", base: v, from: "variants:", to: "expect: {\"*\": holds}\nvariants:", at: "expect", msg: "top-level `expect:` and `variants:` both given"},
		{name: "variant without name", base: v, from: "  - name: replace\n", to: "  - description: x\n", at: "description: x", msg: "scenario v: a variant without `name:`"},
		{name: "variant name with a slash", base: v, from: "name: replace", to: "name: re/place", at: "name: re/place", msg: `scenario v: variant name "re/place": want a name without / or spaces`},
		{name: "variant twice", base: v, from: "name: replace", to: "name: delete-add", at: "name: delete-add\n    vars: {strategy: replace", msg: `scenario v: variant "delete-add" given twice`},
		{name: "no expect", base: f, from: `expect: {"*": holds}`, to: "", at: "name: t", msg: "scenario t has no `expect:`: want a verdict"},
		{name: "empty expect", base: f, from: `expect: {"*": holds}`, to: "expect: {}", at: "expect", msg: "scenario t has no `expect:`"},
		{name: "no expect for a variant", base: v, from: "    expect: {\"*\": holds}\n  - name: replace", to: "  - name: replace", at: "name: delete-add", msg: "scenario v, variant delete-add, has no `expect:`"},
		{name: "bad verdict", base: f, from: `"*": holds`, to: `"*": maybe`, at: "maybe", msg: `expect *: unknown verdict "maybe" (want holds, violated or unknown)`},
		{name: "unknown profile", base: f, from: `"*": holds`, to: `linux-9.9: holds`, at: "linux-9.9", msg: `expect: unknown kernel profile "linux-9.9"`},
		{name: "missing profile", base: f, from: `"*": holds`, to: `linux-3.16: holds`, at: "expect", msg: "scenario t has no expectation for kernel profile linux-3.10"},
		{name: "missing profile of a variant", base: v, from: `    vars: {strategy: replace}
    expect: {"*": holds}`, to: `    vars: {strategy: replace}
    expect: {linux-3.16: holds}`, at: "expect: {linux-3.16", msg: "scenario v, variant replace, has no expectation for kernel profile"},
		{name: "bad variable name", base: v, from: "vars: {strategy: replace}", to: "vars: {strategy: replace, 1x: a}", at: "1x", msg: `variable name "1x": want letters`},
		{name: "unused variable", base: v, from: "vars: {strategy: replace}", to: "vars: {strategy: replace, stratgy: add-delete}", at: "stratgy", msg: "variable stratgy is set but no value uses $stratgy"},
		{name: "unused top-level variable", base: v, from: `vars: {old: "via fe80::1 dev eth0"}`, to: `vars: {old: "via fe80::1 dev eth0", warm: ""}`, at: "warm", msg: "variable warm is set but no value uses $warm"},
		{name: "unknown variable", base: f, from: "ops: [del 2001:db8:0:10::/80 via fe80::1 dev eth0]", to: "ops: [del $route]", at: "del $route", msg: "unknown variable $route"},
		{name: "variable of a variant only", base: v, from: "    vars: {strategy: replace}\n", to: "", at: "$strategy", msg: "unknown variable $strategy"},
	})
}

// edit replaces, in order, the first of each from by its to (pairs).
func edit(t *testing.T, s string, pairs ...string) string {
	t.Helper()
	for i := 0; i+1 < len(pairs); i += 2 {
		if !strings.Contains(s, pairs[i]) {
			t.Fatalf("test broken: %q not in the scenario", pairs[i])
		}
		s = strings.Replace(s, pairs[i], pairs[i+1], 1)
	}
	return s
}

// Errors of the fib6 compiler.
func TestErrorsFIB6(t *testing.T) {
	f, v := goodFIB6, goodVariants
	var many strings.Builder
	for i := 1; i <= 30; i++ {
		fmt.Fprintf(&many, "    2001:db8:1:%d::/64 dev eth0\n", i)
	}
	var actors strings.Builder
	for i := 3; i <= 17; i++ {
		fmt.Fprintf(&actors, "  - name: f%d\n    flow: {dst: \"2001:db8:0:10::1\"}\n", i)
	}
	routes := "    2001:db8:0:10::/80 via fe80::1 dev eth0\n"
	flowActor := "  - name: flow\n    flow: {dst: \"2001:db8:0:10::1\"}\n"
	runErrCases(t, []errCase{
		{name: "horizon", base: f, from: "expect:", to: "check: {horizon: 1s}\nexpect:", at: "1s}", msg: "check: horizon: the fib6 model is untimed"},
		{name: "no devices", base: f, from: "  devices: [lo, eth0]\n", to: "", at: "host:", msg: "host: want `devices:`"},
		{name: "no host", base: f, from: "host:\n  devices: [lo, eth0]\n  routes: |\n    unreachable 2001:db8::/48 dev lo\n" + routes, to: "", at: "name: t", msg: "host: want `devices:`"},
		{name: "empty device", base: f, from: "[lo, eth0]", to: `[lo, ""]`, at: `""`, msg: `devices: want an interface name, got ""`},
		{name: "device twice", base: f, from: "[lo, eth0]", to: "[lo, eth0, lo]", at: "lo]", msg: "device lo given twice"},
		{name: "malformed route", base: f, from: routes, to: "    2001:db8:0:10::/80 via fe80::zz dev eth0\n", at: "2001:db8:0:10::/80 via fe80::zz", noCol: true, msg: `gateway "fe80::zz" is not an IPv6 address`},
		{name: "unknown device", base: f, from: routes, to: "    2001:db8:0:10::/80 via fe80::1 dev eth9\n", at: "2001:db8:0:10::/80 via fe80::1 dev eth9", noCol: true, msg: `unknown device "eth9" (host devices: eth0, lo)`},
		{name: "warm not IPv6", base: f, from: "actors:", to: "  warm: [10.0.0.1]\nactors:", at: "10.0.0.1", msg: `warm: "10.0.0.1" is not an IPv6 address`},
		{name: "unknown variable in the host name", base: f, from: "host:\n", to: "host:\n  name: $h\n", at: "$h", msg: "unknown variable $h"},
		{name: "no actors", base: f, from: "actors:\n  - name: agent\n    ops: [del 2001:db8:0:10::/80 via fe80::1 dev eth0]\n" + flowActor, to: "", at: "name: t", msg: "scenario t: want at least one actor under `actors:`"},
		{name: "empty actors", base: f, from: "actors:\n  - name: agent\n    ops: [del 2001:db8:0:10::/80 via fe80::1 dev eth0]\n" + flowActor, to: "actors: []\n", at: "actors", msg: "want at least one actor"},
		{name: "actor without name", base: f, from: "  - name: agent\n    ops", to: "  - ops", at: "ops: [del", msg: "actor without `name:`"},
		{name: "actor twice", base: f, from: "name: flow", to: "name: agent", at: "agent\n    flow", msg: `actor "agent" given twice`},
		{name: "actor of two kinds", base: f, from: "  - name: flow\n", to: "  - name: flow\n    ops: [add 2001:db8::/64 dev eth0]\n", at: "name: flow", msg: `actor "flow": want exactly one of`},
		{name: "actor of no kind", base: f, from: "    flow: {dst: \"2001:db8:0:10::1\"}\n", to: "", at: "name: flow", msg: `actor "flow": want exactly one of`},
		{name: "bad flow dst", base: f, from: `dst: "2001:db8:0:10::1"`, to: `dst: "10.0.0.1"`, at: `"10.0.0.1"`, msg: `flow dst "10.0.0.1" is not an IPv6 address`},
		{name: "no packets", base: f, from: `dst: "2001:db8:0:10::1"}`, to: `dst: "2001:db8:0:10::1", packets: 0}`, at: "0}", msg: `packets: want a whole number from 1 to 255, got "0"`},
		{name: "too many packets", base: f, from: `dst: "2001:db8:0:10::1"}`, to: `dst: "2001:db8:0:10::1", packets: 256}`, at: "256", msg: `packets: want a whole number from 1 to 255, got "256"`},
		{name: "25 prefixes", base: f, from: routes, to: routes + many.String(), at: "2001:db8:1:23::/64", noCol: true, msg: "more than 24 distinct prefixes: the model holds at most 24"},
		{name: "17 actors", base: f, from: flowActor, to: flowActor + actors.String(), at: "name: f17", msg: "17 actors: the model holds at most 16"},
		{name: "initial route twice", base: f, from: routes, to: routes + "    2001:db8:0:10::/80  via fe80::1 dev eth0\n", at: "2001:db8:0:10::/80  via", noCol: true, msg: "initial route 2001:db8:0:10::/80 via fe80::1 dev eth0"},
		{name: "no properties", base: f, from: "properties: [clones-agree]\n", to: "", at: "name: t", msg: "scenario t: want at least one property under `properties:` (clones-agree, routes-at, clones-kept, no-gap, no-blackhole, no-cache-in-dump, entries-with-route, mtu-follows-path)"},
		{name: "empty properties", base: f, from: "properties: [clones-agree]", to: "properties: []", at: "properties", msg: "want at least one property"},
		{name: "unknown property", base: f, from: "[clones-agree]", to: "[clones-happy]", at: "clones-happy", msg: `unknown property "clones-happy" (want clones-agree, routes-at, clones-kept, no-gap, no-blackhole, no-cache-in-dump, entries-with-route, mtu-follows-path)`},
		{name: "routes-at without its prefix", base: f, from: "[clones-agree]", to: "[routes-at]", at: "routes-at", msg: "routes-at needs its prefix: write {routes-at: PREFIX, ...}"},
		{name: "a list as a property", base: f, from: "[clones-agree]", to: "[[a]]", at: "[a]", msg: "want a property: clones-agree, {routes-at: PREFIX, metric: N, want: [ROUTE...]}, {clones-kept: PREFIX}, {no-gap: PREFIX} or {no-blackhole: ADDRESS}; got a list"},
		{name: "property of neither kind", base: f, from: "[clones-agree]", to: "[{name: x}]", at: "{name", msg: "(one of routes-at, clones-kept, no-gap or no-blackhole)"},
		{name: "property of both kinds", base: f, from: "[clones-agree]", to: `[{routes-at: "2001:db8::/48", clones-kept: "2001:db8::/48"}]`, at: "{routes-at", msg: "(one of routes-at, clones-kept, no-gap or no-blackhole)"},
		{name: "no-gap with want", base: f, from: "[clones-agree]", to: `[{no-gap: "2001:db8:0:10::/80", want: []}]`, at: "{no-gap", msg: "no-gap takes no `want:`"},
		{name: "no-gap of an unknown prefix", base: f, from: "[clones-agree]", to: `[{no-gap: "2001:db8:0:99::/80"}]`, at: "{no-gap", msg: "no-gap: prefix 2001:db8:0:99::/80 is neither in the table nor changed by an actor"},
		{name: "heal without a prefix", base: f, from: "[del 2001:db8:0:10::/80 via fe80::1 dev eth0]", to: "[heal 2001:db8:0:10::1/80]", at: "heal", msg: `heal "2001:db8:0:10::1/80": want an IPv6 prefix such as 2001:db8::/48`},
		{name: "clones-kept with a metric", base: f, from: "[clones-agree]", to: `[{clones-kept: "2001:db8::/48", metric: 5}]`, at: "{clones-kept", msg: "clones-kept takes no `metric:`"},
		{name: "clones-kept not a prefix", base: f, from: "[clones-agree]", to: `[{clones-kept: "2001:db8::1/48"}]`, at: `"2001:db8::1/48"`, msg: `clones-kept: "2001:db8::1/48" is not an IPv6 prefix such as 2001:db8::/48`},
		{name: "routes-at not a prefix", base: f, from: "[clones-agree]", to: "[{routes-at: nope, want: []}]", at: "nope", msg: `routes-at: "nope" is not an IPv6 prefix`},
		{name: "routes-at bad metric", base: f, from: "[clones-agree]", to: `[{routes-at: "2001:db8:0:10::/80", metric: x, want: []}]`, at: "x,", msg: `metric: want a whole number from 0 to 4294967295, got "x"`},
		{name: "routes-at without want", base: f, from: "[clones-agree]", to: `[{routes-at: "2001:db8:0:10::/80"}]`, at: "{routes-at", msg: "routes-at: want `want:`"},
		{name: "routes-at of an unknown prefix", base: f, from: "[clones-agree]", to: `[{routes-at: "2001:db8:0:99::/80", want: []}]`, at: "{routes-at", msg: "routes-at: prefix 2001:db8:0:99::/80 is neither in the table nor changed by an actor"},
		{name: "routes-at wants a route that never exists", base: f, from: "[clones-agree]", to: `[{routes-at: "2001:db8:0:10::/80", want: ["2001:db8:0:10::/80 via fe80::9 dev eth0"]}]`, at: "{routes-at", msg: "never exists in this scenario"},
		{name: "routes-at wants a malformed route", base: f, from: "[clones-agree]", to: `[{routes-at: "2001:db8:0:10::/80", want: ["2001:db8:0:10::/80 via x"]}]`, at: `"2001:db8:0:10::/80 via x"`, msg: `gateway "x" is not an IPv6 address`},
		{name: "bad op", base: f, from: "ops: [del", to: "ops: [remove", at: "remove", msg: `op "remove 2001:db8:0:10::/80 via fe80::1 dev eth0": want add, del, replace, change or append followed by a route, heal followed by a prefix, or nexthop add|replace|del`},
		{name: "op without a route", base: f, from: "[del 2001:db8:0:10::/80 via fe80::1 dev eth0]", to: "[del]", at: "del]", msg: "empty route"},
		{name: "bad modify strategy", base: v, from: "vars: {strategy: replace}", to: "vars: {strategy: swap}", at: "$strategy", msg: `modify strategy "swap": want one of delete-add, replace, add-delete`},
		{name: "bad modify route", base: v, from: `vars: {old: "via fe80::1 dev eth0"}`, to: `vars: {old: "via fe80::1 dev eth9"}`, at: "2001:db8:0:10::/80 $old", msg: `unknown device "eth9"`},
	})
}

// Errors of the neigh compiler.
func TestErrorsNeigh(t *testing.T) {
	n := goodNeigh
	// repeat formats i from..to (as %[1]d) into one string.
	repeat := func(format string, from, to int) string {
		var b strings.Builder
		for i := from; i <= to; i++ {
			fmt.Fprintf(&b, format, i)
		}
		return b.String()
	}
	sender := "  - name: garp\n    from: new\n    ip: 10.0.0.2\n    op: reply\n    count: 2\n    interval: 1s\n    start: 1s\n"
	senderOp := "    op: reply\n    count: 2\n    interval: 1s\n"
	pingFlow := "  - name: ping\n    from: client\n    to: 10.0.0.2\n    every: 1s\n"
	converges := "  - converges: {host: client, ip: 10.0.0.2, within: 5s}\n"
	newIface := "      - name: eth0\n        mac: 02:00:00:00:00:03\n        addrs: [10.0.0.4/24]\n"
	// 17 neighbour entries: the 17th is new's 10.0.0.5 line.
	var entries []string
	for _, h := range []struct{ host, state string }{{"client", "FAILED"}, {"old", "INCOMPLETE"}, {"new", "FAILED age 2s"}} {
		var b strings.Builder
		for ip := 1; ip <= 6; ip++ {
			if h.host != "client" || ip != 2 {
				fmt.Fprintf(&b, "      - 10.0.0.%d dev eth0 %s\n", ip, h.state)
			}
		}
		entries = append(entries, b.String())
	}
	slots := edit(t, n,
		"    neigh:\n", "    neigh:\n"+entries[0],
		"10.0.0.2/24]\n", "10.0.0.2/24]\n    neigh:\n"+entries[1],
		newIface, newIface+"    neigh:\n"+entries[2])
	runErrCases(t, []errCase{
		{name: "no horizon", base: n, from: "check: {horizon: 20s}\n", to: "", at: "name: n", msg: "a neigh scenario needs `check: horizon:` (e.g. 60s)"},
		{name: "no horizon in check", base: n, from: "{horizon: 20s}", to: "{runs: 5}", at: "check", msg: "a neigh scenario needs `check: horizon:`"},
		{name: "horizon too long", base: n, from: "{horizon: 20s}", to: "{horizon: 25h}", at: "25h", msg: "check: horizon: a neigh scenario's horizon is at most 24h, got 25h0m0s"},
		{name: "horizon of a fraction of a millisecond", base: n, from: "{horizon: 20s}", to: "{horizon: 1.5ms}", at: "1.5ms", msg: "check: horizon: want whole milliseconds, got 1.5ms"},
		{name: "duration of a fraction of a millisecond", base: n, from: "every: 1s", to: "every: 1500us", at: "1500us", msg: `every "1500us": want whole milliseconds`},
		{name: "bad reachable-draws", base: n, from: "hosts:", to: "reachable-draws: many\nhosts:", at: "many", msg: `reachable-draws: want a whole number from 0 to 1048576, got "many"`},
		{name: "no hosts", to: "name: n\nmodel: neigh\ncheck: {horizon: 1s}\nexpect: {\"*\": holds}\n", at: "name: n", msg: "scenario n: a neigh scenario needs `hosts:`"},
		{name: "host without name", base: n, from: "  - name: client\n    interfaces:", to: "  - interfaces:", at: "interfaces:", msg: "missing host name"},
		{name: "host twice", base: n, from: "name: old", to: "name: client", at: "client\n    interfaces:\n      - name: eth0\n        mac: 02:00:00:00:00:02", msg: `host "client" given twice`},
		{name: "host without interfaces", base: n, from: "    interfaces:\n" + newIface, to: "    interfaces: []\n", at: "new\n", msg: "host new has no `interfaces:`"},
		{name: "interface without name", base: n, from: "      - name: eth0\n        mac: 02:00:00:00:00:01", to: "      - mac: 02:00:00:00:00:01", at: "mac: 02:00:00:00:00:01", msg: "missing interface name"},
		{name: "interface without mac", base: n, from: "        mac: 02:00:00:00:00:01\n", to: "", at: "name: eth0", msg: "missing mac"},
		{name: "bad mac", base: n, from: "02:00:00:00:00:01", to: "02:00:zz", at: "02:00:zz", msg: `mac: want an Ethernet address such as fa:16:3e:00:00:01, got "02:00:zz"`},
		{name: "mac twice", base: n, from: "mac: 02:00:00:00:00:03", to: "mac: 02:00:00:00:00:02", at: "02:00:00:00:00:02\n        addrs: [10.0.0.4/24]", msg: "mac 02:00:00:00:00:02 is used twice on the segment"},
		{name: "two interfaces of one name", base: n, from: "        sysctl: {locktime: 1s}\n", to: "        sysctl: {locktime: 1s}\n      - name: eth0\n        mac: 02:00:00:00:00:09\n        addrs: [10.0.0.9/24]\n", at: "eth0\n        mac: 02:00:00:00:00:09", msg: "host client has two interfaces called eth0"},
		{name: "too many interfaces", base: n, from: "moves:", to: repeat("  - name: h%[1]d\n    interfaces: [{name: e, mac: \"02:00:00:00:01:0%[1]d\", addrs: [10.0.0.9%[1]d/24]}]\n", 1, 6) + "moves:", at: "e, mac: \"02:00:00:00:01:06\"", msg: "too many interfaces: the model holds at most 8"},
		{name: "interface without addrs", base: n, from: "        addrs: [10.0.0.4/24]\n", to: "", at: "eth0\n        mac: 02:00:00:00:00:03", msg: "interface eth0 has no `addrs:`"},
		{name: "bad addr", base: n, from: "[10.0.0.4/24]", to: "[10.0.0.4]", at: "10.0.0.4]", msg: `addrs: want IPv4/prefix such as 172.24.4.5/24 or IPv6/prefix such as 2001:db8::5/64, got "10.0.0.4"`},
		{name: "addr of another subnet", base: n, from: "[10.0.0.3/24, 10.0.0.2/24]", to: "[10.0.0.3/24, 10.1.0.2/24]", at: "10.1.0.2/24", msg: "addrs: 10.1.0.2/24 is not in the interface's subnet 10.0.0.0/24"},
		{name: "addr twice", base: n, from: "[10.0.0.4/24]", to: "[10.0.0.3/24]", at: "10.0.0.3/24]\nmoves", msg: "10.0.0.3 is already configured on another interface"},
		{name: "17 addresses", base: n, from: "[10.0.0.4/24]", to: "[10.0.0.4/24" + repeat(", 10.0.0.%[1]d/24", 5, 17) + "]", at: "10.0.0.17/24", msg: "10.0.0.17: more than 16 addresses on the segment"},
		{name: "bad gc_stale_time", base: n, from: "{locktime: 1s}", to: "{gc_stale_time: never}", at: "never", msg: `gc_stale_time: want a duration`},
		{name: "unknown sysctl", base: n, from: "{locktime: 1s}", to: "{lcktime: 1s}", at: "lcktime", msg: `unknown sysctl "lcktime": the model implements only locktime, base_reachable_time, base_reachable_time_ms, delay_first_probe_time, retrans_time, retrans_time_ms, gc_stale_time, ucast_solicit, mcast_solicit, app_solicit, mcast_resolicit, arp_accept, drop_unsolicited_na, accept_untracked_na, forwarding, and refuses any other rather than ignore it`},
		{name: "bad sysctl duration", base: n, from: "{locktime: 1s}", to: "{locktime: soon}", at: "soon", msg: `locktime: want a duration such as 1s or 200ms (0 to 24h), got "soon"`},
		{name: "sysctl duration out of range", base: n, from: "{locktime: 1s}", to: "{locktime: 25h}", at: "25h", msg: `locktime "25h" out of range (0 to 24h)`},
		{name: "base_reachable_time too short", base: n, from: "{locktime: 1s}", to: "{base_reachable_time: 1ms}", at: "1ms", msg: "base_reachable_time must be at least 2ms"},
		{name: "arp_accept 3", base: n, from: "{locktime: 1s}", to: "{arp_accept: 3}", at: "3}", msg: `arp_accept: want a whole number from 0 to 2, got "3"`},
		{name: "ucast_solicit 300", base: n, from: "{locktime: 1s}", to: "{ucast_solicit: 300}", at: "300", msg: `ucast_solicit: want a whole number from 0 to 255, got "300"`},
		{name: "neigh too short", base: n, from: "10.0.0.2 dev eth0 lladdr 02:00:00:00:00:02 STALE", to: "10.0.0.2 eth0", at: "10.0.0.2 eth0", msg: "too short (want `IP dev IFACE lladdr MAC STATE [age DURATION]`)"},
		{name: "neigh not IPv4", base: n, from: "10.0.0.2 dev eth0 lladdr", to: "fe80::2 dev eth0 lladdr", at: "fe80::2", msg: "not of the interface's family (10.0.0.1/24)"},
		{name: "neigh unknown interface", base: n, from: "dev eth0 lladdr 02:00:00:00:00:02", to: "dev eth9 lladdr 02:00:00:00:00:02", at: "10.0.0.2 dev eth9", msg: "no such interface on client"},
		{name: "neigh bad lladdr", base: n, from: "lladdr 02:00:00:00:00:02 STALE", to: "lladdr zz STALE", at: "10.0.0.2 dev", msg: "bad lladdr"},
		{name: "neigh lladdr off the segment", base: n, from: "lladdr 02:00:00:00:00:02 STALE", to: "lladdr 02:00:00:00:00:99 STALE", at: "10.0.0.2 dev", msg: "lladdr is not the MAC of an interface on the segment"},
		{name: "neigh without state", base: n, from: "02:00:00:00:00:02 STALE", to: "02:00:00:00:00:02", at: "10.0.0.2 dev", msg: "missing state"},
		{name: "neigh unknown state", base: n, from: "STALE", to: "STALLED", at: "10.0.0.2 dev", msg: "unknown state STALLED"},
		{name: "neigh valid state without lladdr", base: n, from: "10.0.0.2 dev eth0 lladdr 02:00:00:00:00:02 STALE", to: "10.0.0.2 dev eth0 STALE", at: "10.0.0.2 dev", msg: "a valid state needs lladdr"},
		{name: "neigh trailing words", base: n, from: "STALE", to: "STALE extra", at: "10.0.0.2 dev", msg: "unexpected extra"},
		{name: "neigh bad age", base: n, from: "STALE", to: "STALE age soon", at: "10.0.0.2 dev", msg: `age: want a duration such as 1s or 200ms (0 to 24h), got "soon"`},
		{name: "neigh entry twice", base: n, from: "STALE\n", to: "STALE\n      - 10.0.0.2 dev eth0 lladdr 02:00:00:00:00:03 REACHABLE\n", at: "10.0.0.2 dev eth0 lladdr 02:00:00:00:00:03", msg: "entry given twice"},
		{name: "neigh block line", base: n, from: "    neigh:\n      - 10.0.0.2 dev eth0 lladdr 02:00:00:00:00:02 STALE", to: "    neigh: |\n      10.0.0.2 dev eth0 lladdr 02:00:00:00:00:02 STALLED", at: "10.0.0.2 dev", noCol: true, msg: "unknown state STALLED"},
		{name: "neigh not lines", base: n, from: "    neigh:\n      - 10.0.0.2 dev eth0 lladdr 02:00:00:00:00:02 STALE", to: "    neigh: {a: b}", at: "{a", msg: "neigh: want a list of lines or a block of lines, got a mapping"},
		{name: "17 neighbour entries", base: slots, at: "10.0.0.5 dev eth0 FAILED age 2s", msg: "more than 16 neighbour entries"},
		{name: "move bad ip", base: n, from: "{ip: 10.0.0.2, from: old", to: "{ip: 10.0.0, from: old", at: "10.0.0,", msg: `move ip: want an IPv4 or IPv6 address, got "10.0.0"`},
		{name: "move without ip", base: n, from: "{ip: 10.0.0.2, from: old", to: "{from: old", at: "{from: old", msg: "missing move ip"},
		{name: "move from no host", base: n, from: "from: old, to: new", to: "from: gone, to: new", at: "gone", msg: `move from: no host "gone"`},
		{name: "move to no interface", base: n, from: "to: new, at", to: "to: new/eth7, at", at: "new/eth7", msg: `move to: host new has no interface "eth7"`},
		{name: "move from a non-owner", base: n, from: "from: old, to: new", to: "from: new, to: new", at: "new, to", msg: "move from: 10.0.0.2 is not configured on new"},
		{name: "move window reversed", base: n, from: "at: 1s}", to: "at: 2s..1s}", at: "2s..1s", msg: `at window "2s..1s" ends before it starts`},
		{name: "5 moves", base: n, from: "  - {ip: 10.0.0.2, from: old, to: new, at: 1s}\n", to: repeat("  - {ip: 10.0.0.2, from: old, to: new, at: %[1]ds}\n", 1, 5), at: "{ip: 10.0.0.2, from: old, to: new, at: 5s", msg: "at most 4 moves"},
		{name: "sender without name", base: n, from: "  - name: garp\n    from: new", to: "  - from: new", at: "from: new\n    ip", msg: "missing sender name"},
		{name: "sender from no host", base: n, from: "from: new\n    ip", to: "from: nobody\n    ip", at: "nobody", msg: `from: no host "nobody"`},
		{name: "sender without ip", base: n, from: "    ip: 10.0.0.2\n    op: reply", to: "    op: reply", at: "name: garp", msg: "missing ip"},
		{name: "sender to no host", base: n, from: "    op: reply\n", to: "    op: reply\n    to: nobody\n", at: "nobody", msg: `to: no host "nobody"`},
		{name: "unknown preset", base: n, from: senderOp, to: "    preset: arping-X\n", at: "arping-X", msg: `unknown preset "arping-X" (want one of arping-A, arping-U, keepalived, kube-vip, metallb, neutron-2017, neutron-now)`},
		{name: "preset with op", base: n, from: senderOp, to: "    preset: metallb\n    op: reply\n", at: "reply\n    start", msg: "op: preset metallb sets the frames itself"},
		{name: "preset with packets", base: n, from: senderOp, to: "    preset: arping-A\n    packets: [{op: reply}]\n", at: "{op: reply}", msg: "packets: preset arping-A sets the frames itself"},
		{name: "preset with count", base: n, from: senderOp, to: "    preset: keepalived\n    count: 2\n", at: "2\n    start", msg: "count: preset keepalived sets the frames itself, count included"},
		{name: "kube-vip beyond 24 frames", base: edit(t, n, "{horizon: 20s}", "{horizon: 80s}"), from: senderOp, to: "    preset: kube-vip\n", at: "kube-vip", msg: "preset kube-vip announces every 3 s until the horizon: 26 frames, more than the model's 24; give `count:`"},
		{name: "packets with op", base: n, from: "    count: 2\n    interval: 1s\n", to: "    packets: [{op: reply}]\n", at: "reply\n    packets", msg: "op: `packets:` lists every frame"},
		{name: "packet bad op", base: n, from: senderOp, to: "    packets: [{op: gratuitous}]\n", at: "gratuitous", msg: `op: want request or reply, got "gratuitous"`},
		{name: "packet without op", base: n, from: senderOp, to: "    packets: [{after: 1s}]\n", at: "{after", msg: "missing op"},
		{name: "packet tha of a request", base: n, from: senderOp, to: "    packets: [{op: request, tha: zero}]\n", at: "zero}", msg: "tha: only a reply carries it"},
		{name: "packet bad after", base: n, from: senderOp, to: "    packets: [{op: reply, after: x}]\n", at: "x}", msg: `after: want a duration such as 1s or 200ms (0 to 24h), got "x"`},
		{name: "tha of a request", base: n, from: "    op: reply\n", to: "    op: request\n    tha: zero\n", at: "zero", msg: "tha: only a reply carries it"},
		{name: "bad tha", base: n, from: "    op: reply\n", to: "    op: reply\n    tha: mine\n", at: "mine", msg: `tha: want self, broadcast or zero, got "mine"`},
		{name: "sender without op", base: n, from: "    op: reply\n", to: "", at: "name: garp", msg: "missing op"},
		{name: "one frame with an interval", base: n, from: "count: 2", to: "count: 1", at: "1s\n    start", msg: "interval: one frame (count: 1) has no interval"},
		{name: "sender count 25", base: n, from: "count: 2", to: "count: 25", at: "25", msg: `count: want a whole number from 1 to 24, got "25"`},
		{name: "sender count 0", base: n, from: "count: 2", to: "count: 0", at: "0\n    interval", msg: `count: want a whole number from 1 to 24, got "0"`},
		{name: "5 senders", base: n, from: sender, to: repeat("  - {name: s%[1]d, from: new, ip: 10.0.0.2, op: request, start: %[1]ds}\n", 1, 5), at: "{name: s5", msg: "at most 4 ARP senders"},
		{name: "flow without name", base: n, from: "  - name: ping\n    from: client", to: "  - from: client", at: "from: client\n    to: 10.0.0.2", msg: "missing flow name"},
		{name: "flow twice", base: n, from: "name: ssh", to: "name: ping", at: "ping\n    from: client\n    to: 10.0.0.3", msg: `flow "ping" given twice`},
		{name: "flow from no interface", base: n, from: "from: client\n    to: 10.0.0.2", to: "from: client/eth5\n    to: 10.0.0.2", at: "client/eth5", msg: `from: host client has no interface "eth5"`},
		{name: "flow to IPv6", base: n, from: "to: 10.0.0.2\n    every", to: "to: fe80::1\n    every", at: "fe80::1", msg: "to: fe80::1 is not of the sending interface's family"},
		{name: "flow bad proto", base: n, from: "proto: tcp", to: "proto: sctp", at: "sctp", msg: `proto: want icmp, tcp or udp, got "sctp"`},
		{name: "icmp flow with rtt", base: n, from: "    every: 1s\n", to: "    every: 1s\n    rtt: 1ms\n", at: "1ms\n", msg: "rtt: an icmp flow is not acknowledged"},
		{name: "one packet with every", base: n, from: "    every: 1s\n", to: "    every: 1s\n    count: 1\n", at: "1s\n    count", msg: "every: one packet (count: 1) has no interval"},
		{name: "flow count too big", base: n, from: "    every: 1s\n", to: "    every: 1s\n    count: 2000000\n", at: "2000000", msg: `count: want a whole number from 0 to 1048576, got "2000000"`},
		{name: "flow every 0", base: n, from: "every: 1s", to: "every: 0s", at: "0s\n", msg: "every must be positive"},
		{name: "flow backoff 17", base: n, from: "    every: 1s\n", to: "    every: 1s\n    backoff: 17\n", at: "17", msg: `backoff: want a whole number from 1 to 16, got "17"`},
		{name: "max-every without backoff", base: n, from: "    every: 1s\n", to: "    every: 1s\n    max-every: 8s\n", at: "8s", msg: "max-every: it caps the backoff, and there is none"},
		{name: "rtt longer than every", base: n, from: "rtt: 1ms..2ms", to: "rtt: 1ms..2s", at: "1ms..2s", msg: "rtt must be shorter than every"},
		{name: "flow to itself", base: n, from: "to: 10.0.0.3\n    proto", to: "to: 10.0.0.1\n    proto", at: "10.0.0.1\n    proto", msg: "flow ssh sends to its own address"},
		{name: "flow bad jitter", base: n, from: "every: 1s\n", to: "every: 1s\n    jitter: lots\n", at: "lots", msg: `jitter: want a duration`},
		{name: "flow start reversed", base: n, from: "every: 1s\n", to: "every: 1s\n    start: 2s..1s\n", at: "2s..1s", msg: `start window "2s..1s" ends before it starts`},
		{name: "9 flows", base: n, from: pingFlow, to: pingFlow + repeat("  - {name: f%[1]d, from: client, to: 10.0.0.3, start: %[1]dms}\n", 1, 7), at: "name: ssh", msg: "at most 8 flows"},
		{name: "no properties", base: n, from: "properties:\n" + converges + "  - no-blackhole-longer-than: {flow: ping, limit: 5s}\n", to: "", at: "name: n", msg: "scenario n: no `properties:`: want converges, no-blackhole-longer-than, announcement-taken, no-stuck-entry or not-evicted-in-use"},
		{name: "property of neither kind", base: n, from: converges, to: "  - {}\n", at: "{}", msg: "each property is one of `converges:`, `no-blackhole-longer-than:`, `announcement-taken:`, `no-stuck-entry:` or `not-evicted-in-use:`"},
		{name: "property of both kinds", base: n, from: converges, to: "  - {converges: {host: client, ip: 10.0.0.2, within: 5s}, no-blackhole-longer-than: {flow: ping, limit: 5s}}\n", at: "{converges", msg: "each property is one of"},
		{name: "converges on no host", base: n, from: "host: client, ip", to: "host: nobody, ip", at: "nobody", msg: `host: no host "nobody"`},
		{name: "converges on an address no host owns", base: n, from: "ip: 10.0.0.2, within", to: "ip: 10.0.0.9, within", at: "10.0.0.9", msg: "converges: no host owns 10.0.0.9"},
		{name: "converges without within", base: n, from: ", within: 5s}", to: "}", at: "converges", msg: "converges needs `within:` (e.g. 30s)"},
		{name: "converges bad within", base: n, from: "within: 5s", to: "within: soon", at: "soon", msg: `within: want a duration`},
		{name: "converges after the horizon", base: n, from: "within: 5s", to: "within: 19500ms", at: "19500ms", msg: "converges within 19500ms ends after the horizon (20s): raise check: horizon"},
		{name: "no such flow", base: n, from: "{flow: ping, limit", to: "{flow: pong, limit", at: "pong", msg: `no flow "pong"`},
		{name: "blackhole without limit", base: n, from: ", limit: 5s}", to: "}", at: "no-blackhole-longer-than", msg: "no-blackhole-longer-than needs `limit:` (e.g. 10s)"},
		{name: "neigh-table gc_interval", base: n, from: "    neigh:\n      - 10.0.0.2", to: "    neigh-table: {gc_interval: 30s}\n    neigh:\n      - 10.0.0.2", at: "gc_interval", msg: "neigh-table: gc_interval: the kernel keeps it but no collector reads it"},
		{name: "neigh-table unknown key", base: n, from: "    neigh:\n      - 10.0.0.2", to: "    neigh-table: {gc_thresh4: 30}\n    neigh:\n      - 10.0.0.2", at: "gc_thresh4", msg: `neigh-table: unknown key "gc_thresh4" (known: table, gc_thresh1, gc_thresh2, gc_thresh3, gc_interval, base_reachable_time, gc-phase, stale-entries, stale-age, busy-entries, permanent-entries)`},
		{name: "neigh-table bad table", base: n, from: "    neigh:\n      - 10.0.0.2", to: "    neigh-table: {table: ipv6}\n    neigh:\n      - 10.0.0.2", at: "ipv6", msg: `neigh-table: table: want arp_tbl (IPv4) or nd_tbl (IPv6), got "ipv6"`},
		{name: "neigh-table bad count", base: n, from: "    neigh:\n      - 10.0.0.2", to: "    neigh-table: {busy-entries: many}\n    neigh:\n      - 10.0.0.2", at: "many", msg: `busy-entries: want a whole number from 0 to 1048576, got "many"`},
		{name: "neigh-table phase past the period", base: n, from: "    neigh:\n      - 10.0.0.2", to: "    neigh-table: {gc-phase: 0s..20s}\n    neigh:\n      - 10.0.0.2", at: "neigh-table", msg: "neigh-table: gc-phase 0s..20s: the first run comes within one period (15s)"},
		{name: "admin not ip neigh", base: n, from: "properties:\n", to: "admin:\n  - {name: a, host: client, commands: [{at: 1s, cmd: \"ip route add 10.0.0.0/24 dev eth0\"}]}\nproperties:\n", at: "\"ip route", msg: "not an ip neigh command"},
		{name: "admin unknown op", base: n, from: "properties:\n", to: "admin:\n  - {name: a, host: client, commands: [{at: 1s, cmd: \"ip neigh zap 10.0.0.2 dev eth0\"}]}\nproperties:\n", at: "\"ip neigh zap", msg: "unknown operation zap"},
		{name: "admin without dev", base: n, from: "properties:\n", to: "admin:\n  - {name: a, host: client, commands: [{at: 1s, cmd: \"ip neigh del 10.0.0.2\"}]}\nproperties:\n", at: "\"ip neigh del", msg: "missing dev"},
		{name: "admin lladdr off the segment", base: n, from: "properties:\n", to: "admin:\n  - {name: a, host: client, commands: [{at: 1s, cmd: \"ip neigh replace 10.0.0.2 dev eth0 lladdr 02:00:00:00:00:99\"}]}\nproperties:\n", at: "\"ip neigh replace", msg: "is not the MAC of an interface on the segment"},
		{name: "admin del with lladdr", base: n, from: "properties:\n", to: "admin:\n  - {name: a, host: client, commands: [{at: 1s, cmd: \"ip neigh del 10.0.0.2 dev eth0 lladdr 02:00:00:00:00:02\"}]}\nproperties:\n", at: "\"ip neigh del", msg: "lladdr: del and flush take none"},
		{name: "admin bad state", base: n, from: "properties:\n", to: "admin:\n  - {name: a, host: client, commands: [{at: 1s, cmd: \"ip neigh replace 10.0.0.2 dev eth0 nud gone\"}]}\nproperties:\n", at: "\"ip neigh replace", msg: "unknown state gone"},
		{name: "admin managed", base: n, from: "properties:\n", to: "admin:\n  - {name: a, host: client, commands: [{at: 1s, cmd: \"ip neigh replace 10.0.0.2 dev eth0 managed\"}]}\nproperties:\n", at: "\"ip neigh replace", msg: "kernel profile linux-3.10 has neigh-managed=no"},
		{name: "admin no such host", base: n, from: "properties:\n", to: "admin:\n  - {name: a, host: nobody, commands: [{at: 1s, cmd: \"ip neigh del 10.0.0.2 dev eth0\"}]}\nproperties:\n", at: "nobody", msg: `host: no host "nobody"`},
		{name: "admin commands out of order", base: n, from: "properties:\n", to: "admin:\n  - {name: a, host: client, commands: [{at: 2s, cmd: \"ip neigh del 10.0.0.2 dev eth0\"}, {at: 1s, cmd: \"ip neigh del 10.0.0.2 dev eth0\"}]}\nproperties:\n", at: "1s, cmd", msg: "agent a: command 2 starts before the previous one's window ends"},
		{name: "no-stuck-entry without limit", base: n, from: converges, to: "  - no-stuck-entry: {host: client, ip: 10.0.0.2}\n", at: "no-stuck-entry", msg: "no-stuck-entry needs `limit:` (e.g. 10s)"},
		{name: "not-evicted-in-use without a table", base: n, from: converges, to: "  - not-evicted-in-use: {flow: ping}\n", at: "ping}", msg: "not-evicted-in-use: flow ping's host has no `neigh-table:` of its family (arp_tbl)"},
		{name: "move from none of an owned address", base: n, from: "from: old, to: new", to: "from: none, to: new", at: "none", msg: "move from: none, but 10.0.0.2 is configured on an interface"},
		{name: "5 properties", base: n, from: converges, to: converges + repeat("  - {converges: {host: client, ip: 10.0.0.2, within: %[1]ds}}\n", 1, 4), at: "{converges: {host: client, ip: 10.0.0.2, within: 4s", msg: "at most 4 properties"},
	})
}

// Merge keys and anchors work as YAML defines them: a key of the mapping
// wins over a merged one.
func TestMergeKeys(t *testing.T) {
	data := edit(t, goodFIB6,
		`    flow: {dst: "2001:db8:0:10::1"}`, `    flow: &f {dst: "2001:db8:0:10::1", packets: 3}`,
		"properties:", "  - name: flow2\n    flow: {<<: *f, packets: 5}\n  - name: flow3\n    flow: *f\nproperties:")
	sc, err := Parse("m.yaml", []byte(data))
	if err != nil {
		t.Fatal(err)
	}
	doc := sc.Doc().(*fib6file.Doc)
	var got []string
	for _, a := range doc.Actors[1:] {
		got = append(got, a.Name.Text+" "+a.Flow.Dst.Text+" "+a.Flow.Packets.Text)
	}
	want := []string{"flow 2001:db8:0:10::1 3", "flow2 2001:db8:0:10::1 5", "flow3 2001:db8:0:10::1 3"}
	if strings.Join(got, "; ") != strings.Join(want, "; ") {
		t.Fatalf("got %q, want %q", got, want)
	}
}
