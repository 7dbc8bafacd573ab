package neigh_test

import (
	"strings"
	"testing"
	"time"

	"raceroute/kernel"
	"raceroute/trace"
	"raceroute/watch"
	"raceroute/watch/internal/watchtest"
	"raceroute/watch/neigh"
)

// fastTimers is a device with 1 multicast probe every 100 ms.
type fastTimers struct{}

func (fastTimers) Timers(_ int, dev string) (neigh.Timers, bool) {
	if dev != "fast0" {
		return neigh.Timers{}, false
	}
	return neigh.Timers{MCastProbes: 1, UCastProbes: 1, Retrans: 100 * time.Millisecond, DelayFirst: time.Second}, true
}

func TestTimersBound(t *testing.T) {
	d := neigh.DefaultTimers()
	for _, tt := range []struct {
		t     neigh.Timers
		state kernel.NUD
		want  time.Duration
	}{
		{d, kernel.NUDIncomplete, 3 * time.Second},
		{d, kernel.NUDDelay, 8 * time.Second},
		{d, kernel.NUDProbe, 3 * time.Second},
		{d, kernel.NUDReachable, 0},
		{neigh.Timers{MCastProbes: 3, AppProbes: 2, UCastProbes: 3, MCastReprobes: 1, Retrans: time.Millisecond, DelayFirst: time.Second},
			kernel.NUDIncomplete, 50 * time.Millisecond}, // RETRANS_TIME below HZ/100 counts as 10 ms
		{neigh.Timers{MCastProbes: 3, AppProbes: 2, UCastProbes: 3, MCastReprobes: 1, Retrans: time.Second, DelayFirst: time.Second},
			kernel.NUDProbe, 6 * time.Second},
	} {
		if got, _ := tt.t.Bound(tt.state); got != tt.want {
			t.Errorf("%+v %v: bound %v, want %v", tt.t, tt.state, got, tt.want)
		}
	}
}

func TestStuckTransient(t *testing.T) {
	at := watchtest.At
	rec := func(d time.Duration, act trace.Action, dev string, st kernel.NUD) trace.Record {
		mac := ""
		if st&kernel.NUDValid != 0 {
			mac = "02:00:00:00:00:09"
		}
		return watchtest.NeighRec(t, at(d), act, "10.9.0.7", dev, mac, st)
	}
	other := func(d time.Duration) trace.Record { // some later record: the recording went on
		return watchtest.NeighRec(t, at(d), trace.ActionNew, "10.9.0.99", "va", "02:00:00:00:00:99", kernel.NUDReachable)
	}
	aged := rec(100*time.Second, trace.ActionNew, "va", kernel.NUDIncomplete)
	aged.Polled, aged.Neigh.Updated = true, 60*time.Second
	tests := []struct {
		name     string
		cfg      watch.Config
		recs     []trace.Record
		want     int
		evidence []string
		sev      watch.Severity
	}{
		{"INCOMPLETE past 3 s + 1 s slack", watch.Config{}, []trace.Record{rec(0, trace.ActionNew, "va", kernel.NUDIncomplete), other(10 * time.Second)}, 1,
			[]string{"10.9.0.7 dev va has been INCOMPLETE for 10.00 s", "(mcast_solicit 3 + app_solicit 0) × retrans_time 1s = 3.00 s (the device's sysctls were not known", "nud incomplete", "dropped"}, watch.SeverityCritical},
		{"resolved in time", watch.Config{}, []trace.Record{rec(0, trace.ActionNew, "va", kernel.NUDIncomplete), rec(2*time.Second, trace.ActionNew, "va", kernel.NUDReachable), other(10 * time.Second)}, 0, nil, 0},
		{"failed in time", watch.Config{}, []trace.Record{rec(0, trace.ActionNew, "va", kernel.NUDIncomplete), rec(3*time.Second, trace.ActionNew, "va", kernel.NUDFailed), other(10 * time.Second)}, 0, nil, 0},
		{"a replay that ends first concludes nothing", watch.Config{}, []trace.Record{rec(0, trace.ActionNew, "va", kernel.NUDIncomplete), other(3 * time.Second)}, 0, nil, 0},
		{"DELAY then PROBE: each state its bound", watch.Config{}, []trace.Record{rec(0, trace.ActionNew, "va", kernel.NUDDelay), rec(5*time.Second, trace.ActionNew, "va", kernel.NUDProbe), other(8500 * time.Millisecond)}, 0, nil, 0},
		{"PROBE held", watch.Config{}, []trace.Record{rec(0, trace.ActionNew, "va", kernel.NUDProbe), other(20 * time.Second)}, 1,
			[]string{"PROBE for 20.00 s", "(ucast_solicit 3 + app_solicit 0 + mcast_resolicit 0) × retrans_time 1s = 3.00 s"}, watch.SeverityWarning},
		{"the device's own timers", watch.Config{NeighTimers: fastTimers{}}, []trace.Record{rec(0, trace.ActionNew, "fast0", kernel.NUDIncomplete), other(1200 * time.Millisecond)}, 1,
			[]string{"(mcast_solicit 1 + app_solicit 0) × retrans_time 100ms = 100.0 ms, after"}, watch.SeverityCritical},
		{"a poll's age dates the state", watch.Config{}, []trace.Record{aged, other(101 * time.Second)}, 1, []string{"for 60.00 s (since"}, watch.SeverityCritical},
		{"reported once", watch.Config{}, []trace.Record{rec(0, trace.ActionNew, "va", kernel.NUDIncomplete), other(10 * time.Second), rec(11*time.Second, trace.ActionNew, "va", kernel.NUDIncomplete), other(30 * time.Second)}, 1, nil, watch.SeverityCritical},
		{"deleted", watch.Config{}, []trace.Record{rec(0, trace.ActionNew, "va", kernel.NUDIncomplete), rec(time.Second, trace.ActionDel, "va", kernel.NUDIncomplete), other(10 * time.Second)}, 0, nil, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fs, _ := watchtest.Run(t, tt.cfg, tt.recs)
			got := watchtest.ByDetector(fs, watch.DetectorNeighStuck)
			if len(got) != tt.want || len(fs) != tt.want {
				t.Fatalf("findings %v, want %d %s", fs, tt.want, watch.DetectorNeighStuck)
			}
			for _, w := range tt.evidence {
				if !strings.Contains(got[0].Evidence, w) {
					t.Errorf("evidence %q lacks %q", got[0].Evidence, w)
				}
			}
			if tt.want > 0 && (got[0].Severity != tt.sev || !strings.Contains(got[0].Advice, "ip neigh del 10.9.0.7 dev")) {
				t.Errorf("finding %+v", got[0])
			}
		})
	}
	// Live, the clock concludes without records.
	e := watch.NewEngine(watch.Config{Live: true})
	e.Observe(rec(0, trace.ActionNew, "va", kernel.NUDIncomplete))
	if fs := e.Tick(at(3 * time.Second)); len(fs) != 0 {
		t.Fatalf("live, within the bound: %v", fs)
	}
	if fs := e.Tick(at(5 * time.Second)); len(fs) != 1 || fs[0].Detector != watch.DetectorNeighStuck {
		t.Fatalf("live, past the bound: %v", fs)
	}
}

