package timeline

import (
	"bytes"
	"encoding/json"
	"net/netip"
	"regexp"
	"strings"
	"testing"
	"time"

	"raceroute/kernel"
	"raceroute/trace"
	"raceroute/watch"
)

func laneNames(d drawing) []string {
	var out []string
	for _, l := range d.lanes {
		out = append(out, l.kind+":"+l.name)
	}
	return out
}

func TestLayoutPlacesEvents(t *testing.T) {
	tests := []struct {
		name   string
		events []trace.Event
		timed  bool
		xs     []float64
		lanes  []string
	}{
		{
			name: "untimed: one column per step",
			events: []trace.Event{
				{Actor: "babeld", Object: "2001:db8::/80"},
				{Actor: "flow", Object: "2001:db8::/48"},
				{Actor: "babeld", Object: "2001:db8::/80", Related: "2001:db8::1/128"},
			},
			xs:    []float64{margin, margin + stepWidth, margin + 2*stepWidth},
			lanes: []string{"actor:babeld", "actor:flow", "object:2001:db8::/80", "object:2001:db8::/48", "object:2001:db8::1/128"},
		},
		{
			name: "timed: by time, close events pushed apart",
			events: []trace.Event{
				{T: 0, Actor: "a"}, {T: 1000, Actor: "b"}, {T: 1000, Actor: "a"}, {T: 1001, Actor: "a"}, {T: 2000, Actor: "a"},
			},
			timed: true,
			// scale: timedWidth px over 2000 ms = 0.8 px/ms
			xs:    []float64{margin, margin + 800, margin + 800 + minGap, margin + 800 + 2*minGap, margin + 800 + 2*minGap + 0.8*999},
			lanes: []string{"actor:a", "actor:b"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := layout(tt.events)
			if d.timed != tt.timed {
				t.Errorf("timed = %v, want %v", d.timed, tt.timed)
			}
			for i, p := range d.events {
				if diff := p.x - tt.xs[i]; diff > 1e-6 || diff < -1e-6 {
					t.Errorf("event %d at x=%v, want %v", i, p.x, tt.xs[i])
				}
			}
			if got := strings.Join(laneNames(d), ","); got != strings.Join(tt.lanes, ",") {
				t.Errorf("lanes %s, want %s", got, strings.Join(tt.lanes, ","))
			}
			if last := d.events[len(d.events)-1].x; d.width != last+tail {
				t.Errorf("width %v, want the last event's x %v + %d", d.width, last, tail)
			}
		})
	}
}

func TestWindows(t *testing.T) {
	open := trace.Window{Edge: trace.WindowOpen, Name: "unlocked"}
	closeW := trace.Window{Edge: trace.WindowClose, Name: "unlocked"}
	lock := func(start int64) trace.Window {
		return trace.Window{Edge: trace.WindowSpan, Name: "locktime", Start: start, Len: 1000}
	}
	type want struct {
		lane      string
		t0, t1    int64
		open, cut bool
	}
	tests := []struct {
		name   string
		events []trace.Event
		want   []want
	}{
		{
			name: "a lookup's lock-free window, from its match to its insert",
			events: []trace.Event{
				{Actor: "flow", Window: open}, {Actor: "babeld"}, {Actor: "flow"}, {Actor: "flow", Window: closeW},
			},
			want: []want{{lane: "flow", t0: 0, t1: 0}},
		},
		{
			name:   "a window never closed stays open to the end",
			events: []trace.Event{{Actor: "flow", Window: open}, {Actor: "babeld"}},
			want:   []want{{lane: "flow", t0: 0, t1: -1, open: true}},
		},
		{
			name: "a moving locktime window: each update within it starts it again",
			events: []trace.Event{
				{T: 149, Actor: "flow", Object: "e", Window: lock(149)},
				{T: 300, Actor: "flow", Object: "e", Window: lock(149)},  // restated: the same window
				{T: 456, Actor: "arp", Object: "e", Window: lock(456)},   // inside [149, 1149]
				{T: 1456, Actor: "arp", Object: "e", Window: lock(1456)}, // at 456+1000: still inside (time_after is strict)
				{T: 5000, Actor: "arp", Object: "e", Window: lock(5000)}, // after 2456: a new window
			},
			want: []want{
				{lane: "e", t0: 149, t1: 456, cut: true},
				{lane: "e", t0: 456, t1: 1456, cut: true},
				{lane: "e", t0: 1456, t1: 2456},
				{lane: "e", t0: 5000, t1: 6000, open: true},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := layout(tt.events)
			if len(d.windows) != len(tt.want) {
				t.Fatalf("%d windows %+v, want %d", len(d.windows), d.windows, len(tt.want))
			}
			for i, w := range d.windows {
				g := want{lane: d.lanes[w.lane].name, t0: w.t0, t1: w.t1, open: w.open, cut: w.cut}
				if g != tt.want[i] {
					t.Errorf("window %d: %+v, want %+v", i, g, tt.want[i])
				}
				if w.x1 < w.x0 {
					t.Errorf("window %d ends before it starts: %v..%v", i, w.x0, w.x1)
				}
			}
		})
	}
}

