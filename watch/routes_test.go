package watch

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"raceroute/trace"
)

// The seed's bad scenario: the unreachable clone born right after babeld's
// delete+add is the one cache finding; both delete+add pairs are
// non-atomic changes (gaps of 2 and 1 microseconds).
func TestSeedBadLog(t *testing.T) {
	fs, e := run(t, DefaultConfig(), parseFile(t, "testdata/seed-bad.log"))
	cache := byDetector(fs, DetectorCache)
	if len(cache) != 1 {
		t.Fatalf("cache findings = %d, want 1:\n%v", len(cache), fs)
	}
	c := cache[0]
	if c.Severity != SeverityCritical || c.Heal == nil || c.Heal.Line != 4 {
		t.Errorf("finding %+v: want critical with the line-4 entry to heal", c)
	}
	if got := c.Objects[0]; got != "unreachable 2001:67c:1254:e:10::1 dev lo metric 0 cache error -101" {
		t.Errorf("cache object = %q", got)
	}
	if got := c.Objects[1]; got != "2001:67c:1254:e:10::/80 via fe80::a8b6:97ff:fe99:8ca8 dev re6stnet8 proto babel src 2001:67c:1254:e:63::1 metric 1024" {
		t.Errorf("covering route object = %q", got)
	}
	for _, want := range []string{"every packet to 2001:67c:1254:e:10::1 is dropped with error -101 ENETUNREACH (Network is unreachable)", "0.001 ms after the route was installed at 22:32:32.532757"} {
		if !strings.Contains(c.Evidence, want) {
			t.Errorf("evidence %q lacks %q", c.Evidence, want)
		}
	}
	if !c.Time.Equal(time.Date(2016, 6, 11, 22, 32, 32, 532758000, time.UTC)) {
		t.Errorf("time = %v", c.Time)
	}
	na := byDetector(fs, DetectorNonAtomic)
	if len(na) != 2 {
		t.Fatalf("non-atomic findings = %d, want 2:\n%v", len(na), fs)
	}
	for i, gap := range []string{"0.002 ms later", "0.001 ms later"} {
		if !strings.Contains(na[i].Evidence, gap) || !strings.Contains(na[i].Evidence, "proto babel (42)") {
			t.Errorf("non-atomic %d evidence %q lacks %q or the writer", i, na[i].Evidence, gap)
		}
	}
	if len(fs) != 3 {
		t.Errorf("findings = %d, want 3", len(fs))
	}
	// The clone was deleted at line 5; the good one of line 8 remains.
	var clones []string
	for _, r := range e.Routes() {
		if r.Cloned {
			clones = append(clones, routeObject(r))
		}
	}
	if len(clones) != 1 || !strings.Contains(clones[0], "via fe80::f485:c1ff:feb4:f32a") {
		t.Errorf("cache entries left = %v", clones)
	}
}

func TestSeedGoodLog(t *testing.T) {
	fs, _ := run(t, DefaultConfig(), parseFile(t, "testdata/seed-good.log"))
	if n := len(byDetector(fs, DetectorCache)); n != 0 {
		t.Errorf("cache findings = %d, want 0: %v", n, fs)
	}
	na := byDetector(fs, DetectorNonAtomic)
	if len(na) != 1 || !strings.Contains(na[0].Evidence, "0.002 ms later") {
		t.Errorf("non-atomic findings = %v, want one with a 0.002 ms gap", na)
	}
}

