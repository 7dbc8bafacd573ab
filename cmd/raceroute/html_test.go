package main

import (
	"bytes"
	"context"
	"flag"
	"image/png"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"raceroute/check"
	"raceroute/cmd/raceroute/internal/cli"
	"raceroute/internal/chromium"
	"raceroute/internal/chromium/chromiumtest"
	"raceroute/trace"
)

var screenshots = flag.String("screenshots", "", "write the HTML tests' screenshots into `DIR` (docs/img: go test ./cmd/raceroute -run HTML -args -screenshots ../../docs/img)")

func TestMain(m *testing.M) {
	runChild()
	flag.Parse()
	code := m.Run()
	chromiumtest.Close()
	os.Exit(code)
}

// storyOf checks one scenario variant on one kernel and returns its first
// counterexample's story.
func storyOf(t *testing.T, name, kernel string) []trace.Event {
	t.Helper()
	o := defaultCheckOptions(false)
	o.kernels = []string{kernel}
	jobs, err := collectJobs([]string{name}, o.kernels)
	if err != nil || len(jobs) != 1 {
		t.Fatalf("%s on %s: %d jobs, %v", name, kernel, len(jobs), err)
	}
	d, err := check.Search(context.Background(), jobs[0], o.Settings, 0, check.NewProgress(nil))
	if err != nil {
		t.Fatal(err)
	}
	r, err := check.ReportJob(jobs[0], o.Settings, d)
	if err != nil {
		t.Fatal(err)
	}
	if r.Counterexample == nil {
		t.Fatalf("%s on %s: no counterexample", name, kernel)
	}
	return r.Counterexample.Story()
}

// The models give their stories what the timeline draws: the clone
// race's lock-free window and late clone insert, the neighbour failure's
// ignored replies and moving locktime window.
func TestStoryDrawingFields(t *testing.T) {
	t.Run("babeld-route-modify/delete-add on linux-3.16", func(t *testing.T) {
		ev := storyOf(t, "babeld-route-modify/delete-add", "linux-3.16")
		var open, closed, readd, insert = -1, -1, -1, -1
		var node80 []string
		for i, e := range ev {
			switch {
			case e.Window.Edge == trace.WindowOpen && e.Actor == "tcp-flow" && e.Window.Name == "unlocked":
				open = i
			case e.Window.Edge == trace.WindowClose && e.Actor == "tcp-flow":
				closed = i
			}
			if e.Label == trace.LabelRoute && e.Op == trace.OpAdd && e.Object == "2001:67c:1254:e:10::/80" {
				readd = i
			}
			if e.Label == trace.LabelCache && e.Op == trace.OpAdd {
				insert = i
				if e.Object != "2001:67c:1254:e:10::1/128" || e.Related != "2001:67c:1254:e:10::/80" || !strings.Contains(e.State, "unreachable") {
					t.Errorf("the clone's insert: object %q related %q state %q", e.Object, e.Related, e.State)
				}
			}
			if e.Object == "2001:67c:1254:e:10::/80" && e.State != "" {
				node80 = append(node80, e.State)
			}
		}
		if !(open >= 0 && open < readd && readd < insert && closed == insert) {
			t.Errorf("unlocked window opened at %d, closed at %d; /80 re-added at %d, clone inserted at %d: want open < re-add < insert = close", open, closed, readd, insert)
		}
		if len(node80) != 2 || node80[0] != "no route" || !strings.Contains(node80[1], "re6stnet-tcp") {
			t.Errorf("the /80's states %q: want the gap (no route), then the new route", node80)
		}
	})
	t.Run("neutron-garp-2017 on rhel-7.3", func(t *testing.T) {
		ev := storyOf(t, "neutron-garp-2017", "rhel-7.3")
		const entry = "tempest 172.24.4.10 dev eth2"
		ignored := 0
		var starts []int64
		for _, e := range ev {
			if e.Label == trace.LabelARP && e.Object == entry && e.Outcome == trace.OutcomeIgnored && strings.Contains(e.Reason, "within locktime") {
				ignored++
				// Each ignored reply came within the window in force,
				// and moved it to itself.
				if n := len(starts); n == 0 || e.T > starts[n-1]+1000 || e.Window.Start != e.T {
					t.Errorf("ignored reply at %d: windows so far %v, its own from %d", e.T, starts, e.Window.Start)
				}
			}
			if e.Object == entry && e.Window.Edge == trace.WindowSpan && e.Window.Name == "locktime" {
				if n := len(starts); n == 0 || starts[n-1] != e.Window.Start {
					starts = append(starts, e.Window.Start)
				}
			}
		}
		if ignored != 3 {
			t.Errorf("%d ignored replies within locktime, want Neutron's 3", ignored)
		}
	})
}

