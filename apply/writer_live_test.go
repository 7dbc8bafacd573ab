package apply

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"raceroute/apply/internal/plan"
	"raceroute/kernel"
	"raceroute/live/netns"
	"raceroute/live/netns/nstest"
)

// TestMain runs the child of TestPermissionError when asked: a writer
// in a namespace, as an unprivileged user.
func TestMain(m *testing.M) {
	if os.Getenv("RACEROUTE_APPLY_CHILD") == "1" {
		os.Exit(permissionChild())
	}
	os.Exit(m.Run())
}

// liveNS is a namespace with veth va (10.9.0.1/24, fd00:9::1/64) to a
// peer, lo up, and a second veth vc (10.9.1.1/24) to the same peer.
func liveNS(t testing.TB) *netns.NS {
	t.Helper()
	a, b := nstest.Pair(t, "ap")
	if err := a.LinkUp("lo"); err != nil {
		t.Fatal(err)
	}
	if err := a.Veth("vc", b, "vd"); err != nil {
		t.Fatal(err)
	}
	if err := a.AddrAdd("vc", netip.MustParsePrefix("10.9.1.1/24")); err != nil {
		t.Fatal(err)
	}
	// Tests compare tables before and after: let the kernel's own routes
	// of the new veths appear first.
	nstest.SettleIPv6(t, a, "va", "vc")
	return a
}

func open(t testing.TB, ns *netns.NS, opts Options) *Writer {
	t.Helper()
	opts.Netns = ns.Path
	w, err := Open(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { w.Close() })
	return w
}

// sync plans and applies desired, failing the test on any error.
func sync(t *testing.T, w *Writer, desired []Route) (*Plan, *Result) {
	t.Helper()
	ctx := context.Background()
	p, err := w.Plan(ctx, desired)
	if err != nil {
		t.Fatal(err)
	}
	res, err := w.Apply(ctx, p)
	if err != nil {
		t.Fatal(err)
	}
	if err := res.Err(); err != nil {
		var b strings.Builder
		res.WriteText(&b, -1)
		t.Fatalf("apply: %v\n%s", err, b.String())
	}
	return p, res
}

