package watch

import (
	"os"
	"strings"
	"testing"
	"time"

	"raceroute/iproute2"
	"raceroute/watch/finding"
	"raceroute/watch/overflow"
)

// Every kind of finding has one name, a Detector* constant, and a
// caution for the findings made while the view is stale.
func TestDetectorKinds(t *testing.T) {
	e := NewEngine(DefaultConfig())
	named := map[string]bool{
		DetectorNonAtomic: true, DetectorKernelChurn: true, DetectorCache: true, DetectorCacheAsRoute: true,
		DetectorGARPIgnored: true, DetectorMACChange: true, DetectorOverflow: true,
		DetectorNeighStuck: true, DetectorNeighEvicted: true,
	}
	seen := map[string]bool{}
	for _, d := range e.detectors {
		for _, k := range d.Kinds() {
			if seen[k.Name] {
				t.Errorf("kind %q twice", k.Name)
			}
			seen[k.Name] = true
			if !named[k.Name] {
				t.Errorf("kind %q has no Detector* constant", k.Name)
			}
			if k.LostMeans == "" && k.Name != overflow.Name {
				t.Errorf("kind %q says nothing of lost events", k.Name)
			}
		}
	}
	for n := range named {
		if !seen[n] {
			t.Errorf("no detector reports %q", n)
		}
	}
}

// A real `ip -ts monitor label` recording (iproute2 6.1, Linux 6.18; see
// iproute2/testdata/iproute2-6.1/README): no finding, and the view at the end
// is what the namespace held. Deleting the veth pair removed the IPv4
// routes through it without any announcement; the view drops them too.
func TestRealTraceView(t *testing.T) {
	fs, e := replayFile(t, "../iproute2/testdata/iproute2-6.1/monitor-ts-label.log")
	if len(fs) != 0 {
		t.Errorf("findings on a clean trace: %v", fs)
	}
	var got []string
	for _, r := range e.Routes() {
		got = append(got, finding.RouteObject(r))
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

// replayFile feeds a recording to a new engine, ends it with Flush and
// returns the findings and the engine; a bad line fails the test.
func replayFile(t *testing.T, name string) ([]Finding, *Engine) {
	t.Helper()
	f, err := os.Open(name)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	recs, errs, err := iproute2.ParseMonitor(f, iproute2.MonitorOptions{Name: name})
	if err != nil || len(errs) != 0 {
		t.Fatalf("%s: %v %v", name, err, errs)
	}
	e := NewEngine(DefaultConfig())
	var fs []Finding
	for _, r := range recs {
		fs = append(fs, e.Observe(r)...)
	}
	return append(fs, e.Flush()...), e
}

// Flush concludes every pending check as if the recording had gone on:
// a gratuitous ARP ignored until the last record is reported, at its
// deadline; without times there is nothing to conclude but an overflow
// no resync followed.
func TestFlush(t *testing.T) {
	const (
		entry = "[NEIGH]203.0.113.5 dev qg-1 lladdr fa:16:3e:00:00:01 STALE"
		garp  = "[ARP]reply 203.0.113.5 lladdr fa:16:3e:00:00:02 target 203.0.113.5 lladdr fa:16:3e:00:00:02 dev qg-1"
		ovf   = "netlink receive error No buffer space available (105)"
	)
	stamp := func(d time.Duration, l string) string {
		return "[" + time.Date(2016, 6, 11, 22, 30, 0, 0, time.UTC).Add(d).Format(iproute2.TimeLayout) + "] " + l
	}
	tests := []struct {
		name  string
		lines []string
		want  []string // detectors of the findings Flush returns
		at    string   // the time of the first, if any
	}{
		{"a gratuitous ARP in the last record", []string{stamp(0, entry), stamp(time.Second, garp)}, []string{DetectorGARPIgnored}, "22:30:02.500000"},
		{"taken before the end", []string{stamp(0, entry), stamp(time.Second, garp), stamp(1200*time.Millisecond, strings.Replace(entry, ":01", ":02", 1))}, nil, ""},
		{"no times", []string{entry, garp}, nil, ""},
		{"no times, an overflow no resync followed", []string{ovf, entry, garp}, []string{DetectorOverflow}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			recs, _, err := iproute2.ParseMonitor(strings.NewReader(strings.Join(tt.lines, "\n")), iproute2.MonitorOptions{})
			if err != nil {
				t.Fatal(err)
			}
			e := NewEngine(Config{KernelRelease: "3.10.0-514.el7"})
			for _, r := range recs {
				if fs := e.Observe(r); len(fs) != 0 && fs[0].Detector != DetectorOverflow {
					t.Fatalf("finding before the end: %v", fs)
				}
			}
			fs := e.Flush()
			var got []string
			for _, f := range fs {
				got = append(got, f.Detector)
			}
			if strings.Join(got, ",") != strings.Join(tt.want, ",") {
				t.Fatalf("Flush found %v, want %v: %v", got, tt.want, fs)
			}
			if tt.at != "" && finding.FmtTime(fs[0].Time) != tt.at {
				t.Errorf("finding at %s, want %s", finding.FmtTime(fs[0].Time), tt.at)
			}
		})
	}
}
