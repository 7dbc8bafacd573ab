package timeline_test

import (
	"bytes"
	"context"
	"math"
	"os"
	"strings"
	"testing"
	"time"

	"raceroute/internal/chromium/chromiumtest"
	"raceroute/internal/longstory"
	"raceroute/iproute2"
	"raceroute/timeline"
	"raceroute/watch"
)

func TestMain(m *testing.M) {
	code := m.Run()
	chromiumtest.Close()
	os.Exit(code)
}

// A story of 10,000 events renders: every event is in the side list, the
// lanes are drawn where the view is, and scrolling to the end of the
// lanes draws the last events (bench/timeline measures how fast).
func TestLongStoryRenders(t *testing.T) {
	chromiumtest.Browser(t)
	events, err := longstory.Story(10000)
	if err != nil {
		t.Fatal(err)
	}
	if len(events) != 10000 {
		t.Fatalf("the long story has %d events", len(events))
	}
	var b bytes.Buffer
	err = timeline.Write(&b, timeline.Page{Title: "long", Groups: []timeline.Group{{Name: "long", Reports: []timeline.Report{{
		Title: "long", Verdict: "violated", Properties: []timeline.Property{{Name: "p", Verdict: "violated", Story: events}}}}}}})
	if err != nil {
		t.Fatal(err)
	}
	p := chromiumtest.Open(t, b.Bytes(), 1400, 900)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	var r struct {
		Rows, Lanes, Start, End int
		Last                    bool
		Width                   float64
	}
	js := `(function () {
	  var tl = window.raceroute.timelines[0], svg = function () { return tl.root.querySelector('svg.tl'); };
	  var start = svg().querySelectorAll('g.ev').length;
	  tl.scroller.scrollLeft = tl.scroller.scrollWidth;
	  tl.scroll();
	  return {Rows: tl.root.querySelectorAll('.side li').length, Lanes: tl.root.querySelectorAll('.lane-label').length,
	    Start: start, End: svg().querySelectorAll('g.ev').length, Width: +svg().getAttribute('width'),
	    Last: !!svg().querySelector('g.ev[data-i="9999"]')};
	})()`
	if err := p.Eval(ctx, js, &r); err != nil {
		t.Fatal(err)
	}
	if r.Rows != 10000 || r.Lanes < 5 || r.Start == 0 || r.End == 0 || !r.Last || r.Width < 10000*16 {
		t.Fatalf("the long story's page: %+v", r)
	}
}

// seedLog is the seed's patched `ip monitor` log (watch/testdata/seed-bad.log).
const seedLog = `(1) [22:32:32.532745] [RTCAH]- 2001:67c:1254:e:10::1 via fe80::f485:c1ff:feb4:f32a dev re6stnet-tcp src 2001:67c:1254:e:63::1 metric 0 \ cache users 3 used 2372
(2) [22:32:32.532755] [ROUTE]- 2001:67c:1254:e:10::/80 via fe80::f485:c1ff:feb4:f32a dev re6stnet-tcp proto babel src 2001:67c:1254:e:63::1 metric 1024
(3) [22:32:32.532757] [ROUTE]+ 2001:67c:1254:e:10::/80 via fe80::a8b6:97ff:fe99:8ca8 dev re6stnet8 proto babel src 2001:67c:1254:e:63::1 metric 1024
(4) [22:32:32.532758] [RTCAH]+ unreachable 2001:67c:1254:e:10::1 dev lo metric 0 \ cache error -101 users 1
(5) [22:35:27.441827] [RTCAH]- unreachable 2001:67c:1254:e:10::1 dev lo metric 0 \ cache error -101 used 281 age 2sec
(6) [22:35:27.441834] [ROUTE]- 2001:67c:1254:e:10::/80 via fe80::a8b6:97ff:fe99:8ca8 dev re6stnet8 proto babel src 2001:67c:1254:e:63::1 metric 1024
(7) [22:35:27.441835] [ROUTE]+ 2001:67c:1254:e:10::/80 via fe80::f485:c1ff:feb4:f32a dev re6stnet-tcp proto babel src 2001:67c:1254:e:63::1 metric 1024
(8) [22:35:28.613731] [RTCAH]+ 2001:67c:1254:e:10::1 via fe80::f485:c1ff:feb4:f32a dev re6stnet-tcp src 2001:67c:1254:e:63::1 metric 0 \ cache users 1
`

