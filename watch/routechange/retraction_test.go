package routechange_test

import (
	"strings"
	"testing"
	"time"

	"raceroute/trace"
	"raceroute/watch"
	"raceroute/watch/internal/watchtest"
)

// The real babeld retraction of testdata/babeld-retraction.log: one
// non-atomic change in four steps, naming the retraction and how long
// fd0c::/64 had no usable route; the same without timestamps.
func TestBabeldRetractionTrace(t *testing.T) {
	recs := watchtest.ParseFile(t, "../testdata/babeld-retraction.log")
	var untimed []trace.Record
	for _, r := range recs {
		r.Time = time.Time{}
		untimed = append(untimed, r)
	}
	const (
		route = "fd0c::/64 via fe80::ff:fe00:c01 dev ac proto babel metric 1024"
		retr  = "unreachable fd0c::/64 dev lo proto babel metric 4294967295"
	)
	tests := []struct {
		name string
		recs []trace.Record
		want []string
	}{
		{"ip -ts monitor label", recs, []string{
			"proto babel (42) changed the route to fd0c::/64 through a retraction",
			"deleted `" + route + "` at 20:21:00.369507, added the retraction `" + retr + "` 0.109 ms later, deleted the retraction at 20:21:01.986258 and added `" + route + "` 0.161 ms later, at 20:21:01.986419",
			"fd0c::/64 had no usable route for 1.62 s, from 20:21:00.369507 to 20:21:01.986419: for 1.62 s the retraction dropped its packets as unreachable",
			"during the two gaps (0.109 ms and 0.161 ms) the table had no route for fd0c::/64",
		}},
		{"no times", untimed, []string{
			"deleted `" + route + "` (line 1), added the retraction `" + retr + "` as the next route event (line 2), deleted the retraction (line 3) and added `" + route + "` as the next route event (line 4)",
			"fd0c::/64 had no usable route from the delete to the add",
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fs, _ := watchtest.Run(t, watch.DefaultConfig(), tt.recs)
			if len(fs) != 1 || fs[0].Detector != watch.DetectorNonAtomic || fs[0].Severity != watch.SeverityWarning {
				t.Fatalf("findings %v: want one non-atomic change", fs)
			}
			f := fs[0]
			if strings.Join(f.Objects, "|") != route+"|"+retr+"|"+route {
				t.Errorf("objects %q", f.Objects)
			}
			for _, w := range tt.want {
				if !strings.Contains(f.Evidence, w) {
					t.Errorf("evidence lacks %q:\n%s", w, f.Evidence)
				}
			}
			if !strings.Contains(f.Advice, "Add the retraction before deleting the old route") {
				t.Errorf("advice %q", f.Advice)
			}
		})
	}
}