func TestNonAtomicRouteChange(t *testing.T) {
	const (
		del80  = "[ROUTE]Deleted 2001:db8:0:1::/64 via fe80::1 dev eth0 proto babel metric 1024"
		add80  = "[ROUTE]2001:db8:0:1::/64 via fe80::2 dev eth1 proto babel metric 1024"
		cover  = "[ROUTE]unreachable 2001:db8::/48 dev lo proto static metric 1024 error -113"
		del4   = "[ROUTE]Deleted 10.1.0.0/16 via 192.0.2.1 dev eth0 proto zebra metric 20"
		add4   = "[ROUTE]10.1.0.0/16 via 192.0.2.2 dev eth0 proto zebra metric 20"
		other  = "[ROUTE]2001:db8:0:1::/64 via fe80::9 dev eth2 proto static metric 2048"
		add80m = "[ROUTE]2001:db8:0:1::/64 via fe80::2 dev eth1 proto babel metric 512"
	)
	tests := []struct {
		name     string
		lines    []string
		want     int
		evidence []string
	}{
		{"delete then add within the window", []string{stamped(0, del80), stamped(1200*time.Microsecond, add80)}, 1,
			[]string{"proto babel (42) deleted `2001:db8:0:1::/64 via fe80::1 dev eth0", "1.2 ms later", "none in this trace"}},
		{"lookups fall through to the covering route", []string{stamped(0, cover), stamped(time.Second, del80), stamped(time.Second+10*time.Millisecond, add80)}, 1,
			[]string{"10.0 ms later", "fell through to `unreachable 2001:db8::/48 dev lo proto static metric 1024 error -113`"}},
		{"other routes of the prefix stayed", []string{stamped(0, other), stamped(time.Second, del80), stamped(time.Second+time.Millisecond, add80)}, 1,
			[]string{"other routes for 2001:db8:0:1::/64 stayed in the table"}},
		{"IPv4, zebra", []string{stamped(0, del4), stamped(3*time.Millisecond, add4)}, 1, []string{"proto zebra (11)", "3.0 ms later"}},
		{"gap beyond the window", []string{stamped(0, del80), stamped(51*time.Millisecond, add80)}, 0, nil},
		{"gap exactly the window", []string{stamped(0, del80), stamped(50*time.Millisecond, add80)}, 1, []string{"50.0 ms later"}},
		{"another metric is another route", []string{stamped(0, del80), stamped(time.Millisecond, add80m)}, 0, nil},
		{"add alone", []string{stamped(0, add80)}, 0, nil},
		{"atomic replace", []string{stamped(0, add80), stamped(time.Millisecond, strings.Replace(add80, "[ROUTE]", "[ROUTE]Replaced ", 1))}, 0, nil},
		{"no times, adjacent", []string{del80, add80}, 1, []string{"unknown time"}},
		{"no times, another route event between", []string{del80, del4, add80}, 0, nil},
		{"resync records are not changes", []string{stamped(0, strings.Replace(del80, "]", "]Resync ", 1)), stamped(time.Millisecond, strings.Replace(add80, "]", "]Resync ", 1))}, 0, nil},
		{"the initial dump is not a change", []string{stamped(0, del80), stamped(time.Millisecond, strings.Replace(add80, "]", "]Initial ", 1))}, 0, nil},
		{"one delete, one finding", []string{stamped(0, del80), stamped(time.Millisecond, add80), stamped(2*time.Millisecond, add80)}, 1, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fs, _ := run(t, DefaultConfig(), parseLines(t, tt.lines...))
			na := byDetector(fs, DetectorNonAtomic)
			if len(na) != tt.want || len(fs) != tt.want {
				t.Fatalf("findings %v, want %d non-atomic", fs, tt.want)
			}
			for _, w := range tt.evidence {
				if !strings.Contains(na[0].Evidence, w) {
					t.Errorf("evidence %q lacks %q", na[0].Evidence, w)
				}
			}
			if tt.want > 0 && (na[0].Severity != SeverityWarning || !strings.Contains(na[0].Advice, "NLM_F_REPLACE") || len(na[0].Objects) != 2) {
				t.Errorf("finding %+v", na[0])
			}
		})
	}
}