// A replayed trace, as replay-trace --format html runs it: the seed's log through watch's detectors, drawn with one lane per
// prefix and cache entry, the findings on their detectors' lanes joined
// to the objects they name.
func TestRecordedTraceRenders(t *testing.T) {
	chromiumtest.Browser(t)
	var rec timeline.Recording
	_, err := watch.Replay(context.Background(), strings.NewReader(seedLog), watch.DefaultConfig(), watch.ReplayOptions{
		Monitor:   iproute2.MonitorOptions{Name: "seed-bad.log"},
		OnRecord:  rec.Record,
		OnFinding: func(f watch.Finding) error { rec.Findings([]watch.Finding{f}); return nil },
	})
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	if err := timeline.Write(&b, timeline.Page{Title: "seed-bad.log", Groups: []timeline.Group{{Name: "seed-bad.log", Reports: []timeline.Report{rec.Report("seed-bad.log")}}}}); err != nil {
		t.Fatal(err)
	}
	p := chromiumtest.Open(t, b.Bytes(), 1400, 800)
	var r struct {
		Lanes    []string
		Findings int
		Joined   int
	}
	js := `(function () {
	  var tl = window.raceroute.timelines[0];
	  tl.setZoom(tl.fitZoom());
	  var lanes = Array.prototype.map.call(tl.root.querySelectorAll('.lane-label'), function (l) { return l.textContent; });
	  var f = tl.root.querySelectorAll('svg.tl g.ev[data-label="FINDING"]');
	  var joined = Array.prototype.filter.call(f, function (g) { return g.querySelector('rect.om'); }).length;
	  return {Lanes: lanes, Findings: f.length, Joined: joined};
	})()`
	if err := p.Eval(context.Background(), js, &r); err != nil {
		t.Fatal(err)
	}
	lanes := strings.Join(r.Lanes, ",")
	for _, want := range []string{"route 2001:67c:1254:e:10::/80", "cache 2001:67c:1254:e:10::1/128", "watch: cache-contradicts-route", "watch: non-atomic-route-change"} {
		if !strings.Contains(lanes, want) {
			t.Errorf("no lane %q in %s", want, lanes)
		}
	}
	if r.Findings == 0 || r.Joined != r.Findings {
		t.Errorf("%d findings drawn, %d of them on an object's lane", r.Findings, r.Joined)
	}
}

// The page's own handlers zoom and explain: a mouse move over an event
// shows its reason in the tooltip and makes its timeline the one the
// keys act on, + and - zoom by 1.5, 0 resets, Ctrl+wheel zooms by the
// wheel's distance, a wheel without Ctrl does not.
func TestZoomAndHover(t *testing.T) {
	chromiumtest.Browser(t)
	events, err := longstory.Story(200)
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	err = timeline.Write(&b, timeline.Page{Title: "zoom", Groups: []timeline.Group{{Name: "zoom", Reports: []timeline.Report{{
		Title: "zoom", Verdict: "violated", Properties: []timeline.Property{{Name: "p", Verdict: "violated", Story: events}}}}}}})
	if err != nil {
		t.Fatal(err)
	}
	p := chromiumtest.Open(t, b.Bytes(), 1400, 900)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	var r struct {
		TipHidden                       bool
		Tip                             string
		Start, Plus, Minus, Zero, Wheel float64
		PlainWheel                      float64
	}
	js := `(function () {
	  var tl = window.raceroute.timelines[0], tip = document.getElementById('rr-tip');
	  var out = {TipHidden: tip.hidden};
	  tl.setZoom(1);
	  var g = tl.root.querySelector('svg.tl g.ev circle'), box = g.getBoundingClientRect();
	  g.dispatchEvent(new MouseEvent('mousemove', {bubbles: true, clientX: box.x + 1, clientY: box.y + 1}));
	  out.Tip = tip.hidden ? '' : tip.textContent;
	  var key = function (k) { document.dispatchEvent(new KeyboardEvent('keydown', {key: k, bubbles: true})); return tl.zoom; };
	  out.Start = tl.zoom;
	  out.Plus = key('+');
	  out.Minus = key('-');
	  key('+'); out.Zero = key('0');
	  // draw() redraws the lanes, so the wheel goes to the element drawn now.
	  var wheel = function (ctrl) {
	    tl.root.querySelector('svg.tl g.ev circle').dispatchEvent(new WheelEvent('wheel', {deltaY: -300, ctrlKey: ctrl, bubbles: true, cancelable: true, clientX: box.x}));
	    return tl.zoom;
	  };
	  out.PlainWheel = wheel(false);
	  out.Wheel = wheel(true);
	  return out;
	})()`
	if err := p.Eval(ctx, js, &r); err != nil {
		t.Fatal(err)
	}
	if !r.TipHidden || r.Tip == "" {
		t.Errorf("tooltip: hidden at first %v, text on hover %q", r.TipHidden, r.Tip)
	}
	near := func(a, b float64) bool { return a > b*0.99 && a < b*1.01 }
	if !near(r.Start, 1) || !near(r.Plus, 1.5) || !near(r.Minus, 1) || !near(r.Zero, 1) {
		t.Errorf("keys: zoom %v, + %v, - %v, 0 %v; want 1, 1.5, 1, 1", r.Start, r.Plus, r.Minus, r.Zero)
	}
	if !near(r.PlainWheel, 1) || !near(r.Wheel, math.Pow(1.0015, 300)) {
		t.Errorf("wheel: without Ctrl %v (want 1), with Ctrl %v (want %.3f)", r.PlainWheel, r.Wheel, math.Pow(1.0015, 300))
	}
}
