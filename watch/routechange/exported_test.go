package routechange_test

import (
	"strings"
	"testing"
	"time"

	"raceroute/watch"
	"raceroute/watch/internal/watchtest"
)

func TestCacheEntryAsRoute(t *testing.T) {
	const (
		cover   = "[ROUTE]2001:db8:1::/64 via fe80::1 dev eth0 proto babel metric 1024"
		entry   = "[RTCAH]Polled Cloned 2001:db8:1::7 via fe80::1 dev eth0 metric 1024 \\ cache expires 598sec mtu 1400"
		babel   = "[ROUTE]2001:db8:1::7 via fe80::1 dev eth0 proto babel metric 1024"
		static  = "[ROUTE]2001:db8:1::7 via fe80::1 dev eth0 proto static metric 1024"
		ra      = "[ROUTE]2001:db8:1::7 via fe80::1 dev eth0 proto ra metric 1024"
		other   = "[ROUTE]2001:db8:1::8 via fe80::1 dev eth0 proto babel metric 1024"
		babel64 = "[ROUTE]2001:db8:1::/64 via fe80::2 dev eth0 proto babel metric 1024"
	)
	s := watchtest.Stamped
	tests := []struct {
		name     string
		lines    []string
		want     int
		evidence []string
	}{
		{"babel re-installs the cache entry", []string{s(0, cover), s(time.Second, entry), s(3*time.Second, babel)}, 1,
			[]string{"2001:db8:1::7/128, a proto babel route, was added 2.00 s after the kernel had 2001:db8:1::7 as a route-cache entry"}},
		{"no times: later in the trace", []string{cover, entry, babel}, 1, []string{"added later in the trace"}},
		{"once per entry", []string{s(0, cover), s(time.Second, entry), s(2*time.Second, babel), s(3*time.Second, babel)}, 1, nil},
		{"an administrator's static route", []string{s(0, cover), s(time.Second, entry), s(2*time.Second, static)}, 0, nil},
		{"the kernel's RA route", []string{s(0, cover), s(time.Second, entry), s(2*time.Second, ra)}, 0, nil},
		{"another destination", []string{s(0, cover), s(time.Second, entry), s(2*time.Second, other)}, 0, nil},
		{"not a host route", []string{s(0, cover), s(time.Second, entry), s(2*time.Second, babel64)}, 0, nil},
		{"the route came first", []string{s(0, cover), s(time.Second, babel), s(2*time.Second, entry)}, 0, nil},
		{"entry forgotten after 10 min", []string{s(0, cover), s(time.Second, entry), s(11*time.Minute, babel)}, 0, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fs, _ := watchtest.Run(t, watch.DefaultConfig(), watchtest.ParseLines(t, tt.lines...))
			got := watchtest.ByDetector(fs, watch.DetectorCacheAsRoute)
			if len(got) != tt.want {
				t.Fatalf("findings %v, want %d %s", fs, tt.want, watch.DetectorCacheAsRoute)
			}
			for _, w := range tt.evidence {
				if !strings.Contains(got[0].Evidence, w) {
					t.Errorf("evidence %q lacks %q", got[0].Evidence, w)
				}
			}
			if tt.want > 0 {
				f := got[0]
				if f.Severity != watch.SeverityWarning || len(f.Objects) != 2 || !strings.Contains(f.Objects[1], "cache expires 598sec mtu 1400") ||
					!strings.Contains(f.Advice, "RTM_F_CLONED") {
					t.Errorf("finding %+v", f)
				}
			}
		})
	}
}