func TestTimeAxis(t *testing.T) {
	d := layout([]trace.Event{{T: 0, Actor: "a"}, {T: 100, Actor: "a"}, {T: 100, Actor: "b"}, {T: 200, Actor: "a"}})
	ax := timeAxis{events: d.events, scale: timedWidth / 200.0}
	for _, c := range []struct {
		t    int64
		want float64
	}{
		{0, d.events[0].x},
		{50, (d.events[0].x + d.events[1].x) / 2},
		{100, d.events[1].x}, // the first event at that time
		{150, (d.events[2].x + d.events[3].x) / 2},
		{300, d.events[3].x + 100*timedWidth/200.0},
		{-100, d.events[0].x - 100*timedWidth/200.0},
	} {
		if got := ax.x(c.t); got-c.want > 1e-9 || c.want-got > 1e-9 {
			t.Errorf("x(%d) = %v, want %v", c.t, got, c.want)
		}
	}
}

func TestBands(t *testing.T) {
	d := layout([]trace.Event{
		{T: 0, Actor: "f", Object: "e", State: "STALE fa:16:3e:aa:aa:aa"},
		{T: 10, Actor: "f", Object: "e", State: "DELAY fa:16:3e:aa:aa:aa"},
		{T: 20, Actor: "a", Object: "e", State: "DELAY fa:16:3e:aa:aa:aa"}, // unchanged: the band goes on
		{T: 30, Actor: "a", Object: "e"},                                   // no state: the band goes on
		{T: 40, Actor: "t", Object: "e", State: "REACHABLE fa:16:3e:aa:aa:aa"},
		{T: 50, Actor: "b", Object: "r", State: "no route"},
	})
	var got []string
	for _, b := range d.bands {
		got = append(got, b.class+"@"+d.lanes[b.lane].name)
	}
	want := "nud-stale@e nud-delay@e nud-reachable@e empty@r"
	if strings.Join(got, " ") != want {
		t.Fatalf("bands %v, want %s", got, want)
	}
	if d.bands[1].x0 != d.events[1].x || d.bands[1].x1 != d.events[4].x {
		t.Errorf("DELAY band %v..%v, want from event 1 (%v) to event 4 (%v)", d.bands[1].x0, d.bands[1].x1, d.events[1].x, d.events[4].x)
	}
	if d.bands[2].x1 != d.width {
		t.Errorf("the last state lasts to the end: %v, want %v", d.bands[2].x1, d.width)
	}
	for state, class := range map[string]string{
		"unreachable 2001:db8::1 dev lo metric 0 cache error -101": "reject",
		"2001:db8::/80 via fe80::1 dev eth0 metric 1024":           "routes",
		"none":   "nud-none",
		"FAILED": "nud-failed",
	} {
		if got := stateClass(state); got != class {
			t.Errorf("stateClass(%q) = %s, want %s", state, got, class)
		}
	}
}

// pageJSON extracts a written page's data.
func pageJSON(t *testing.T, page []byte) pageData {
	t.Helper()
	m := regexp.MustCompile(`(?s)<script type="application/json" id="rr-data">(.*?)</script>`).FindSubmatch(page)
	if m == nil {
		t.Fatal("no data in the page")
	}
	var d pageData
	if err := json.Unmarshal(m[1], &d); err != nil {
		t.Fatal(err)
	}
	return d
}

func TestWriteIsSelfContainedAndEscapes(t *testing.T) {
	evil := "</script><script>alert(1)</script>"
	story := []trace.Event{{Actor: evil, Text: evil, Reason: "a & b < c"}, {Actor: "x", Text: evil}}
	p := Page{Title: "t " + evil, Groups: []Group{{Name: evil, Reports: []Report{
		{Title: evil, Verdict: "violated", Properties: []Property{{Name: "p", Verdict: "violated", Story: story}, {Name: "q", Verdict: "violated", Story: story}}},
	}}}}
	var b bytes.Buffer
	if err := Write(&b, p); err != nil {
		t.Fatal(err)
	}
	page := b.Bytes()
	if n := bytes.Count(page, []byte("</script>")); n != 2 {
		t.Errorf("%d </script> in the page, want 2 (the data's and the script's): the data closed its element", n)
	}
	for _, banned := range []string{"http://", "https://", "//cdn", "src=\""} {
		if bytes.Contains(bytes.ReplaceAll(page, []byte("http://www.w3.org/2000/svg"), nil), []byte(banned)) {
			t.Errorf("the page refers to %q: it must fetch nothing", banned)
		}
	}
	d := pageJSON(t, page)
	if len(d.Stories) != 1 {
		t.Errorf("%d stories stored for two properties telling the same one, want 1", len(d.Stories))
	}
	pr := d.Groups[0].Reports[0].Properties
	if pr[0].Story != 0 || pr[1].Story != 0 {
		t.Errorf("properties' stories %d, %d; want both 0", pr[0].Story, pr[1].Story)
	}
	if d.Groups[0].Reports[0].ID == "" {
		t.Error("a report without an ID")
	}
	if d.Strings[int(d.Stories[0].Events[0][7].(float64))] != evil {
		t.Error("the event's text did not survive the string table")
	}
}