func ipRoutes(t *testing.T, ns *netns.NS, args ...string) string {
	t.Helper()
	out, err := ns.Run(context.Background(), "ip", args...)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func mustRoutes(t *testing.T, lines ...string) []Route {
	t.Helper()
	var out []Route
	for _, l := range lines {
		r, err := parseTestRoute(l)
		if err != nil {
			t.Fatalf("%q: %v", l, err)
		}
		out = append(out, r)
	}
	return out
}

// parseTestRoute reads the few forms the tests write: [TYPE] PREFIX
// [table N] [metric N] {via GW dev DEV [weight W]}.
func parseTestRoute(l string) (Route, error) {
	var r Route
	f := strings.Fields(l)
	if t, ok := kernel.ParseRouteType(f[0]); ok {
		r.Type, f = t, f[1:]
	}
	p, err := netip.ParsePrefix(f[0])
	if err != nil {
		return r, err
	}
	r.Dst = p
	var h *Nexthop
	for i := 1; i+1 < len(f); i += 2 {
		switch f[i] {
		case "via":
			r.Nexthops = append(r.Nexthops, Nexthop{Gateway: netip.MustParseAddr(f[i+1])})
			h = &r.Nexthops[len(r.Nexthops)-1]
		case "dev":
			if h == nil || h.Dev != "" {
				r.Nexthops = append(r.Nexthops, Nexthop{})
				h = &r.Nexthops[len(r.Nexthops)-1]
			}
			h.Dev = f[i+1]
		case "weight":
			fmt.Sscan(f[i+1], &h.Weight)
		case "table":
			fmt.Sscan(f[i+1], &r.Table)
		case "metric":
			fmt.Sscan(f[i+1], &r.Metric)
		case "src":
			r.Src = netip.MustParseAddr(f[i+1])
		default:
			return r, fmt.Errorf("keyword %q", f[i])
		}
	}
	return r, nil
}

// Every family, route type and ECMP, with and without nexthop objects:
// applied, read back, and a second apply writes nothing. Routes of other
// protocols, and ours outside the writer's tables, are left alone even
// with --prune.
func TestWriterAllKindsIdempotent(t *testing.T) {
	for _, mode := range []NexthopMode{NexthopsAuto, NexthopsOff} {
		t.Run(string(mode), func(t *testing.T) {
			ns := liveNS(t)
			ctx := context.Background()
			for _, args := range [][]string{
				{"route", "add", "10.50.0.0/24", "via", "10.9.0.2", "dev", "va", "proto", "static"},
				{"route", "add", "10.51.0.0/24", "via", "10.9.0.2", "dev", "va", "proto", "250", "table", "200"},
				{"-6", "route", "add", "2001:db8:50::/64", "via", "fd00:9::2", "dev", "va", "proto", "static"},
			} {
				if _, err := ns.Run(ctx, "ip", args...); err != nil {
					t.Fatal(err)
				}
			}
			before := ipRoutes(t, ns, "route", "show", "table", "all", "proto", "static") + ipRoutes(t, ns, "-6", "route", "show", "table", "all", "proto", "static") + ipRoutes(t, ns, "route", "show", "table", "200")
			w := open(t, ns, Options{Nexthops: mode, Prune: true, Tables: []uint32{100}})
			desired := mustRoutes(t,
				"10.1.0.0/24 via 10.9.0.2 dev va",
				"10.1.1.0/24 dev va metric 5",
				"10.1.2.0/24 via 10.9.0.2 dev va weight 3 via 10.9.1.2 dev vc",
				"10.1.3.0/24 via 10.9.0.3",
				"blackhole 10.2.0.0/24 table 100",
				"unreachable 10.2.1.0/24 table 100",
				"prohibit 10.2.2.0/24 table 100",
				"throw 10.2.3.0/24 table 100",
				"local 10.2.4.1/32 dev va table 100",
				"broadcast 10.2.5.255/32 dev va table 100",
				"multicast 239.1.1.0/24 dev va table 100",
				"2001:db8:1::/64 via fd00:9::2 dev va",
				"2001:db8:2::/64 dev va metric 300",
				"2001:db8:3::/64 via fe80::2 dev va via fe80::3 dev vc",
				"unreachable 2001:db8:4::/64",
				"blackhole 2001:db8:5::/64 table 100",
				"anycast 2001:db8:6::/128 dev va table 100",
			)
			p, res := sync(t, w, desired)
			if len(p.Changes) != len(desired) || !res.Verified {
				t.Fatalf("%d changes for %d routes; verified %v", len(p.Changes), len(desired), res.Verified)
			}
			if (mode == NexthopsAuto) != p.Nexthops {
				t.Fatalf("nexthop objects %v in mode %s: %s", p.Nexthops, mode, p.NexthopsWhy)
			}
			again, err := w.Plan(ctx, desired)
			if err != nil {
				t.Fatal(err)
			}
			if !again.Empty() || again.Unchanged != len(desired) {
				var b strings.Builder
				again.WriteText(&b)
				t.Fatalf("a second apply would write:\n%s", b.String())
			}
			after := ipRoutes(t, ns, "route", "show", "table", "all", "proto", "static") + ipRoutes(t, ns, "-6", "route", "show", "table", "all", "proto", "static") + ipRoutes(t, ns, "route", "show", "table", "200")
			if after != before {
				t.Fatalf("routes of others changed:\nbefore:\n%s\nafter:\n%s", before, after)
			}
			ours := ipRoutes(t, ns, "route", "show", "table", "100", "proto", "250")
			for _, want := range []string{"blackhole 10.2.0.0/24", "throw 10.2.3.0/24", "local 10.2.4.1 dev va", "multicast 239.1.1.0/24 dev va"} {
				if !strings.Contains(ours, want) {
					t.Errorf("table 100 lacks %q:\n%s", want, ours)
				}
			}
			ecmp := ipRoutes(t, ns, "-6", "route", "show", "2001:db8:3::/64")
			if !strings.Contains(ecmp, "nexthop via fe80::2 dev va") || !strings.Contains(ecmp, "nexthop via fe80::3 dev vc") {
				t.Errorf("IPv6 ECMP route:\n%s", ecmp)
			}
			// prune everything of ours: the others' routes stay
			p, _ = sync(t, w, nil)
			if len(p.Changes) != len(desired) {
				t.Fatalf("prune: %d changes, want %d", len(p.Changes), len(desired))
			}
			if left := ipRoutes(t, ns, "route", "show", "table", "all", "proto", "250"); strings.TrimSpace(left) != "10.51.0.0/24 via 10.9.0.2 dev va table 200" {
				t.Fatalf("after the prune, routes of proto 250:\n%s", left)
			}
			if mode == NexthopsAuto {
				if nh := strings.TrimSpace(ipRoutes(t, ns, "nexthop", "show", "proto", "250")); nh != "" {
					t.Fatalf("nexthop objects left after the prune:\n%s", nh)
				}
			}
		})
	}
}

// Moving every route of a next hop to another is one request with
// nexthop objects, and the routes use the new next hop at once.
func TestWriterNexthopMove(t *testing.T) {
	ns := liveNS(t)
	w := open(t, ns, Options{})
	var rs []Route
	for i := 0; i < 1000; i++ {
		rs = append(rs, Route{Dst: netip.PrefixFrom(netip.AddrFrom4([4]byte{10, 3, byte(i >> 8), byte(i)}), 32),
			Nexthops: []Nexthop{{Gateway: netip.MustParseAddr("10.9.0.2"), Dev: "va"}}})
	}
	_, res := sync(t, w, rs)
	if res.Requests != 1001 {
		t.Fatalf("%d requests for 1000 routes and their object", res.Requests)
	}
	for i := range rs {
		rs[i].Nexthops = []Nexthop{{Gateway: netip.MustParseAddr("10.9.1.2"), Dev: "vc"}}
	}
	p, res := sync(t, w, rs)
	if res.Requests != 1 || p.Changes[0].Strategy != NexthopReplace {
		t.Fatalf("move: %d requests, strategy %s; want one nexthop replace", res.Requests, p.Changes[0].Strategy)
	}
	if got := ipRoutes(t, ns, "route", "get", "10.3.3.200"); !strings.Contains(got, "via 10.9.1.2 dev vc") {
		t.Fatalf("route get after the move: %s", got)
	}
}

// IPv6 on this kernel: a retraction is one replace; a metric change is
// an add then a delete, and no route at the old metric is left.
func TestWriterIPv6Strategies(t *testing.T) {
	ns := liveNS(t)
	for _, mode := range []NexthopMode{NexthopsAuto, NexthopsOff} {
		w := open(t, ns, Options{Nexthops: mode})
		sync(t, w, mustRoutes(t, "2001:db8:10::/64 via fd00:9::2 dev va"))
		p, _ := sync(t, w, mustRoutes(t, "unreachable 2001:db8:10::/64"))
		if c := p.Changes[0]; c.Kind != KindModify || c.Strategy != Replace {
			t.Fatalf("%s: retraction by %s %s: %s", mode, c.Kind, c.Strategy, c.Why)
		}
		p, _ = sync(t, w, mustRoutes(t, "2001:db8:10::/64 via fd00:9::2 dev va metric 2048"))
		if c := p.Changes[0]; c.Kind != KindMove || c.Strategy != AddDelete {
			t.Fatalf("%s: metric change by %s %s", mode, c.Kind, c.Strategy)
		}
		if got := ipRoutes(t, ns, "-6", "route", "show", "2001:db8:10::/64"); strings.Count(got, "\n") != 1 || !strings.Contains(got, "metric 2048") {
			t.Fatalf("%s: after the metric change:\n%s", mode, got)
		}
		sync(t, w, nil)
	}
}

// A key held by another protocol's route, an unknown device: refused
// before anything is written.
func TestWriterRefusesAndWritesNothing(t *testing.T) {
	ns := liveNS(t)
	if _, err := ns.Run(context.Background(), "ip", "route", "add", "10.7.0.0/24", "via", "10.9.0.2", "dev", "va", "proto", "static"); err != nil {
		t.Fatal(err)
	}
	before := ipRoutes(t, ns, "route", "show", "table", "all")
	w := open(t, ns, Options{})
	_, err := w.Plan(context.Background(), mustRoutes(t, "10.8.0.0/24 via 10.9.0.2 dev va", "10.7.0.0/24 via 10.9.0.3 dev va", "10.9.9.0/24 dev eth9"))
	var ve *ValidationError
	if !errors.As(err, &ve) || len(ve.Problems) != 2 || ve.Problems[0].Index != 1 || ve.Problems[1].Index != 2 ||
		!strings.Contains(ve.Problems[0].Msg, "held by `10.7.0.0/24 via 10.9.0.2 dev va proto static`") ||
		!strings.Contains(ve.Problems[1].Msg, "dev eth9: no such device") {
		t.Fatalf("error %v", err)
	}
	if after := ipRoutes(t, ns, "route", "show", "table", "all"); after != before {
		t.Fatalf("the tables changed:\n%s\n---\n%s", before, after)
	}
}

// A route the kernel refuses fails alone, with the kernel's words;
// every other change goes in and reads back; with RollbackOnError the
// state before is restored.
func TestWriterPartialFailureAndRollback(t *testing.T) {
	for _, mode := range []NexthopMode{NexthopsAuto, NexthopsOff} {
		t.Run(string(mode), func(t *testing.T) {
			ns := liveNS(t)
			w := open(t, ns, Options{Nexthops: mode})
			sync(t, w, mustRoutes(t, "10.1.0.0/24 via 10.9.0.2 dev va", "10.1.1.0/24 via 10.9.0.2 dev va"))
			before := ipRoutes(t, ns, "route", "show", "proto", "250")
			desired := mustRoutes(t, "10.1.0.0/24 via 10.9.0.3 dev va", "10.1.1.0/24 via 10.9.0.2 dev va", "10.1.2.0/24 via 192.0.2.1 dev va", "10.1.3.0/24 via 10.9.1.2 dev vc")
			for _, rollback := range []bool{false, true} {
				w.opts.RollbackOnError = rollback
				p, err := w.Plan(context.Background(), desired)
				if err != nil {
					t.Fatal(err)
				}
				res, err := w.Apply(context.Background(), p)
				if err != nil {
					t.Fatal(err)
				}
				var b strings.Builder
				res.WriteText(&b, -1)
				out := b.String()
				if res.Err() == nil || !res.Verified || !strings.Contains(out, "Nexthop has invalid gateway") || !strings.Contains(out, "10.1.2.0/24 via 192.0.2.1 dev va") {
					t.Fatalf("rollback=%v: %v\n%s", rollback, res.Err(), out)
				}
				for _, c := range res.Changes {
					want := Applied
					if c.Change.To != nil && c.Change.To.Dst.String() == "10.1.2.0/24" {
						want = Failed
						if mode == NexthopsAuto {
							want = NotAttempted // its nexthop object was refused first
						}
					}
					if c.Outcome != want {
						t.Errorf("rollback=%v: %s: %s, want %s", rollback, c.Change, c.Outcome, want)
					}
				}
				got := ipRoutes(t, ns, "route", "show", "proto", "250")
				if rollback {
					if res.Rollback == nil || res.Rollback.Err() != nil || !res.Rollback.Verified || got != before {
						t.Fatalf("after the rollback:\n%s\nwant:\n%s\n%s", got, before, out)
					}
				} else if !strings.Contains(got, "10.1.3.0/24") || strings.Contains(got, "10.1.0.0/24 nhid") != (mode == NexthopsAuto) {
					t.Fatalf("without rollback:\n%s", got)
				}
				if !rollback {
					w.opts.Prune = true
					sync(t, w, mustRoutes(t, "10.1.0.0/24 via 10.9.0.2 dev va", "10.1.1.0/24 via 10.9.0.2 dev va"))
					w.opts.Prune = false
				}
			}
		})
	}
}

// Run as an unprivileged user, the writer reads but the kernel refuses
// every write: nothing changes, and the result says why.
func TestWriterPermissionError(t *testing.T) {
	ns := liveNS(t)
	setpriv := nstest.RequireBinary(t, "setpriv")
	// The test binary, where the unprivileged user can run it.
	dir := t.TempDir()
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(dir, "apply.test")
	data, err := os.ReadFile(self)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(bin, data, 0o755); err != nil {
		t.Fatal(err)
	}
	before := ipRoutes(t, ns, "route", "show", "table", "all")
	cmd := ns.Command(context.Background(), setpriv, "--reuid=65534", "--regid=65534", "--clear-groups", "--inh-caps=-all", bin)
	cmd.Env = append(os.Environ(), "RACEROUTE_APPLY_CHILD=1")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("child: %v\n%s", err, out)
	}
	if !strings.Contains(string(out), "EPERM: changing routes needs CAP_NET_ADMIN in the namespace (run as root)") ||
		!strings.Contains(string(out), "not applied") {
		t.Fatalf("the child said:\n%s", out)
	}
	t.Logf("the child said:\n%s", out)
	if after := ipRoutes(t, ns, "route", "show", "table", "all"); after != before {
		t.Fatalf("the tables changed:\n%s\n---\n%s", before, after)
	}
}

