package fib6file

import (
	"fmt"
	"strings"
	"testing"

	"raceroute/model/fib6"
	"raceroute/scenario/format"
)

// testCompiler compiles values of a file t.yaml with devices lo and eth0
// and the variable $gw.
func testCompiler() *compiler {
	return &compiler{
		sc:      &format.Scenario{Source: "t.yaml"},
		v:       format.Variant{Vars: map[string]string{"gw": "fe80::2"}},
		devices: map[string]bool{"lo": true, "eth0": true},
	}
}

// ops writes ops as `ip route` would: "del ROUTE; add ROUTE".
func ops(list []fib6.Op) string {
	var s []string
	for _, o := range list {
		s = append(s, o.String())
	}
	return strings.Join(s, "; ")
}

// An `ops:` line is a verb iproute2 knows and a route; anything else is
// an error at the line.
func TestOps(t *testing.T) {
	const r = "2001:db8::/64 via fe80::2 dev eth0 metric 1024"
	for _, tc := range []struct{ line, want, err string }{
		{line: "add " + r, want: "add " + r},
		{line: "del " + r, want: "del " + r},
		{line: "delete " + r, want: "del " + r},
		{line: "replace 2001:db8::/64 via $gw dev eth0 metric 1024", want: "replace " + r},
		{line: "change " + r, want: "change " + r},
		{line: "append " + r, want: "append " + r},
		{line: "remove " + r, err: `t.yaml:3:5: op "remove ` + r + `": want add, del, replace, change or append followed by a route, heal followed by a prefix, or nexthop add|replace|del`},
		{line: "heal 2001:db8::/48", want: "heal 2001:db8::/48"},
		{line: "heal 2001:db8::1/48", err: `t.yaml:3:5: heal "2001:db8::1/48": want an IPv6 prefix such as 2001:db8::/48 (the writer heals the route cache under it)`},
		{line: "heal 10.0.0.0/8", err: `t.yaml:3:5: heal "10.0.0.0/8": want an IPv6 prefix such as 2001:db8::/48 (the writer heals the route cache under it)`},
		{line: "add 2001:db8::/64 dev eth7", err: `t.yaml:3:5: route "2001:db8::/64 dev eth7": unknown device "eth7" (host devices: eth0, lo)`},
	} {
		op, err := testCompiler().op(format.Line{Text: tc.line, Line: 3, Col: 5})
		if got := fmt.Sprint(err); tc.err != "" && got != tc.err {
			t.Errorf("%s: error %s, want %s", tc.line, got, tc.err)
		}
		if tc.err == "" && (err != nil || ops([]fib6.Op{op}) != tc.want) {
			t.Errorf("%s: %s (error %v), want %s", tc.line, ops([]fib6.Op{op}), err, tc.want)
		}
	}
}

// `modify:` expands by its strategy into the route changes the agents
// make: babeld's delete then add, a replace, or the new route first.
func TestModifyStrategies(t *testing.T) {
	const from, to = "2001:db8::/64 via fe80::1 dev eth0 metric 1024", "2001:db8::/64 via fe80::2 dev eth0 metric 1024"
	for _, tc := range []struct{ strategy, heal, want, err string }{
		{strategy: "delete-add", want: "del " + from + "; add " + to},
		{strategy: "replace", want: "replace " + to},
		{strategy: "add-delete", want: "add " + to + "; del " + from},
		{strategy: "replace-delete-old", want: "replace " + to + "; del " + from},
		{strategy: "replace", heal: "true", want: "replace " + to + "; heal 2001:db8::/64"},
		{strategy: "replace", heal: "false", want: "replace " + to},
		{strategy: "replace", heal: "yes", err: `t.yaml:8:3: heal: want true or false, got "yes"`},
		{strategy: "swap", err: `t.yaml:7:3: modify strategy "swap": want one of delete-add, replace, add-delete, replace-delete-old`},
	} {
		got, err := testCompiler().modify(&Modify{
			From:     format.Line{Text: from, Line: 5, Col: 3},
			To:       format.Line{Text: "2001:db8::/64 via $gw dev eth0 metric 1024", Line: 6, Col: 3},
			Strategy: format.Line{Text: tc.strategy, Line: 7, Col: 3},
			Heal:     format.Line{Text: tc.heal, Line: 8, Col: 3},
		})
		if tc.err != "" {
			if fmt.Sprint(err) != tc.err {
				t.Errorf("%s: error %v, want %s", tc.strategy, err, tc.err)
			}
			continue
		}
		if err != nil || ops(got) != tc.want {
			t.Errorf("%s: %s (error %v), want %s", tc.strategy, ops(got), err, tc.want)
		}
	}
	if len(modifyStrategies) != 4 {
		t.Errorf("strategies %v: the table above tests four", modifyStrategies)
	}
}
