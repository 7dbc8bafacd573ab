package routechange_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"raceroute/trace"
	"raceroute/watch"
	"raceroute/watch/finding"
	"raceroute/watch/internal/watchtest"
)

// The seed's bad scenario: the unreachable clone born right after babeld's
// delete+add is the one cache finding; both delete+add pairs are
// non-atomic changes (gaps of 2 and 1 microseconds).
func TestSeedBadLog(t *testing.T) {
	fs, e := watchtest.Run(t, watch.DefaultConfig(), watchtest.ParseFile(t, "../testdata/seed-bad.log"))
	cache := watchtest.ByDetector(fs, watch.DetectorCache)
	if len(cache) != 1 {
		t.Fatalf("cache findings = %d, want 1:\n%v", len(cache), fs)
	}
	c := cache[0]
	if c.Severity != watch.SeverityCritical || c.Heal == nil || c.Heal.Line != 4 {
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
	na := watchtest.ByDetector(fs, watch.DetectorNonAtomic)
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
			clones = append(clones, finding.RouteObject(r))
		}
	}
	if len(clones) != 1 || !strings.Contains(clones[0], "via fe80::f485:c1ff:feb4:f32a") {
		t.Errorf("cache entries left = %v", clones)
	}
}

func TestSeedGoodLog(t *testing.T) {
	fs, _ := watchtest.Run(t, watch.DefaultConfig(), watchtest.ParseFile(t, "../testdata/seed-good.log"))
	if n := len(watchtest.ByDetector(fs, watch.DetectorCache)); n != 0 {
		t.Errorf("cache findings = %d, want 0: %v", n, fs)
	}
	na := watchtest.ByDetector(fs, watch.DetectorNonAtomic)
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
		{"delete then add within the window", []string{watchtest.Stamped(0, del80), watchtest.Stamped(1200*time.Microsecond, add80)}, 1,
			[]string{"proto babel (42) deleted `2001:db8:0:1::/64 via fe80::1 dev eth0", "1.2 ms later", "none in this trace"}},
		{"lookups fall through to the covering route", []string{watchtest.Stamped(0, cover), watchtest.Stamped(time.Second, del80), watchtest.Stamped(time.Second+10*time.Millisecond, add80)}, 1,
			[]string{"10.0 ms later", "fell through to `unreachable 2001:db8::/48 dev lo proto static metric 1024 error -113`"}},
		{"other routes of the prefix stayed", []string{watchtest.Stamped(0, other), watchtest.Stamped(time.Second, del80), watchtest.Stamped(time.Second+time.Millisecond, add80)}, 1,
			[]string{"other routes for 2001:db8:0:1::/64 stayed in the table"}},
		{"IPv4, zebra", []string{watchtest.Stamped(0, del4), watchtest.Stamped(3*time.Millisecond, add4)}, 1, []string{"proto zebra (11)", "3.0 ms later"}},
		{"gap beyond the window", []string{watchtest.Stamped(0, del80), watchtest.Stamped(51*time.Millisecond, add80)}, 0, nil},
		{"gap exactly the window", []string{watchtest.Stamped(0, del80), watchtest.Stamped(50*time.Millisecond, add80)}, 1, []string{"50.0 ms later"}},
		{"another metric is another route", []string{watchtest.Stamped(0, del80), watchtest.Stamped(time.Millisecond, add80m)}, 0, nil},
		{"add alone", []string{watchtest.Stamped(0, add80)}, 0, nil},
		{"atomic replace", []string{watchtest.Stamped(0, add80), watchtest.Stamped(time.Millisecond, strings.Replace(add80, "[ROUTE]", "[ROUTE]Replaced ", 1))}, 0, nil},
		{"no times, adjacent", []string{del80, add80}, 1, []string{"unknown time"}},
		{"no times, another route event between", []string{del80, del4, add80}, 0, nil},
		{"resync records are not changes", []string{watchtest.Stamped(0, strings.Replace(del80, "]", "]Resync ", 1)), watchtest.Stamped(time.Millisecond, strings.Replace(add80, "]", "]Resync ", 1))}, 0, nil},
		{"the initial dump is not a change", []string{watchtest.Stamped(0, del80), watchtest.Stamped(time.Millisecond, strings.Replace(add80, "]", "]Initial ", 1))}, 0, nil},
		{"one delete, one finding", []string{watchtest.Stamped(0, del80), watchtest.Stamped(time.Millisecond, add80), watchtest.Stamped(2*time.Millisecond, add80)}, 1, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fs, _ := watchtest.Run(t, watch.DefaultConfig(), watchtest.ParseLines(t, tt.lines...))
			na := watchtest.ByDetector(fs, watch.DetectorNonAtomic)
			if len(na) != tt.want || len(fs) != tt.want {
				t.Fatalf("findings %v, want %d non-atomic", fs, tt.want)
			}
			for _, w := range tt.evidence {
				if !strings.Contains(na[0].Evidence, w) {
					t.Errorf("evidence %q lacks %q", na[0].Evidence, w)
				}
			}
			if tt.want > 0 && (na[0].Severity != watch.SeverityWarning || !strings.Contains(na[0].Advice, "NLM_F_REPLACE") || len(na[0].Objects) != 2) {
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
			fs, _ := watchtest.Run(t, watch.DefaultConfig(), watchtest.ParseLines(t, tt.lines...))
			cf := watchtest.ByDetector(fs, watch.DetectorCache)
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

// The seed's bad scenario as other tools would have recorded it: without
// timestamps (plain `ip monitor` with the cache patch), and without the
// cache lines (stock `ip monitor`, which hides RTM_F_CLONED entries).
func TestSeedBadLogVariants(t *testing.T) {
	recs := watchtest.ParseFile(t, "../testdata/seed-bad.log")
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
			fs, _ := watchtest.Run(t, watch.DefaultConfig(), tt.recs)
			if c, n := len(watchtest.ByDetector(fs, watch.DetectorCache)), len(watchtest.ByDetector(fs, watch.DetectorNonAtomic)); c != tt.cache || n != tt.nonAtomic || len(fs) != c+n {
				t.Errorf("findings %v: want %d cache and %d non-atomic", fs, tt.cache, tt.nonAtomic)
			}
		})
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
		{"IPv6", []string{watchtest.Stamped(0, "[ROUTE]Deleted default via fe80::1 dev eth0 proto ra metric 1024 pref medium"), watchtest.Stamped(time.Millisecond, "[ROUTE]default via fe80::2 dev eth0 proto ra metric 1024 pref medium")},
			[]string{"during the gap table main had no default route, and nothing is less specific than a default route", "with the default rules (no rule follows main) it found none and failed", "ENETUNREACH"}},
		{"IPv4, another table", []string{watchtest.Stamped(0, "[ROUTE]Deleted default via 192.0.2.1 dev eth0 table 100 proto zebra metric 20"), watchtest.Stamped(time.Millisecond, "[ROUTE]default via 192.0.2.2 dev eth0 table 100 proto zebra metric 20")},
			[]string{"table 100 had no default route", "no more specific route of table 100 matched", "with the default rules that is table main"}},
		{"IPv4, table main", []string{watchtest.Stamped(0, "[ROUTE]Deleted default via 192.0.2.1 dev eth0 proto dhcp metric 100"), watchtest.Stamped(time.Millisecond, "[ROUTE]default via 192.0.2.1 dev eth0 proto dhcp metric 100")},
			[]string{"(only table default follows main, usually empty)"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fs, _ := watchtest.Run(t, watch.DefaultConfig(), watchtest.ParseLines(t, tt.lines...))
			if len(fs) != 1 || fs[0].Detector != watch.DetectorNonAtomic {
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

// Deletes expire after the window and their memory is reused by later
// ones (a storm's steady stream of deletes): an add must meet only its
// own delete, and a long run of deletes keeps every pending one in its
// order.
func TestNonAtomicAfterExpiry(t *testing.T) {
	del := func(i int) string {
		return fmt.Sprintf("[ROUTE]Deleted 10.%d.%d.0/24 via 192.0.2.1 dev eth0 proto zebra metric 20", i/256, i%256)
	}
	add := func(i int) string {
		return fmt.Sprintf("[ROUTE]10.%d.%d.0/24 via 192.0.2.2 dev eth0 proto zebra metric 20", i/256, i%256)
	}
	ms := time.Millisecond
	// 3000 deletes 0.1 ms apart: about 500 pending at a time, the older
	// ones expiring and reused while the queue wraps.
	var run []string
	for i := range 3000 {
		run = append(run, watchtest.Stamped(time.Duration(i)*100*time.Microsecond, del(i)))
	}
	end := 3000 * 100 * time.Microsecond
	tests := []struct {
		name  string
		lines []string
		want  []string // the evidence of each finding, in order
	}{
		{"an expired delete's memory reused by another's", []string{
			watchtest.Stamped(0, del(1)), watchtest.Stamped(60*ms, del(2)),
			watchtest.Stamped(61*ms, add(1)), watchtest.Stamped(62*ms, add(2)),
		}, []string{"deleted `10.0.2.0/24 via 192.0.2.1 dev eth0 proto zebra metric 20` at 22:30:00.060000 and added `10.0.2.0/24 via 192.0.2.2 dev eth0 proto zebra metric 20` at 22:30:00.062000, 2.0 ms later"}},
		{"a long run of deletes", append(run,
			watchtest.Stamped(end, add(10)),   // expired long ago
			watchtest.Stamped(end, add(2999)), // 0.1 ms
			watchtest.Stamped(end, add(2600)), // 40.1 ms
			watchtest.Stamped(end, add(2480)), // 52.1 ms: expired
		), []string{"deleted `10.11.183.0/24", "deleted `10.10.40.0/24"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fs, _ := watchtest.Run(t, watch.DefaultConfig(), watchtest.ParseLines(t, tt.lines...))
			if len(fs) != len(tt.want) {
				t.Fatalf("findings %v, want %d", fs, len(tt.want))
			}
			for i, w := range tt.want {
				if fs[i].Detector != watch.DetectorNonAtomic || !strings.Contains(fs[i].Evidence, w) {
					t.Errorf("finding %d %s: %q lacks %q", i, fs[i].Detector, fs[i].Evidence, w)
				}
			}
		})
	}
}