func TestCacheContradictsRoute(t *testing.T) {
	const (
		route80   = "[ROUTE]2001:db8:0:1::/64 via fe80::1 dev eth0 proto babel metric 1024"
		route48   = "[ROUTE]unreachable 2001:db8::/48 dev lo metric 1024 error -113"
		cloneGood = "[RTCAH]2001:db8:0:1::5 via fe80::1 dev eth0 metric 0 cache users 1"
		cloneUnr  = "[RTCAH]unreachable 2001:db8:0:1::5 dev lo metric 0 cache error -113 users 1"
		cloneGw   = "[RTCAH]2001:db8:0:1::5 via fe80::7 dev eth0 metric 0 cache"
		cloneDev  = "[RTCAH]2001:db8:0:1::5 via fe80::1 dev eth3 metric 0 cache"
		devRoute  = "[ROUTE]2001:db8:0:2::/64 dev eth0 proto kernel metric 256"
		devClone  = "[RTCAH]2001:db8:0:2::9 via 2001:db8:0:2::9 dev eth0 metric 0 cache"
		other48   = "[ROUTE]2001:db8::/48 via fe80::1 dev eth0 proto babel metric 1024 table 100"
		ipv4Route = "[ROUTE]10.0.0.0/8 via 192.0.2.1 dev eth0"
		ipv4Clone = "[RTCAH]10.1.2.3 via 192.0.2.9 dev eth0 cache"
		ecmpA     = "[ROUTE]2001:db8:0:3::/64 via fe80::a dev eth0 metric 1024"
		ecmpB     = "[ROUTE]2001:db8:0:3::/64 via fe80::b dev eth1 metric 1024"
		ecmpClone = "[RTCAH]2001:db8:0:3::1 via fe80::b dev eth1 metric 0 cache"
		worse     = "[ROUTE]2001:db8:0:1::/64 via fe80::8 dev eth8 metric 2048"
	)
	initial := func(l string) string { return strings.Replace(l, "]", "]Initial ", 1) }
	polled := func(l string) string { return strings.Replace(l, "]", "]Polled ", 1) }
	tests := []struct {
		name     string
		lines    []string
		want     int
		evidence string
	}{
		{"unreachable clone under a reachable route", []string{route48, route80, cloneUnr}, 1, "every packet to 2001:db8:0:1::5 is dropped with error -113 EHOSTUNREACH (No route to host)"},
		{"clone that agrees", []string{route48, route80, cloneGood}, 0, ""},
		{"clone with another gateway", []string{route80, cloneGw}, 1, "goes via fe80::7 dev eth0 instead of via fe80::1 dev eth0"},
		{"clone with another device", []string{route80, cloneDev}, 1, "instead of via fe80::1 dev eth0"},
		{"clone of a device route", []string{devRoute, devClone}, 0, ""},
		{"no covering route known", []string{cloneUnr}, 0, ""},
		{"covering route in another table does not count", []string{other48, cloneUnr}, 0, ""},
		{"clone of the reject route, no more specific route", []string{route48, cloneUnr}, 0, ""},
		{"IPv4 cache entry", []string{ipv4Route, ipv4Clone}, 1, "goes via 192.0.2.9 dev eth0 instead of via 192.0.2.1 dev eth0"},
		{"ECMP: agreeing with any best route is fine", []string{ecmpA, ecmpB, ecmpClone}, 0, ""},
		{"a worse metric does not cover", []string{route80, worse, cloneGood}, 0, ""},
		{"initial dump: clone before its route", []string{initial(cloneUnr), initial(route48), initial(route80)}, 1, "dropped"},
		{"a polled clone seen again is reported once", []string{route80, polled(cloneUnr), polled(cloneUnr), polled(cloneUnr)}, 1, "dropped"},
		{"a clone deleted and born again is reported again", []string{route80, cloneUnr, "[RTCAH]Deleted " + strings.TrimPrefix(cloneUnr, "[RTCAH]"), cloneUnr}, 2, "dropped"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fs, _ := run(t, DefaultConfig(), parseLines(t, tt.lines...))
			cf := byDetector(fs, DetectorCache)
			if len(cf) != tt.want || len(fs) != tt.want {
				t.Fatalf("findings %v, want %d cache findings", fs, tt.want)
			}
			if tt.want == 0 {
				return
			}
			if !strings.Contains(cf[0].Evidence, tt.evidence) {
				t.Errorf("evidence %q lacks %q", cf[0].Evidence, tt.evidence)
			}
			if cf[0].Heal == nil || !cf[0].Heal.Route.Cloned {
				t.Errorf("Heal = %+v, want the cache entry", cf[0].Heal)
			}
		})
	}
}

