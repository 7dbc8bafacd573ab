package livewatch_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"raceroute/live/livewatch"
	"raceroute/watch"
)

// TestLinkFlap takes a link down and up while it carries the kernel's
// own routes and a static route, which a daemon adds again as soon as
// the link is back. The kernel removes all of them with the link and
// re-adds its own within milliseconds (keep_addr_on_down keeps the
// addresses): the watch must report that as link-driven churn, info,
// and never as a writer's non-atomic change. With -record it keeps what
// ip monitor printed meanwhile (watch/testdata/link-flap.log).
func TestLinkFlap(t *testing.T) {
	a, _ := pair(t)
	for _, kv := range [][2]string{{"net.ipv6.conf.va.keep_addr_on_down", "1"}, {"net.ipv6.conf.va.accept_dad", "0"}} {
		if err := a.Sysctl(kv[0], kv[1]); err != nil {
			t.Fatal(err)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	ip := func(args ...string) {
		t.Helper()
		if out, err := a.Run(ctx, "ip", args...); err != nil {
			t.Fatalf("ip %v: %v %s", args, err, out)
		}
	}
	addStatic := func() {
		ip("-6", "route", "add", "fd01::/64", "via", "fd00:9::2", "dev", "va", "proto", "static")
		ip("route", "add", "10.1.0.0/24", "via", "10.9.0.2", "dev", "va", "proto", "static")
	}
	waitFor(t, "fd00:9::1 is usable", 10*time.Second, func() (bool, string) {
		out, err := a.Run(ctx, "ip", "-6", "addr", "show", "dev", "va")
		return err == nil && strings.Contains(out, "fd00:9::1/64") && !strings.Contains(out, "tentative"), out
	})
	addStatic()

	mon := monitor(t, a)
	var fs findings
	stop := start(t, livewatch.Config{Netns: a.Name, OnFinding: fs.add})
	if err := a.LinkDown("va"); err != nil {
		t.Fatal(err)
	}
	if err := a.LinkUp("va"); err != nil {
		t.Fatal(err)
	}
	addStatic() // the daemon's routes, back as soon as the link is
	f := fs.wait(t, watch.DetectorKernelChurn, 10*time.Second)
	time.Sleep(1500 * time.Millisecond) // the link-local routes come back with the carrier
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	saveRecording(t, "link-flap.log", mon)
	if f.Severity != watch.SeverityInfo || f.Objects[0] != "dev va" {
		t.Errorf("finding %v: want info about dev va", f)
	}
	for _, want := range []string{
		"va went down at", "`fe80::/64 dev va proto kernel metric 256`", "routes of other writers, gone until their writer adds them again: ",
		"`fd01::/64 via fd00:9::2 dev va proto static metric 1024`", "`10.1.0.0/24 via 10.9.0.2 dev va proto static`",
		"(3 of them IPv4 routes, removed without a message)",
	} {
		if !strings.Contains(f.Evidence, want) {
			t.Errorf("evidence lacks %q:\n%s", want, f.Evidence)
		}
	}
	for _, x := range fs.all() {
		if x.Detector == watch.DetectorNonAtomic || x.Severity > watch.SeverityInfo {
			t.Errorf("link flap reported as %v", x)
		}
	}
	t.Logf("%s\nip monitor:\n%s", f, mon.String())
}
