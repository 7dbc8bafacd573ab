package watch

import (
	"strings"
	"testing"
	"time"

	"raceroute/trace"
)

// finish feeds recs to a new engine and ends it as replay-trace does.
func finish(t *testing.T, recs []trace.Record) []Finding {
	t.Helper()
	e := NewEngine(DefaultConfig())
	var out []Finding
	var last time.Time
	for _, r := range recs {
		out = append(out, e.Observe(r)...)
		if r.Time.After(last) {
			last = r.Time
		}
	}
	if !last.IsZero() {
		last = last.Add(time.Minute)
	}
	return append(out, e.Finish(last)...)
}

// The real iproute2 overflow of testdata/ip-monitor-overflow.log: ip
// monitor reported ENOBUFS on line 1 and carried on. The overflow is a
// finding; the non-atomic change seen after it carries a caution; and
// at the end, with no resync ever, a finding names it as a conclusion
// the lost events may have made wrong.
func TestIPMonitorOverflowTrace(t *testing.T) {
	fs := finish(t, parseFile(t, "testdata/ip-monitor-overflow.log"))
	if len(fs) != 3 {
		t.Fatalf("findings %v, want 3", fs)
	}
	ov, na, end := fs[0], fs[1], fs[2]
	if ov.Detector != DetectorOverflow || ov.Severity != SeverityWarning || !ov.Time.IsZero() ||
		!strings.Contains(ov.Evidence, "the kernel could not queue an unknown number of events for this watcher (ENOBUFS on the netlink socket) at line 1") {
		t.Errorf("overflow finding %v", ov)
	}
	if na.Detector != DetectorNonAtomic || !strings.Contains(na.Objects[0], "10.1.7.0/24 via 10.9.0.2") ||
		!strings.Contains(na.Evidence, "Caution: events were lost at line 1 and the tables have not been dumped again since, so a lost event may belong to this change") {
		t.Errorf("non-atomic finding %v", na)
	}
	if end.Detector != DetectorOverflow || end.Severity != SeverityWarning ||
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
			fs := finish(t, parseLines(t, tt.lines...))
			na := byDetector(fs, DetectorNonAtomic)
			if len(na) != 1 {
				t.Fatalf("findings %v", fs)
			}
			if got := strings.Contains(na[0].Evidence, "Caution: events were lost"); got != tt.caution {
				t.Errorf("caution %v, want %v: %s", got, tt.caution, na[0].Evidence)
			}
			var end []Finding
			for _, f := range byDetector(fs, DetectorOverflow) {
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