func TestEvictedInUse(t *testing.T) {
	at := watchtest.At
	rec := func(d time.Duration, act trace.Action, st kernel.NUD) trace.Record {
		return watchtest.NeighRec(t, at(d), act, "fd00:9::2", "va", "02:00:00:00:00:09", st)
	}
	gcDel := rec(time.Second, trace.ActionDel, kernel.NUDReachable)
	gcDel.Neigh.Used, gcDel.Neigh.Confirmed = 200*time.Millisecond, 8*time.Second
	tests := []struct {
		name     string
		recs     []trace.Record
		want     int
		evidence []string
	}{
		{"evicted and re-created", []trace.Record{rec(0, trace.ActionNew, kernel.NUDReachable), gcDel, rec(time.Second+20*time.Millisecond, trace.ActionNew, kernel.NUDReachable)}, 1,
			[]string{"the kernel deleted fd00:9::2 dev va while it was REACHABLE (used 200.0 ms and confirmed 8.00 s before it went) at", "created it again 20.0 ms later (REACHABLE)", "neigh_forced_gc()"}},
		{"re-created after 20 s", []trace.Record{gcDel, rec(21*time.Second, trace.ActionNew, kernel.NUDReachable)}, 1, []string{"20.00 s later"}},
		{"re-created too late to tell", []trace.Record{gcDel, rec(32*time.Second, trace.ActionNew, kernel.NUDReachable)}, 0, nil},
		{"an administrative delete (FAILED first)", []trace.Record{rec(0, trace.ActionNew, kernel.NUDFailed), rec(time.Second, trace.ActionDel, kernel.NUDFailed), rec(2*time.Second, trace.ActionNew, kernel.NUDReachable)}, 0, nil},
		{"a permanent entry", []trace.Record{rec(time.Second, trace.ActionDel, kernel.NUDPermanent), rec(2*time.Second, trace.ActionNew, kernel.NUDReachable)}, 0, nil},
		{"not re-created", []trace.Record{gcDel}, 0, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fs, _ := watchtest.Run(t, watch.DefaultConfig(), tt.recs)
			got := watchtest.ByDetector(fs, watch.DetectorNeighEvicted)
			if len(got) != tt.want || len(fs) != tt.want {
				t.Fatalf("findings %v, want %d %s", fs, tt.want, watch.DetectorNeighEvicted)
			}
			for _, w := range tt.evidence {
				if !strings.Contains(got[0].Evidence, w) {
					t.Errorf("evidence %q lacks %q", got[0].Evidence, w)
				}
			}
			if tt.want > 0 && (got[0].Severity != watch.SeverityWarning || !strings.Contains(got[0].Advice, "gc_thresh")) {
				t.Errorf("finding %+v", got[0])
			}
		})
	}
}
