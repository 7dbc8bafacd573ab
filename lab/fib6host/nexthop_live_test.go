package fib6host

import (
	"context"
	"slices"
	"strconv"
	"strings"
	"testing"

	"raceroute/lab/liverun"
	"raceroute/live/netns/nstest"
	"raceroute/model/fib6"
	"raceroute/model/fib6/nexthop"
	"raceroute/profile"
)

// TestNexthopObjectsLive puts the same nexthop and route requests to the
// running kernel (with iproute2, in a namespace of its own) and to the
// model on the kernel's profile, and compares each answer (accepted or
// refused) and, after each script, the routes that use nexthop objects
// and the objects left with their groups' members.
func TestNexthopObjectsLive(t *testing.T) {
	nstest.RequireRoot(t)
	nstest.RequireBinary(t, "ip")
	p := liveProfile(t)
	for _, sc := range nexthopScripts {
		t.Run(sc.name, func(t *testing.T) {
			a, _ := nstest.Pair(t, "nh")
			ctx := context.Background()
			var ops []fib6.Op
			for _, line := range sc.ops {
				ops = append(ops, parseScriptOp(t, line))
			}
			m, err := fib6.New(fib6.Config{Profile: p, Actors: []fib6.Actor{{Name: "script", Ops: ops}}})
			if err != nil {
				t.Fatal(err)
			}
			s := m.Init()
			for i, line := range sc.ops {
				ans, err := m.Exec(&s, ops[i])
				if err != nil {
					t.Fatal(err)
				}
				// A group goes without -6 (it is AF_UNSPEC: "Invalid family
				// for group" otherwise); a single nexthop with it, since
				// iproute2 makes a blackhole AF_INET by default, which an
				// IPv6 route can not use ("IPv6 routes can not use an IPv4
				// nexthop", fib6_check_nexthop()): the model's objects are
				// IPv6 ones.
				args := strings.Fields(line)
				switch {
				case args[0] != "nexthop":
					args = append([]string{"-6", "route"}, args...)
				case !strings.Contains(line, " group "):
					args = append([]string{"-6"}, args...)
				}
				out, kerr := a.Run(ctx, "ip", args...)
				if (kerr == nil) != (ans.Err == 0) {
					t.Errorf("%s: the kernel answered %v (%s), the model %v %s", line, kerr, strings.TrimSpace(out), ans.Err, ans.Ext)
				}
			}
			// The routes using nexthop objects, and the objects.
			out, err := a.Run(ctx, "ip", "-6", "route", "show")
			if err != nil {
				t.Fatal(err)
			}
			var live, model []string
			for _, l := range strings.Split(out, "\n") {
				f := strings.Fields(l)
				if len(f) > 0 && f[0] == "blackhole" {
					f = f[1:] // a route on a blackhole nexthop is listed as one
				}
				if len(f) >= 3 && f[1] == "nhid" {
					live = append(live, f[0]+" nhid "+f[2])
				}
			}
			for _, r := range m.Table(&s) {
				if r.Route.NHID != 0 {
					model = append(model, strings.Fields(r.Route.String())[0]+" nhid "+strings.Fields(r.Route.String())[2])
				}
			}
			slices.Sort(live)
			slices.Sort(model)
			if !slices.Equal(live, model) {
				t.Errorf("routes on nexthop objects: kernel %q, model %q", live, model)
			}
			out, err = a.Run(ctx, "ip", "nexthop", "show")
			if err != nil {
				t.Fatal(err)
			}
			live, model = nil, nil
			for _, l := range strings.Split(strings.TrimSpace(out), "\n") {
				if l == "" {
					continue
				}
				n, err := nexthop.Parse(l)
				if err != nil {
					t.Fatalf("ip nexthop show: %v", err)
				}
				live = append(live, n.String())
			}
			for _, n := range m.Nexthops(&s) {
				model = append(model, n.String())
			}
			if !slices.Equal(live, model) {
				t.Errorf("nexthop objects: kernel %q, model %q", live, model)
			}
		})
	}
}

// nexthopScripts are nexthop and route requests, each script run in a
// namespace of its own (device va) by the kernel and the model.
var nexthopScripts = []struct {
	name string
	ops  []string
}{
	{"replace moves every route", []string{
		"nexthop add id 1 via fe80::1 dev va", "nexthop add id 2 via fe80::2 dev va", "nexthop add id 10 group 1/2",
		"add 2001:db8:10::/64 nhid 10", "add 2001:db8:20::/64 nhid 1", "nexthop replace id 1 via fe80::3 dev va"}},
	{"a member's delete", []string{
		"nexthop add id 1 via fe80::1 dev va", "nexthop add id 2 via fe80::2 dev va", "nexthop add id 10 group 1/2",
		"add 2001:db8:10::/64 nhid 10", "add 2001:db8:20::/64 nhid 1", "nexthop del id 1"}},
	{"the last member's delete", []string{
		"nexthop add id 1 via fe80::1 dev va", "nexthop add id 2 via fe80::2 dev va", "nexthop add id 10 group 1/2",
		"add 2001:db8:10::/64 nhid 10", "nexthop del id 1", "nexthop del id 2"}},
	{"a blackhole as a group's one path", []string{
		"nexthop add id 1 via fe80::1 dev va", "nexthop add id 2 via fe80::2 dev va", "nexthop add id 10 group 1/2",
		"add 2001:db8:10::/64 nhid 10", "nexthop replace id 2 blackhole", "nexthop del id 1", "nexthop replace id 2 blackhole"}},
	{"refusals", []string{
		"nexthop add id 1 via fe80::1 dev va", "nexthop add id 1 via fe80::2 dev va", "nexthop add id 2 via fe80::2 dev va", "nexthop replace id 1 group 2",
		"add 2001:db8:30::/64 nhid 99", "nexthop del id 7", "nexthop add id 4 blackhole", "nexthop add id 11 group 1/4"}},
}

// liveProfile is the running kernel's profile; the test is skipped on a
// kernel without nexthop objects.
func liveProfile(t *testing.T) profile.Profile {
	t.Helper()
	h, err := liverun.DetectHost(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if !h.Profile.NexthopObjects {
		t.Skipf("the running kernel %s has no nexthop objects", h.Profile.ID())
	}
	return h.Profile
}

func itoa(v uint32) string { return strconv.FormatUint(uint64(v), 10) }

// parseScriptOp reads one line of a script as a fib6 op.
func parseScriptOp(t *testing.T, line string) fib6.Op {
	t.Helper()
	f := strings.Fields(line)
	if f[0] == "nexthop" {
		rest := strings.Join(f[2:], " ")
		switch f[1] {
		case "del":
			n, err := nexthop.Parse(rest + " blackhole")
			if err != nil {
				t.Fatal(err)
			}
			return fib6.Op{Kind: fib6.OpNexthopDel, Nexthop: nexthop.Nexthop{ID: n.ID}}
		case "add", "replace":
			n, err := nexthop.Parse(rest)
			if err != nil {
				t.Fatal(err)
			}
			k := fib6.OpNexthopAdd
			if f[1] == "replace" {
				k = fib6.OpNexthopReplace
			}
			return fib6.Op{Kind: k, Nexthop: n}
		}
	}
	r, err := fib6.ParseRoute(strings.Join(f[1:], " "))
	if err != nil {
		t.Fatal(err)
	}
	if f[0] != "add" {
		t.Fatalf("script verb %q", f[0])
	}
	return fib6.Op{Kind: fib6.OpAdd, Route: r}
}