// timelineSummary is what the page script drew, read from the DOM.
const timelineSummary = `(function () {
  var tl = window.raceroute.timelines[0];
  tl.setZoom(tl.fitZoom());
  var svg = tl.root.querySelector('svg.tl');
  var lanes = Array.prototype.map.call(tl.root.querySelectorAll('.lane-label'), function (l) { return l.textContent + '|' + l.dataset.kind; });
  var laneOf = function (el) { return +el.getAttribute('data-lane'); };
  var windows = Array.prototype.map.call(svg.querySelectorAll('rect.win'), function (w) {
    return {name: w.dataset.name, lane: lanes[laneOf(w)].split('|')[0], cut: w.classList.contains('cut'), x: +w.getAttribute('x'), w: +w.getAttribute('width')};
  });
  var events = Array.prototype.map.call(svg.querySelectorAll('g.ev'), function (g) {
    var i = +g.dataset.i, e = tl.s.events[i];
    return {i: i, label: g.dataset.label, op: g.dataset.op, ignored: g.classList.contains('o-ignored'),
      x: +g.querySelector('circle').getAttribute('cx'), lane: lanes[e[2]].split('|')[0], object: e[3] >= 0 ? lanes[e[3]].split('|')[0] : ''};
  });
  return {lanes: lanes, windows: windows, events: events, rows: tl.root.querySelectorAll('.side li').length,
    violation: (document.querySelector('.violation') || {}).textContent || '',
    replay: (document.querySelector('.replay code') || {}).textContent || '',
    kernel: (document.querySelector('.kernel code') || {}).textContent || '',
    arrows: svg.querySelectorAll('path.rel').length};
})()`

type drawn struct {
	Lanes   []string
	Windows []struct {
		Name, Lane string
		Cut        bool
		X, W       float64
	}
	Events []struct {
		I                       int
		Label, Op, Lane, Object string
		Ignored                 bool
		X                       float64
	}
	Rows                      int
	Violation, Replay, Kernel string
	Arrows                    int
}

