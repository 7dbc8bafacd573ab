package livewatch_test

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"net/netip"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"raceroute/iproute2"
	"raceroute/kernel"
	"raceroute/live/livewatch"
	"raceroute/live/netns"
	"raceroute/live/netns/nstest"
	"raceroute/trace"
	"raceroute/watch"
)

// babelDump asks the babeld of ns (local port) for its tables.
func babelDump(ns *netns.NS, port int) (string, error) {
	var out string
	err := ns.Do(func() error {
		c, err := net.DialTimeout("tcp", fmt.Sprintf("[::1]:%d", port), time.Second)
		if err != nil {
			return err
		}
		defer c.Close()
		c.SetDeadline(time.Now().Add(2 * time.Second))
		if _, err := c.Write([]byte("dump\n")); err != nil {
			return err
		}
		var b strings.Builder
		sc := bufio.NewScanner(c)
		oks := 0
		for sc.Scan() {
			b.WriteString(sc.Text() + "\n")
			// One "ok" ends the greeting, the next ends the dump.
			if sc.Text() == "ok" {
				if oks++; oks == 2 {
					break
				}
			}
		}
		out = b.String()
		return nil
	})
	return out, err
}

// waitFor polls cond every 100 ms until it holds or timeout passes.
func waitFor(t *testing.T, what string, timeout time.Duration, cond func() (bool, string)) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	var last string
	for time.Now().Before(deadline) {
		var ok bool
		if ok, last = cond(); ok {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("%s: not within %v; last state:\n%s", what, timeout, last)
}

// TestBabeldNonAtomicChange runs Debian's babeld in three namespaces. A
// reaches fd0c::/64 (announced by C) directly over ac, or through B.
// The direct path is broken without any link event (C's end leaves the
// bridge babeld runs on, so A just stops hearing C), and babeld on A
// moves the route to B the way it always does: delete, then add. The
// watch on A must call that a non-atomic change and measure the gap.
func TestBabeldNonAtomicChange(t *testing.T) {
	nstest.RequireRoot(t)
	babeld := nstest.RequireBinary(t, "babeld")
	a, b, c := nstest.New(t, "babA"), nstest.New(t, "babB"), nstest.New(t, "babC")
	for _, ns := range []*netns.NS{a, b, c} {
		for _, kv := range [][2]string{
			{"net.ipv6.conf.all.accept_dad", "0"}, {"net.ipv6.conf.default.accept_dad", "0"},
			{"net.ipv6.conf.all.forwarding", "1"},
		} {
			if err := ns.Sysctl(kv[0], kv[1]); err != nil {
				t.Fatal(err)
			}
		}
	}
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(a.Veth("ab", b, "ba"))
	must(a.Veth("ac", c, "ca"))
	must(b.Veth("bc", c, "cb"))
	// The far ends of A's links are bridge ports: taking one out of its
	// bridge breaks the path while A's interface stays up.
	must(b.Bridge("brb", kernel.MACFrom6([6]byte{0x02, 0, 0, 0, 0x0b, 0x01})))
	must(b.SetMaster("ba", "brb"))
	must(c.Bridge("brc", kernel.MACFrom6([6]byte{0x02, 0, 0, 0, 0x0c, 0x01})))
	must(c.SetMaster("ca", "brc"))
	must(c.Veth("cx", c, "cy"))
	must(c.AddrAdd("cx", netip.MustParsePrefix("fd0c::1/64")))

	// babeld needs each interface's link-local address when it starts
	// (it looks again only every 30 s or so).
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for _, x := range []struct {
		ns   *netns.NS
		devs []string
	}{{a, []string{"ab", "ac"}}, {b, []string{"brb", "bc"}}, {c, []string{"brc", "cb"}}} {
		for _, dev := range x.devs {
			waitFor(t, dev+" has a usable link-local address", 10*time.Second, func() (bool, string) {
				out, err := x.ns.Run(ctx, "ip", "-6", "addr", "show", "dev", dev, "scope", "link")
				return err == nil && strings.Contains(out, "fe80::") && !strings.Contains(out, "tentative"), out
			})
		}
	}

	dir := t.TempDir()
	const portA = 33123
	// The direct link costs 150, the path through B 96+96: the direct
	// route wins, and B's (advertised metric 96 < 150) stays feasible.
	// Metric smoothing is off (-M 0): babeld moves to a better route only
	// once its smoothed metric (4 s half-life) is below the installed
	// one's, so a route of C's that B lost for a moment (at load 10 B once
	// held A's route, metric 246, over C's own, 96, for 20 s) would keep B
	// on A's and leave A one route to fd0c::/64.
	run := func(ns *netns.NS, name string, extra ...string) {
		args := []string{
			"-I", filepath.Join(dir, name+".pid"), "-S", filepath.Join(dir, name+".state"),
			"-h", "0.5", "-H", "0.5", "-M", "0",
		}
		args = append(args, extra...)
		args = append(args, "-C", "redistribute local deny")
		nstest.Start(t, ns, babeld, args...)
	}
	run(b, "B", "-g", fmt.Sprint(portA), "-C", "interface brb type wired", "-C", "interface bc type wired")
	run(c, "C", "-C", "redistribute ip fd0c::/64 allow", "-C", "interface brc type wired rxcost 150", "-C", "interface cb type wired")
	// B must route through C before A starts: had it learnt A's route
	// first, babeld could keep it (a newer seqno makes C's infeasible).
	waitFor(t, "babeld on B routes fd0c::/64 through C", 20*time.Second, func() (bool, string) {
		d, err := babelDump(b, portA)
		if err != nil {
			return false, err.Error()
		}
		for _, l := range strings.Split(d, "\n") {
			if strings.Contains(l, "prefix fd0c::/64") && strings.Contains(l, "installed yes") && strings.HasSuffix(l, " if bc") {
				return true, ""
			}
		}
		return false, d
	})
	run(a, "A", "-g", fmt.Sprint(portA), "-C", "interface ab type wired", "-C", "interface ac type wired rxcost 150")

	// Converged: one route installed, the other known. Usually the direct
	// one wins; if B's came first while the direct link's cost was still
	// unknown, babeld may keep B's. Either way the installed path breaks.
	var installed, other string
	waitFor(t, "babeld on A knows both routes to fd0c::/64", 20*time.Second, func() (bool, string) {
		d, err := babelDump(a, portA)
		if err != nil {
			return false, err.Error()
		}
		installed, other = "", ""
		for _, l := range strings.Split(d, "\n") {
			if !strings.Contains(l, "prefix fd0c::/64") || strings.Contains(l, "metric 65535") {
				continue
			}
			for _, dev := range []string{"ab", "ac"} {
				if strings.HasSuffix(l, " if "+dev) {
					if strings.Contains(l, "installed yes") {
						installed = dev
					} else {
						other = dev
					}
				}
			}
		}
		if installed != "" && other != "" && installed != other {
			return true, ""
		}
		db, _ := babelDump(b, portA)
		return false, "A:\n" + d + "B:\n" + db
	})

	var fs findings
	var mu sync.Mutex
	var routeRecs []trace.Record
	stop := start(t, livewatch.Config{
		Netns: a.Name, Families: []int{6}, OnFinding: fs.add,
		OnRecord: func(r trace.Record) {
			if r.Kind == trace.KindRoute && r.Route.Dst == netip.MustParsePrefix("fd0c::/64") {
				mu.Lock()
				routeRecs = append(routeRecs, r)
				mu.Unlock()
			}
		},
	})
	breakAt := time.Now()
	if installed == "ac" {
		must(c.SetMaster("ca", "")) // the direct path is broken; ac stays up
	} else {
		must(b.SetMaster("ba", "")) // the path through B is broken; ab stays up
	}
	f := fs.wait(t, watch.DetectorNonAtomic, 15*time.Second)
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(strings.Join(f.Objects, " "), "fd0c::/64") || !strings.Contains(f.Evidence, "babel") {
		t.Errorf("finding does not name babel's fd0c::/64: %v", f)
	}
	// Measure the gap from the records: the delete of the route via ac
	// and the add of the route via ab, both at babeld's metric.
	mu.Lock()
	defer mu.Unlock()
	var del, add time.Time
	var story []string
	for _, r := range routeRecs {
		story = append(story, iproute2.FormatMonitor(r, true))
		switch {
		case r.Action == trace.ActionDel && r.Route.Dev == installed && del.IsZero():
			del = r.Time
		case r.Action == trace.ActionNew && r.Route.Dev == other && !del.IsZero() && add.IsZero():
			add = r.Time
		}
	}
	if del.IsZero() || add.IsZero() {
		t.Fatalf("no delete via %s then add via %s in:\n%s", installed, other, strings.Join(story, "\n"))
	}
	t.Logf("path via %s broken; babeld rerouted via %s %v later; delete-to-add gap %v\n%s\n%s",
		installed, other, del.Sub(breakAt).Round(time.Millisecond), add.Sub(del), strings.Join(story, "\n"), f)
}

// TestBabeldRetraction runs babeld in two namespaces: A learns
// fd0c::/64 from C over one link, the only path. The path breaks (C's end
// leaves the bridge babeld runs on) and babeld on A retracts the route:
// it deletes it and installs `unreachable fd0c::/64 ... metric
// 4294967295`; the path comes back and babeld deletes the retraction and
// adds the route again. The watch must see one non-atomic change through
// the retraction, naming it and how long fd0c::/64 was unreachable.
// With -record it keeps what ip monitor printed meanwhile
// (watch/testdata/babeld-retraction.log).
func TestBabeldRetraction(t *testing.T) {
	nstest.RequireRoot(t)
	babeld := nstest.RequireBinary(t, "babeld")
	a, c := nstest.New(t, "retA"), nstest.New(t, "retC")
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	for _, ns := range []*netns.NS{a, c} {
		for _, kv := range [][2]string{
			{"net.ipv6.conf.all.accept_dad", "0"}, {"net.ipv6.conf.default.accept_dad", "0"},
			{"net.ipv6.conf.all.forwarding", "1"},
		} {
			must(ns.Sysctl(kv[0], kv[1]))
		}
	}
	must(a.Veth("ac", c, "ca"))
	must(c.Bridge("brc", kernel.MACFrom6([6]byte{0x02, 0, 0, 0, 0x0c, 0x01})))
	must(c.SetMaster("ca", "brc"))
	must(c.Veth("cx", c, "cy"))
	must(c.AddrAdd("cx", netip.MustParsePrefix("fd0c::1/64")))
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	for _, x := range []struct {
		ns  *netns.NS
		dev string
	}{{a, "ac"}, {c, "brc"}} {
		waitFor(t, x.dev+" has a usable link-local address", 10*time.Second, func() (bool, string) {
			out, err := x.ns.Run(ctx, "ip", "-6", "addr", "show", "dev", x.dev, "scope", "link")
			return err == nil && strings.Contains(out, "fe80::") && !strings.Contains(out, "tentative"), out
		})
	}
	dir := t.TempDir()
	const portA = 33124
	run := func(ns *netns.NS, name string, extra ...string) {
		args := []string{"-I", filepath.Join(dir, name+".pid"), "-S", filepath.Join(dir, name+".state"), "-h", "0.5", "-H", "0.5"}
		args = append(args, extra...)
		nstest.Start(t, ns, babeld, append(args, "-C", "redistribute local deny")...)
	}
	run(c, "C", "-C", "redistribute ip fd0c::/64 allow", "-C", "interface brc type wired")
	run(a, "A", "-g", fmt.Sprint(portA), "-C", "interface ac type wired")
	routes := func() string {
		out, _ := a.Run(ctx, "ip", "-6", "route", "show", "table", "all", "fd0c::/64")
		return out
	}
	waitFor(t, "babeld on A routes fd0c::/64 through ac", 20*time.Second, func() (bool, string) {
		r := routes()
		return strings.Contains(r, "via fe80::") && strings.Contains(r, "dev ac"), r
	})

	mon := monitor(t, a)
	var fs findings
	stop := start(t, livewatch.Config{Netns: a.Name, Families: []int{6}, OnFinding: fs.add})
	breakAt := time.Now()
	must(c.SetMaster("ca", "")) // the only path breaks; ac stays up
	waitFor(t, "babeld on A retracts fd0c::/64", 20*time.Second, func() (bool, string) {
		r := routes()
		return strings.Contains(r, "unreachable fd0c::/64") && !strings.Contains(r, "via fe80::"), r
	})
	retractedAt := time.Now()
	must(c.SetMaster("ca", "brc")) // and comes back
	f := fs.wait(t, watch.DetectorNonAtomic, 20*time.Second)
	// babeld may retract once more while its neighbour comes back; the
	// recording ends once the route has held for two seconds.
	var since time.Time
	waitFor(t, "the route through ac holds", 30*time.Second, func() (bool, string) {
		r := routes()
		if !strings.Contains(r, "via fe80::") || strings.Contains(r, "unreachable") {
			since = time.Time{}
			return false, r
		}
		if since.IsZero() {
			since = time.Now()
		}
		return time.Since(since) > 2*time.Second, r
	})
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	saveRecording(t, "babeld-retraction.log", mon)
	if len(f.Objects) != 3 || !strings.HasPrefix(f.Objects[1], "unreachable fd0c::/64 dev lo proto babel metric 4294967295") ||
		!strings.HasPrefix(f.Objects[0], "fd0c::/64 via fe80::") || !strings.HasPrefix(f.Objects[2], "fd0c::/64 via fe80::") {
		t.Errorf("finding objects %q: want the route, the retraction and the route again", f.Objects)
	}
	for _, want := range []string{"through a retraction", "fd0c::/64 had no usable route for", "the retraction dropped its packets as unreachable"} {
		if !strings.Contains(f.Evidence, want) {
			t.Errorf("evidence lacks %q:\n%s", want, f.Evidence)
		}
	}
	for _, x := range fs.all() {
		if x.Detector == watch.DetectorNonAtomic && len(x.Objects) != 3 {
			t.Errorf("a non-atomic finding without its retraction: %v", x)
		}
	}
	t.Logf("path broken; babeld retracted after %v, restored %v after the path came back\n%s\nip monitor:\n%s",
		retractedAt.Sub(breakAt).Round(time.Millisecond), time.Since(retractedAt).Round(time.Millisecond), f, mon.String())
}
