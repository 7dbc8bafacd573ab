package overflow_test

import (
	"strings"
	"testing"
	"time"

	"raceroute/trace"
	"raceroute/watch"
	"raceroute/watch/finding"
	"raceroute/watch/internal/watchtest"
	"raceroute/watch/overflow"
)

// The real iproute2 overflow of testdata/ip-monitor-overflow.log: ip
// monitor reported ENOBUFS on line 1 and carried on. The overflow is a
// finding; the non-atomic change seen after it carries a caution; and
// at the end, with no resync ever, a finding names it as a conclusion
// the lost events may have made wrong.
func TestIPMonitorOverflowTrace(t *testing.T) {
	fs := watchtest.Finish(t, watchtest.ParseFile(t, "../testdata/ip-monitor-overflow.log"))
	if len(fs) != 3 {
		t.Fatalf("findings %v, want 3", fs)
	}
	ov, na, end := fs[0], fs[1], fs[2]
	if ov.Detector != watch.DetectorOverflow || ov.Severity != watch.SeverityWarning || !ov.Time.IsZero() ||
		!strings.Contains(ov.Evidence, "the kernel could not queue an unknown number of events for this watcher (ENOBUFS on the netlink socket) at line 1") {
		t.Errorf("overflow finding %v", ov)
	}
	if na.Detector != watch.DetectorNonAtomic || !strings.Contains(na.Objects[0], "10.1.7.0/24 via 10.9.0.2") ||
		!strings.Contains(na.Evidence, "Caution: events were lost at line 1 and the tables have not been dumped again since, so a lost event may belong to this change") {
		t.Errorf("non-atomic finding %v", na)
	}
	if end.Detector != watch.DetectorOverflow || end.Severity != watch.SeverityWarning ||
		!strings.Contains(end.Evidence, "events were lost at line 1 (ENOBUFS) and the tables were never dumped again") ||
		!strings.Contains(end.Evidence, "this later finding may be wrong: non-atomic-route-change 10.1.7.0/24 via 10.9.0.2 dev va proto static at 20:18:57.189312") ||
		!strings.Contains(end.Advice, "ip -rcvbuf") {
		t.Errorf("end finding %v", end)
	}
}

func TestOverflowCaution(t *testing.T) {
	const (
		del = "[2016-06-11T22:30:01.000000] [ROUTE]Deleted 10.1.0.0/16 via 192.0.2.1 dev eth0 proto zebra metric 20"
		add = "[2016-06-11T22:30:01.001000] [ROUTE]10.1.0.0/16 via 192.0.2.2 dev eth0 proto zebra metric 20"
	)
	tests := []struct {
		name    string
		lines   []string
		caution bool // the non-atomic finding carries the caution
		end     string
	}{
		{"before the overflow", []string{del, add, "netlink receive error No buffer space available (105)"}, false, "no finding came after it"},
		{"after the overflow", []string{"netlink receive error No buffer space available (105)", del, add}, true, "this later finding may be wrong"},
		{"after the resync", []string{"[2016-06-11T22:30:00.000000] [OVERFLOW]receive buffer overflow (ENOBUFS): 7 events lost", "[2016-06-11T22:30:00.500000] [RESYNC]tables dumped again: 2 differences", del, add}, false, ""},
		{"between overflow and resync", []string{"[2016-06-11T22:30:00.000000] [OVERFLOW]receive buffer overflow (ENOBUFS): 7 events lost", del, add, "[2016-06-11T22:30:02.000000] [RESYNC]tables dumped again: 2 differences"}, true, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fs := watchtest.Finish(t, watchtest.ParseLines(t, tt.lines...))
			na := watchtest.ByDetector(fs, watch.DetectorNonAtomic)
			if len(na) != 1 {
				t.Fatalf("findings %v", fs)
			}
			if got := strings.Contains(na[0].Evidence, "Caution: events were lost"); got != tt.caution {
				t.Errorf("caution %v, want %v: %s", got, tt.caution, na[0].Evidence)
			}
			var end []watch.Finding
			for _, f := range watchtest.ByDetector(fs, watch.DetectorOverflow) {
				if strings.Contains(f.Evidence, "never dumped again") {
					end = append(end, f)
				}
			}
			switch {
			case tt.end == "" && len(end) != 0:
				t.Errorf("an end finding after a resync: %v", end)
			case tt.end != "" && (len(end) != 1 || !strings.Contains(end[0].Evidence, tt.end)):
				t.Errorf("end findings %v, want one saying %q", end, tt.end)
			}
		})
	}
}

func TestOverflowAndResync(t *testing.T) {
	recs := []trace.Record{
		{Time: watchtest.At(0), Kind: trace.KindResync, Lost: 3}, // an initial sync: nothing to say
		{Time: watchtest.At(time.Second), Kind: trace.KindOverflow, Lost: 1234},
		{Time: watchtest.At(time.Second + 30*time.Millisecond), Kind: trace.KindResync, Lost: 17},
		{Time: watchtest.At(2 * time.Second), Kind: trace.KindOverflow, Netns: "blue"},
		{Time: watchtest.At(2 * time.Second), Kind: trace.KindResync},
	}
	fs, _ := watchtest.Run(t, watch.DefaultConfig(), recs)
	if len(fs) != 4 {
		t.Fatalf("findings %v, want 4", fs)
	}
	checks := []struct {
		sev  watch.Severity
		want string
	}{
		{watch.SeverityWarning, "could not queue 1234 events"},
		{watch.SeverityInfo, "17 differences from the watcher's view"},
		{watch.SeverityWarning, "an unknown number of events"},
		{watch.SeverityInfo, "no difference"},
	}
	for i, c := range checks {
		if fs[i].Detector != watch.DetectorOverflow || fs[i].Severity != c.sev || !strings.Contains(fs[i].Evidence, c.want) {
			t.Errorf("finding %d = %v, want %s with %q", i, fs[i], c.sev, c.want)
		}
	}
	if fs[2].Objects[0] != "rtnetlink subscription in netns blue" {
		t.Errorf("objects %v", fs[2].Objects)
	}
}

// The caution a finding made after an overflow carries is what its
// detector says lost events mean, or a plain one when it says nothing;
// the overflow's own findings carry none.
func TestCaveat(t *testing.T) {
	od := overflow.New(func(detector string) string {
		if detector == "known" {
			return "the known detector's words"
		}
		return ""
	})
	od.Caveat([]finding.Finding{{Detector: "known"}}) // before any overflow: untouched
	od.Observe(&trace.Record{Kind: trace.KindOverflow, Line: 7}, nil, nil)
	fs := []finding.Finding{{Detector: "known", Evidence: "e"}, {Detector: "other", Evidence: "e"}, {Detector: overflow.Name, Evidence: "e"}}
	od.Caveat(fs)
	for i, want := range []string{
		"e. Caution: events were lost at line 7 and the tables have not been dumped again since, so the known detector's words",
		"e. Caution: events were lost at line 7 and the tables have not been dumped again since, so a lost event may change this conclusion",
		"e",
	} {
		if fs[i].Evidence != want {
			t.Errorf("finding %d evidence %q, want %q", i, fs[i].Evidence, want)
		}
	}
	end, ok := od.Finish()
	if !ok || !strings.Contains(end.Evidence, "these 2 later findings may be wrong: known; other") {
		t.Errorf("Finish = %v, %v", end, ok)
	}
}