// openHTML runs args (which write an HTML page to out), opens the page in
// Chromium, checks a screenshot of it, and writes that into -screenshots
// as shot (if given).
func openHTML(t *testing.T, out, shot string, width, height int, args ...string) *chromium.Page {
	t.Helper()
	chromiumtest.Browser(t) // skip or fail before the check runs, when there is no browser
	code, _, stderr := runCLI(t, args...)
	if code != 0 {
		t.Fatalf("%v: exit %d: %s", args, code, stderr)
	}
	page, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	p := chromiumtest.Open(t, page, width, height)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	img, err := p.Screenshot(ctx, true)
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := png.DecodeConfig(bytes.NewReader(img))
	if err != nil || cfg.Width != width || cfg.Height < 300 {
		t.Fatalf("screenshot: %v, %dx%d", err, cfg.Width, cfg.Height)
	}
	if *screenshots != "" {
		if err := os.WriteFile(filepath.Join(*screenshots, shot), img, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return p
}

func TestHTMLStoriesInChromium(t *testing.T) {
	dir := t.TempDir()
	t.Run("babeld-route-modify on linux-3.16", func(t *testing.T) {
		out := filepath.Join(dir, "babeld.html")
		p := openHTML(t, out, "timeline-babeld-route-modify.png", 1400, 800,
			"check", "babeld-route-modify/delete-add", "--kernel", "linux-3.16", "--format", "html", "-o", out)
		var d drawn
		if err := p.Eval(context.Background(), timelineSummary, &d); err != nil {
			t.Fatal(err)
		}
		for _, l := range []string{"babeld|actor", "tcp-flow|actor", "2001:67c:1254:e:10::/80|object", "2001:67c:1254::/48|object", "2001:67c:1254:e:10::1/128|object"} {
			if !strings.Contains(strings.Join(d.Lanes, ","), l) {
				t.Errorf("no lane %s in %v", l, d.Lanes)
			}
		}
		var unlocked *struct {
			Name, Lane string
			Cut        bool
			X, W       float64
		}
		for i := range d.Windows {
			if d.Windows[i].Name == "unlocked" && d.Windows[i].Lane == "tcp-flow" {
				unlocked = &d.Windows[i]
			}
		}
		if unlocked == nil {
			t.Fatalf("no unlocked window on the flow's lane: %+v", d.Windows)
		}
		readd, clone := -1.0, -1.0
		for _, e := range d.Events {
			if e.Label == "ROUTE" && e.Op == "+" && e.Object == "2001:67c:1254:e:10::/80" {
				readd = e.X
			}
			if e.Label == "RTCAH" && e.Op == "+" && e.Object == "2001:67c:1254:e:10::1/128" {
				clone = e.X
			}
		}
		// The late insert: after the /80 is back, at the unlocked window's
		// end, which began before the re-add.
		if !(readd > unlocked.X && clone > readd && clone >= unlocked.X+unlocked.W-1) {
			t.Errorf("unlocked window %v..%v, /80 re-added at x=%v, clone inserted at x=%v", unlocked.X, unlocked.X+unlocked.W, readd, clone)
		}
		if d.Arrows == 0 {
			t.Error("no arrow from the clone to the route it shadows")
		}
		if d.Rows != 5 || !strings.Contains(d.Violation, "clones-agree") || !strings.HasPrefix(d.Replay, "raceroute replay rr2-") || d.Kernel != "linux-3.16" {
			t.Errorf("side list rows %d, violation %q, replay %q, kernel %q", d.Rows, d.Violation, d.Replay, d.Kernel)
		}
	})
	t.Run("neutron-garp-2017 on rhel-7.3", func(t *testing.T) {
		out := filepath.Join(dir, "neutron.html")
		p := openHTML(t, out, "timeline-neutron-garp-2017.png", 1400, 900,
			"check", "neutron-garp-2017", "--kernel", "rhel-7.3", "--format", "html", "-o", out)
		var d drawn
		if err := p.Eval(context.Background(), timelineSummary, &d); err != nil {
			t.Fatal(err)
		}
		const entry = "tempest 172.24.4.10 dev eth2"
		for _, l := range []string{"arp:l3-agent-b|actor", "flow:ssh-moved-fip|actor", "timer:tempest/172.24.4.10|actor", entry + "|object", "tempest dst 172.24.4.0/24|object"} {
			if !strings.Contains(strings.Join(d.Lanes, ","), l) {
				t.Errorf("no lane %s in %v", l, d.Lanes)
			}
		}
		ignored := 0
		for _, e := range d.Events {
			if e.Label == "ARP" && e.Object == entry && e.Ignored {
				ignored++
			}
		}
		slid := 0
		for _, w := range d.Windows {
			if w.Name == "locktime" && w.Lane == entry && w.Cut {
				slid++
			}
		}
		if ignored != 3 || slid < 3 {
			t.Errorf("%d ignored replies on %s (want 3), %d locktime windows slid (want at least 3: one per ignored reply)", ignored, entry, slid)
		}
		var chart int
		if err := p.Eval(context.Background(), "document.querySelectorAll('.rates circle.pt').length", &chart); err != nil || chart != 1 {
			t.Errorf("failure-rate chart: %d points, %v", chart, err)
		}
		if !strings.Contains(d.Violation, "converges") || d.Kernel != "rhel-7.3" {
			t.Errorf("violation %q kernel %q", d.Violation, d.Kernel)
		}
	})
}

// The matrix as a page: every cell, each linking to its report, which the
// page draws with its story when the cell is followed.
func TestHTMLMatrixInChromium(t *testing.T) {
	out := filepath.Join(t.TempDir(), "matrix.html")
	args := []string{"check", "--kernel", "linux-3.16,linux-4.12,rhel-7.3", "--format", "html", "-o", out}
	if *screenshots != "" {
		args = []string{"--format", "html", "-o", out} // the whole library, as the README shows it
	}
	p := openHTML(t, out, "matrix.png", 1500, 900, args...)
	ctx := context.Background()
	var m struct {
		Rows, Cells, Links int
		Target             string
	}
	js := `(function () {
	  var links = document.querySelectorAll('table.matrix td.cell a'), target = '';
	  for (var i = 0; i < links.length; i++) if (/^\d+%$/.test(links[i].textContent)) { target = links[i].getAttribute('href'); break; }
	  return {Rows: document.querySelectorAll('table.matrix tbody tr').length, Cells: document.querySelectorAll('table.matrix td.cell').length,
	    Links: links.length, Target: target};
	})()`
	if err := p.Eval(ctx, js, &m); err != nil {
		t.Fatal(err)
	}
	if m.Rows < 15 || m.Links != m.Cells || m.Target == "" {
		t.Fatalf("matrix: %d rows, %d cells, %d links, first rate cell links to %q", m.Rows, m.Cells, m.Links, m.Target)
	}
	// Follow a sampled violation's cell: its report, with the rate chart
	// and the story's timeline.
	var shown struct {
		Title  string
		Lanes  int
		Chart  int
		Marked bool
	}
	js = `(function () {
	  location.hash = '` + m.Target + `';
	  window.raceroute.showReport('` + strings.TrimPrefix(m.Target, "#") + `');
	  var v = document.getElementById('rr-view');
	  return {Title: (v.querySelector('.report h3') || {}).textContent || '', Lanes: v.querySelectorAll('.lane-label').length,
	    Chart: v.querySelectorAll('.rates circle.pt').length, Marked: !!document.querySelector('td.cell.current')};
	})()`
	if err := p.Eval(ctx, js, &shown); err != nil {
		t.Fatal(err)
	}
	if shown.Lanes < 5 || shown.Chart == 0 || !shown.Marked || !strings.Contains(shown.Title, " on ") {
		t.Errorf("the followed cell shows %+v", shown)
	}
	if *screenshots != "" {
		img, err := p.Screenshot(ctx, true)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(*screenshots, "matrix-story.png"), img, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func TestHTMLFormatFlags(t *testing.T) {
	for _, args := range [][]string{{"--format", "xml"}, {"replay", "--format", "xml", "rr2-x"}} {
		if code, _, stderr := runCLI(t, args...); code != cli.ExitBadInput || !strings.Contains(stderr, "--format") {
			t.Errorf("%v: exit %d, %s", args, code, stderr)
		}
	}
	// replay --format html tells the token's story as a timeline.
	_, r := checkJSON(t, "babeld-two-flows", "--kernel", "linux-3.16")
	out := filepath.Join(t.TempDir(), "replay.html")
	if code, _, stderr := runCLI(t, "replay", r.Counterexample.Replay, "--format", "html", "-o", out); code != 0 {
		t.Fatalf("replay: exit %d %s", code, stderr)
	}
	page, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"rr-data", "babeld-two-flows on linux-3.16", r.Counterexample.Replay} {
		if !bytes.Contains(page, []byte(want)) {
			t.Errorf("the replay's page lacks %q", want)
		}
	}
}