// permissionChild applies two routes in its own namespace and prints
// the result; it exits 0 when the writer gave a result.
func permissionChild() int {
	w, err := Open(Options{})
	if err != nil {
		fmt.Println("open:", err)
		return 1
	}
	defer w.Close()
	rs, _ := parseTestRoute("10.1.0.0/24 via 10.9.0.2 dev va")
	rs6, _ := parseTestRoute("2001:db8::/64 via fd00:9::2 dev va")
	p, err := w.Plan(context.Background(), []Route{rs, rs6})
	if err != nil {
		fmt.Println("plan:", err)
		return 1
	}
	res, err := w.Apply(context.Background(), p)
	if err != nil {
		fmt.Println("apply:", err)
		return 1
	}
	res.WriteText(os.Stdout, -1)
	return 0
}

// A move by nexthop replace is read back by its object and the routes
// that use it (verifyReplaced), and that read-back catches an object
// that does not hold what was written, a route moved off it (to its own
// next hops, or to another object with the same next hop: a nexthop id
// changed behind the writer's back), and a route of ours swapped for
// another on it.
func TestWriterNexthopMoveVerify(t *testing.T) {
	ns := liveNS(t)
	ctx := context.Background()
	routes := func(gw, dev string) []Route {
		var rs []Route
		for i := 0; i < 100; i++ {
			rs = append(rs, Route{Dst: netip.PrefixFrom(netip.AddrFrom4([4]byte{10, 3, 0, byte(i)}), 32),
				Nexthops: []Nexthop{{Gateway: netip.MustParseAddr(gw), Dev: dev}}})
		}
		return rs
	}
	a, b := routes("10.9.0.2", "va"), routes("10.9.1.2", "vc")
	const objectRewritten = "object rewritten"
	for _, mode := range []struct {
		moved   bool   // Options.ReadBackMoved
		checked string // in Result.Checked of the move
	}{
		{true, "the 100 route(s) of ours that use them still do"},
		// By default only the objects are read back: the routes were not
		// written, and another writer's change to them since the plan
		// read the tables passes (only the object's rewrite is caught).
		{false, "the 100 route(s) of ours that use them by id were read when planning, not again"},
	} {
		w := open(t, ns, Options{Prune: true, ReadBackMoved: mode.moved})
		sync(t, w, a)
		for _, tc := range []struct {
			name   string
			tamper [][]string // ip commands run after the move, before the read-back is repeated
			want   string     // in the read-back's error with ReadBackMoved; "" for none
		}{
			{"untouched", nil, ""},
			{objectRewritten, [][]string{{"nexthop", "replace", "id", "%d", "via", "10.9.0.2", "dev", "va", "proto", "250"}},
				"reads back as"},
			{"route moved off", [][]string{{"route", "replace", "10.3.0.7/32", "via", "10.9.1.2", "dev", "vc", "proto", "250"}},
				"99 route(s) of ours use nexthop object"},
			{"route swapped", [][]string{{"route", "del", "10.3.0.8/32"}, {"route", "add", "10.3.1.8/32", "nhid", "%d", "proto", "250"}},
				"are not those planned"},
			// The same next hop, another object: only the route's nexthop id
			// tells.
			{"nexthop id changed", [][]string{{"nexthop", "add", "id", "77", "via", "10.9.1.2", "dev", "vc", "proto", "250"},
				{"route", "replace", "10.3.0.9/32", "nhid", "77", "proto", "250"}},
				"99 route(s) of ours use nexthop object"},
		} {
			t.Run(fmt.Sprintf("moved=%v/%s", mode.moved, tc.name), func(t *testing.T) {
				p, res := sync(t, w, b)
				replaced := plan.Replaced(p)
				if len(replaced) != 1 || res.Requests != 1 || !res.Verified || !strings.Contains(res.Checked, mode.checked) {
					t.Fatalf("move: replaced %v, %d requests, verified %v (%s)", replaced, res.Requests, res.Verified, res.Checked)
				}
				var id uint32
				for id = range replaced {
				}
				for _, c := range tc.tamper {
					args := slices.Clone(c)
					for i := range args {
						if args[i] == "%d" {
							args[i] = fmt.Sprint(id)
						}
					}
					ipRoutes(t, ns, args...)
				}
				res.Verified, res.Checked, res.VerifyErr = false, "", nil
				if err := w.verify(ctx, res); err != nil {
					t.Fatal(err)
				}
				want := tc.want
				if !mode.moved && tc.name != objectRewritten {
					want = ""
				}
				switch {
				case want == "" && (!res.Verified || res.VerifyErr != nil):
					t.Fatalf("read-back after %v: verified %v, %v; want it verified", tc.tamper, res.Verified, res.VerifyErr)
				case want != "" && (res.Verified || res.VerifyErr == nil || !strings.Contains(res.VerifyErr.Error(), want)):
					t.Fatalf("read-back after %v: verified %v, %v; want an error with %q", tc.tamper, res.Verified, res.VerifyErr, want)
				}
				sync(t, w, a) // back to the start for the next case (Prune deletes a route swapped in)
			})
		}
		w.Close()
	}
}