func TestMatrixLinksAreChecked(t *testing.T) {
	p := Page{Groups: []Group{{Name: "s", Reports: []Report{{ID: "r1"}}}},
		Matrix: &Matrix{Columns: []Column{{Label: "3.16"}}, Rows: []Row{{Scenario: "s", Cells: []Cell{{Text: "violated", Reports: []string{"r2"}}}}}}}
	if err := Write(&bytes.Buffer{}, p); err == nil || !strings.Contains(err.Error(), `"r2"`) {
		t.Fatalf("a cell linking to a missing report: %v", err)
	}
	p.Matrix.Rows[0].Cells = append(p.Matrix.Rows[0].Cells, Cell{})
	if err := Write(&bytes.Buffer{}, p); err == nil || !strings.Contains(err.Error(), "2 cells for 1 columns") {
		t.Fatalf("a row with too many cells: %v", err)
	}
}

func mustPrefix(s string) trace.Route {
	return trace.Route{Family: 6, Table: trace.TableMain, Dst: netip.MustParsePrefix(s)}
}

var (
	mustAddr = netip.MustParseAddr
	mustMAC  = kernel.MustParseMAC
)

func TestRecordingLanesAndFindings(t *testing.T) {
	t0 := time.Date(2016, 11, 21, 10, 0, 0, 0, time.UTC)
	old := mustPrefix("2001:67c:1254:e:10::/80")
	old.Gateway, old.Dev, old.Metric = mustAddr("fe80::1"), "re6stnet8", 1024
	cache := mustPrefix("2001:67c:1254:e:10::1/128")
	cache.Type, cache.Dev, cache.Cloned, cache.Error = kernel.RouteUnreachable, "lo", true, -101
	var rec Recording
	recs := []trace.Record{
		{Time: t0, Kind: trace.KindRoute, Action: trace.ActionDel, Route: old},
		{Time: t0.Add(time.Millisecond), Kind: trace.KindRoute, Action: trace.ActionNew, Route: cache, Polled: true},
		{Time: t0.Add(2 * time.Millisecond), Kind: trace.KindRoute, Action: trace.ActionNew, Route: old},
		{Time: t0.Add(3 * time.Millisecond), Kind: trace.KindNeigh, Action: trace.ActionNew,
			Neigh: trace.Neigh{Addr: mustAddr("172.24.4.10"), Dev: "eth2", State: kernel.NUDStale, LLAddr: mustMAC("fa:16:3e:aa:aa:aa")}},
	}
	for _, r := range recs {
		rec.Record(r)
		rec.Findings(fakeFindings(r))
	}
	story := rec.Story()
	d := layout(story)
	lanes := strings.Join(laneNames(d), ",")
	for _, want := range []string{"object:route 2001:67c:1254:e:10::/80", "object:cache 2001:67c:1254:e:10::1/128",
		"object:neigh 172.24.4.10 dev eth2", "finding:watch: cache-contradicts-route", "actor:kernel"} {
		if !strings.Contains(lanes, want) {
			t.Errorf("no lane %s in %s", want, lanes)
		}
	}
	var states []string
	for _, e := range story {
		if e.Object == "route 2001:67c:1254:e:10::/80" && e.State != "" {
			states = append(states, e.State)
		}
	}
	if len(states) != 2 || states[0] != "no route" || !strings.Contains(states[1], "via fe80::1") {
		t.Errorf("the /80's states %q, want no route, then the route", states)
	}
	var f *trace.Event
	for i := range story {
		if story[i].Label == labelFinding {
			f = &story[i]
		}
	}
	if f == nil {
		t.Fatal("no finding in the story")
	}
	// The fake detector's finding came with the third record, at its
	// time, and names the clone and the route it contradicts.
	if f.T != 2 || f.Object != "cache 2001:67c:1254:e:10::1/128" || f.Related != "route 2001:67c:1254:e:10::/80" || f.Outcome != trace.OutcomeLost {
		t.Errorf("finding at t=%d on %q related %q outcome %v", f.T, f.Object, f.Related, f.Outcome)
	}
	r := rec.Report("seed.log")
	if r.Verdict != "violated" || r.Properties[0].Story == nil {
		t.Errorf("report %+v", r)
	}
}

// fakeFindings finds a contradicting cache entry when the /80 comes back.
func fakeFindings(r trace.Record) []watch.Finding {
	if r.Kind == trace.KindRoute && !r.Route.Cloned && r.Action == trace.ActionNew {
		return []watch.Finding{{Detector: watch.DetectorCache, Severity: watch.SeverityCritical, Time: r.Time,
			Objects:  []string{"unreachable 2001:67c:1254:e:10::1 dev lo metric 0 \\ cache error -101", r.Route.String()},
			Evidence: "every packet is dropped"}}
	}
	return nil
}