func TestPruneClones(t *testing.T) {
	const (
		r48    = "[ROUTE]2001:db8::/48 via fe80::1 dev eth0 metric 1024"
		r80    = "[ROUTE]2001:db8:0:1::/80 via fe80::1 dev eth0 metric 1024"
		clone  = "[RTCAH]2001:db8:0:1::5 via fe80::1 dev eth0 metric 0 cache"
		clone2 = "[RTCAH]2001:db8:0:2::5 via fe80::1 dev eth0 metric 0 cache"
		r4     = "[ROUTE]10.0.0.0/8 via 192.0.2.1 dev eth0"
		clone4 = "[RTCAH]10.1.2.3 via 192.0.2.1 dev eth0 cache"
		r4b    = "[ROUTE]172.16.0.0/12 via 192.0.2.1 dev eth0"
	)
	tests := []struct {
		name  string
		lines []string
		left  []string // cache entries left, by destination
	}{
		{"deleting the covering route prunes its clones", []string{r48, r80, clone, clone2, deleted(r80)}, []string{"2001:db8:0:2::5/128"}},
		{"adding a route prunes clones below it (fib6_add)", []string{r48, clone, r80}, nil},
		{"a nearer node with routes shields clones from a change above it", []string{r48, r80, clone, deleted(r48)}, []string{"2001:db8:0:1::5/128"}},
		{"a clone born after the add survives (the seed's race)", []string{r48, deleted(r80), r80, clone}, []string{"2001:db8:0:1::5/128"}},
		{"resync adds do not prune", []string{r48, clone, strings.Replace(r80, "]", "]Resync ", 1)}, []string{"2001:db8:0:1::5/128"}},
		{"IPv4: any change flushes the cache", []string{r4, clone4, r4b}, nil},
		{"link removal drops the routes and clones on it", []string{r48, clone2, "[LINK]Deleted 2: eth0: <> mtu 1500"}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, e := run(t, DefaultConfig(), parseLines(t, tt.lines...))
			var left []string
			for _, r := range e.Routes() {
				if r.Cloned {
					left = append(left, r.Dst.String())
				}
			}
			if fmt.Sprint(left) != fmt.Sprint(tt.left) {
				t.Errorf("cache entries left %v, want %v", left, tt.left)
			}
		})
	}
}