// A plan after Prefetch uses the tables it read when its routes name no
// other table, and reads again when they do.
func TestWriterPrefetch(t *testing.T) {
	ns := liveNS(t)
	w := open(t, ns, Options{})
	ctx := context.Background()
	main := mustRoutes(t, "10.4.0.0/24 via 10.9.0.2 dev va")
	both := append(mustRoutes(t, "10.4.1.0/24 table 200 via 10.9.0.2 dev va"), main...)
	sync(t, w, both)
	for _, tc := range []struct {
		name    string
		desired []Route
	}{
		{"main only", main},
		{"a table beyond the prefetch's", both}, // the prefetch read main only: its route in 200 would be planned as an add
	} {
		t.Run(tc.name, func(t *testing.T) {
			w.Prefetch(ctx, 0)
			p, err := w.Plan(ctx, tc.desired)
			if err != nil {
				t.Fatal(err)
			}
			if !p.Empty() || p.Unchanged != len(tc.desired) {
				var b strings.Builder
				p.WriteText(&b)
				t.Fatalf("plan after a prefetch of the state it holds:\n%s", b.String())
			}
		})
	}
	// A prefetch not used by a Plan is waited for by Apply and Close.
	w.Prefetch(ctx, 0)
	p, err := w.Plan(ctx, main)
	if err != nil {
		t.Fatal(err)
	}
	w.Prefetch(ctx, 0)
	if _, err := w.Apply(ctx, p); err != nil {
		t.Fatal(err)
	}
	w.Prefetch(ctx, 0)
}
