package routechange_test

import (
	"strings"
	"testing"
	"time"

	"raceroute/trace"
	"raceroute/watch"
	"raceroute/watch/internal/watchtest"
)

// The real link flap of testdata/link-flap.log, and what other tools
// would have recorded of it: no times (plain `ip monitor`), routes only
// (`ip monitor route`), both. The kernel removed and re-added its own
// routes and a daemon put its static routes back within milliseconds:
// one info finding, never a non-atomic change.
func TestLinkFlapTrace(t *testing.T) {
	recs := watchtest.ParseFile(t, "../testdata/link-flap.log")
	var untimed, routes, routesUntimed []trace.Record
	for _, r := range recs {
		u := r
		u.Time = time.Time{}
		untimed = append(untimed, u)
		if r.Kind == trace.KindRoute {
			routes = append(routes, r)
			routesUntimed = append(routesUntimed, u)
		}
	}
	const (
		own    = "`fe80::/64 dev va proto kernel metric 256`"
		static = "routes of other writers, gone until their writer adds them again: `fd01::/64 via fd00:9::2 dev va proto static metric 1024`"
	)
	tests := []struct {
		name string
		recs []trace.Record
		want []string
	}{
		{"ip -ts monitor label", recs, []string{"va went down at 20:21:44.731436 and came back up at 20:21:44.731713, 0.277 ms later", own, static}},
		{"no times", untimed, []string{"va went down (line 1) and came back up (line 14)", own, static}},
		{"routes only", routes, []string{"went down at 20:21:44.731609", "the trace shows no link events", own, static}},
		{"routes only, no times", routesUntimed, []string{"the trace shows no link events", own, static}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fs, _ := watchtest.Run(t, watch.DefaultConfig(), tt.recs)
			if len(fs) != 1 || fs[0].Detector != watch.DetectorKernelChurn || fs[0].Severity != watch.SeverityInfo {
				t.Fatalf("findings %v: want one kernel-route-churn info", fs)
			}
			f := fs[0]
			if f.Objects[0] != "dev va" || !strings.Contains(f.Advice, "not a non-atomic route change") || strings.Contains(f.Advice, "NLM_F_REPLACE") {
				t.Errorf("finding %v", f)
			}
			for _, w := range tt.want {
				if !strings.Contains(f.Evidence, w) {
					t.Errorf("evidence lacks %q:\n%s", w, f.Evidence)
				}
			}
		})
	}
}

func TestKernelRouteChurn(t *testing.T) {
	const (
		prefix    = "[ROUTE]fd00:9::/64 dev va proto kernel metric 256 pref medium"
		local     = "[ROUTE]local 10.9.0.1 dev va table local proto kernel scope host src 10.9.0.1"
		localBoot = "[ROUTE]local 10.9.0.7 dev va table local scope host"
		static    = "[ROUTE]fd01::/64 via fd00:9::2 dev va proto static metric 1024"
		static4   = "[ROUTE]10.1.0.0/24 via 10.9.0.2 dev va proto static"
		conn4     = "[ROUTE]10.9.0.0/24 dev va proto kernel scope link src 10.9.0.1"
		va        = "[LINK]2: va@if3: <BROADCAST,MULTICAST,UP,LOWER_UP> mtu 1500"
		vaDown    = "[LINK]2: va@if3: <BROADCAST,MULTICAST> mtu 1500"
	)
	tests := []struct {
		name     string
		lines    []string
		detector string
		evidence []string
	}{
		{"the kernel's prefix route goes and comes back: an address went down", []string{watchtest.Stamped(0, watchtest.Deleted(prefix)), watchtest.Stamped(2*time.Millisecond, prefix)},
			watch.DetectorKernelChurn, []string{"the kernel deleted its own route `fd00:9::/64 dev va proto kernel metric 256`", "2.0 ms later", "no link event shows va going down"}},
		{"without times", []string{watchtest.Deleted(local), local}, watch.DetectorKernelChurn, []string{"as the next route event (line 2)"}},
		{"a local route of table local, whoever wrote it", []string{watchtest.Stamped(0, watchtest.Deleted(localBoot)), watchtest.Stamped(time.Millisecond, localBoot)}, watch.DetectorKernelChurn, nil},
		{"a writer's route deleted before the link's message", []string{va, watchtest.Stamped(0, watchtest.Deleted(static)), watchtest.Stamped(time.Millisecond, vaDown), watchtest.Stamped(2*time.Millisecond, va), watchtest.Stamped(3*time.Millisecond, static)},
			watch.DetectorKernelChurn, []string{"va went down at 22:30:00.001000 and came back up at 22:30:00.002000", "gone until their writer adds them again: `fd01::/64"}},
		{"IPv4 routes go silently with the link", []string{va, conn4, static4, watchtest.Stamped(0, vaDown), watchtest.Stamped(time.Millisecond, va)},
			watch.DetectorKernelChurn, []string{"(2 of them IPv4 routes, removed without a message)", "`10.1.0.0/24 via 10.9.0.2 dev va proto static`"}},
		{"a link down with nothing on it says nothing", []string{va, watchtest.Stamped(0, vaDown), watchtest.Stamped(time.Millisecond, va)}, "", nil},
		{"a writer's route with the link up stays a non-atomic change", []string{va, watchtest.Stamped(0, watchtest.Deleted(static)), watchtest.Stamped(time.Millisecond, static)}, watch.DetectorNonAtomic, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fs, _ := watchtest.Run(t, watch.DefaultConfig(), watchtest.ParseLines(t, tt.lines...))
			if tt.detector == "" {
				if len(fs) != 0 {
					t.Fatalf("findings %v, want none", fs)
				}
				return
			}
			if len(fs) != 1 || fs[0].Detector != tt.detector {
				t.Fatalf("findings %v, want one %s", fs, tt.detector)
			}
			if tt.detector == watch.DetectorKernelChurn && (fs[0].Severity != watch.SeverityInfo || strings.Contains(fs[0].Advice, "Make the change")) {
				t.Errorf("finding %v: want info without replace advice", fs[0])
			}
			for _, w := range tt.evidence {
				if !strings.Contains(fs[0].Evidence, w) {
					t.Errorf("evidence lacks %q:\n%s", w, fs[0].Evidence)
				}
			}
		})
	}
}