func TestRouteView(t *testing.T) {
	lines := []string{
		"[ROUTE]2001:db8::/64 via fe80::2 dev eth1 metric 1024",
		"[ROUTE]2001:db8::/64 via fe80::1 dev eth0 metric 1024",
		"[ROUTE]2001:db8::/64 via fe80::1 dev eth0 metric 1024 proto babel", // same route again: updated
		"[ROUTE]10.0.0.0/8 via 192.0.2.1 dev eth0 metric 5",
		"[ROUTE]10.0.0.0/8 via 192.0.2.2 dev eth0 metric 5", // IPv4: same key, replaces
		"[ROUTE]10.0.0.0/8 via 192.0.2.3 dev eth0 metric 7",
		"[ROUTE]2001:db8:1::/64 via fe80::1 dev eth0 metric 1024",
		"[ROUTE]Replaced 2001:db8:1::/64 via fe80::3 dev eth0 metric 1024",
		"[ROUTE]Deleted 2001:db8::/64 via fe80::2 dev eth1 metric 1024",
		"[ROUTE]Deleted 10.9.0.0/16 dev eth5", // unknown: ignored
		"[NEIGH]10.0.0.9 dev eth0 lladdr 52:54:00:00:00:09 REACHABLE",
		"[NEIGH]10.0.0.1 dev eth0 lladdr 52:54:00:00:00:01 STALE",
		"[NEIGH]10.0.0.5 dev eth1 lladdr 52:54:00:00:00:05 STALE",
		"[NEIGH]Deleted 10.0.0.5 dev eth1 lladdr 52:54:00:00:00:05 STALE",
	}
	_, e := run(t, DefaultConfig(), parseLines(t, lines...))
	var got []string
	for _, r := range e.Routes() {
		got = append(got, routeObject(r))
	}
	want := []string{
		"10.0.0.0/8 via 192.0.2.2 dev eth0 metric 5",
		"10.0.0.0/8 via 192.0.2.3 dev eth0 metric 7",
		"2001:db8::/64 via fe80::1 dev eth0 proto babel metric 1024",
		"2001:db8:1::/64 via fe80::3 dev eth0 metric 1024",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("routes:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	var neighs []string
	for _, n := range e.Neighs() {
		neighs = append(neighs, n.String())
	}
	wantN := "10.0.0.1 dev eth0 lladdr 52:54:00:00:00:01 STALE|10.0.0.9 dev eth0 lladdr 52:54:00:00:00:09 REACHABLE"
	if strings.Join(neighs, "|") != wantN {
		t.Errorf("neighbours %q, want %q", strings.Join(neighs, "|"), wantN)
	}
	e.Observe(parseLines(t, "[LINK]Deleted 2: eth0: <> mtu 1500")[0])
	if len(e.Routes()) != 0 || len(e.Neighs()) != 0 {
		t.Errorf("after eth0 went: routes %v neighbours %v", e.Routes(), e.Neighs())
	}
}

// The seed's bad scenario as other tools would have recorded it: without
// timestamps (plain `ip monitor` with the cache patch), and without the
// cache lines (stock `ip monitor`, which hides RTM_F_CLONED entries).
func TestSeedBadLogVariants(t *testing.T) {
	recs := parseFile(t, "testdata/seed-bad.log")
	var untimed, stock []trace.Record
	for _, r := range recs {
		r.Time = time.Time{}
		untimed = append(untimed, r)
		if !r.Route.Cloned {
			stock = append(stock, r)
		}
	}
	tests := []struct {
		name             string
		recs             []trace.Record
		cache, nonAtomic int
	}{
		{"no timestamps", untimed, 1, 2},
		{"stock ip monitor, no cache lines", stock, 0, 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fs, _ := run(t, DefaultConfig(), tt.recs)
			if c, n := len(byDetector(fs, DetectorCache)), len(byDetector(fs, DetectorNonAtomic)); c != tt.cache || n != tt.nonAtomic || len(fs) != c+n {
				t.Errorf("findings %v: want %d cache and %d non-atomic", fs, tt.cache, tt.nonAtomic)
			}
		})
	}
}

// A real `ip -ts monitor label` recording (iproute2 6.1, Linux 6.18; see
// iproute2/testdata/iproute2-6.1/README): no finding, and the view at the end
// is what the namespace held. Deleting the veth pair removed the IPv4
// routes through it without any announcement; the view drops them too.
func TestRealTraceView(t *testing.T) {
	fs, e := run(t, DefaultConfig(), parseFile(t, "../iproute2/testdata/iproute2-6.1/monitor-ts-label.log"))
	if len(fs) != 0 {
		t.Errorf("findings on a clean trace: %v", fs)
	}
	var got []string
	for _, r := range e.Routes() {
		got = append(got, routeObject(r))
	}
	want := []string{
		"blackhole 10.9.0.0/16",
		"local 127.0.0.0/8 dev lo table local proto kernel scope host src 127.0.0.1",
		"local 127.0.0.1 dev lo table local proto kernel scope host src 127.0.0.1",
		"broadcast 127.255.255.255 dev lo table local proto kernel scope link src 127.0.0.1",
		"unreachable 2001:db8:2::/48 dev lo metric 1024",
		"local ::1 dev lo table local proto kernel metric 0",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("view:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if n := e.Neighs(); len(n) != 0 {
		t.Errorf("neighbours left: %v", n)
	}
}

// Nothing is less specific than a default route: a gap in one is no
// fall-through, the lookup finds no route in the table.
func TestNonAtomicDefaultRoute(t *testing.T) {
	tests := []struct {
		name  string
		lines []string
		want  []string
	}{
		{"IPv6", []string{stamped(0, "[ROUTE]Deleted default via fe80::1 dev eth0 proto ra metric 1024 pref medium"), stamped(time.Millisecond, "[ROUTE]default via fe80::2 dev eth0 proto ra metric 1024 pref medium")},
			[]string{"during the gap table main had no default route, and nothing is less specific than a default route", "with the default rules (no rule follows main) it found none and failed", "ENETUNREACH"}},
		{"IPv4, another table", []string{stamped(0, "[ROUTE]Deleted default via 192.0.2.1 dev eth0 table 100 proto zebra metric 20"), stamped(time.Millisecond, "[ROUTE]default via 192.0.2.2 dev eth0 table 100 proto zebra metric 20")},
			[]string{"table 100 had no default route", "no more specific route of table 100 matched", "with the default rules that is table main"}},
		{"IPv4, table main", []string{stamped(0, "[ROUTE]Deleted default via 192.0.2.1 dev eth0 proto dhcp metric 100"), stamped(time.Millisecond, "[ROUTE]default via 192.0.2.1 dev eth0 proto dhcp metric 100")},
			[]string{"(only table default follows main, usually empty)"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fs, _ := run(t, DefaultConfig(), parseLines(t, tt.lines...))
			if len(fs) != 1 || fs[0].Detector != DetectorNonAtomic {
				t.Fatalf("findings %v", fs)
			}
			ev := fs[0].Evidence
			if strings.Contains(ev, "fell through") || strings.Contains(ev, "less specific route") {
				t.Errorf("evidence speaks of a fall-through:\n%s", ev)
			}
			for _, w := range tt.want {
				if !strings.Contains(ev, w) {
					t.Errorf("evidence lacks %q:\n%s", w, ev)
				}
			}
		})
	}
}