func TestRetraction(t *testing.T) {
	const (
		r1    = "[ROUTE]2001:db8:1::/48 via fe80::1 dev eth0 proto babel metric 1024"
		r2    = "[ROUTE]2001:db8:1::/48 via fe80::2 dev eth1 proto babel metric 1024"
		unr   = "[ROUTE]unreachable 2001:db8:1::/48 dev lo proto babel metric 4294967295"
		blk   = "[ROUTE]blackhole 2001:db8:1::/48 dev lo proto babel metric 4294967295"
		unr0  = "[ROUTE]unreachable 2001:db8:1::/48 dev lo proto babel metric 1024"
		other = "[ROUTE]2001:db8:9::/48 via fe80::9 dev eth0 proto babel metric 1024"
		def   = "[ROUTE]default via fe80::1 dev eth0 proto babel metric 1024"
		defU  = "[ROUTE]unreachable default dev lo proto babel metric 4294967295 pref medium"
		v4    = "[ROUTE]10.1.0.0/16 via 192.0.2.1 dev eth0 proto babel metric 20"
		v4U   = "[ROUTE]unreachable 10.1.0.0/16 proto babel metric 4294967295"
	)
	ms := time.Millisecond
	tests := []struct {
		name     string
		lines    []string
		objects  int // objects of the one non-atomic finding; 0: no finding
		evidence []string
	}{
		{"delete, retraction, delete it, add", []string{watchtest.Stamped(0, watchtest.Deleted(r1)), watchtest.Stamped(ms, unr), watchtest.Stamped(5*time.Second, watchtest.Deleted(unr)), watchtest.Stamped(5*time.Second+2*ms, r2)}, 3,
			[]string{"1.0 ms later", "2.0 ms later", "no usable route for 5.00 s", "for 5.00 s the retraction dropped its packets as unreachable"}},
		{"a blackhole retraction", []string{watchtest.Stamped(0, watchtest.Deleted(r1)), watchtest.Stamped(ms, blk), watchtest.Stamped(time.Second, watchtest.Deleted(blk)), watchtest.Stamped(time.Second+ms, r2)}, 3,
			[]string{"dropped its packets silently (blackhole)"}},
		{"other prefixes change while the retraction stands", []string{watchtest.Stamped(0, watchtest.Deleted(r1)), watchtest.Stamped(ms, unr), watchtest.Stamped(time.Second, other), watchtest.Stamped(2*time.Second, watchtest.Deleted(unr)), watchtest.Stamped(2*time.Second+ms, r2)}, 3, nil},
		{"the retraction comes too late", []string{watchtest.Stamped(0, watchtest.Deleted(r1)), watchtest.Stamped(60*ms, unr), watchtest.Stamped(time.Second, watchtest.Deleted(unr)), watchtest.Stamped(time.Second+ms, r2)}, 0, nil},
		{"the route comes too late after the retraction", []string{watchtest.Stamped(0, watchtest.Deleted(r1)), watchtest.Stamped(ms, unr), watchtest.Stamped(time.Second, watchtest.Deleted(unr)), watchtest.Stamped(time.Second+60*ms, r2)}, 0, nil},
		{"the route added before the retraction goes", []string{watchtest.Stamped(0, watchtest.Deleted(r1)), watchtest.Stamped(ms, unr), watchtest.Stamped(time.Second, r2), watchtest.Stamped(time.Second+ms, watchtest.Deleted(unr))}, 0, nil},
		{"a reject route at the route's metric is a plain change", []string{watchtest.Stamped(0, watchtest.Deleted(r1)), watchtest.Stamped(ms, unr0)}, 2, nil},
		{"no times", []string{watchtest.Deleted(r1), unr, other, watchtest.Deleted(unr), r2}, 3, []string{"as the next route event"}},
		{"no times, another route event after the delete", []string{watchtest.Deleted(r1), other, unr, watchtest.Deleted(unr), r2}, 0, nil},
		{"no times, another route event after the retraction's delete", []string{watchtest.Deleted(r1), unr, watchtest.Deleted(unr), other, r2}, 0, nil},
		{"a default route", []string{watchtest.Stamped(0, watchtest.Deleted(def)), watchtest.Stamped(ms, defU), watchtest.Stamped(time.Second, watchtest.Deleted(defU)), watchtest.Stamped(time.Second+ms, def)}, 3,
			[]string{"table main had no default route, and nothing is less specific"}},
		{"IPv4", []string{watchtest.Stamped(0, watchtest.Deleted(v4)), watchtest.Stamped(ms, v4U), watchtest.Stamped(time.Second, watchtest.Deleted(v4U)), watchtest.Stamped(time.Second+ms, v4)}, 3, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fs, _ := watchtest.Run(t, watch.DefaultConfig(), watchtest.ParseLines(t, tt.lines...))
			na := watchtest.ByDetector(fs, watch.DetectorNonAtomic)
			if tt.objects == 0 {
				if len(na) != 0 {
					t.Fatalf("findings %v, want none", na)
				}
				return
			}
			if len(na) != 1 || len(na[0].Objects) != tt.objects {
				t.Fatalf("findings %v, want one with %d objects", fs, tt.objects)
			}
			for _, w := range tt.evidence {
				if !strings.Contains(na[0].Evidence, w) {
					t.Errorf("evidence lacks %q:\n%s", w, na[0].Evidence)
				}
			}
		})
	}
}
